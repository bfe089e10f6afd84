/**
 * Go-compatible number and time formatting: strconv.FormatFloat, fmt's %v for
 * float64, time.Time.String, time.Duration.String and Prometheus's humanize*
 * template helpers. Pure functions: no I/O and no clock.
 */

/** FloatFormat is a strconv.FormatFloat format byte supported here. */
export type FloatFormat = 'e' | 'E' | 'f' | 'g' | 'G'

/** |v| = 0.digits × 10^dp; digits has no trailing zeros and is '' for zero. */
interface Decimal {
  readonly digits: string
  readonly dp: number
}

const SI_BIG = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']
const SI_SMALL = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']
const IEC = ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']
const TWO_63 = 2 ** 63
const MIN_NORMAL = 2 ** -1022

/** formatFloat is Go's strconv.FormatFloat(v, fmt, prec, 64); prec < 0 means shortest. */
export function formatFloat(v: number, fmt: FloatFormat, prec: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  const abs = Math.abs(v)
  const body = prec < 0 ? formatShortest(shortestDecimal(abs), fmt) : formatPrecise(abs, fmt, prec)
  return v < 0 || Object.is(v, -0) ? '-' + body : body
}

/** formatGoFloat is Go's fmt %v for a float64: shortest digits, exponent form when the exponent is < -4 or >= 6. */
export function formatGoFloat(v: number): string {
  return formatFloat(v, 'g', -1)
}

/** formatGoPercentG is Go's fmt %.<precision>g for a float64. */
export function formatGoPercentG(v: number, precision: number): string {
  return formatFloat(v, 'g', precision)
}

/** formatPrometheusApiValue is strconv.FormatFloat(v, 'e', -1, 64), as the Prometheus HTTP API renders values. */
export function formatPrometheusApiValue(v: number): string {
  return formatFloat(v, 'e', -1)
}

// toExponential() without an argument yields the shortest round-trip digits, like Go's shortest mode.
function shortestDecimal(abs: number): Decimal {
  return abs === 0 ? { digits: '', dp: 0 } : parseExponential(abs.toExponential())
}

function parseExponential(s: string): Decimal {
  const e = s.indexOf('e')
  return { digits: s.slice(0, e).replace('.', '').replace(/0+$/, ''), dp: Number(s.slice(e + 1)) + 1 }
}

// Exact decimal expansion of the binary value, so that rounding matches Go (half to even on exact ties).
function exactDecimal(abs: number): Decimal {
  if (abs === 0) return { digits: '', dp: 0 }
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, abs)
  const hi = view.getUint32(0)
  const biased = hi >>> 20
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4))
  let exp = -1074
  if (biased !== 0) {
    mant |= 1n << 52n
    exp = biased - 1075
  }
  const s = exp >= 0 ? (mant << BigInt(exp)).toString() : (mant * 5n ** BigInt(-exp)).toString()
  return { digits: s.replace(/0+$/, ''), dp: exp >= 0 ? s.length : s.length + exp }
}

// round mirrors strconv's decimal.Round: nd < 0 leaves the value untouched.
function round(d: Decimal, nd: number): Decimal {
  const n = d.digits.length
  if (nd < 0 || nd >= n) return d
  const next = d.digits.charCodeAt(nd) - 48
  const odd = nd > 0 && (d.digits.charCodeAt(nd - 1) - 48) % 2 === 1
  if (next > 5 || (next === 5 && (nd + 1 < n || odd))) return roundUp(d, nd)
  const kept = d.digits.slice(0, nd).replace(/0+$/, '')
  return { digits: kept, dp: kept === '' ? 0 : d.dp }
}

function roundUp(d: Decimal, nd: number): Decimal {
  let i = nd - 1
  while (i >= 0 && d.digits[i] === '9') i--
  if (i < 0) return { digits: '1', dp: d.dp + 1 }
  return { digits: d.digits.slice(0, i) + String.fromCharCode(d.digits.charCodeAt(i) + 1), dp: d.dp }
}

