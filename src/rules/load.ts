import { normalize, resolve } from 'node:path'
import type { z } from 'zod'
import type { RuleGroupSpec } from '../engine/spec.js'
import { expandGlob } from './glob.js'
import {
  checkRuleLimits,
  DEFAULT_RULE_LIMITS,
  fileSizeMessage,
  FileTooLargeError,
  maxYamlNodes,
  readTextFile,
} from './limits.js'
import type { RuleLimits } from './limits.js'
import { goTypeAt, groupSchema, ruleFileSchema, ruleSchema } from './schema.js'
import { validateGroups } from './validate.js'
import type { DecodedGroup, DecodedRule, Reporter } from './validate.js'
import { isKubernetesObject, objectSources } from './prometheus-rule.js'
import type { RuleSource } from './prometheus-rule.js'
import { locate, parseYamlDocuments, pathKey, YamlScalar } from './yaml-tree.js'
import type { Path, Position, Where, YamlDocument, YamlTree } from './yaml-tree.js'
import { errorText } from '../errors.js'

/** RuleFileError is one problem in a rule file; line/col are 1-based (0 when unknown), field is a path like groups[0].rules[1].for. */
export interface RuleFileError {
  readonly file: string
  readonly line: number
  readonly col: number
  readonly field: string
  readonly message: string
  /** object names the PrometheusRule (namespace/name) the problem is in. */
  readonly object?: string
  /** group, rule (1-based) and ruleName give the promtool-style context when the problem is inside one. */
  readonly group?: string
  readonly rule?: number
  readonly ruleName?: string
  /** lint names the promtool lint that produced a warning (only duplicate-rules exists). */
  readonly lint?: 'duplicate-rules'
}

/** ParsedRuleFile is a checked rule file: specs only when there are no errors; ruleCount counts every rule, as promtool does. */
export interface ParsedRuleFile {
  readonly file: string
  readonly groups: RuleGroupSpec[]
  readonly ruleCount: number
  readonly errors: RuleFileError[]
  readonly warnings: RuleFileError[]
}

/** LoadedRuleFiles holds every matched file; errors holds every error: patterns matching nothing, then each file's errors. */
export interface LoadedRuleFiles {
  readonly files: ParsedRuleFile[]
  readonly errors: RuleFileError[]
}

/**
 * parseRuleFile parses and validates one rule file's text, collecting every error; pure. The text is a Prometheus
 * rule file or PrometheusRule objects (see prometheus-rule.ts), each object's groups a rule file of its own. A file
 * over its limits is not validated further: the limits are what keeps loading it short.
 */
export function parseRuleFile(file: string, text: string, limits: RuleLimits = DEFAULT_RULE_LIMITS): ParsedRuleFile {
  const stream = parseYamlDocuments(text, { maxNodes: maxYamlNodes(limits.maxFileBytes) })
  const problems = new Problems(file)
  for (const p of stream.errors) problems.add('errors', p.path, p, p.message)
  const collectors = ruleSources(stream.documents, problems).map(source => new Collector(problems, source))
  for (const c of collectors) for (const p of c.source.problems ?? []) c.error(p.path, p.message)
  if (problems.yamlErrors || stream.errors.length > 0 || !withinLimits(collectors, limits)) {
    return { file, groups: [], ruleCount: 0, errors: byPosition(problems.errors), warnings: problems.warnings }
  }
  const groups: RuleGroupSpec[] = []
  let ruleCount = 0
  for (const collector of collectors) {
    const { object } = collector.source
    const decoded = decodeFile(collector.source.owner, collector)
    // Each object is a rule file of its own, as the operator writes it: its groups' names need only differ within it.
    groups.push(...validateGroups(object === undefined ? file : `${file}#${object}`, decoded, collector))
    ruleCount += decoded.reduce((n, g) => n + g.rules.length, 0)
  }
  const ok = problems.errors.length === 0
  return {
    file,
    groups: ok ? groups : [],
    ruleCount,
    errors: byPosition(problems.errors),
    warnings: byPosition(problems.warnings),
  }
}

/**
 * ruleSources finds the rule files in the documents. A text whose first non-empty document is a rule file (or is
 * broken) is read as Prometheus reads it: the first document only, a second one a warning. Otherwise every document
 * must hold PrometheusRule objects.
 */
