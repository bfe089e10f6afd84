/**
 * Cron expressions in node-cron syntax, matched purely against a Date in an IANA time zone.
 * `[second] minute hour day-of-month month day-of-week`; items are `*`, `n`, `a-b` (wrapping when a > b,
 * as node-cron does: hours `22-2`), each optionally `/step`, joined by `,`; months JAN-DEC and weekdays
 * SUN-SAT by name (case-insensitive, short or full), weekday 7 is Sunday, `?` is `*` for the day fields.
 * As in node-cron (unlike Vixie cron) day-of-month and day-of-week must both match.
 *
 * Hand-written rather than node-cron's own matcher: node-cron schedules tasks and has no pure "does this instant
 * match" for a given time zone; it stays a dev dependency, the oracle of test/actions/cron.test.ts.
 */
import { errorText } from '../errors.js'

/** CronSchedule is a parsed expression: the allowed values of each field (second is undefined for 5 fields). */
export interface CronSchedule {
  readonly source: string
  readonly second: ReadonlySet<number> | undefined
  readonly minute: ReadonlySet<number>
  readonly hour: ReadonlySet<number>
  readonly dayOfMonth: ReadonlySet<number>
  readonly month: ReadonlySet<number>
  readonly dayOfWeek: ReadonlySet<number>
}

/** WallClock is an instant's calendar fields in one time zone (month 1-12, weekday 0 = Sunday). */
export interface WallClock {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
  readonly weekday: number
}

/** CronError is an invalid cron expression; the message quotes the expression and names the field. */
export class CronError extends Error {
  override readonly name = 'CronError'
}

interface FieldSpec {
  readonly name: string
  readonly min: number
  readonly max: number
  // `*` and wrapping ranges cycle over min..cycleMax: day-of-week accepts 7 but cycles over 0-6.
  readonly cycleMax: number
  readonly names?: readonly string[]
  readonly question?: boolean
  readonly hint: string
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const FULL_MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const FULL_WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const field = (name: string, min: number, max: number, hint: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  min,
  max,
  cycleMax: max,
  hint,
  ...extra,
})
const SECOND = field('second', 0, 59, '0-59')
const MINUTE = field('minute', 0, 59, '0-59')
const HOUR = field('hour', 0, 23, '0-23')
const DAY_OF_MONTH = field('day-of-month', 1, 31, '1-31; L and W are not supported', { question: true })
const MONTH = field('month', 1, 12, '1-12 or JAN-DEC', { names: MONTHS })
const DAY_OF_WEEK = field('day-of-week', 0, 7, '0-7 or SUN-SAT; L and # are not supported', {
  cycleMax: 6,
  names: WEEKDAYS,
  question: true,
})

/** parseCron parses a 5- or 6-field node-cron expression; throws CronError naming the field at fault. */
export function parseCron(source: string): CronSchedule {
  const fail = (detail: string): CronError =>
    new CronError(`invalid cron expression ${JSON.stringify(source)}: ${detail}`)
  const text = source.trim()
  if (text.startsWith('@')) {
    throw fail(
      'nicknames like @daily are not supported: a window is every minute the expression matches, so write the fields (e.g. "* 0-6 * * *")',
    )
  }
  const parts = text === '' ? [] : text.split(/\s+/)
  if (parts.length !== 5 && parts.length !== 6) {
    throw fail(
      `expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got ${parts.length}`,
    )
  }
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = (parts.length === 6 ? parts : [undefined, ...parts]) as [
    string | undefined,
    string,
    string,
    string,
    string,
    string,
  ]
  const parse = (value: string, spec: FieldSpec): Set<number> => {
    try {
      return parseField(value, spec)
    } catch (err) {
      throw fail(`${spec.name} ${JSON.stringify(value)}: ${errorText(err)}`)
    }
  }
  const schedule: CronSchedule = {
    source,
    second: second === undefined ? undefined : parse(second, SECOND),
    minute: parse(minute, MINUTE),
    hour: parse(hour, HOUR),
    dayOfMonth: parse(dayOfMonth, DAY_OF_MONTH),
    month: parse(month, MONTH),
    dayOfWeek: new Set([...parse(dayOfWeek, DAY_OF_WEEK)].map(d => d % 7)),
  }
  if (![...schedule.month].some(m => [...schedule.dayOfMonth].some(d => d <= (DAYS_IN_MONTH[m - 1] as number)))) {
    throw fail(`day-of-month ${JSON.stringify(dayOfMonth)} never occurs in month ${JSON.stringify(month)}`)
  }
  return schedule
}

