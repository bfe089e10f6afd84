/**
 * The receiver's memory of alerts it has handed on, by alertKey (fingerprint + startsAt), so Alertmanager's
 * repeats (every group_interval and repeat_interval, retries after errors, HA peers) are acknowledged without
 * acting again. Bounded: the least recently seen keys are forgotten first. Forgetting is safe: a rollback an
 * alert caused is also recorded on the workload (the record annotation names the alert), so a forgotten or
 * restarted receiver does not roll back twice; it only re-decides.
 */

/** SeenEntry is the last state handed on for a key, and the leadership term it was handed on in. */
export interface SeenEntry {
  readonly state: 'firing' | 'resolved'
  readonly term: number
}

/** DEFAULT_SEEN_CAPACITY bounds the memory: far more alerts than one Alertmanager route should carry. */
export const DEFAULT_SEEN_CAPACITY = 10_000

/** SeenAlerts is a bounded map from alert key to what was handed on, least recently seen evicted first. */
export class SeenAlerts {
  // A Map iterates in insertion order; re-inserting on every sighting keeps the oldest sighting first.
  readonly #entries = new Map<string, SeenEntry>()

  constructor(private readonly capacity = DEFAULT_SEEN_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`seen-alerts capacity must be a positive integer, got ${capacity}`)
  }

  /** get returns the entry for key and marks it as just seen. */
  get(key: string): SeenEntry | undefined {
    const entry = this.#entries.get(key)
    if (entry !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, entry)
    }
    return entry
  }

  /** set records what was handed on for key, evicting the least recently seen key when full. */
  set(key: string, entry: SeenEntry): void {
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
  }

  /** delete forgets key: the next notification of that alert is news again. */
  delete(key: string): void {
    this.#entries.delete(key)
  }

  get size(): number {
    return this.#entries.size
  }
}

/**
 * isRepeat tells whether an alert in `state` was already handed on: a resolution always was once anything resolved
 * the key; a firing was when it was handed on in the current leadership term (a replica that lost and regained the
 * lease may have dropped it when leadership ended, so it decides again; the record on the workload prevents a
 * second rollback).
 */
export function isRepeat(entry: SeenEntry | undefined, state: 'firing' | 'resolved', term: number): boolean {
  if (entry === undefined) return false
  if (entry.state === 'resolved') return true
  return state === 'firing' && entry.term === term
}