function formatShortest(d: Decimal, fmt: FloatFormat): string {
  const nd = d.digits.length
  if (fmt === 'e' || fmt === 'E') return fmtE(d, Math.max(nd - 1, 0), fmt)
  if (fmt === 'f') return fmtF(d, Math.max(nd - d.dp, 0))
  return fmtG(d, nd, true, fmt)
}

function formatPrecise(abs: number, fmt: FloatFormat, prec: number): string {
  if (fmt === 'e' || fmt === 'E') return fmtE(roundedDigits(abs, prec + 1), prec, fmt)
  if (fmt === 'f') return fmtF(roundedFixed(abs, prec), prec)
  const p = prec === 0 ? 1 : prec
  return fmtG(roundedDigits(abs, p), p, false, fmt)
}

// roundedDigits is abs rounded to nd significant digits like Go (half to even on exact ties).
// JavaScript's toExponential rounds the exact value correctly but breaks ties away from zero. For a
// normal float64 and nd <= 15 a tie shows as a shortest representation of nd+1 digits ending in 5, so
// only then (and for subnormals or longer precisions) is the exact BigInt expansion needed.
function roundedDigits(abs: number, nd: number): Decimal {
  if (nd > 15 || abs < MIN_NORMAL) return round(exactDecimal(abs), nd)
  const s = shortestDecimal(abs)
  const n = s.digits.length
  if (n <= nd) return s
  if (n === nd + 1 && s.digits.endsWith('5')) return round(exactDecimal(abs), nd)
  return parseExponential(abs.toExponential(nd - 1))
}

function roundedFixed(abs: number, prec: number): Decimal {
  const nd = shortestDecimal(abs).dp + prec
  if (nd < 0) return { digits: '', dp: 0 }
  if (nd === 0) return round(exactDecimal(abs), 0)
  return roundedDigits(abs, nd)
}

function fmtG(d: Decimal, prec: number, shortest: boolean, fmt: 'g' | 'G'): string {
  const nd = d.digits.length
  let eprec = prec
  if (eprec > nd && nd >= d.dp) eprec = nd
  if (shortest) eprec = 6
  const exp = d.dp - 1
  if (exp < -4 || exp >= eprec) return fmtE(d, Math.min(prec, nd) - 1, fmt === 'G' ? 'E' : 'e')
  return fmtF(d, Math.max((prec > d.dp ? nd : prec) - d.dp, 0))
}

function fmtE(d: Decimal, prec: number, ch: 'e' | 'E'): string {
  let s = d.digits.charAt(0) || '0'
  if (prec > 0) s += '.' + d.digits.slice(1, prec + 1).padEnd(prec, '0')
  const exp = d.digits === '' ? 0 : d.dp - 1
  const mag = Math.abs(exp)
  return `${s}${ch}${exp < 0 ? '-' : '+'}${mag < 10 ? '0' : ''}${mag}`
}

function fmtF(d: Decimal, prec: number): string {
  const int = d.dp > 0 ? d.digits.slice(0, d.dp).padEnd(d.dp, '0') : '0'
  if (prec <= 0) return int
  const frac = d.dp < 0 ? '0'.repeat(-d.dp) + d.digits : d.digits.slice(d.dp)
  return `${int}.${frac.slice(0, prec).padEnd(prec, '0')}`
}

function g4(v: number): string {
  return formatFloat(v, 'g', 4)
}

function scaleDown(v: number, base: number, prefixes: readonly string[]): [number, string] {
  let prefix = ''
  for (const p of prefixes) {
    if (Math.abs(v) < base) break
    prefix = p
    v /= base
  }
  return [v, prefix]
}

function scaleUp(v: number): [number, string] {
  let prefix = ''
  for (const p of SI_SMALL) {
    if (Math.abs(v) >= 1) break
    prefix = p
    v *= 1000
  }
  return [v, prefix]
}

