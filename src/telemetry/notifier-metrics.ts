import { Counter, Gauge, Histogram } from 'prom-client'
import type { Registry } from 'prom-client'
import type { NotifierMetrics } from '../notifier/alertmanager.js'

/** createNotifierMetrics registers the rollguard_notifications_* metrics (Prometheus's notifier metrics) on registry. */
export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const registers = [registry]
  const labelNames = ['alertmanager'] as const
  const sent = new Counter({
    name: 'rollguard_notifications_sent_total',
    help: 'Total number of alerts sent, including those in failed requests.',
    labelNames,
    registers,
  })
  const errors = new Counter({
    name: 'rollguard_notifications_errors_total',
    help: 'Total number of alerts affected by errors when sending them to Alertmanager.',
    labelNames,
    registers,
  })
  const dropped = new Counter({
    name: 'rollguard_notifications_dropped_total',
    help: 'Total number of alerts dropped due to a full queue or a failed request (there are no retries).',
    labelNames,
    registers,
  })
  const queueLength = new Gauge({
    name: 'rollguard_notifications_queue_length',
    help: 'The number of alerts in the notification queue.',
    labelNames,
    registers,
  })
  const queueCapacity = new Gauge({
    name: 'rollguard_notifications_queue_capacity',
    help: 'The capacity of each Alertmanager notification queue.',
    registers,
  })
  const latency = new Histogram({
    name: 'rollguard_notifications_latency_seconds',
    help: 'Latency of requests sending alerts to Alertmanager.',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  })
  return {
    init(alertmanager) {
      for (const counter of [sent, errors, dropped]) counter.inc({ alertmanager }, 0)
      queueLength.set({ alertmanager }, 0)
    },
    sent: (alertmanager, count) => sent.inc({ alertmanager }, count),
    errors: (alertmanager, count) => errors.inc({ alertmanager }, count),
    dropped: (alertmanager, count) => dropped.inc({ alertmanager }, count),
    queueLength: (alertmanager, length) => queueLength.set({ alertmanager }, length),
    queueCapacity: capacity => queueCapacity.set(capacity),
    latency: (alertmanager, seconds) => latency.observe({ alertmanager }, seconds),
  }
}
