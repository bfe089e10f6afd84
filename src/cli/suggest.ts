// "Did you mean": the one closest known name to a mistyped flag, command or subcommand, as git, kubectl and cargo
// offer it.

/**
 * editDistance is the optimal-string-alignment (restricted Damerau-Levenshtein) distance: insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1, so `promethus` is 1 from `prometheus`.
 */
export function editDistance(a: string, b: string): number {
  // Three rows suffice: the transposition looks two rows back.
  let before = new Array<number>(b.length + 1).fill(0)
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] as number) + 1)
      row.push(d)
    }
    before = prev
    prev = row
  }
  return prev[b.length] as number
}

/**
 * closest is the known name nearest to `typed`: the one at the smallest edit distance, if at most 2 (1 for a name
 * of three or four characters, 0 for one or two, where more would match nearly anything); else the shortest name
 * that `typed` is a prefix of (`--prom` → `--prometheus-url`). Ties go to the earlier name. Undefined: none is close.
 */
export function closest(typed: string, known: readonly string[]): string | undefined {
  const core = typed.replace(/^-+/, '')
  const limit = core.length <= 2 ? 0 : core.length <= 4 ? 1 : 2
  let best: { name: string; distance: number } | undefined
  for (const name of known) {
    const distance = editDistance(typed, name)
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  if (best !== undefined) return best.name
  if (core.length < 2) return undefined
  const prefixed = known.filter(name => name.startsWith(typed) && name !== typed)
  return prefixed.reduce<string | undefined>(
    (shortest, name) => (shortest === undefined || name.length < shortest.length ? name : shortest),
    undefined,
  )
}

/** didYouMean is ` (did you mean X?)` for the closest known name, or ''. */
export function didYouMean(typed: string, known: readonly string[]): string {
  const match = closest(typed, known)
  return match === undefined ? '' : ` (did you mean ${match}?)`
}
