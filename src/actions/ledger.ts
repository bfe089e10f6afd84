import type { RollbackRecord } from './policy.js'

// Per workload, as the record annotation keeps it.
const CAP = 50

/**
 * RollbackLedger is the global brake's memory: rollguard's rollbacks per workload, from the ones this process
 * performed and from the record annotation of every workload it has read since it started. Per-workload
 * limits and cooldowns never need it (they read the annotation itself); after a restart or failover the brake
 * counts what it has seen, which only undercounts rollbacks of workloads it has not looked at.
 */
export class RollbackLedger {
  readonly #byWorkload = new Map<string, number[]>()

  /** observe merges the rollback history recorded on a workload. */
  observe(key: string, record: RollbackRecord | undefined): void {
    if (record !== undefined) this.#merge(key, record.history)
  }

  /** add records a rollback this process performed. */
  add(key: string, at: number): void {
    this.#merge(key, [at])
  }

  /** recent lists every known rollback time (Unix ms) across workloads; decide applies the brake's window. */
  recent(): number[] {
    return [...this.#byWorkload.values()].flat().sort((a, b) => a - b)
  }

  #merge(key: string, times: readonly number[]): void {
    const merged = [...new Set([...(this.#byWorkload.get(key) ?? []), ...times])].sort((a, b) => a - b)
    this.#byWorkload.set(key, merged.slice(-CAP))
  }
}
