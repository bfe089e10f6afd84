import { z } from 'zod'
import type { RollbackRecord } from './policy.js'
import { RecordedTime } from './record.js'

// Per workload, as the record annotation keeps it.
const CAP = 50
// Rollback times in the leader Lease's annotation, newest kept: far above any sensible global brake count.
const LEASE_CAP = 200

/** LEDGER_ANNOTATION carries the brake's memory on the leader Lease, so the next leader counts what this one did. */
export const LEDGER_ANNOTATION = 'rollguard.io/recent-rollbacks'

/** LedgerEntries are rollback times (Unix ms) per workload key. */
export type LedgerEntries = ReadonlyArray<readonly [workload: string, times: readonly number[]]>

/**
 * RollbackLedger is the global brake's memory: rollguard's rollbacks per workload, from the ones this process
 * performed, from the record annotation of every workload it has read since it started, and from the leader
 * Lease, where each leader keeps the rollbacks inside the brake's window for the next one (LEDGER_ANNOTATION).
 * Per-workload limits and cooldowns never need it (they read the workload's own annotation).
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

  /** inherit merges what a previous leader counted. */
  inherit(entries: LedgerEntries): void {
    for (const [key, times] of entries) this.#merge(key, times)
  }

  /** since lists, per workload, the known rollback times at or after `from` (what the next leader needs). */
  since(from: number): LedgerEntries {
    const out: Array<readonly [string, number[]]> = []
    for (const [key, times] of this.#byWorkload) {
      const recent = times.filter(t => t >= from)
      if (recent.length > 0) out.push([key, recent])
    }
    return out
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

/** encodeLedger renders the Lease annotation: {"<workload>": [RFC 3339 times]}, at most LEASE_CAP times, the newest. */
export function encodeLedger(entries: LedgerEntries): string {
  const all = entries.flatMap(([key, times]) => times.map(t => [key, t] as const)).sort((a, b) => b[1] - a[1])
  const out: Record<string, string[]> = {}
  for (const [key, t] of all.slice(0, LEASE_CAP)) (out[key] ??= []).unshift(new Date(t).toISOString())
  return JSON.stringify(out)
}

const StoredLedger = z.record(z.string().min(1).max(512), z.array(RecordedTime))

/** decodeLedger parses the Lease annotation; undefined when it is absent, 'malformed' when it cannot be read. */
export function decodeLedger(value: string | undefined): LedgerEntries | 'malformed' | undefined {
  if (value === undefined) return undefined
  let json: unknown
  try {
    json = JSON.parse(value)
  } catch {
    return 'malformed'
  }
  const parsed = StoredLedger.safeParse(json)
  if (!parsed.success) return 'malformed'
  // Bounded by the API server's 256 KiB for all annotations; the ledger keeps at most CAP times per workload.
  return Object.entries(parsed.data)
}