/** humanize is Prometheus's humanize: 1000-based SI prefixes with %.4g. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v)
  const [x, prefix] = Math.abs(v) >= 1 ? scaleDown(v, 1000, SI_BIG) : scaleUp(v)
  return g4(x) + prefix
}

/** humanize1024 is Prometheus's humanize1024: 1024-based IEC prefixes with %.4g. */
export function humanize1024(v: number): string {
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v)
  const [x, prefix] = scaleDown(v, 1024, IEC)
  return g4(x) + prefix
}

/** humanizeDuration is Prometheus's humanizeDuration for a number of seconds. */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return g4(v)
  if (v === 0) return g4(v) + 's'
  if (Math.abs(v) < 1) {
    const [x, prefix] = scaleUp(v)
    return `${g4(x)}${prefix}s`
  }
  const sign = v < 0 ? '-' : ''
  const abs = Math.abs(v)
  const total = Math.trunc(abs)
  const seconds = total % 60
  const minutes = Math.trunc(total / 60) % 60
  const hours = Math.trunc(total / 3600) % 24
  const days = Math.trunc(total / 86400)
  if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`
  if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`
  if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`
  return `${sign}${g4(abs)}s`
}

/** humanizePercentage is Prometheus's humanizePercentage: v*100 with %.4g and a "%" suffix. */
export function humanizePercentage(v: number): string {
  return g4(v * 100) + '%'
}

/** unixSecondsToMillis converts Unix seconds to whole milliseconds like Prometheus (model.TimeFromUnixNano); throws when int64 nanoseconds overflow. */
export function unixSecondsToMillis(v: number): number {
  const ns = v * 1e9
  if (ns > TWO_63 || ns < -TWO_63) {
    throw new RangeError(
      `${formatGoFloat(v)} cannot be represented as a nanoseconds timestamp since it overflows int64`,
    )
  }
  return Number(BigInt(Math.trunc(ns)) / 1000000n)
}

/** humanizeTimestamp is Prometheus's humanizeTimestamp: Unix seconds rendered as Go's time.Time.String() in UTC. */
export function humanizeTimestamp(v: number): string {
  if (!Number.isFinite(v)) return g4(v)
  return formatGoTime(unixSecondsToMillis(v))
}

/** formatGoTime is Go's time.Time.String() in UTC for a Unix time in milliseconds. */
export function formatGoTime(ms: number): string {
  const d = new Date(ms)
  const frac = String(((ms % 1000) + 1000) % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '')
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`
  return `${date} ${time}${frac === '' ? '' : '.' + frac} +0000 UTC`
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

/** formatGoDuration is Go's time.Duration.String() for a number of nanoseconds. */
export function formatGoDuration(ns: bigint): string {
  const neg = ns < 0n
  const u = neg ? -ns : ns
  return (neg ? '-' : '') + (u < 1000000000n ? subSecond(u) : hms(u))
}

function subSecond(u: bigint): string {
  if (u === 0n) return '0s'
  if (u < 1000n) return `${u}ns`
  if (u < 1000000n) return `${withFraction(u, 3)}µs`
  return `${withFraction(u, 6)}ms`
}

function hms(u: bigint): string {
  const secs = u / 1000000000n
  let s = `${secs % 60n}${fraction(u % 1000000000n, 9)}s`
  const mins = secs / 60n
  if (mins > 0n) {
    s = `${mins % 60n}m${s}`
    if (mins >= 60n) s = `${mins / 60n}h${s}`
  }
  return s
}

function withFraction(u: bigint, prec: number): string {
  const scale = 10n ** BigInt(prec)
  return `${u / scale}${fraction(u % scale, prec)}`
}

function fraction(rem: bigint, prec: number): string {
  const digits = rem.toString().padStart(prec, '0').replace(/0+$/, '')
  return digits === '' ? '' : '.' + digits
}
