import { sameShape, shapeOf, type ExprShape } from './coalesce-shape.js'
import { groupOffset } from './slots.js'
import { groupKey, type RuleGroupSpec } from './spec.js'
import type { Labels } from './types.js'

/**
 * Query coalescing (docs/query-coalescing.md): rules that are queried at the same instants and whose expressions
 * differ only in equality matchers on labels the expression keeps are answered by one query, those matchers merged
 * into one regex matcher; each rule takes the series carrying its own values. Identical expressions queried at the
 * same instants share one query as written. The plan is made once per rule set; the runtime follows it.
 */

/** SharedQuery is one query that answers several rules. */
export interface SharedQuery {
  readonly expr: string
  /** How many rules (in all groups) take their series from it at each of its instants. */
  readonly rules: number
}

/** RuleShare is how one rule is answered: the shared query, then only the series with these label values. */
export interface RuleShare {
  readonly query: SharedQuery
  /** Empty when the shared query is the rule's own expression. */
  readonly filter: Labels
}

/** CoalescePlan maps group key ("file;name") → rule expression → its share; rules not in it query as written. */
export interface CoalescePlan {
  readonly groups: ReadonlyMap<string, ReadonlyMap<string, RuleShare>>
  /** Rules answered by shared queries. */
  readonly rules: number
  /** Shared queries answering them. */
  readonly queries: number
}

/** PlannedGroup is a group with its interval resolved (the daemon's default for 0). */
export interface PlannedGroup {
  readonly spec: RuleGroupSpec
  readonly intervalMs: number
}

/**
 * MAX_SHARED_QUERY_LENGTH bounds a merged query's text: VictoriaMetrics refuses queries over 16 KiB
 * (-search.maxQueryLen), so values beyond it go to a further shared query. Room is left for a wrapper such as the
 * no-data watch's `count by (…) (…)`.
 */
export const MAX_SHARED_QUERY_LENGTH = 12_000

/** QueryItem is one query to plan: asked at the instants `timing` names (equal strings, equal instants). */
export interface QueryItem {
  readonly timing: string
  readonly expr: string
}

interface Candidate {
  readonly expr: string
  readonly shape: ExprShape
  /** The labels this rule may vary in; its value of each. */
  readonly values: ReadonlyMap<string, string>
  /** The items asking this expression (indexes into the planned list). */
  readonly items: number[]
}

/** planCoalescing decides which rules share which query; pure, and linear in the rule set. */
export function planCoalescing(groups: readonly PlannedGroup[]): CoalescePlan {
  // Queried at the same instants exactly when interval, slot offset and query offset are equal.
  const items: (QueryItem & { readonly group: string })[] = []
  for (const g of groups) {
    const timing = `${g.intervalMs}/${groupOffset(g.spec.file, g.spec.name, g.intervalMs)}/${g.spec.queryOffsetMs}`
    const group = groupKey(g.spec)
    for (const rule of g.spec.rules) items.push({ timing, expr: rule.expr, group })
  }
  const shares = planShared(items)
  const plan = new Map<string, Map<string, RuleShare>>()
  const queries = new Set<SharedQuery>()
  let rules = 0
  shares.forEach((share, i) => {
    if (share === undefined) return
    const { group, expr } = items[i] as (typeof items)[number]
    const ofGroup = plan.get(group) ?? new Map<string, RuleShare>()
    plan.set(group, ofGroup)
    ofGroup.set(expr, share)
    queries.add(share.query)
    rules++
  })
  return { groups: plan, rules, queries: queries.size }
}

/**
 * planShared gives each item the shared query that answers it (undefined: it asks its own): items asked at the same
 * instants whose expressions differ only in equality matchers on labels the expression keeps share one query, those
 * matchers merged into regex matchers (at most MAX_SHARED_QUERY_LENGTH long); identical expressions share one as
 * written. Pure, and linear in the items but for the length bound's splits.
 */
export function planShared(items: readonly QueryItem[]): (RuleShare | undefined)[] {
  const shapes = new ShapeCache()
  const buckets = new Map<string, Map<string, Candidate>>()
  // An item alone with its template at its instants shares nothing: it is not even parsed (most rules of a layout
  // with one group per service). Each expression's skeleton once: the matcher-value regex is most of the cost.
  const skeletons = items.map(item => skeleton(item.expr))
  const templates = new Map<string, number>()
  items.forEach((item, i) => {
    const key = `${item.timing}\0${skeletons[i] as string}`
    templates.set(key, (templates.get(key) ?? 0) + 1)
  })
  items.forEach((item, i) => {
    const template = skeletons[i] as string
    if (templates.get(`${item.timing}\0${template}`) === 1) return
    const shape = shapes.of(item.expr, template)
    const values = variableValues(shape)
    const key = `${item.timing}\0${shapes.id(shape)}\0${slotsKey(shape, values)}`
    const bucket = buckets.get(key) ?? new Map<string, Candidate>()
    buckets.set(key, bucket)
    const candidate = bucket.get(item.expr) ?? { expr: item.expr, shape, values, items: [] }
    bucket.set(item.expr, candidate)
    candidate.items.push(i)
  })
  const shares: (RuleShare | undefined)[] = items.map(() => undefined)
  for (const bucket of buckets.values()) {
    for (const { candidates, expr } of withinLength([...bucket.values()])) {
      const members = candidates.reduce((n, c) => n + c.items.length, 0)
      if (members < 2) continue
      const query = { expr: expr ?? mergedExpr(candidates), rules: members }
      const varying = varyingLabels(candidates)
      for (const c of candidates) {
        const filter = Object.fromEntries(varying.map(label => [label, c.values.get(label) as string]))
        for (const i of c.items) shares[i] = { query, filter }
      }
    }
  }
  return shares
}

