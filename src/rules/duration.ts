/**
 * Prometheus durations (prometheus/common model.ParseDuration and model.Duration.String),
 * in milliseconds: `<uint><unit>` pieces with units y w d h m s ms, strictly descending.
 */

const MS_PER_UNIT = new Map<string, { pos: number; ms: bigint }>([
  ['y', { pos: 1, ms: 365n * 24n * 3600000n }],
  ['w', { pos: 2, ms: 7n * 24n * 3600000n }],
  ['d', { pos: 3, ms: 24n * 3600000n }],
  ['h', { pos: 4, ms: 3600000n }],
  ['m', { pos: 5, ms: 60000n }],
  ['s', { pos: 6, ms: 1000n }],
  ['ms', { pos: 7, ms: 1n }],
])

// Go's time.Duration is int64 nanoseconds; Prometheus rejects anything above it.
const MAX_NS = (1n << 63n) - 1n
const NS_PER_MS = 1000000n

/** DurationError is thrown by parseDuration; its message is Prometheus's text. */
export class DurationError extends Error {
  override name = 'DurationError'
}

/** parseDuration parses a Prometheus duration ("1h30m", "90s", "0") into milliseconds; throws DurationError. */
export function parseDuration(s: string): number {
  if (s === '0') return 0
  if (s === '') throw new DurationError('empty duration string')
  const invalid = (): DurationError => new DurationError(`not a valid duration string: ${goQuote(s)}`)
  let rest = s
  let lastPos = 0
  let totalMs = 0n
  while (rest !== '') {
    const digits = /^[0-9]+/.exec(rest)?.[0]
    if (digits === undefined) throw invalid()
    rest = rest.slice(digits.length)
    const unitText = /^[^0-9]*/.exec(rest)?.[0] ?? ''
    if (unitText === '') throw invalid()
    rest = rest.slice(unitText.length)
    const unit = MS_PER_UNIT.get(unitText)
    if (unit === undefined) throw new DurationError(`unknown unit ${goQuote(unitText)} in duration ${goQuote(s)}`)
    if (unit.pos <= lastPos) throw invalid()
    lastPos = unit.pos
    totalMs += BigInt(digits) * unit.ms
    if (totalMs * NS_PER_MS > MAX_NS) throw new DurationError('duration out of range')
  }
  return Number(totalMs)
}

/** formatDuration prints milliseconds like Prometheus (model.Duration.String): 90000 → "1m30s", 0 → "0s". */
export function formatDuration(ms: number): string {
  let rest = Math.trunc(ms)
  if (rest === 0) return '0s'
  const sign = rest < 0 ? '-' : ''
  rest = Math.abs(rest)
  let out = ''
  for (const [unit, { ms: mult }] of MS_PER_UNIT) {
    const m = Number(mult)
    // Years and weeks only when exact: "90d" reads better than "12w6d".
    if ((unit === 'y' || unit === 'w') && rest % m !== 0) continue
    const v = Math.floor(rest / m)
    if (v > 0) {
      out += `${v}${unit}`
      rest -= v * m
    }
  }
  return sign + out
}

/** goQuote renders a string like Go's %q for the printable cases that durations contain. */
function goQuote(s: string): string {
  return JSON.stringify(s)
}