/** cronMatches reports whether the wall-clock time of date in timeZone matches (any second of the minute for 5 fields). */
export function cronMatches(expr: string | CronSchedule, date: Date, timeZone: string): boolean {
  const c = typeof expr === 'string' ? parseCron(expr) : expr
  const t = wallClock(date, timeZone)
  return (
    (c.second === undefined || c.second.has(t.second)) &&
    c.minute.has(t.minute) &&
    c.hour.has(t.hour) &&
    c.dayOfMonth.has(t.day) &&
    c.month.has(t.month) &&
    c.dayOfWeek.has(t.weekday)
  )
}

/** wallClock converts an instant to calendar fields in an IANA time zone with Intl.DateTimeFormat; throws RangeError for an unknown zone. */
export function wallClock(date: Date, timeZone: string): WallClock {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  })
  const n = {} as Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number>
  for (const p of format.formatToParts(date)) n[p.type as keyof typeof n] = Number(p.value)
  const weekday = new Date(Date.UTC(n.year, n.month - 1, n.day)).getUTCDay()
  return { year: n.year, month: n.month, day: n.day, hour: n.hour, minute: n.minute, second: n.second, weekday }
}

/** isTimeZone reports whether Intl knows the IANA time zone name. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
    return true
  } catch {
    return false
  }
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const all = text === '?' && spec.question === true ? '*' : text
  const out = new Set<number>()
  for (const item of all.split(',')) for (const v of parseItem(item, spec)) out.add(v)
  return out
}

function parseItem(item: string, spec: FieldSpec): number[] {
  const slash = item.indexOf('/')
  const range = slash < 0 ? item : item.slice(0, slash)
  const step = slash < 0 ? 1 : parseStep(item.slice(slash + 1))
  if (range === '*') return expand(spec.min, spec.cycleMax, step, spec)
  const dash = range.indexOf('-')
  if (dash < 0) {
    if (slash >= 0)
      throw new Error(`a step needs a range or "*" (write "${range}-${spec.cycleMax}/${step}" or "*/${step}")`)
    return [parseValue(range, spec)]
  }
  return expand(parseValue(range.slice(0, dash), spec), parseValue(range.slice(dash + 1), spec), step, spec)
}

function parseStep(text: string): number {
  const step = /^\d+$/.test(text) ? Number(text) : 0
  if (step < 1) throw new Error(`step ${JSON.stringify(text)} must be a positive integer`)
  return step
}

function parseValue(text: string, spec: FieldSpec): number {
  if (/^\d+$/.test(text)) {
    const v = Number(text)
    if (v < spec.min || v > spec.max) throw new Error(`${v} is out of range (${spec.hint})`)
    return v
  }
  const lower = text.toLowerCase()
  const full = spec.names === MONTHS ? FULL_MONTHS : FULL_WEEKDAYS
  const index = spec.names === undefined ? -1 : Math.max(spec.names.indexOf(lower), full.indexOf(lower))
  if (index < 0) throw new Error(`unknown value ${JSON.stringify(text)} (${spec.hint})`)
  return index + spec.min
}

function expand(from: number, to: number, step: number, spec: FieldSpec): number[] {
  const out: number[] = []
  if (from <= to) {
    for (let v = from; v <= to; v += step) out.push(v)
    return out
  }
  // A wrapping range runs from `from` through cycleMax and on from min, stepping across the wrap (node-cron 4).
  const size = spec.cycleMax - spec.min + 1
  const span = (((to - from) % size) + size) % size
  for (let offset = 0; offset <= span; offset += step) {
    const v = from + offset
    out.push(v > spec.cycleMax ? v - size : v)
  }
  return out
}
