/**
 * Rollback triggers held back by an Alertmanager silence (or a silence check that failed) while they keep firing.
 * Unlike other blocked triggers, which wait until they fire again, these are asked about again every
 * `actions.silences.recheck_interval`, so a silence that expires or is expired lets the still-firing trigger act.
 * Pure bookkeeping, time is an argument; the executor does the asking.
 */

import { workloadKey, type RollbackRequest } from './trigger.js'

interface Held {
  readonly request: RollbackRequest
  nextAt: number
}

/** HeldTriggers keeps one entry per (workload, alert); the executor drops it when the alert resolves or fires anew. */
export class HeldTriggers {
  readonly #held = new Map<string, Held>()

  /** hold keeps the request to be asked about again at now + interval (replacing an entry for the same alert). */
  hold(request: RollbackRequest, now: number, interval: number): void {
    this.#held.set(key(request), { request, nextAt: now + interval })
  }

  /** release forgets the request's alert; true when it was held. */
  release(request: RollbackRequest): boolean {
    return this.#held.delete(key(request))
  }

  /** due lists the requests whose time has come and schedules each one's next turn at now + interval. */
  due(now: number, interval: number): RollbackRequest[] {
    const out: RollbackRequest[] = []
    for (const h of this.#held.values()) {
      if (h.nextAt > now) continue
      h.nextAt = now + interval
      out.push(h.request)
    }
    return out
  }

  get size(): number {
    return this.#held.size
  }

  clear(): void {
    this.#held.clear()
  }
}

function key(r: RollbackRequest): string {
  return `${workloadKey(r.ref)}\n${r.alert.fingerprint}`
}
