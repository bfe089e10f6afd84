import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import { formatDuration, parseDuration } from './duration.js'
import { unquote } from './promql.js'

/**
 * SelectorRole says what an empty selector means for the rule: `required` — the expression can return nothing
 * without series for it; `optional` — one side of `or`, or the right side of `unless`, so the rule may still
 * fire; `absence` — inside absent() or absent_over_time(), where no series is exactly what the rule looks for.
 */
export type SelectorRole = 'required' | 'optional' | 'absence'

/** Matcher is one label matcher of a selector: as written (`code=~"5.."`) and the label it tests. */
export interface Matcher {
  readonly text: string
  readonly label: string
}

/** SelectorUse is one vector selector of an expression and how the expression reads it. */
export interface SelectorUse {
  /** The selector as written, whitespace collapsed: `http_requests_total{code=~"5.."}`. */
  readonly selector: string
  /** The metric it selects (its name, or a `__name__="…"` matcher); undefined for name patterns. */
  readonly metric: string | undefined
  /** Each label matcher (a quoted metric name `{"m"}` counts as `__name__`). */
  readonly matchers: readonly Matcher[]
  /** The offset modifier applied to it ("1h"), if any. */
  readonly offset: string | undefined
  /**
   * How far back it is read, in ms: its range (`[5m]`) plus the ranges of every subquery around it; 0 for an
   * instant selector (Prometheus then looks back 5 minutes for the latest sample).
   */
  readonly lookbackMs: number
  readonly role: SelectorRole
}

const ABSENCE_FUNCTIONS = new Set(['absent', 'absent_over_time'])

/**
 * vectorSelectors lists the vector selectors of expr in order of appearance; a selector used twice is listed twice.
 * It parses expr at each call: the daemon keeps what it needs of the result instead (the no-data watch's checks,
 * cached per expression in src/nodata/checks.ts), as 4,000 rules' lists held ~5 MiB.
 */
export function vectorSelectors(expr: string): SelectorUse[] {
  const out: SelectorUse[] = []
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return undefined
      out.push(describeSelector(ref.node, expr))
      return false
    },
  })
  return out
}

/** selectorQuery is the selector with its offset, ready to be wrapped: `x{a="b"} offset 1h`. */
export function selectorQuery(use: SelectorUse, rangeMs = 0): string {
  const range = rangeMs > 0 ? `[${formatDuration(rangeMs)}]` : ''
  return `${use.selector}${range}${use.offset === undefined ? '' : ` offset ${use.offset}`}`
}

function describeSelector(node: SyntaxNode, expr: string): SelectorUse {
  const matchers = node.getChild('LabelMatchers')
  const list: Matcher[] = []
  for (let m = matchers?.firstChild ?? null; m !== null; m = m.nextSibling)
    list.push({ text: collapse(text(m, expr)), label: labelOf(m, expr) })
  return {
    selector: collapse(text(node, expr)),
    metric: metricOf(node, expr),
    matchers: list,
    offset: offsetOf(node, expr),
    lookbackMs: lookbackOf(node, expr),
    role: roleOf(node, expr),
  }
}

function metricOf(node: SyntaxNode, expr: string): string | undefined {
  const ident = node.getChild('Identifier')
  if (ident !== null) return text(ident, expr)
  const matchers = node.getChild('LabelMatchers')
  for (let m = matchers?.firstChild ?? null; m !== null; m = m.nextSibling) {
    if (m.name === 'QuotedLabelName') return unquote(text(m, expr))
    const name = m.firstChild
    const value = m.lastChild
    if (name === null || value === null || m.getChild('MatchOp')?.firstChild?.name !== 'EqlSingle') continue
    const label = name.name === 'LabelName' ? text(name, expr) : unquote(text(name, expr))
    if (label === '__name__') return unquote(text(value, expr))
  }
  return undefined
}

function labelOf(m: SyntaxNode, expr: string): string {
  if (m.name === 'QuotedLabelName') return '__name__'
  const name = m.firstChild
  if (name === null) return ''
  return name.name === 'LabelName' ? text(name, expr) : unquote(text(name, expr))
}

/** metricSelector selects every series of a metric: `m`, or `{"m"}` for a name that is not an identifier. */
export function metricSelector(metric: string): string {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric) ? metric : `{${JSON.stringify(metric)}}`
}

/** labelName is a label name as PromQL writes it in a matcher: plain, or quoted when it is not an identifier. */
export function labelName(label: string): string {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label) ? label : JSON.stringify(label)
}

// `x[5m] offset 1h` parses as OffsetExpr(MatrixSelector(VectorSelector)); `x offset 1h` as OffsetExpr(VectorSelector).
function offsetOf(node: SyntaxNode, expr: string): string | undefined {
  const around = node.parent?.name === 'MatrixSelector' ? node.parent.parent : node.parent
  if (around?.name !== 'OffsetExpr') return undefined
  const duration = around.getChild('OffsetDurationExpr')
  return duration === null ? undefined : text(duration, expr).replace(/\s+/g, '')
}

function lookbackOf(node: SyntaxNode, expr: string): number {
  let total = 0
  for (let n: SyntaxNode | null = node.parent; n !== null; n = n.parent) {
    if (n.name !== 'MatrixSelector' && n.name !== 'SubqueryExpr') continue
    // The first DurationExpr is the range (a subquery's second one is its resolution).
    total += durationMs(n.getChild('DurationExpr'), expr)
  }
  return total
}

function durationMs(node: SyntaxNode | null, expr: string): number {
  if (node === null) return 0
  try {
    return parseDuration(text(node, expr).trim())
  } catch {
    // Arithmetic or step() in the range: not a window this check can size, so it counts as none.
    return 0
  }
}

function roleOf(node: SyntaxNode, expr: string): SelectorRole {
  let role: SelectorRole = 'required'
  let from = node
  for (let n: SyntaxNode | null = node.parent; n !== null; from = n, n = n.parent) {
    if (n.name === 'FunctionCall' && ABSENCE_FUNCTIONS.has(text(n.firstChild ?? n, expr))) return 'absence'
    if (n.name !== 'BinaryExpr') continue
    const op = n.firstChild?.nextSibling?.name
    const onRight = n.firstChild !== null && from.from > n.firstChild.to
    if (op === 'Or' || (op === 'Unless' && onRight)) role = 'optional'
  }
  return role
}

function text(node: SyntaxNode, expr: string): string {
  return expr.slice(node.from, node.to)
}

function collapse(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .replace(/([{,]) /g, '$1')
    .replace(/ ([},])/g, '$1')
    .trim()
}
