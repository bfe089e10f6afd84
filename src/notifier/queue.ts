/**
 * AlertQueue is one Alertmanager's bounded notification queue. Pure: no I/O and no clock, so the delivery
 * bound below is tested by simulation (test/notifier/queue.test.ts).
 *
 * Prometheus drops the oldest queued alerts when the queue overflows. When more alerts are due at once than the
 * queue holds, that drops the alerts at the front of every hand-over; rollguard's rules hand their alerts over in
 * the same order each time (insertion order), so the same alerts would be dropped every time and never reach
 * Alertmanager. (Go randomises map iteration, so Prometheus spreads its drops by chance, without a bound.)
 *
 * On overflow this queue keeps the `capacity` alerts that went longest without a successful request instead (never
 * delivered first); ties go to the newest, so while nothing was delivered it drops the oldest, like Prometheus. An
 * alert queued more than once keeps only its newest copy.
 *
 * Bound: let N alerts be handed over at each hand-over (rollguard re-sends a firing alert every resend delay), the
 * queue be emptied by successful requests before the next one, and C = capacity. Then every alert is in a
 * successful request at least once in every ceil(N / C) consecutive hand-overs. Proof: if alert x is dropped at k
 * consecutive hand-overs, each of them kept C alerts with an older delivery than x's (or as old and newer in the
 * queue); each of those was then delivered, so its delivery is newer than x's from then on and it cannot be kept
 * over x again. So the k·C alerts are distinct and are not x: k·C ≤ N − 1, k ≤ ceil(N / C) − 1.
 */
export class AlertQueue<T> {
  readonly #capacity: number
  readonly #keyOf: (item: T) => object
  /**
   * The request sequence number of each alert's last successful delivery (absent: never). Keyed by the alert's
   * identity in a WeakMap, so nothing outlives an alert the rule engine has forgotten.
   */
  readonly #delivered = new WeakMap<object, number>()
  #requests = 0
  // A growable array read from #head: take() is O(batch) instead of Array.shift's O(queue).
  #items: T[] = []
  #head = 0

  /** keyOf gives an alert's identity: the same object every time the same alert is handed over. */
  constructor(capacity: number, keyOf: (item: T) => object) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`queue capacity must be a positive integer, got ${capacity}`)
    this.#capacity = capacity
    this.#keyOf = keyOf
  }

  get length(): number {
    return this.#items.length - this.#head
  }

  /** push appends items and returns how many alerts were dropped to stay within capacity. */
  push(items: readonly T[]): number {
    if (this.length + items.length <= this.#capacity) {
      for (const item of items) this.#items.push(item)
      return 0
    }
    return this.#overflow(items)
  }

  /** take removes and returns up to max alerts from the front (oldest first). */
  take(max: number): T[] {
    const end = Math.min(this.#items.length, this.#head + max)
    const out = this.#items.slice(this.#head, end)
    this.#head = end
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return out
  }

  /** delivered records that items reached Alertmanager in one successful request. */
  delivered(items: readonly T[]): void {
    const request = ++this.#requests
    for (const item of items) this.#delivered.set(this.#keyOf(item), request)
  }

  /** clear empties the queue and returns how many alerts it held. */
  clear(): number {
    const dropped = this.length
    this.#items = []
    this.#head = 0
    return dropped
  }

  #overflow(incoming: readonly T[]): number {
    const all = this.#items.slice(this.#head)
    for (const item of incoming) all.push(item)
    const unique = newestCopies(all, this.#keyOf)
    const kept =
      unique.items.length <= this.#capacity ? unique.items : this.#leastRecentlyDelivered(unique.items, unique.keys)
    this.#items = kept
    this.#head = 0
    return all.length - kept.length
  }

  /** leastRecentlyDelivered keeps, in queue order, the capacity items delivered longest ago (ties: the newest). */
  #leastRecentlyDelivered(items: readonly T[], keys: readonly object[]): T[] {
    const stamps = new Float64Array(keys.length)
    for (let i = 0; i < keys.length; i++) stamps[i] = this.#delivered.get(keys[i] as object) ?? 0
    // The capacity-th smallest stamp: everything older is kept, and as many at that stamp as still fit, newest first.
    // A numeric typed-array sort keeps this to milliseconds at tens of thousands of alerts.
    const threshold = stamps.slice().sort()[this.#capacity - 1] as number
    let older = 0
    for (let i = 0; i < stamps.length; i++) if ((stamps[i] as number) < threshold) older++
    let slots = this.#capacity - older
    const keep = new Uint8Array(items.length)
    for (let i = items.length - 1; i >= 0; i--) {
      const s = stamps[i] as number
      if (s < threshold) keep[i] = 1
      else if (s === threshold && slots > 0) {
        keep[i] = 1
        slots--
      }
    }
    return items.filter((_, i) => keep[i] === 1)
  }
}

/** newestCopies drops every copy of an alert but its newest, keeping queue order. */
function newestCopies<T>(items: readonly T[], keyOf: (item: T) => object): { items: T[]; keys: object[] } {
  const seen = new Set<object>()
  const outItems: T[] = []
  const outKeys: object[] = []
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as T
    const key = keyOf(item)
    if (seen.has(key)) continue
    seen.add(key)
    outItems.push(item)
    outKeys.push(key)
  }
  return { items: outItems.reverse(), keys: outKeys.reverse() }
}