function ruleSources(documents: readonly YamlDocument[], problems: Problems): RuleSource[] {
  const first = documents.find(d => d.tree.errors.length > 0 || d.tree.value !== null)
  if (first === undefined || first.tree.errors.length > 0 || !isKubernetesObject(first.tree.value)) {
    const doc = documents[0]
    if (doc === undefined) return []
    problems.addTreeProblems(doc.tree)
    const second = documents[1]
    if (second !== undefined)
      problems.add(
        'warnings',
        '',
        second.start,
        'multiple YAML documents are not supported; only the first one is used',
      )
    return doc.tree.errors.length > 0 ? [] : [{ tree: doc.tree, prefix: [], owner: doc.tree.value }]
  }
  for (const { tree } of documents) problems.addTreeProblems(tree)
  return objectSources(documents, (tree, path, message, where) =>
    problems.add('errors', pathKey(path), locate(tree, path, where), message),
  )
}

/** withinLimits checks the file's limits over the groups of all its rule sources, each problem reported in its source. */
function withinLimits(collectors: readonly Collector[], limits: RuleLimits): boolean {
  const offsets: number[] = []
  const all: unknown[] = []
  for (const c of collectors) {
    offsets.push(all.length)
    const groups = prop(c.source.owner, 'groups')
    if (Array.isArray(groups)) for (const g of groups) all.push(g)
  }
  return checkRuleLimits({ groups: all }, limits, {
    error(path, message, where) {
      const gi = typeof path[1] === 'number' ? path[1] : 0
      let i = collectors.length - 1
      while (i > 0 && (offsets[i] as number) > gi) i--
      collectors[i]?.error(['groups', gi - (offsets[i] as number), ...path.slice(2)], message, where)
    },
  })
}

function byPosition(list: RuleFileError[]): RuleFileError[] {
  return list.sort((a, b) => a.line - b.line || a.col - b.col)
}

/** loadRuleFiles expands glob patterns (see glob.ts), then reads and parses every file once, in sorted order. */
export async function loadRuleFiles(
  patterns: readonly string[],
  opts: { cwd?: string; limits?: RuleLimits } = {},
): Promise<LoadedRuleFiles> {
  const cwd = opts.cwd ?? process.cwd()
  const limits = opts.limits ?? DEFAULT_RULE_LIMITS
  const errors: RuleFileError[] = []
  const byPath = new Map<string, string>()
  for (const pattern of patterns) {
    const matched = await expandGlob(pattern, cwd)
    if (matched.length === 0) errors.push(fileError(pattern, `no rule files match ${pattern}`))
    for (const name of matched) {
      const abs = resolve(cwd, name)
      if (!byPath.has(abs)) byPath.set(abs, normalize(name))
    }
  }
  const entries = [...byPath].sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0))
  const files = await Promise.all(entries.map(([abs, name]) => readRuleFile(abs, name, limits)))
  return { files, errors: [...errors, ...files.flatMap(f => f.errors)] }
}

async function readRuleFile(abs: string, name: string, limits: RuleLimits): Promise<ParsedRuleFile> {
  try {
    return parseRuleFile(name, await readTextFile(abs, limits.maxFileBytes), limits)
  } catch (err) {
    // Never a stack trace for a bad file: whatever went wrong is reported against it.
    const message = err instanceof FileTooLargeError ? fileSizeMessage(err) : errorText(err)
    return { file: name, groups: [], ruleCount: 0, errors: [fileError(name, message)], warnings: [] }
  }
}

function fileError(file: string, message: string): RuleFileError {
  return { file, line: 0, col: 0, field: '', message }
}

/** formatRuleFileError renders an error like promtool, always naming the field: file:L:C: group "g", rule 2, "A": field 'for': msg. */
export function formatRuleFileError(e: RuleFileError): string {
  // file:line:col, as compilers print it, so editors and CI annotations can jump to the spot.
  const pos = e.line > 0 ? `:${e.line}:${e.col}` : ''
  const rule = e.rule === undefined ? '' : `, rule ${e.rule}, ${JSON.stringify(e.ruleName ?? '')}`
  const context = [
    e.object === undefined ? '' : `PrometheusRule ${e.object}`,
    e.group === undefined ? '' : `group ${JSON.stringify(e.group)}${rule}`,
  ]
    .filter(part => part !== '')
    .join(': ')
  const rel = e.group === undefined ? e.field : e.field.replace(GROUP_PATH, '')
  const field = rel !== '' && !namesField(e.message, rel) ? `field '${rel}': ` : ''
  return `${e.file}${pos}: ${context === '' ? '' : `${context}: `}${field}${e.message}`
}

// A group's path in a rule file or in a PrometheusRule (spec.groups, items[i].spec.groups of a List).
const GROUP_PATH = /^(?:spec\.|items\[\d+\]\.spec\.)?groups\[\d+\](?:\.rules\[\d+\])?\.?/

// Prometheus's own texts often name the field already ("field 'expr' must be set", `label "k": ...`).
function namesField(message: string, rel: string): boolean {
  const last = /(?:\.|\[")?([^.[\]"]+)"?\]?$/.exec(rel)?.[1] ?? rel
  return message.startsWith('field ') || message.includes(`'${last}'`) || message.includes(`"${last}"`)
}

