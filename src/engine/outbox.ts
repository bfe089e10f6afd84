import type { AlertingRuleState } from './alerting.js'
import type { Alert, Labels, OutgoingAlert } from './types.js'

/** AlertLink builds the generatorURL of one alert of a rule from the alert's labels. */
export type AlertLink = (labels: Labels) => string

/** SendPolicy carries Prometheus's --rules.alert.resend-delay and the group interval. */
export interface SendPolicy {
  readonly resendDelayMs: number
  readonly intervalMs: number
}

/** needsSending is Prometheus's Alert.needsSending: never pending, resolutions at once, otherwise after resendDelay (strict <). */
export function needsSending(alert: Alert, ts: number, resendDelayMs: number): boolean {
  if (alert.state === 'pending') return false
  if (alert.resolvedAt > alert.lastSentAt) return true
  // 0 means never sent (Go's zero time lies far in the past, so Prometheus needs no such case).
  if (alert.lastSentAt === 0) return true
  return alert.lastSentAt + resendDelayMs < ts
}

/**
 * alertsToSend picks the rule's alerts due at ts, stamps lastSentAt/validUntil (Prometheus stamps them when
 * handing alerts to the notifier, whether or not delivery succeeds) and returns them in Alertmanager's shape.
 */
export function alertsToSend(
  state: AlertingRuleState,
  ts: number,
  policy: SendPolicy,
  generatorURL: AlertLink,
): OutgoingAlert[] {
  const out: OutgoingAlert[] = []
  // Four periods of validity tolerate two lost evaluations or sends before Alertmanager resolves on its own.
  const validFor = 4 * Math.max(policy.intervalMs, policy.resendDelayMs)
  for (const alert of state.active.values()) {
    if (!needsSending(alert, ts, policy.resendDelayMs)) continue
    alert.lastSentAt = ts
    alert.validUntil = ts + validFor
    out.push({
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.firedAt,
      endsAt: alert.resolvedAt !== 0 ? alert.resolvedAt : alert.validUntil,
      generatorURL: generatorURL(alert.labels),
    })
  }
  return out
}

/** generatorURLFor builds Prometheus's graph link for an expression. */
export function generatorURLFor(externalURL: string, expr: string): string {
  const base = externalURL.replace(/\/+$/, '')
  return `${base}/graph?g0.expr=${queryEscape(expr)}&g0.tab=1`
}

/** queryEscape mirrors Go's url.QueryEscape (spaces as '+'; '~' is unreserved, as in RFC 3986). */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}
