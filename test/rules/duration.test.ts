import fc from 'fast-check'
import t from 'tap'
import { DurationError, formatDuration, parseDuration } from '../../src/rules/duration.js'

const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H

t.test('parseDuration accepts model.ParseDuration syntax', async t => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['0s', 0],
    ['5m', 5 * M],
    ['90s', 90 * S],
    ['1h30m', H + 30 * M],
    ['1y', 365 * D],
    ['2w', 14 * D],
    ['1d', D],
    ['100ms', 100],
    ['1m30s500ms', M + 30 * S + 500],
    ['1y2w3d4h5m6s7ms', 365 * D + 14 * D + 3 * D + 4 * H + 5 * M + 6 * S + 7],
    ['0010m', 10 * M],
    ['61m', 61 * M],
  ]
  for (const [s, want] of cases) t.equal(parseDuration(s), want, s)
})

t.test('parseDuration rejects what Prometheus rejects, with its messages', async t => {
  const cases: Array<[string, string]> = [
    ['', 'empty duration string'],
    ['300', 'not a valid duration string: "300"'],
    ['-5m', 'not a valid duration string: "-5m"'],
    ['+5m', 'not a valid duration string: "+5m"'],
    ['5m1h', 'not a valid duration string: "5m1h"'],
    ['1m1m', 'not a valid duration string: "1m1m"'],
    ['m', 'not a valid duration string: "m"'],
    [' 5m', 'not a valid duration string: " 5m"'],
    ['1.5m', 'unknown unit "." in duration "1.5m"'],
    ['5x', 'unknown unit "x" in duration "5x"'],
    ['5M', 'unknown unit "M" in duration "5M"'],
    ['5m ', 'unknown unit "m " in duration "5m "'],
    ['300000y', 'duration out of range'],
    ['106751d23h47m16s855ms', 'duration out of range'],
  ]
  for (const [s, message] of cases) t.throws(() => parseDuration(s), new DurationError(message), JSON.stringify(s))
  t.equal(parseDuration('106751d23h47m16s854ms'), 9223372036854, 'largest Go duration, in ms')
})

t.test('formatDuration prints like model.Duration.String', async t => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [90 * S, '1m30s'],
    [H, '1h'],
    [1, '1ms'],
    [D + 1, '1d1ms'],
    [7 * D, '1w'],
    [8 * D, '8d'],
    [90 * D, '90d'],
    [365 * D, '1y'],
    [366 * D, '366d'],
    [-90 * S, '-1m30s'],
    [1500.7, '1s500ms'],
  ]
  for (const [ms, want] of cases) t.equal(formatDuration(ms), want, String(ms))
})

t.test('formatDuration output parses back to the same value', async t => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 9_000_000_000_000 }), ms => parseDuration(formatDuration(ms)) === ms))
  t.pass('round trip holds')
})
