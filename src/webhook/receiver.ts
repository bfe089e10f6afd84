/**
 * The Alertmanager webhook receiver's state and decisions, independent of HTTP: the current settings (reloadable),
 * the per-source rate limit, authentication and the seen-alerts memory. The route (route.ts) is the HTTP adapter.
 */

import { TargetLabels, TriggerSelector, type ActionsConfig } from '../actions/actions-config.js'
import type { TriggerEvent } from '../actions/trigger.js'
import { WEBHOOK_ALERT_RESULTS, type WebhookAlertResult, type WebhookMetrics } from '../telemetry/webhook-metrics.js'
import {
  authenticator,
  noAuthentication,
  type Authenticator,
  type AuthResult,
  type WebhookCredentials,
} from './auth.js'
import type { WebhookConfig } from './config.js'
import { classify, isActionable, triggerMatchers, type IntakeRules } from './intake.js'
import type { WebhookPayload } from './payload.js'
import { TokenBuckets, type Admission } from './rate-limit.js'
import { SeenAlerts } from './seen.js'

/** WebhookActions is what the receiver needs from the actions component (ActionsService implements it). */
export interface WebhookActions {
  isLeader(): boolean
  /** Changes every time this replica becomes the leader; firings handed on in an earlier term are decided again. */
  leadershipTerm(): number
  /** Hands events to the executor; false (nothing done) when actions are switched off. */
  handleEvents(events: readonly TriggerEvent[]): boolean
}

/** ReceiverSettings are the reloadable parts of the `webhook` section, compiled. */
export interface ReceiverSettings {
  readonly rules: IntakeRules
  readonly auth: Authenticator
  readonly rateLimit: TokenBuckets
  readonly insecure: boolean
}

/** receiverSettings compiles the `webhook` section; matchers and targets default to the `actions` section's. */
export function receiverSettings(
  webhook: WebhookConfig,
  actions: ActionsConfig | undefined,
  credentials: WebhookCredentials | undefined,
): ReceiverSettings {
  const trigger = actions?.trigger ?? TriggerSelector.parse(undefined)
  const targets = { ...(actions?.targets ?? TargetLabels.parse(undefined)), ...webhook.targets }
  return {
    rules: { matchers: webhook.matchers ?? triggerMatchers(trigger), targets },
    auth: webhook.insecure_no_auth ? noAuthentication() : authenticator(credentials ?? {}),
    rateLimit: new TokenBuckets({ perSecond: webhook.rate_limit.per_second, burst: webhook.rate_limit.burst }),
    insecure: webhook.insecure_no_auth,
  }
}

/** AlertCounts counts the alerts of one notification by result. */
export type AlertCounts = Record<WebhookAlertResult, number>

/** Receipt is the answer to one well-formed notification: 200 once handed on, 503 when Alertmanager should retry. */
export interface Receipt {
  readonly status: 200 | 503
  readonly message: string
  readonly counts: AlertCounts
}

/** ReceiverDeps: `actions` is read per notification (undefined: actions are not configured). */
export interface ReceiverDeps {
  readonly actions: () => WebhookActions | undefined
  readonly metrics: WebhookMetrics
  readonly seen?: SeenAlerts
}

const NOT_CONFIGURED =
  'rollback actions are not configured (no actions section), so the alerts cannot be acted on; retry later'
const NOT_LEADER = 'this replica is not the leader and cannot act; retry (a new connection may reach the leader)'
const ACTIONS_OFF = 'rollback actions are switched off (removed by a reload or shutting down); retry later'

/** AlertmanagerReceiver decides what a notification means and hands the result to the executor. */
export class AlertmanagerReceiver {
  readonly #seen: SeenAlerts
  #settings: ReceiverSettings | undefined

  constructor(
    private readonly deps: ReceiverDeps,
    settings: ReceiverSettings | undefined,
  ) {
    this.#seen = deps.seen ?? new SeenAlerts()
    this.#settings = settings
  }

  /**
   * reconsider forgets an alert whose trigger was held back for a reason that passes (a matching silence, or no
   * Alertmanager to ask about silences), so Alertmanager's next notification of it is decided again: after the
   * silence expires, Alertmanager notifies the alert anew, and that notification acts.
   */
  reconsider(fingerprint: string, startsAt: number): void {
    this.#seen.delete(`${fingerprint}@${startsAt}`)
  }

  /** update applies reloaded settings; undefined disables the receiver until the next reload. */
  update(settings: ReceiverSettings | undefined): void {
    this.#settings = settings
  }

  /** enabled is false while the `webhook` section is absent or `enabled: false` since a reload. */
  get enabled(): boolean {
    return this.#settings !== undefined
  }

  /** admit spends a token of the source's bucket (time `now`, Unix ms). */
  admit(source: string, now: number): Admission {
    return this.#settings?.rateLimit.take(source, now) ?? { ok: true }
  }

  /** authenticate checks the Authorization header; `challenges` go into WWW-Authenticate of a 401. */
  authenticate(authorization: string | undefined): AuthResult {
    return this.#settings?.auth.check(authorization) ?? { ok: false, reason: 'missing' }
  }

  get challenges(): readonly string[] {
    return this.#settings?.auth.challenges ?? []
  }

  /**
   * receive decides for every alert and hands starts and cancellations to the executor. When some alert needs the
   * leader and this replica cannot act, nothing is handed on or remembered and the answer is 503, so Alertmanager
   * delivers the whole notification again.
   */
  receive(payload: WebhookPayload): Receipt {
    const settings = this.#settings
    if (settings === undefined) throw new Error('the webhook receiver is disabled')
    const port = this.deps.actions()
    const term = port?.leadershipTerm() ?? 0
    const items = classify(payload.alerts, settings.rules, key => this.#seen.get(key), term)
    const actionable = items.some(isActionable)
    let deferred: string | undefined
    if (actionable && port === undefined) deferred = NOT_CONFIGURED
    else if (actionable && port?.isLeader() !== true) deferred = NOT_LEADER
    else {
      const events = items.flatMap(i => (i.event === undefined ? [] : [i.event]))
      if (events.length > 0 && port !== undefined && !port.handleEvents(events) && actionable) deferred = ACTIONS_OFF
    }
    if (deferred === undefined) {
      for (const i of items) if (i.remember !== undefined) this.#seen.set(i.key, { state: i.remember, term })
    }
    const counts = newCounts()
    for (const i of items) counts[deferred !== undefined && isActionable(i) ? 'deferred' : i.result]++
    this.#count(counts, payload.truncatedAlerts)
    if (deferred !== undefined) return { status: 503, message: deferred, counts }
    return { status: 200, message: summary(counts, payload.truncatedAlerts), counts }
  }

  #count(counts: AlertCounts, truncated: number): void {
    for (const result of WEBHOOK_ALERT_RESULTS)
      if (counts[result] > 0) this.deps.metrics.alerts.inc({ result }, counts[result])
    if (truncated > 0) this.deps.metrics.truncated.inc(truncated)
  }
}

function newCounts(): AlertCounts {
  return { accepted: 0, resolved: 0, duplicate: 0, ignored: 0, no_target: 0, deferred: 0 }
}

function summary(counts: AlertCounts, truncated: number): string {
  const parts = WEBHOOK_ALERT_RESULTS.filter(r => counts[r] > 0).map(r => `${counts[r]} ${r}`)
  const text = parts.length === 0 ? 'no alerts' : parts.join(', ')
  return truncated > 0 ? `${text}; ${truncated} alerts were left out by Alertmanager (max_alerts) and not seen` : text
}
