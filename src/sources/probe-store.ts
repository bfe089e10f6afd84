import type { Labels, Sample } from '../engine/types.js'
import { redactUrl } from './http-auth.js'

/** ProbeMetric names the synthetic series a ProbeStore serves. */
export type ProbeMetric =
  'rollguard_probe_success' | 'rollguard_probe_duration_seconds' | 'rollguard_probe_http_status_code'

/** PROBE_METRICS lists every ProbeMetric. */
export const PROBE_METRICS: readonly ProbeMetric[] = [
  'rollguard_probe_success',
  'rollguard_probe_duration_seconds',
  'rollguard_probe_http_status_code',
]

/** ProbeResult is the outcome of one probe run; at is the Unix ms time the probe started. */
export interface ProbeResult {
  readonly probe: string
  readonly success: boolean
  readonly durationMs: number
  readonly statusCode?: number
  readonly error?: string
  readonly at: number
}

/** ProbeTarget describes a probe's series: its labels and how long a result stays current. */
export interface ProbeTarget {
  readonly name: string
  readonly url: string
  readonly labels: Labels
  readonly staleAfterMs: number
}

/** isProbeMetric reports whether name is one of the ProbeStore's metrics. */
export function isProbeMetric(name: string): name is ProbeMetric {
  return (PROBE_METRICS as readonly string[]).includes(name)
}

/**
 * ProbeStore keeps the latest result per probe and serves them as samples.
 * A result older than its target's staleAfterMs is not served: missing data must never look like failure.
 */
export class ProbeStore {
  readonly #targets = new Map<string, ProbeTarget>()
  readonly #results = new Map<string, ProbeResult>()

  /** setTargets replaces the probe set; results of probes that remain are kept. */
  setTargets(targets: readonly ProbeTarget[]): void {
    this.#targets.clear()
    for (const target of targets) this.#targets.set(target.name, target)
    for (const name of [...this.#results.keys()]) if (!this.#targets.has(name)) this.#results.delete(name)
  }

  /** record stores a result of a known probe, unless a newer one is already stored. */
  record(result: ProbeResult): void {
    if (!this.#targets.has(result.probe)) return
    const previous = this.#results.get(result.probe)
    if (previous !== undefined && previous.at > result.at) return
    this.#results.set(result.probe, result)
  }

  /** latest returns the stored result of a probe, stale or not. */
  latest(probe: string): ProbeResult | undefined {
    return this.#results.get(probe)
  }

  /** samples returns the current series of metric at atMs, labelled like `metric{<labels>, probe, instance}`. */
  samples(metric: ProbeMetric, atMs: number): Sample[] {
    const out: Sample[] = []
    for (const [name, result] of this.#results) {
      const target = this.#targets.get(name)
      if (target === undefined || atMs - result.at > target.staleAfterMs) continue
      out.push({ labels: seriesLabels(metric, target), value: metricValue(metric, result) })
    }
    return out
  }
}

function seriesLabels(metric: ProbeMetric, target: ProbeTarget): Labels {
  const labels: Record<string, string> = { __name__: metric }
  for (const [name, value] of Object.entries(target.labels)) if (value !== '') labels[name] = value
  labels['probe'] = target.name
  labels['instance'] = redactUrl(target.url)
  return labels
}

// Like the blackbox exporter, a probe without an HTTP response reports status code 0.
function metricValue(metric: ProbeMetric, result: ProbeResult): number {
  switch (metric) {
    case 'rollguard_probe_success':
      return result.success ? 1 : 0
    case 'rollguard_probe_duration_seconds':
      return result.durationMs / 1000
    case 'rollguard_probe_http_status_code':
      return result.statusCode ?? 0
  }
}
