import fc from 'fast-check'
import { createTask, validate } from 'node-cron'
import t from 'tap'
import { CronError, cronMatches, isTimeZone, parseCron, wallClock } from '../../src/actions/cron.js'

const sorted = (s: ReadonlySet<number> | undefined) => (s === undefined ? undefined : [...s].sort((a, b) => a - b))
const at = (iso: string) => new Date(iso)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

t.test('parseCron expands items, ranges, steps, names and wrapping ranges', async t => {
  const cases: Array<
    [
      expr: string,
      field: 'second' | 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek',
      want: number[] | undefined,
    ]
  > = [
    ['* * * * *', 'second', undefined],
    ['* * * * *', 'minute', range(0, 59)],
    ['*/15 * * * * *', 'second', [0, 15, 30, 45]],
    ['0,30 * * * *', 'minute', [0, 30]],
    ['5-10/2 * * * *', 'minute', [5, 7, 9]],
    ['* 9-17 * * *', 'hour', range(9, 17)],
    ['* 22-2 * * *', 'hour', [0, 1, 2, 22, 23]],
    ['* 22-2/2 * * *', 'hour', [0, 2, 22]],
    ['* * 28-3 * *', 'dayOfMonth', [1, 2, 3, 28, 29, 30, 31]],
    ['* * ? * *', 'dayOfMonth', range(1, 31)],
    ['* * * JAN,mar-May,december *', 'month', [1, 3, 4, 5, 12]],
    ['* * * */4 *', 'month', [1, 5, 9]],
    ['* * * * MON-FRI', 'dayOfWeek', [1, 2, 3, 4, 5]],
    ['* * * * saturday,Sun', 'dayOfWeek', [0, 6]],
    ['* * * * 7', 'dayOfWeek', [0]],
    ['* * * * 5-7', 'dayOfWeek', [0, 5, 6]],
    ['* * * * FRI-MON', 'dayOfWeek', [0, 1, 5, 6]],
    ['* * * * 7-2', 'dayOfWeek', [0, 1, 2]],
    ['* * * * ?', 'dayOfWeek', range(0, 6)],
    ['* * * * */2', 'dayOfWeek', [0, 2, 4, 6]],
    ['  0   9  *  *  1  ', 'hour', [9]],
  ]
  for (const [expr, field, want] of cases) t.same(sorted(parseCron(expr)[field]), want, `${expr} ${field}`)
  t.equal(parseCron('* * * * *').source, '* * * * *')
})

t.test('parseCron rejects bad expressions with a message naming the field', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /expected 5 fields .* got 0$/],
    ['* * * *', /got 4$/],
    ['* * * * * * *', /got 7$/],
    ['@daily', /nicknames like @daily are not supported/],
    ['60 * * * *', /minute "60": 60 is out of range \(0-59\)/],
    ['* 24 * * *', /hour "24": 24 is out of range \(0-23\)/],
    ['60 * * * * *', /second "60": 60 is out of range/],
    ['* * 0 * *', /day-of-month "0": 0 is out of range \(1-31; L and W are not supported\)/],
    ['* * 32 * *', /day-of-month "32"/],
    ['* * * 13 *', /month "13": 13 is out of range \(1-12 or JAN-DEC\)/],
    ['* * * * 8', /day-of-week "8": 8 is out of range/],
    ['* * * foo *', /month "foo": unknown value "foo"/],
    ['* * * * MONDAYS', /unknown value "MONDAYS"/],
    ['* * L * *', /day-of-month "L": unknown value "L" \(1-31; L and W are not supported\)/],
    ['* * 15W * *', /unknown value "15W"/],
    ['* * * * 5L', /day-of-week "5L": unknown value "5L" \(0-7 or SUN-SAT; L and # are not supported\)/],
    ['* * * * 1#2', /unknown value "1#2"/],
    ['*/0 * * * *', /minute "\*\/0": step "0" must be a positive integer/],
    ['*/x * * * *', /step "x" must be a positive integer/],
    ['5/15 * * * *', /a step needs a range or "\*" \(write "5-59\/15" or "\*\/15"\)/],
    ['1,,2 * * * *', /minute "1,,2": unknown value ""/],
    ['1-2-3 * * * *', /unknown value "2-3"/],
    ['* * ? ? *', /month "\?": unknown value "\?"/],
    ['? * * * *', /minute "\?": unknown value/],
    ['* * 30,31 2 *', /day-of-month "30,31" never occurs in month "2"/],
    ['* * 31 4,6 *', /never occurs/],
  ]
  for (const [expr, re] of cases) {
    t.throws(() => parseCron(expr), re, expr)
    t.throws(() => parseCron(expr), CronError, expr)
  }
  t.throws(() => parseCron('61 * * * *'), {
    message: 'invalid cron expression "61 * * * *": minute "61": 61 is out of range (0-59)',
  })
  t.doesNotThrow(() => parseCron('* * 29 2 *'), 'February 29 exists in leap years')
})

