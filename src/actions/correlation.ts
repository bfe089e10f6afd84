/**
 * Correlated failures: when rollback triggers of several workloads go firing close together, a shared cause (a
 * dependency, the network, the node pool) is likelier than that many bad deploys, and rolling them all back would
 * only add churn to an outage. TriggerLog remembers when each workload's triggers went firing — acted on or
 * not — and answers, for one trigger, which workloads in its scope fired within the window of it. Pure: time
 * is an argument.
 */

import type { CorrelationSettings } from './policy-config.js'
import type { CorrelatedTriggers } from './policy.js'
import { workloadKey, type WorkloadRef } from './workload-ref.js'

interface Firing {
  readonly ref: WorkloadRef
  readonly firedAt: number
}

// A bound on memory whatever the alert volume; the oldest firings go first.
const MAX_FIRINGS = 10_000

/** TriggerLog keeps the recent firings of rollback triggers, one entry per (workload, firing time). */
export class TriggerLog {
  readonly #firings = new Map<string, Firing>()

  /** note remembers that a trigger for ref went firing at firedAt, and forgets firings older than `keep` before now. */
  note(ref: WorkloadRef, firedAt: number, now: number, keep: number): void {
    this.#firings.set(`${workloadKey(ref)}@${firedAt}`, { ref, firedAt })
    for (const [key, f] of this.#firings)
      if (now - f.firedAt > keep || this.#firings.size > MAX_FIRINGS) this.#firings.delete(key)
  }

  /** correlated lists the workloads in ref's scope (itself included) with a trigger firing within the window of firedAt. */
  correlated(ref: WorkloadRef, firedAt: number, settings: CorrelationSettings): CorrelatedTriggers {
    const byKey = new Map<string, WorkloadRef>([[workloadKey(ref), ref]])
    for (const f of this.#firings.values()) {
      if (settings.scope === 'namespace' && f.ref.namespace !== ref.namespace) continue
      if (Math.abs(f.firedAt - firedAt) < settings.window) byKey.set(workloadKey(f.ref), f.ref)
    }
    const workloads = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r) // keys are unique
    return { workloads, scope: settings.scope === 'namespace' ? `namespace ${ref.namespace}` : 'cluster' }
  }

  get size(): number {
    return this.#firings.size
  }
}

/** settleDelay is how long a trigger that went firing at firedAt still waits at now before it is decided. */
export function settleDelay(firedAt: number, now: number, settings: CorrelationSettings): number {
  return settings.enabled ? Math.max(0, firedAt + settings.settle - now) : 0
}
