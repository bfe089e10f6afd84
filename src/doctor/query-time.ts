import type { PrometheusSource } from '../sources/prometheus.js'
import { warn, type Check } from './check.js'

const NAME = 'query-time'

/** Shifts up to this much are rounding and clock noise, not a delay anyone would notice in an alert. */
const TOLERANCE_MS = 1_000

/**
 * checkQueryTime asks `time()` at `now`: Prometheus answers exactly the time asked. VictoriaMetrics answers a
 * query within -search.latencyOffset (30s by default) of its own clock as of that long ago, so every rule would
 * see its data, and fire, that much later than on Prometheus. Only a shift is reported.
 */
export async function checkQueryTime(source: PrometheusSource, now: number, shownUrl: string): Promise<Check[]> {
  let answered: number | undefined
  try {
    const { samples } = await source.query('time()', now)
    answered = samples.length === 1 ? (samples[0]?.value ?? Number.NaN) * 1000 : undefined
  } catch {
    return [] // the reachability check already reports a query API that fails
  }
  if (answered === undefined || !Number.isFinite(answered)) return []
  const shiftMs = now - answered
  if (Math.abs(shiftMs) <= TOLERANCE_MS) return []
  const shift = `${(Math.abs(shiftMs) / 1000).toFixed(1)} s ${shiftMs > 0 ? 'before' : 'after'}`
  const hint =
    'on VictoriaMetrics this is -search.latencyOffset (default 30s): lower it (e.g. -search.latencyOffset=5s) so rules see recent data; see docs/backends.md'
  return [
    warn(
      NAME,
      `Prometheus at ${shownUrl} answers a query for ${new Date(now).toISOString()} as of ${shift}: every rule sees its data, and fires, that much late`,
      hint,
    ),
  ]
}