function decodeFile(raw: unknown, rep: Collector): DecodedGroup[] {
  const file = decode(ruleFileSchema, raw, [], rep)
  const rawGroups = file?.groups ?? (isRecord(raw) && Array.isArray(raw['groups']) ? raw['groups'] : [])
  return rawGroups.map((rawGroup, index) => {
    const base: Path = ['groups', index]
    const group = decode(groupSchema, rawGroup, base, rep)
    const rawRules = group?.rules ?? (isRecord(rawGroup) && Array.isArray(rawGroup['rules']) ? rawGroup['rules'] : [])
    const rules = rawRules.map((r, i): DecodedRule => ({
      index: i,
      rule: decode(ruleSchema, r, [...base, 'rules', i], rep),
    }))
    return { index, group, rules }
  })
}

// Fields whose absence causes no error of its own, so an entry can still be checked without them.
const DROPPABLE = new Set([
  'for',
  'keep_firing_for',
  'labels',
  'annotations',
  'interval',
  'query_offset',
  'limit',
  'rules',
  'groups',
])

/** decode runs a schema and reports its issues; an entry whose only problems are unknown or droppable fields is still returned without them. */
function decode<T>(schema: z.ZodType<T>, raw: unknown, base: Path, rep: Collector): T | undefined {
  const first = schema.safeParse(raw)
  if (first.success) return first.data
  const dropped = new Set<string>()
  let salvageable = isRecord(raw)
  for (const issue of first.error.issues) {
    const path: Path = [...base, ...issue.path.map(p => (typeof p === 'number' ? p : String(p)))]
    if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
      for (const key of issue.keys)
        rep.error([...path, key], `field ${key} not found in type ${goTypeAt(path.length)}`, { at: 'key' })
      for (const key of issue.keys) dropped.add(key)
      continue
    }
    rep.error(path, issue.message)
    const top = issue.path[0]
    if (typeof top === 'string' && DROPPABLE.has(top)) dropped.add(top)
    else salvageable = false
  }
  if (!salvageable) return undefined
  const rest = Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([k]) => !dropped.has(k)))
  const second = schema.safeParse(rest)
  return second.success ? second.data : undefined
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof YamlScalar)
}

/** Problems gathers a file's errors and warnings. */
class Problems {
  readonly errors: RuleFileError[] = []
  readonly warnings: RuleFileError[] = []
  /** yamlErrors: a document did not parse; nothing is validated then. */
  yamlErrors = false

  constructor(private readonly file: string) {}

  add(kind: 'errors' | 'warnings', field: string, pos: Position, message: string, extra = {}): void {
    this[kind].push({ file: this.file, line: pos.line, col: pos.col, field, message, ...extra })
  }

  addTreeProblems(tree: YamlTree): void {
    for (const p of tree.errors) this.add('errors', p.path, p, p.message)
    for (const p of tree.warnings) this.add('warnings', p.path, p, p.message)
    if (tree.errors.length > 0) this.yamlErrors = true
  }
}

/** Collector turns field paths of one rule source into positioned RuleFileErrors with their group/rule context. */
class Collector implements Reporter {
  constructor(
    private readonly problems: Problems,
    readonly source: RuleSource,
  ) {}

  error(path: Path, message: string, where?: Where): void {
    const full = [...this.source.prefix, ...path]
    this.problems.add('errors', pathKey(full), locate(this.source.tree, full, where), message, this.context(path))
  }

  lint(path: Path, message: string): void {
    const full = [...this.source.prefix, ...path]
    this.problems.add('warnings', pathKey(full), locate(this.source.tree, full), message, {
      ...this.context(path),
      lint: 'duplicate-rules',
    })
  }

  private context(path: Path): Pick<RuleFileError, 'object' | 'group' | 'rule' | 'ruleName'> {
    const object = this.source.object === undefined ? {} : { object: this.source.object }
    if (path[0] !== 'groups' || typeof path[1] !== 'number') return object
    const rawGroup = index(prop(this.source.owner, 'groups'), path[1])
    const group = text(prop(rawGroup, 'name'))
    if (path[2] !== 'rules' || typeof path[3] !== 'number') return { ...object, group }
    const rawRule = index(prop(rawGroup, 'rules'), path[3])
    const ruleName = text(prop(rawRule, 'alert')) || text(prop(rawRule, 'record'))
    return { ...object, group, rule: path[3] + 1, ruleName }
  }
}

function prop(v: unknown, key: string): unknown {
  return isRecord(v) ? v[key] : undefined
}

function index(v: unknown, i: number): unknown {
  return Array.isArray(v) ? v[i] : undefined
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : v instanceof YamlScalar ? v.text : ''
}
