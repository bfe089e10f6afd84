/**
 * Alertmanager's webhook payload, version "4" (notify/webhook.Message). Pure. Strict about the fields rollguard
 * acts on (version, alerts with status, labels, startsAt, fingerprint) and lenient about everything else: fields
 * are added over time (`truncatedAlerts`, `notification_reason`, `routeLabels`) and unknown ones are ignored.
 * Hand-written rather than a zod schema: this runs on every notification, and the messages name the exact field.
 */

import type { Labels } from '../engine/types.js'

/** WebhookAlert is one alert of a notification; times are Unix ms. */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved'
  readonly labels: Labels
  readonly annotations: Labels
  /** When the alert started firing; with the fingerprint it identifies one firing of one alert. */
  readonly startsAt: number
  /** Alertmanager zeroes it for firing alerts (Go's zero time); undefined when absent. */
  readonly endsAt: number | undefined
  readonly fingerprint: string
}

/** WebhookPayload is what rollguard reads from a notification. */
export interface WebhookPayload {
  readonly receiver: string
  readonly status: 'firing' | 'resolved'
  readonly groupKey: string
  readonly alerts: readonly WebhookAlert[]
  /** How many alerts Alertmanager left out (`max_alerts`); 0 when the field is absent (Alertmanager < 0.21). */
  readonly truncatedAlerts: number
}

/** ParseResult is the payload, or the first problem found, naming the field. */
export type ParseResult =
  { readonly ok: true; readonly payload: WebhookPayload } | { readonly ok: false; readonly error: string }

// RFC 3339 as Go's time.Time marshals it (RFC3339Nano: optional fraction, Z or an offset).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/
// Alertmanager's fingerprints are 16 hex digits; allow some room without accepting arbitrary text as an identity.
const FINGERPRINT = /^[0-9a-fA-F]{1,64}$/

class PayloadError extends Error {}

/** parsePayload validates a decoded JSON body as an Alertmanager webhook payload, version "4". */
export function parsePayload(body: unknown): ParseResult {
  try {
    return { ok: true, payload: readPayload(body) }
  } catch (err) {
    if (err instanceof PayloadError) return { ok: false, error: err.message }
    throw err
  }
}

function readPayload(body: unknown): WebhookPayload {
  const o = object(body, 'the payload')
  if (o['version'] !== '4') {
    throw new PayloadError(
      `version: must be "4" (Alertmanager's webhook payload version), got ${describe(o['version'])}`,
    )
  }
  const alerts = o['alerts']
  if (!Array.isArray(alerts)) throw new PayloadError(`alerts: must be an array, got ${describe(alerts)}`)
  const truncated = o['truncatedAlerts'] ?? 0
  if (typeof truncated !== 'number' || !Number.isSafeInteger(truncated) || truncated < 0) {
    throw new PayloadError(`truncatedAlerts: must be a non-negative integer, got ${describe(truncated)}`)
  }
  const read = alerts.map((a: unknown, i) => readAlert(a, `alerts[${i}]`))
  // The group's status only summarizes the alerts' (firing if any fires); derived when absent.
  const derived = read.some(a => a.status === 'firing') ? 'firing' : 'resolved'
  return {
    receiver: optionalString(o, 'receiver', 'receiver'),
    status: o['status'] === undefined || o['status'] === null ? derived : status(o['status'], 'status'),
    groupKey: optionalString(o, 'groupKey', 'groupKey'),
    alerts: read,
    truncatedAlerts: truncated,
  }
}

function readAlert(value: unknown, at: string): WebhookAlert {
  const a = object(value, at)
  const fingerprint = a['fingerprint']
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint)) {
    throw new PayloadError(
      `${at}.fingerprint: must be Alertmanager's alert fingerprint (hex digits), got ${describe(fingerprint)}`,
    )
  }
  const endsAt = a['endsAt']
  return {
    status: status(a['status'], `${at}.status`),
    labels: labels(a['labels'], `${at}.labels`, true),
    annotations:
      a['annotations'] === undefined || a['annotations'] === null
        ? {}
        : labels(a['annotations'], `${at}.annotations`, false),
    startsAt: time(a['startsAt'], `${at}.startsAt`),
    endsAt: endsAt === undefined || endsAt === null ? undefined : time(endsAt, `${at}.endsAt`),
    fingerprint,
  }
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new PayloadError(`${at}: must be a JSON object, got ${describe(value)}`)
  return value as Record<string, unknown>
}

function status(value: unknown, at: string): 'firing' | 'resolved' {
  if (value === 'firing' || value === 'resolved') return value
  throw new PayloadError(`${at}: must be "firing" or "resolved", got ${describe(value)}`)
}

function optionalString(o: Record<string, unknown>, key: string, at: string): string {
  const value = o[key]
  if (value === undefined || value === null) return ''
  if (typeof value !== 'string') throw new PayloadError(`${at}: must be a string, got ${describe(value)}`)
  return value
}

function labels(value: unknown, at: string, isLabelSet: boolean): Labels {
  const o = object(value, at)
  const out: Record<string, string> = {}
  let count = 0
  for (const key of Object.keys(o)) {
    const v = o[key]
    if (typeof v !== 'string') throw new PayloadError(`${at}.${key}: must be a string, got ${describe(v)}`)
    // Prometheus semantics: an empty label value is the same as no label (Labels never hold empty values).
    if (v === '' && isLabelSet) continue
    // defineProperty for "__proto__" only: it keeps the key an ordinary own property instead of setting the prototype
    // (assignment is much faster for every other key).
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true })
    else out[key] = v
    count++
  }
  if (isLabelSet && count === 0) throw new PayloadError(`${at}: must not be empty (every alert has at least alertname)`)
  return out
}

function time(value: unknown, at: string): number {
  if (typeof value === 'string' && RFC3339.test(value)) {
    const ms = Date.parse(value)
    if (Number.isFinite(ms)) return ms
  }
  throw new PayloadError(`${at}: must be an RFC 3339 time such as "2026-01-01T10:05:00Z", got ${describe(value)}`)
}

/** describe renders a received value for an error message, shortened: the body may be large or hostile. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'an array'
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) ?? String(value)
    return text.length > 64 ? `${text.slice(0, 61)}...` : text
  }
  return 'an object'
}