/**
 * withinLength splits candidates (in halves, in order) until each part's merged query is short enough; each part
 * with the query it measured (none for a lone candidate: often one rule, which shares nothing).
 */
function withinLength(candidates: Candidate[]): { candidates: Candidate[]; expr?: string }[] {
  if (candidates.length < 2) return [{ candidates }]
  const expr = mergedExpr(candidates)
  if (expr.length <= MAX_SHARED_QUERY_LENGTH) return [{ candidates, expr }]
  const half = Math.ceil(candidates.length / 2)
  return [...withinLength(candidates.slice(0, half)), ...withinLength(candidates.slice(half))]
}

/**
 * ShapeCache parses one expression per template: rules generated from one template (thousands, each a few hundred
 * characters) are read against the parsed one, which is what keeps planning a reload's rules cheap.
 */
class ShapeCache {
  readonly #byExpr = new Map<string, ExprShape>()
  readonly #byTemplate = new Map<string, ExprShape>()
  readonly #ids = new Map<string, number>()
  readonly #pieceIds = new WeakMap<readonly string[], number>()

  /** id numbers the text around the slots: shapes read by sameShape share the array, the others compare by text. */
  id(shape: ExprShape): number {
    let id = this.#pieceIds.get(shape.pieces)
    if (id === undefined) {
      const text = JSON.stringify(shape.pieces)
      id = this.#ids.get(text) ?? this.#ids.size
      this.#ids.set(text, id)
      this.#pieceIds.set(shape.pieces, id)
    }
    return id
  }

  /** of reads expr, whose skeleton is template, against the shape parsed for its template. */
  of(expr: string, template: string): ExprShape {
    let shape = this.#byExpr.get(expr)
    if (shape !== undefined) return shape
    const known = this.#byTemplate.get(template)
    shape = (known === undefined ? undefined : sameShape(known, expr)) ?? shapeOf(expr)
    if (known === undefined) this.#byTemplate.set(template, shape)
    this.#byExpr.set(expr, shape)
    return shape
  }
}

/** skeleton drops the value of every `label="…"`: a key to expressions of one template (sameShape checks exactly). */
function skeleton(expr: string): string {
  return expr.replace(MATCHER_VALUES, '$1')
}

const MATCHER_VALUES = /([a-zA-Z_][a-zA-Z0-9_]*\s*=\s*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/g

/**
 * variableValues: the mergeable labels this expression may vary in, with its value of each — only when every
 * matcher on the label names the same non-empty value (an empty one also matches series without the label).
 */
function variableValues(shape: ExprShape): Map<string, string> {
  const values = new Map<string, string>()
  const fixed = new Set<string>()
  for (const { label, value } of shape.slots) {
    if (!shape.mergeable.has(label)) continue
    const seen = values.get(label)
    if (value === '' || (seen !== undefined && seen !== value)) fixed.add(label)
    values.set(label, value)
  }
  for (const label of fixed) values.delete(label)
  return values
}

// With equal pieces, expressions with equal keys differ at most in the values of their variable labels.
function slotsKey(shape: ExprShape, values: ReadonlyMap<string, string>): string {
  return JSON.stringify(shape.slots.map(s => (values.has(s.label) ? s.label : [s.label, s.value])))
}

function varyingLabels(candidates: readonly Candidate[]): string[] {
  const first = candidates[0] as Candidate
  return [...first.values.keys()].filter(label => candidates.some(c => c.values.get(label) !== first.values.get(label)))
}

/** mergedExpr writes the shape back with each varying label's matchers as one regex matcher of all its values. */
function mergedExpr(candidates: readonly Candidate[]): string {
  const first = candidates[0] as Candidate
  if (candidates.length === 1) return first.expr
  const varying = new Map(
    varyingLabels(candidates).map(label => {
      const values = [...new Set(candidates.map(c => c.values.get(label) as string))].sort()
      return [label, `${label}=~${JSON.stringify(values.map(quoteMeta).join('|'))}`]
    }),
  )
  const { pieces, slots } = first.shape
  let out = pieces[0] as string
  slots.forEach((slot, i) => {
    out += varying.get(slot.label) ?? `${slot.label}=${JSON.stringify(slot.value)}`
    out += pieces[i + 1] as string
  })
  return out
}

/** quoteMeta escapes RE2's metacharacters as Go's regexp.QuoteMeta does, so a value matches only itself. */
export function quoteMeta(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}
