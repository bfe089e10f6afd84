/**
 * Which replica evaluates which rule group: rendezvous (highest-random-weight) hashing. Every replica that sees the
 * same members computes the same owner for every group without talking to the others, and when a member joins or
 * leaves only the groups it gains or loses move (about 1/N of them): the others keep their owner.
 */

/** ownerOf is the member with the highest weight for the group key (undefined when there are no members). */
export function ownerOf(
  members: readonly string[],
  groupKey: string,
  weightOf: (member: string, groupKey: string) => number = rendezvousWeight,
): string | undefined {
  let best: string | undefined
  let bestWeight = -1
  for (const member of members) {
    const weight = weightOf(member, groupKey)
    // Ties (astronomically rare) go to the smaller name, so the answer never depends on the members' order.
    if (weight > bestWeight || (weight === bestWeight && member < (best as string))) {
      best = member
      bestWeight = weight
    }
  }
  return best
}

/** OwnerOf is ownerOf's signature, for a cache to stand in for it. */
export type OwnerOf = (members: readonly string[], groupKey: string) => string | undefined

/**
 * OwnerCache answers ownerOf for one list of members at a time. Every group asks at each of its slots, on every
 * replica, and the members change only when one joins or leaves: each group's owner is hashed once per list.
 */
export class OwnerCache {
  #members: readonly string[] = []
  readonly #owners = new Map<string, string | undefined>()

  /** ownerOf is ownerOf(members, groupKey), remembered until the members differ. */
  readonly ownerOf: OwnerOf = (members, groupKey) => {
    if (!sameList(members, this.#members)) {
      this.#members = [...members]
      this.#owners.clear()
    }
    if (this.#owners.has(groupKey)) return this.#owners.get(groupKey)
    const owner = ownerOf(members, groupKey)
    // Bounded: reloads that rename groups leave keys no one asks about any more.
    if (this.#owners.size >= MAX_CACHED_OWNERS) this.#owners.clear()
    this.#owners.set(groupKey, owner)
    return owner
  }
}

const MAX_CACHED_OWNERS = 100_000

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** assignOwners maps every group key to its owner; empty when there are no members. */
export function assignOwners(members: readonly string[], groupKeys: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>()
  const unique = [...new Set(members)]
  for (const key of groupKeys) {
    const owner = ownerOf(unique, key)
    if (owner !== undefined) owners.set(key, owner)
  }
  return owners
}

/** rendezvousWeight is a 53-bit hash of (member, group key): a safe integer, the same on every replica. */
export function rendezvousWeight(member: string, groupKey: string): number {
  // The separator keeps ("ab", "c") and ("a", "bc") apart; NUL cannot occur in a Lease identity.
  return hash53(`${member}\u0000${groupKey}`)
}

/** hash53 is cyrb53: two 32-bit multiply-xorshift lanes over the UTF-16 code units, well mixed in every bit. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}
