/** Prometheus's template functions (template/template.go). `query` reads answers the caller ran (CallEnv.queries). */

import {
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  unixSecondsToMillis,
} from '../format.js'
import type { CallEnv, CallFunc } from './func-types.js'
import { compileGoRegexp, goMatch, goReplaceAll } from './goregexp.js'
import { isIP, joinHostPort, queryEscape, splitHostPort, urlPath } from './netutil.js'
import { canBackquote, compareGoStrings, goQuote, parseGoFloat } from './strconv.js'
import { GoDuration, GoHTML, GoMap, GoSample, GoSlice, GoTime, arg, str, typeName, type Value } from './values.js'
import { errorText } from '../../errors.js'

const NIL_DEREFERENCE = 'runtime error: invalid memory address or nil pointer dereference'
// Word-break "mid" characters (MidLetter, MidNumLet, Single_Quote) keep a word going, e.g. "it's", "foo.bar".
const MID = new Set([
  ':',
  '·',
  '\u0387',
  '\u05F4',
  '\u2027',
  '\uFE13',
  '\uFE55',
  '\uFF1A',
  '.',
  "'",
  '\u2018',
  '\u2019',
  '\u2024',
  '\uFE52',
  '\uFF07',
  '\uFF0E',
])
const WORD = /^[\p{L}\p{N}\p{M}\p{Cf}\p{Pc}]$/u
const NS_PER_MS = 1000000n
const DURATION_UNITS: Readonly<Record<string, readonly [number, bigint]>> = {
  y: [1, 365n * 86400000n * NS_PER_MS],
  w: [2, 7n * 86400000n * NS_PER_MS],
  d: [3, 86400000n * NS_PER_MS],
  h: [4, 3600000n * NS_PER_MS],
  m: [5, 60000n * NS_PER_MS],
  s: [6, 1000n * NS_PER_MS],
  ms: [7, NS_PER_MS],
}
const MAX_DURATION = 2n ** 63n - 1n

/** toFloat is Prometheus's ConvertToFloat: float64, int kinds and numeric strings. */
export function toFloat(v: Value): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string') return parseGoFloat(v)
  if (v !== null && typeof v === 'object' && v.kind === 'int' && v.type !== 'uint8') return v.n
  throw new Error(`can't convert ${typeName(v)} to float`)
}

/** titleCase is cases.Title(language.AmericanEnglish, cases.NoLower): upper-case the first cased letter of each word. */
export function titleCase(s: string): string {
  let out = ''
  let inWord = false
  let wasMid = false
  for (const ch of s) {
    const mid = MID.has(ch)
    if (wasMid && mid) inWord = false
    if (ch.toLowerCase() !== ch.toUpperCase()) {
      out += inWord ? ch : ch.toUpperCase()
      inWord = true
    } else {
      out += ch
      if (!mid && !WORD.test(ch)) inWord = false
    }
    wasMid = mid
  }
  return out
}

/** parsePromDuration is model.ParseDurationAllowNegative, returning seconds like Prometheus's parseDuration. */
export function parsePromDuration(s: string): number {
  if (s === '') throw new Error('empty duration string')
  const negative = s.startsWith('-')
  const ns = durationNanos(negative ? s.slice(1) : s)
  return Number(negative ? -ns : ns) / 1e9
}

function durationNanos(s: string): bigint {
  if (s === '0') return 0n
  const invalid = new Error(`not a valid duration string: ${goQuote(s)}`)
  let total = 0n
  let lastPos = 0
  for (let rest = s; rest !== '';) {
    const m = /^(\d+)(\D+)/.exec(rest)
    if (m === null) throw invalid
    const [whole, digits, name] = m as unknown as [string, string, string]
    const unit = DURATION_UNITS[name]
    if (unit === undefined) throw new Error(`unknown unit ${goQuote(name)} in duration ${goQuote(s)}`)
    if (unit[0] <= lastPos || BigInt(digits) >= 2n ** 64n) throw invalid
    lastPos = unit[0]
    total += BigInt(digits) * unit[1]
    if (total > MAX_DURATION) throw new Error('duration out of range')
    rest = rest.slice(whole.length)
  }
  return total
}

function toTime(v: number): GoTime {
  if (!Number.isFinite(v)) throw new Error('value is NaN or Inf')
  return new GoTime(unixSecondsToMillis(v), true)
}

// time.Duration(v * 1e9); out-of-range conversions yield math.MinInt64 as on amd64.
function toDuration(v: number): GoDuration {
  const ns = v * 1e9
  return new GoDuration(Math.abs(ns) < 2 ** 63 ? BigInt(Math.trunc(ns)) : -(2n ** 63n))
}

function stripPort(hostPort: string): string {
  return splitHostPort(hostPort)?.host ?? hostPort
}

