/**
 * What each alert of a webhook notification means for actions. Pure: matchers select the alerts that may roll
 * back, the target labels name the workload, and the seen-alerts memory tells repeats from news.
 */

import type { TargetLabels, TriggerSelector } from '../actions/actions-config.js'
import { matchesAll, type Matcher } from '../actions/matchers.js'
import { targetOf, type AlertInfo, type TriggerEvent } from '../actions/trigger.js'
import type { WebhookAlertResult } from '../telemetry/webhook-metrics.js'
import type { WebhookAlert } from './payload.js'
import { isRepeat, type SeenEntry } from './seen.js'

/** IntakeRules select and map alerts: every matcher must match; the workload is read through `targets`. */
export interface IntakeRules {
  readonly matchers: readonly Matcher[]
  readonly targets: TargetLabels
}

/** Classified is one alert's verdict; `event` is what to hand to the executor, `remember` what to record as seen. */
export interface Classified {
  readonly key: string
  readonly result: Exclude<WebhookAlertResult, 'deferred'>
  readonly event?: TriggerEvent | undefined
  readonly remember?: SeenEntry['state'] | undefined
}

/** triggerMatchers is the default selection: the actions trigger label (`rollguard_trigger="rollback"`). */
export function triggerMatchers(trigger: TriggerSelector): Matcher[] {
  return [{ name: trigger.label, type: '=', value: trigger.value }]
}

/** alertInfo is the executor's view of a webhook alert. */
export function alertInfo(a: WebhookAlert): AlertInfo {
  const name = Object.hasOwn(a.labels, 'alertname') ? (a.labels['alertname'] as string) : '(no alertname)'
  return { name, labels: a.labels, fingerprint: a.fingerprint, startsAt: a.startsAt, onset: a.startsAt }
}

/**
 * classify decides for every alert of a notification, in order: `ignored` (no matcher match), `duplicate` (already
 * handed on, per `seen` or earlier in the same notification), `no_target` (matched but names no usable workload;
 * a firing one is recorded once as an ignored trigger), else `accepted` (firing) or `resolved`.
 */
export function classify(
  alerts: readonly WebhookAlert[],
  rules: IntakeRules,
  seen: (key: string) => SeenEntry | undefined,
  term: number,
): Classified[] {
  const local = new Map<string, SeenEntry>()
  return alerts.map(a => {
    // The same identity as triggerKey (fingerprint + startsAt), without formatting a date for every alert of every repeat.
    const key = `${a.fingerprint}@${a.startsAt}`
    if (!matchesAll(rules.matchers, a.labels)) return { key, result: 'ignored' }
    const entry = local.get(key) ?? seen(key)
    if (isRepeat(entry, a.status, term)) return { key, result: 'duplicate' }
    local.set(key, { state: a.status, term })
    const alert = alertInfo(a)
    const target = targetOf(a.labels, rules.targets)
    if ('reason' in target) {
      const event: TriggerEvent | undefined =
        a.status === 'firing' ? { kind: 'ignored', reason: target.reason, message: target.message, alert } : undefined
      return { key, result: 'no_target', event, remember: a.status }
    }
    const kind = a.status === 'firing' ? 'fire' : 'resolve'
    return {
      key,
      result: kind === 'fire' ? 'accepted' : 'resolved',
      event: { kind, request: { ref: target, alert } },
      remember: a.status,
    }
  })
}

/** isActionable tells whether a verdict needs the leader: it starts or cancels a rollback. */
export function isActionable(c: Classified): boolean {
  return c.result === 'accepted' || c.result === 'resolved'
}
