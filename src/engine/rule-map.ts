/**
 * RuleMap maps rules to values by what identifies a rule across reloads: its group's key, its name and its
 * expression (a changed expression is a new rule, and one group may hold several rules of one name).
 *
 * Why not one joined string per rule: such a key embeds the expression, a few hundred bytes per rule in every map
 * that holds one (~1.8 MiB per map for 4,000 rules, most of a live heap's rule keys). Here the parts are the
 * rule's own strings, referenced: a group's rules sit in one map by name, and each name holds its
 * (expression, value) pairs in a small array, nearly always one pair.
 */
export class RuleMap<V> {
  readonly #groups = new Map<string, Map<string, unknown[]>>()
  #size = 0

  /** size is the number of rules held. */
  get size(): number {
    return this.#size
  }

  get(group: string, name: string, expr: string): V | undefined {
    const pairs = this.#groups.get(group)?.get(name)
    if (pairs === undefined) return undefined
    const at = indexOf(pairs, expr)
    return at < 0 ? undefined : (pairs[at + 1] as V)
  }

  set(group: string, name: string, expr: string, value: V): this {
    let names = this.#groups.get(group)
    if (names === undefined) this.#groups.set(group, (names = new Map()))
    const pairs = names.get(name)
    if (pairs === undefined) {
      names.set(name, [expr, value])
      this.#size++
      return this
    }
    const at = indexOf(pairs, expr)
    if (at >= 0) {
      pairs[at + 1] = value
    } else {
      pairs.push(expr, value)
      this.#size++
    }
    return this
  }

  /** deleteWhere removes the rules whose value matches, and returns their values. */
  deleteWhere(matches: (value: V) => boolean): V[] {
    const removed: V[] = []
    for (const [group, names] of this.#groups) {
      for (const [name, pairs] of names) {
        for (let i = pairs.length - 2; i >= 0; i -= 2) {
          const value = pairs[i + 1] as V
          if (!matches(value)) continue
          pairs.splice(i, 2)
          removed.push(value)
        }
        if (pairs.length === 0) names.delete(name)
      }
      if (names.size === 0) this.#groups.delete(group)
    }
    this.#size -= removed.length
    return removed
  }

  /** values yields every rule's value, a group's rules together. */
  *values(): IterableIterator<V> {
    for (const names of this.#groups.values()) {
      for (const pairs of names.values()) for (let i = 1; i < pairs.length; i += 2) yield pairs[i] as V
    }
  }
}

function indexOf(pairs: readonly unknown[], expr: string): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === expr) return i
  return -1
}
