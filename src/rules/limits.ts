/**
 * Bounds on one rule file (rules.max_* in the config, docs/limits.md). The defaults are several times what real
 * rule files hold (the kube-prometheus mixins are ~1 MB, ~600 rules); they exist so that a runaway file (generated
 * garbage, a wrong file, an attack) fails fast with a clear error instead of holding the loader for minutes.
 */

import { open } from 'node:fs/promises'
import type { Path } from './yaml-tree.js'

/** RuleLimits are the per-file bounds. */
export interface RuleLimits {
  readonly maxFileBytes: number
  readonly maxGroupsPerFile: number
  readonly maxRulesPerFile: number
  /** Applies to a rule's own labels and to its group's labels (which every rule of the group gets). */
  readonly maxLabelsPerRule: number
  readonly maxAnnotationsPerRule: number
}

export const DEFAULT_RULE_LIMITS: RuleLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxGroupsPerFile: 10_000,
  maxRulesPerFile: 20_000,
  maxLabelsPerRule: 1_000,
  maxAnnotationsPerRule: 1_000,
}

/** The config keys, for messages that say which limit to raise. */
const KEYS: Record<keyof RuleLimits, string> = {
  maxFileBytes: 'rules.max_file_bytes',
  maxGroupsPerFile: 'rules.max_groups_per_file',
  maxRulesPerFile: 'rules.max_rules_per_file',
  maxLabelsPerRule: 'rules.max_labels_per_rule',
  maxAnnotationsPerRule: 'rules.max_annotations_per_rule',
}

/**
 * BYTES_PER_NODE sets the YAML node budget of a file from its byte limit. Real rule files have one node per 15 to 90
 * bytes (compact flow style has one per 6, but such a file with 512 K nodes would hold some 40 000 rules). The yaml
 * parser spends ~20 µs and ~1 KB per node, so a file of nothing but tiny nodes (`[0,0,0,…]`), which the byte limit
 * alone lets through by the million, is refused before any tree is built.
 */
export const BYTES_PER_NODE = 16

/** maxYamlNodes is the node budget of a file allowed maxFileBytes. */
export function maxYamlNodes(maxFileBytes: number): number {
  return Math.max(1, Math.floor(maxFileBytes / BYTES_PER_NODE))
}

/** ruleLimitsOf reads the limits from the config's rules section. */
export function ruleLimitsOf(rules: {
  readonly max_file_bytes: number
  readonly max_groups_per_file: number
  readonly max_rules_per_file: number
  readonly max_labels_per_rule: number
  readonly max_annotations_per_rule: number
}): RuleLimits {
  return {
    maxFileBytes: rules.max_file_bytes,
    maxGroupsPerFile: rules.max_groups_per_file,
    maxRulesPerFile: rules.max_rules_per_file,
    maxLabelsPerRule: rules.max_labels_per_rule,
    maxAnnotationsPerRule: rules.max_annotations_per_rule,
  }
}

/** FileTooLargeError is a file over its byte limit; its message names neither the file nor the limit's key (callers add them). */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError'

  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    // In bytes when the rounded sizes would read the same ("8 MiB, larger than the limit of 8 MiB").
    const [a, b] =
      formatSize(size) === formatSize(limit)
        ? [`${size} bytes`, `${limit} bytes`]
        : [formatSize(size), formatSize(limit)]
    super(`the file is ${a}, larger than the limit of ${b}`)
  }
}

/** readTextFile reads a UTF-8 file, refusing one over maxBytes before reading any of it. */
export async function readTextFile(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) throw new FileTooLargeError(size, maxBytes)
    const text = await handle.readFile('utf8')
    // The file grew between stat and read.
    if (Buffer.byteLength(text) > maxBytes) throw new FileTooLargeError(Buffer.byteLength(text), maxBytes)
    return text
  } finally {
    await handle.close()
  }
}

/** formatSize renders a byte count as people write limits: 8 MiB, 512 KiB, 1.5 MiB, 700 B. */
export function formatSize(bytes: number): string {
  const units = [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const
  for (const [unit, size] of units) if (bytes >= size) return `${+(bytes / size).toFixed(1)} ${unit}`
  return `${bytes} B`
}

/** fileSizeMessage explains a FileTooLargeError of a rule file, naming the key that raises the limit. */
export function fileSizeMessage(err: FileTooLargeError): string {
  return `${err.message} (${KEYS.maxFileBytes})`
}

/** LimitReporter receives each exceeded limit at the path of the first entry over it. */
export interface LimitReporter {
  error(path: Path, message: string, where?: { at: 'key' }): void
}

/**
 * checkRuleLimits counts groups, rules, labels and annotations of the raw YAML value, in one pass, and reports
 * every limit exceeded; true when the file is within its limits. Entries of the wrong type are left to the schema.
 */
export function checkRuleLimits(raw: unknown, limits: RuleLimits, rep: LimitReporter): boolean {
  const groups = field(raw, 'groups')
  if (!Array.isArray(groups)) return true
  let ok = overflow(
    groups.length,
    'maxGroupsPerFile',
    'groups in the file',
    ['groups', limits.maxGroupsPerFile],
    limits,
    rep,
  )
  let rules = 0
  let reportedRules = false
  groups.forEach((group, gi) => {
    ok = mapWithin(group, ['groups', gi], 'labels', 'maxLabelsPerRule', limits, rep) && ok
    const list = field(group, 'rules')
    if (!Array.isArray(list)) return
    list.forEach((rule, ri) => {
      const base = ['groups', gi, 'rules', ri]
      if (++rules > limits.maxRulesPerFile && !reportedRules) {
        reportedRules = true
        ok = false
        rep.error(base, `too many rules: more than ${limits.maxRulesPerFile} in the file (${KEYS.maxRulesPerFile})`)
      }
      ok = mapWithin(rule, base, 'labels', 'maxLabelsPerRule', limits, rep) && ok
      ok = mapWithin(rule, base, 'annotations', 'maxAnnotationsPerRule', limits, rep) && ok
    })
  })
  return ok
}

function overflow(
  count: number,
  limit: keyof RuleLimits,
  what: string,
  at: Path,
  limits: RuleLimits,
  rep: LimitReporter,
): boolean {
  if (count <= limits[limit]) return true
  rep.error(at, `too many ${what}: ${count}, at most ${limits[limit]} (${KEYS[limit]})`)
  return false
}

/** mapWithin checks the size of the mapping at base.key; a problem points at the first key over the limit. */
function mapWithin(
  owner: unknown,
  base: Path,
  key: 'labels' | 'annotations',
  limit: 'maxLabelsPerRule' | 'maxAnnotationsPerRule',
  limits: RuleLimits,
  rep: LimitReporter,
): boolean {
  const map = field(owner, key)
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return true
  const names = Object.keys(map)
  if (names.length <= limits[limit]) return true
  const first = names[limits[limit]] as string
  rep.error([...base, key, first], `too many ${key}: ${names.length}, at most ${limits[limit]} (${KEYS[limit]})`, {
    at: 'key',
  })
  return false
}

function field(v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined
}
