import { Gauge, type Registry } from 'prom-client'
import { PROBE_METRICS, type ProbeMetric, type ProbeStore } from '../sources/probe-store.js'

const HELP: Record<ProbeMetric, string> = {
  rollguard_probe_success: 'Whether the last health probe succeeded (1) or failed (0).',
  rollguard_probe_duration_seconds: 'Duration of the last health probe.',
  rollguard_probe_http_status_code: 'HTTP status of the last health probe (0 without a response).',
}

/**
 * registerProbeMetrics exports the probe store's current series on /metrics with the probes' own labels, so a
 * Prometheus that scrapes rollguard sees the same series the rules evaluate locally. Label names depend on the
 * configured probes, so the gauges are re-registered on reload.
 */
export function registerProbeMetrics(registry: Registry, store: ProbeStore, labelNames: readonly string[]): void {
  const names = [...new Set([...labelNames, 'probe', 'instance'])].sort()
  for (const metric of PROBE_METRICS) {
    registry.removeSingleMetric(metric)
    new Gauge({
      name: metric,
      help: HELP[metric],
      labelNames: names,
      registers: [registry],
      collect() {
        this.reset()
        for (const sample of store.samples(metric, Date.now())) {
          const labels: Record<string, string> = {}
          for (const name of names) labels[name] = sample.labels[name] ?? ''
          this.set(labels, sample.value)
        }
      },
    })
  }
}