function stripDomain(hostPort: string): string {
  const split = splitHostPort(hostPort)
  const host = split?.host ?? hostPort
  if (isIP(host)) return hostPort
  const name = host.split('.')[0] as string
  return split === undefined || split.port === '' ? name : joinHostPort(name, split.port)
}

function reReplaceAll(pattern: string, repl: string, text: string): string {
  let re: RegExp
  try {
    re = compileGoRegexp(pattern)
  } catch (e) {
    // regexp.MustCompile panics with this message; the template engine reports the panic.
    const quoted = canBackquote(pattern) ? '`' + pattern + '`' : goQuote(pattern)
    throw new Error(`regexp: Compile(${quoted}): ${errorText(e)}`, { cause: e })
  }
  return goReplaceAll(re, text, repl)
}

function numeric(format: (v: number) => Value): CallFunc {
  return { params: ['any'], call: a => format(toFloat(arg(a, 0))) }
}

function text(fn: (s: string) => Value): CallFunc {
  return { params: ['string'], call: a => fn(str(a, 0)) }
}

/**
 * query is an instant query at the evaluation time. The caller ran it (or runs it when told it is unanswered: the
 * expansion then goes on as if it returned nothing, to find the other queries the template needs).
 */
function query(expr: string, env: CallEnv): GoSlice {
  const queries = env.queries
  if (queries === undefined) throw new Error('no query source here: template queries run only during rule evaluation')
  const answer = queries.answer(expr)
  if (answer === undefined) {
    queries.unanswered(expr)
    return GoSlice.of([])
  }
  if ('error' in answer) throw new Error(answer.error)
  return GoSlice.of(answer.samples.map(s => new GoSample(s.labels, s.value)))
}

// The executor has type-checked sample and samples arguments: a GoSample / GoSlice or nil.
function sample(args: readonly Value[], i: number): GoSample {
  const s = args[i] as GoSample | null
  if (s === null) throw new Error(NIL_DEREFERENCE)
  return s
}

function samples(args: readonly Value[], i: number): GoSlice | null {
  return args[i] as GoSlice | null
}

function first(v: GoSlice | null): GoSample {
  if (v === null || v.length === 0) throw new Error('first() called on vector with no elements')
  return v.at(0)
}

// sortByLabel sorts in place (sort.Stable on the shared array) and returns its argument; nil stays a nil slice.
function sortByLabel(label: string, v: GoSlice | null): GoSlice {
  if (v === null) return new GoSlice([], 0, 0, 0, true)
  v.sortInPlace((a, b) => compareGoStrings(a.labels.get(label) as string, b.labels.get(label) as string))
  return v
}

/** PROMETHEUS_FUNCS are Prometheus's template functions. */
export const PROMETHEUS_FUNCS: Readonly<Record<string, CallFunc>> = {
  query: { params: ['string'], call: (a, env) => query(str(a, 0), env) },
  first: { params: ['samples'], call: a => first(samples(a, 0)) },
  label: { params: ['string', 'sample'], call: a => sample(a, 1).labels.get(str(a, 0)) },
  value: { params: ['sample'], call: a => sample(a, 0).value },
  strvalue: { params: ['sample'], call: a => sample(a, 0).labels.get('__value__') },
  sortByLabel: { params: ['string', 'samples'], call: a => sortByLabel(str(a, 0), samples(a, 1)) },
  args: {
    params: [],
    variadic: 'any',
    call: a => new GoMap(Object.fromEntries(a.map((v, i) => [`arg${i}`, v])), 'interface'),
  },
  reReplaceAll: { params: ['string', 'string', 'string'], call: a => reReplaceAll(str(a, 0), str(a, 1), str(a, 2)) },
  match: { params: ['string', 'string'], call: a => goMatch(compileGoRegexp(str(a, 0)), str(a, 1)) },
  safeHtml: text(s => new GoHTML(s)),
  title: text(titleCase),
  toUpper: text(s => s.toUpperCase()),
  toLower: text(s => s.toLowerCase()),
  graphLink: text(s => `/graph?g0.expr=${queryEscape(s)}&g0.tab=0`),
  tableLink: text(s => `/graph?g0.expr=${queryEscape(s)}&g0.tab=1`),
  stripPort: text(stripPort),
  stripDomain: text(stripDomain),
  humanize: numeric(humanize),
  humanize1024: numeric(humanize1024),
  humanizeDuration: numeric(humanizeDuration),
  humanizePercentage: numeric(humanizePercentage),
  humanizeTimestamp: numeric(humanizeTimestamp),
  toTime: numeric(toTime),
  toDuration: numeric(toDuration),
  now: { params: [], call: (_a, env) => env.evalTime / 1000 },
  pathPrefix: { params: [], call: (_a, env) => urlPath(env.externalURL) },
  externalURL: { params: [], call: (_a, env) => env.externalURL },
  parseDuration: text(parsePromDuration),
  urlQueryEscape: text(queryEscape),
}
