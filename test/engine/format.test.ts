import t from 'tap'
import {
  formatFloat,
  formatGoDuration,
  formatGoFloat,
  formatGoPercentG,
  formatGoTime,
  formatPrometheusApiValue,
  humanize,
  humanize1024,
  humanizeDuration,
  humanizePercentage,
  humanizeTimestamp,
  unixSecondsToMillis,
  type FloatFormat,
} from '../../src/engine/format.js'

// Expected strings are what Go 1.2x prints for the same float64 values.
t.test('formatGoFloat is fmt %v for float64', async t => {
  const cases: [number, string][] = [
    [1, '1'],
    [0.5, '0.5'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [0, '0'],
    [-0, '-0'],
    [-2.5, '-2.5'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [1.5e-7, '1.5e-07'],
    [0.1 + 0.2, '0.30000000000000004'],
    [100, '100'],
    [999999, '999999'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [12.5, '12.5'],
  ]
  for (const [v, want] of cases) t.equal(formatGoFloat(v), want, `%v of ${v}`)
})

t.test('formatPrometheusApiValue is strconv.FormatFloat(v, e, -1, 64)', async t => {
  const cases: [number, string][] = [
    [1, '1e+00'],
    [15, '1.5e+01'],
    [0.5, '5e-01'],
    [0, '0e+00'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [-0.000123, '-1.23e-04'],
    [1e100, '1e+100'],
  ]
  for (const [v, want] of cases) t.equal(formatPrometheusApiValue(v), want, `${v}`)
})

t.test('formatGoPercentG is %.Ng with round-half-even on exact ties', async t => {
  const cases: [number, number, string][] = [
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [12345, 4, '1.234e+04'],
    [12355, 4, '1.236e+04'],
    [1234, 4, '1234'],
    [100000, 4, '1e+05'],
    [1.5, 4, '1.5'],
    [0, 4, '0'],
    [2.5, 0, '2'],
    [0.00012345, 3, '0.000123'],
    [0.000012345, 3, '1.23e-05'],
    [99.99, 3, '100'],
    [9.9999, 4, '10'],
    [NaN, 4, 'NaN'],
    [Infinity, 4, '+Inf'],
    [-1234.5678, 6, '-1234.57'],
    [1e20, 4, '1e+20'],
    [123456789, 20, '123456789'],
    [0.1, 20, '0.10000000000000000555'],
  ]
  for (const [v, p, want] of cases) t.equal(formatGoPercentG(v, p), want, `%.${p}g of ${v}`)
})

t.test('formatFloat covers every format and precision mode', async t => {
  const cases: [number, FloatFormat, number, string][] = [
    [1234.5678, 'e', 3, '1.235e+03'],
    [1234.5678, 'E', 2, '1.23E+03'],
    [0, 'e', 2, '0.00e+00'],
    [1234.5678, 'e', -1, '1.2345678e+03'],
    [1234.5678, 'E', -1, '1.2345678E+03'],
    [3.14159, 'f', 2, '3.14'],
    [0.009, 'f', 2, '0.01'],
    [0.004, 'f', 2, '0.00'],
    [1e-10, 'f', 2, '0.00'],
    [2.5, 'f', 0, '2'],
    [3.5, 'f', 0, '4'],
    [0.4, 'f', 0, '0'],
    [0.6, 'f', 0, '1'],
    [9.99, 'f', 1, '10.0'],
    [1e20, 'f', 1, '100000000000000000000.0'],
    [0.000123, 'f', -1, '0.000123'],
    [1e21, 'f', -1, '1000000000000000000000'],
    [123.456, 'f', 5, '123.45600'],
    [0.05, 'f', 3, '0.050'],
    [1e6, 'G', -1, '1E+06'],
    [1e6, 'G', 3, '1E+06'],
    [1.0000000000000002, 'g', 17, '1.0000000000000002'],
    [0.5, 'f', 0, '0'],
    [1.5, 'f', 0, '2'],
    [1.25, 'f', 1, '1.2'],
    [1.35, 'f', 1, '1.4'],
    [5e-324, 'e', 3, '4.941e-324'],
    [2 ** 70, 'g', -1, '1.1805916207174113e+21'],
    // Near-ties that are not exact (0.15 is 0.1499999...) round down; exact ties (0.125) round to even.
    [0.15, 'f', 1, '0.1'],
    [0.15, 'g', 1, '0.1'],
    [0.125, 'f', 2, '0.12'],
    [1.005, 'f', 2, '1.00'],
    [2.675, 'f', 2, '2.67'],
    [1.7976931348623157e308, 'e', 2, '1.80e+308'],
    [1e23, 'f', 3, '99999999999999991611392.000'],
    [0.1, 'e', 16, '1.0000000000000001e-01'],
    [9.5, 'f', 0, '10'],
    [99.5, 'f', 0, '100'],
    [2.2250738585072014e-308, 'e', 3, '2.225e-308'],
    [1e-310, 'g', 3, '1e-310'],
  ]
  for (const [v, fmt, prec, want] of cases) t.equal(formatFloat(v, fmt, prec), want, `${fmt} ${prec} of ${v}`)
})

t.test('humanize uses 1000-based SI prefixes', async t => {
  const cases: [number, string][] = [
    [0, '0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1, '1'],
    [999, '999'],
    [1000, '1k'],
    [1234567, '1.235M'],
    [12345, '12.35k'],
    [-1234567, '-1.235M'],
    [1e30, '1e+06Y'],
    [0.001234, '1.234m'],
    [0.5, '500m'],
    [1.5e-7, '150n'],
    [-0.001, '-1m'],
    [1e-30, '1e-06y'],
    [1e24, '1Y'],
    [123.456, '123.5'],
  ]
  for (const [v, want] of cases) t.equal(humanize(v), want, `humanize ${v}`)
})

t.test('humanize1024 uses IEC prefixes', async t => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [-1, '-1'],
    [0.5, '0.5'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [1023, '1023'],
    [1024, '1ki'],
    [1048576, '1Mi'],
    [1536, '1.5ki'],
    [-2048, '-2ki'],
    [2 ** 90, '1024Yi'],
    [2 ** 100, '1.049e+06Yi'],
    [123456789, '117.7Mi'],
  ]
  for (const [v, want] of cases) t.equal(humanize1024(v), want, `humanize1024 ${v}`)
})

t.test('humanizeDuration renders seconds like Prometheus', async t => {
  const cases: [number, string][] = [
    [90061, '1d 1h 1m 1s'],
    [1.5, '1.5s'],
    [0.0015, '1.5ms'],
    [0, '0s'],
    [-0, '-0s'],
    [-90061, '-1d 1h 1m 1s'],
    [3600, '1h 0m 0s'],
    [3661.9, '1h 1m 1s'],
    [61, '1m 1s'],
    [59.99, '59.99s'],
    [-1.5, '-1.5s'],
    [1, '1s'],
    [0.000001, '1us'],
    [-0.5, '-500ms'],
    [1e-30, '1e-06ys'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [86400 * 400, '400d 0h 0m 0s'],
  ]
  for (const [v, want] of cases) t.equal(humanizeDuration(v), want, `humanizeDuration ${v}`)
})

t.test('humanizePercentage multiplies by 100 and uses %.4g', async t => {
  const cases: [number, string][] = [
    [0.1234, '12.34%'],
    [1, '100%'],
    [0, '0%'],
    [0.000012345, '0.001234%'],
    [12.3456, '1235%'],
    [NaN, 'NaN%'],
    [Infinity, '+Inf%'],
    [-0.5, '-50%'],
  ]
  for (const [v, want] of cases) t.equal(humanizePercentage(v), want, `humanizePercentage ${v}`)
})

t.test('humanizeTimestamp renders Go time.Time.String() in UTC', async t => {
  const cases: [number, string][] = [
    [0, '1970-01-01 00:00:00 +0000 UTC'],
    [1767261600.5, '2026-01-01 10:00:00.5 +0000 UTC'],
    // v*1e9 is 1767261600122999808 in float64, which Go truncates to ...122 ms as well.
    [1767261600.123, '2026-01-01 10:00:00.122 +0000 UTC'],
    [1767261600.0009, '2026-01-01 10:00:00 +0000 UTC'],
    [-1.5, '1969-12-31 23:59:58.5 +0000 UTC'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [951782400, '2000-02-29 00:00:00 +0000 UTC'],
  ]
  for (const [v, want] of cases) t.equal(humanizeTimestamp(v), want, `humanizeTimestamp ${v}`)
  t.throws(() => humanizeTimestamp(1e10), {
    message: '1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64',
  })
  t.throws(() => humanizeTimestamp(-1e10), RangeError)
})

t.test('unixSecondsToMillis truncates like model.TimeFromUnixNano', async t => {
  t.equal(unixSecondsToMillis(1.0019), 1001)
  t.equal(unixSecondsToMillis(-1.0019), -1001)
  t.equal(unixSecondsToMillis(9e9), 9e12)
})

t.test('formatGoTime and formatGoDuration', async t => {
  t.equal(formatGoTime(1767261600020), '2026-01-01 10:00:00.02 +0000 UTC')
  t.equal(formatGoTime(-62135596800000), '0001-01-01 00:00:00 +0000 UTC')
  const durations: [bigint, string][] = [
    [0n, '0s'],
    [1n, '1ns'],
    [999n, '999ns'],
    [1500n, '1.5µs'],
    [1000n, '1µs'],
    [1500000n, '1.5ms'],
    [2000000n, '2ms'],
    [1500000000n, '1.5s'],
    [60000000000n, '1m0s'],
    [90500000000n, '1m30.5s'],
    [3600000000000n, '1h0m0s'],
    [90061500000000n, '25h1m1.5s'],
    [-1500000n, '-1.5ms'],
    [-(2n ** 63n), '-2562047h47m16.854775808s'],
  ]
  for (const [ns, want] of durations) t.equal(formatGoDuration(ns), want, `${ns}ns`)
})