t.test('cronMatches compares wall-clock time in the given zone', async t => {
  const cases: Array<[expr: string, iso: string, zone: string, want: boolean]> = [
    ['* 9-17 * * 1-5', '2026-03-30T07:00:00Z', 'Europe/Berlin', true], // Monday 09:00 CEST
    ['* 9-17 * * 1-5', '2026-03-30T06:59:59Z', 'Europe/Berlin', false], // 08:59:59
    ['* 9-17 * * 1-5', '2026-03-30T15:59:59Z', 'Europe/Berlin', true], // 17:59:59: hour 17 is the whole hour
    ['* 9-17 * * 1-5', '2026-03-30T16:00:00Z', 'Europe/Berlin', false], // 18:00
    ['* 9-17 * * 1-5', '2026-03-28T10:00:00Z', 'Europe/Berlin', false], // Saturday
    ['* 9-17 * * 1-5', '2026-03-30T07:00:00Z', 'UTC', false], // 07:00 UTC
    ['* 9-17 * * 1-5', '2026-01-05T08:00:00Z', 'Europe/Berlin', true], // winter: 09:00 CET
    ['* 9-17 * * 1-5', '2026-01-05T07:59:00Z', 'Europe/Berlin', false],
    ['* * * * SUN', '2026-03-29T23:30:00Z', 'Europe/Berlin', false], // Monday 01:30 in Berlin
    ['* * * * SUN', '2026-03-29T23:30:00Z', 'UTC', true],
    ['* * * * SUN', '2026-03-29T23:30:00Z', 'America/New_York', true],
    ['* * 24-26 12 *', '2026-12-24T00:00:00Z', 'UTC', true],
    ['* * 24-26 12 *', '2026-12-23T23:00:00Z', 'Europe/Berlin', true], // already the 24th in Berlin
    ['* * 24-26 12 *', '2026-12-23T23:00:00Z', 'UTC', false],
    ['30 * * * *', '2026-06-01T10:30:59.999Z', 'UTC', true], // 5 fields: any second of the minute
    ['30 * * * *', '2026-06-01T10:31:00Z', 'UTC', false],
    ['30 15 * * *', '2026-06-01T10:00:00Z', 'Asia/Kolkata', true], // +05:30
    ['45 15 * * *', '2026-06-01T10:00:00Z', 'Asia/Kathmandu', true], // +05:45
    ['0 15 * * *', '2026-06-01T10:00:00Z', 'Asia/Kolkata', false],
    ['*/15 * * * * *', '2026-06-01T10:00:45Z', 'UTC', true],
    ['*/15 * * * * *', '2026-06-01T10:00:46Z', 'UTC', false],
    ['0-9 30 * * * *', '2026-06-01T10:30:09.500Z', 'UTC', true],
    ['0-9 30 * * * *', '2026-06-01T10:30:10Z', 'UTC', false],
    ['* * 13 * FRI', '2026-02-13T12:00:00Z', 'UTC', true], // node-cron: day-of-month AND day-of-week
    ['* * 13 * FRI', '2026-03-13T12:00:00Z', 'UTC', true],
    ['* * 13 * FRI', '2026-04-13T12:00:00Z', 'UTC', false], // a Monday the 13th
    ['* * 13 * FRI', '2026-02-20T12:00:00Z', 'UTC', false], // a Friday, not the 13th
    ['* 0 * * *', '2026-06-01T00:00:00Z', 'UTC', true], // midnight is hour 0, not 24
  ]
  for (const [expr, iso, zone, want] of cases)
    t.equal(cronMatches(expr, at(iso), zone), want, `${expr} @ ${iso} ${zone}`)
  const parsed = parseCron('* 9-17 * * 1-5')
  t.equal(cronMatches(parsed, at('2026-03-30T07:00:00Z'), 'Europe/Berlin'), true, 'accepts a parsed schedule')
  t.throws(() => cronMatches('* * * * *', at('2026-03-30T07:00:00Z'), 'Mars/Olympus'), RangeError)
})

