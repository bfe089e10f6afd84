/**
 * Who is a member: the holders of unexpired member Leases. As client-go's leader election judges a Lease, expiry is
 * measured on the observer's own monotonic clock from the moment it saw the Lease's record change, never from the
 * holder's renewTime, so clock skew between nodes cannot make a live member look dead or a dead one alive.
 */

/** MemberLease is what one list returns about one member Lease. */
export interface MemberLease {
  /** The Lease's name (the key it is tracked by). */
  readonly name: string
  /** spec.holderIdentity: '' once its member released it. */
  readonly holder: string
  readonly leaseDurationMs: number
  /** The record as a string: any change (a renewal changes renewTime) restarts the local expiry timer. */
  readonly record: string
}

interface Observed {
  readonly lease: MemberLease
  /** Observer's monotonic ms when this record was first seen. */
  readonly since: number
}

/** MembershipTracker keeps the last record of every member Lease and when it changed; it does no I/O. */
export class MembershipTracker {
  readonly #leases = new Map<string, Observed>()

  /** observe takes one complete list of the member Leases, seen at `now` (monotonic ms). */
  observe(leases: readonly MemberLease[], now: number): void {
    const seen = new Set<string>()
    for (const lease of leases) {
      seen.add(lease.name)
      const known = this.#leases.get(lease.name)
      if (known?.lease.record !== lease.record) this.#leases.set(lease.name, { lease, since: now })
    }
    // A deleted Lease is no member.
    for (const name of [...this.#leases.keys()]) if (!seen.has(name)) this.#leases.delete(name)
  }

  /** members are the holders of Leases whose record changed less than their duration ago, sorted and unique. */
  members(now: number): string[] {
    const live = new Set<string>()
    for (const { lease, since } of this.#leases.values())
      if (lease.holder !== '' && since + lease.leaseDurationMs > now) live.add(lease.holder)
    return [...live].sort()
  }
}
