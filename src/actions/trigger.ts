/**
 * Which alert transitions concern automatic rollbacks, and which workload they name. Pure: the executor feeds
 * it every transition of every evaluation and acts on what comes back.
 */

import type { Labels, Transition } from '../engine/types.js'
import type { TargetLabels, TriggerSelector } from './actions-config.js'
import type { WorkloadRef } from './workload-ref.js'

export { workloadKey } from './workload-ref.js'

/** AlertInfo identifies the alert behind a request (startsAt: Unix ms it went firing). */
export interface AlertInfo {
  readonly name: string
  readonly labels: Labels
  readonly fingerprint: string
  readonly startsAt: number
  /**
   * `rules`: one of rollguard's own rules, whose labels Alertmanager sees with global.external_labels added
   * (silences are matched against those). Absent: the labels are exactly Alertmanager's (webhook alerts).
   */
  readonly origin?: 'rules' | undefined
  /**
   * When the condition began: the rule's ActiveAt for rollguard's own rules; for webhook alerts Alertmanager's
   * startsAt, which for Prometheus-evaluated rules is the firing time (ActiveAt + for), so later than the onset.
   */
  readonly onset?: number | undefined
}

/** RollbackRequest asks for a rollback of `ref` because `alert` fires. */
export interface RollbackRequest {
  readonly ref: WorkloadRef
  readonly alert: AlertInfo
}

/** IgnoreReason says why a firing trigger names no workload rollguard can act on. */
export type IgnoreReason = 'no_target' | 'ambiguous_target' | 'invalid_target'

/** TriggerEvent is what a transition means for actions: a trigger fired, resolved, or fired without a usable target. */
export type TriggerEvent =
  | { readonly kind: 'fire'; readonly request: RollbackRequest }
  | { readonly kind: 'resolve'; readonly request: RollbackRequest }
  | { readonly kind: 'ignored'; readonly reason: IgnoreReason; readonly message: string; readonly alert: AlertInfo }

/** TriggerSettings are the `actions.trigger` and `actions.targets` config. */
export interface TriggerSettings {
  readonly trigger: TriggerSelector
  readonly targets: TargetLabels
}

const KINDS = [
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
] as const

// Kubernetes object names: a namespace is a DNS label, a workload name a DNS subdomain.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** isTrigger reports whether an alert's labels mark it as a rollback trigger. */
export function isTrigger(labels: Labels, trigger: TriggerSelector): boolean {
  return Object.hasOwn(labels, trigger.label) && labels[trigger.label] === trigger.value
}

/**
 * triggerEvent classifies one transition: undefined unless it is a trigger alert going firing, or resolving
 * after it fired (pending and deleted transitions never matter). A firing trigger without a usable target is
 * `ignored`, with the reason; a resolving one without a target is undefined (nothing can be queued for it).
 */
export function triggerEvent(t: Transition, settings: TriggerSettings): TriggerEvent | undefined {
  if (!isTrigger(t.labels, settings.trigger)) return undefined
  const firing = t.to === 'firing'
  if (!firing && !(t.from === 'firing' && t.to === 'inactive')) return undefined
  const alert: AlertInfo = {
    name: t.labels['alertname'] ?? t.rule,
    labels: t.labels,
    fingerprint: t.fingerprint,
    startsAt: t.at,
    origin: 'rules',
    onset: t.activeAt,
  }
  const target = targetOf(t.labels, settings.targets)
  if ('reason' in target) return firing ? { kind: 'ignored', ...target, alert } : undefined
  return { kind: firing ? 'fire' : 'resolve', request: { ref: target, alert } }
}

/** targetOf reads the workload an alert names, or why it names none. */
export function targetOf(
  labels: Labels,
  targets: TargetLabels,
): WorkloadRef | { readonly reason: IgnoreReason; readonly message: string } {
  const value = (label: string) => (Object.hasOwn(labels, label) ? labels[label] : undefined)
  const named = KINDS.flatMap(([key, kind]) => {
    const name = value(targets[key])
    return name === undefined ? [] : [{ kind, label: targets[key], name }]
  })
  const namespace = value(targets.namespace)
  const wanted = `a "${targets.namespace}" label and one of ${KINDS.map(([key]) => `"${targets[key]}"`).join(', ')}`
  const [first, second] = named
  if (namespace === undefined || first === undefined) {
    return { reason: 'no_target', message: `the alert names no workload: it needs ${wanted}` }
  }
  if (second !== undefined) {
    return {
      reason: 'ambiguous_target',
      message: `the alert names more than one workload (${named.map(n => `${n.label}="${n.name}"`).join(', ')}); it needs exactly one`,
    }
  }
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    return { reason: 'invalid_target', message: `${targets.namespace}="${namespace}" is not a valid namespace name` }
  }
  if (!DNS_SUBDOMAIN.test(first.name) || first.name.length > 253) {
    return { reason: 'invalid_target', message: `${first.label}="${first.name}" is not a valid ${first.kind} name` }
  }
  return { kind: first.kind, namespace, name: first.name }
}