t.test('DST in Europe/Berlin: a skipped hour never matches, a repeated hour matches twice', async t => {
  const minutesMatching = (expr: string, dayUtc: string, zone: string) => {
    const start = Date.parse(`${dayUtc}T00:00:00Z`)
    return range(0, 24 * 60 - 1).filter(m => cronMatches(expr, new Date(start + m * 60_000), zone)).length
  }
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:xx does not exist.
  t.equal(minutesMatching('* 2 * * *', '2026-03-29', 'Europe/Berlin'), 0)
  t.equal(minutesMatching('* 3 * * *', '2026-03-29', 'Europe/Berlin'), 60)
  // The local 29th has 23 hours; the UTC day covers 01:00 CET to 23:59 CEST of it, i.e. 22 of them.
  t.equal(minutesMatching('* * 29 3 *', '2026-03-29', 'Europe/Berlin'), 22 * 60)
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:xx happens twice.
  t.equal(minutesMatching('* 2 * * *', '2026-10-25', 'Europe/Berlin'), 120)
  t.equal(cronMatches('* 2 * * *', at('2026-10-25T00:30:00Z'), 'Europe/Berlin'), true, '02:30 CEST')
  t.equal(cronMatches('* 2 * * *', at('2026-10-25T01:30:00Z'), 'Europe/Berlin'), true, '02:30 CET')
  t.equal(cronMatches('* 2 * * *', at('2026-10-25T02:30:00Z'), 'Europe/Berlin'), false, '03:30 CET')
})

t.test('wallClock and isTimeZone', async t => {
  t.same(wallClock(at('2026-03-29T01:30:05Z'), 'Europe/Berlin'), {
    year: 2026,
    month: 3,
    day: 29,
    hour: 3,
    minute: 30,
    second: 5,
    weekday: 0,
  })
  t.same(wallClock(at('2026-01-01T00:00:00Z'), 'America/Los_Angeles'), {
    year: 2025,
    month: 12,
    day: 31,
    hour: 16,
    minute: 0,
    second: 0,
    weekday: 3,
  })
  t.equal(isTimeZone('UTC'), true)
  t.equal(isTimeZone('Europe/Berlin'), true)
  t.equal(isTimeZone('Mars/Olympus'), false)
  t.equal(isTimeZone(''), false)
})

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham']

function fieldArb(min: number, max: number, names: readonly string[] = []): fc.Arbitrary<string> {
  const value = fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min, max }).map(String) },
    { weight: names.length > 0 ? 1 : 0, arbitrary: fc.constantFrom(...(names.length > 0 ? names : ['x'])) },
  )
  // Out-of-range values only stand alone: node-cron folds an out-of-range end of a wrapping range ("13-1" months) back into range.
  const outOfRange = fc.integer({ min: max + 1, max: max + 2 }).map(String)
  const step = fc.integer({ min: 0, max: 13 })
  const item = fc.oneof(
    { weight: 4, arbitrary: fc.constant('*') },
    { weight: 2, arbitrary: value },
    { weight: 1, arbitrary: outOfRange },
    { weight: 2, arbitrary: fc.tuple(value, value).map(([a, b]) => `${a}-${b}`) },
    { weight: 2, arbitrary: step.map(s => `*/${s}`) },
    { weight: 2, arbitrary: fc.tuple(value, value, step).map(([a, b, s]) => `${a}-${b}/${s}`) },
  )
  return fc.array(item, { minLength: 1, maxLength: 3 }).map(items => items.join(','))
}

t.test('agrees with node-cron on validity and on matching (oracle)', async t => {
  const expression = fc
    .tuple(
      fc.option(fieldArb(0, 59), { nil: undefined }),
      fieldArb(0, 59),
      fieldArb(0, 23),
      fc.oneof(fieldArb(1, 31), fc.constant('?')),
      fieldArb(1, 12, ['JAN', 'feb', 'Mar', 'dec', 'june']),
      fc.oneof(fieldArb(0, 7, ['SUN', 'mon', 'Fri', 'sat', 'tuesday']), fc.constant('?')),
    )
    .map(fields => fields.filter(f => f !== undefined).join(' '))
  const instant = fc.integer({ min: Date.parse('2024-01-01T00:00:00Z'), max: Date.parse('2028-12-31T23:59:59Z') })
  let valid = 0
  let matched = 0
  fc.assert(
    fc.property(expression, instant, fc.constantFrom(...ZONES), (expr, ms, zone) => {
      let mine: ReturnType<typeof parseCron> | undefined
      try {
        mine = parseCron(expr)
      } catch {
        mine = undefined
      }
      if ((mine !== undefined) !== validate(expr)) return false
      if (mine === undefined) return true
      valid++
      // node-cron runs 5-field expressions at second 0 only; a window covers the whole minute.
      const date = new Date(mine.second === undefined ? ms - (ms % 60_000) : ms - (ms % 1000))
      const task = createTask(expr, () => undefined, { timezone: zone })
      const want = task.match(date)
      void task.destroy()
      if (want) matched++
      return cronMatches(mine, date, zone) === want
    }),
    { numRuns: 3000, seed: 20260329 },
  )
  t.ok(valid > 500, `${valid} valid expressions compared`)
  t.ok(matched > 50, `${matched} of them matched`)
})
