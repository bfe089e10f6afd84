import { Counter, Histogram, type Registry } from 'prom-client'

/** WEBHOOK_ALERT_RESULTS are the `result` values of rollguard_webhook_alerts_total (see docs/webhook.md). */
export const WEBHOOK_ALERT_RESULTS = ['accepted', 'resolved', 'duplicate', 'ignored', 'no_target', 'deferred'] as const

/** WebhookAlertResult is what became of one alert of a webhook notification. */
export type WebhookAlertResult = (typeof WEBHOOK_ALERT_RESULTS)[number]

/** WebhookMetrics are the metrics of the Alertmanager webhook receiver. */
export interface WebhookMetrics {
  /** requests counts requests by HTTP status code, rejected ones included. */
  readonly requests: Counter<'status'>
  /** alerts counts the alerts of accepted notifications by what became of them. */
  readonly alerts: Counter<'result'>
  /** truncated counts alerts Alertmanager left out of notifications (`max_alerts`); rollguard never saw them. */
  readonly truncated: Counter
  readonly duration: Histogram
}

/** createWebhookMetrics registers the rollguard_webhook_* metrics on registry. */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry]
  const alerts = new Counter({
    name: 'rollguard_webhook_alerts_total',
    help: 'Alerts received through the Alertmanager webhook by result (accepted, resolved, duplicate, ignored, no_target, deferred).',
    labelNames: ['result'],
    registers,
  })
  // Every result exists from the start, so rate() and alerts on them work before the first occurrence.
  for (const result of WEBHOOK_ALERT_RESULTS) alerts.inc({ result }, 0)
  return {
    requests: new Counter({
      name: 'rollguard_webhook_requests_total',
      help: 'Requests to the Alertmanager webhook by HTTP status code.',
      labelNames: ['status'],
      registers,
    }),
    alerts,
    truncated: new Counter({
      name: 'rollguard_webhook_truncated_alerts_total',
      help: 'Alerts Alertmanager left out of webhook notifications because of max_alerts (truncatedAlerts); they were not seen.',
      registers,
    }),
    duration: new Histogram({
      name: 'rollguard_webhook_request_duration_seconds',
      help: 'Time to answer a request to the Alertmanager webhook (the rollback itself runs afterwards).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  }
}
