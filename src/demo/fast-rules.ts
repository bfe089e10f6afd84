/**
 * fastRules derives a quick variant of a rule file for the demo and the integration tests: the same
 * expressions and labels, with `for` durations and range windows shortened, so minutes become seconds.
 * Text substitution keeps the file byte-for-byte otherwise identical to the shipped rules.
 */
export interface FastRuleOptions {
  /** for durations by original value, e.g. { '2m': '3s', '5m': '5s' } */
  readonly forDurations: Readonly<Record<string, string>>
  /** replacement for every range window, e.g. '[5s]' */
  readonly rangeWindow: string
}

/** fastRules rewrites `for:` values and `[…]` range selectors of a rule file's text. */
export function fastRules(text: string, opts: FastRuleOptions): string {
  return text
    .replace(/^(\s*for:\s*)(\S+)\s*$/gm, (line, prefix: string, value: string) => {
      const replacement = opts.forDurations[value]
      return replacement === undefined ? line : `${prefix}${replacement}`
    })
    .replace(/\[\d+[smhdwy]\]/g, opts.rangeWindow)
}
