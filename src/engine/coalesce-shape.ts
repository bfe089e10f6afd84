import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import { unquote } from '../rules/promql.js'

/**
 * The shape of an expression for query coalescing (docs/query-coalescing.md): its text cut at every equality matcher
 * on a plain label name (the places rules generated from one template differ), and the labels whose matchers may be
 * merged into one regex matcher because the expression keeps them and partitions its result by them.
 */

/** MatcherSlot is one `label="value"` matcher of the expression, value unquoted. */
export interface MatcherSlot {
  readonly label: string
  readonly value: string
}

/** ExprShape is an expression cut at its equality matchers. */
export interface ExprShape {
  /** The text around the slots: pieces.length === slots.length + 1; slot i sits between pieces i and i + 1. */
  readonly pieces: readonly string[]
  readonly slots: readonly MatcherSlot[]
  /**
   * The labels whose equality matchers may vary between rules of this shape: every selector has one, the result
   * keeps the label, and each result series comes only from input series with the same value of it.
   */
  readonly mergeable: ReadonlySet<string>
}

/**
 * Functions that map each input series to at most one output series with the same labels (the metric name aside),
 * whatever their literal arguments: a result series with label value v comes from input series with value v.
 */
const PER_SERIES_FUNCTIONS = new Set([
  'abs',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'avg_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'cos',
  'cosh',
  'count_over_time',
  'deg',
  'delta',
  'deriv',
  'double_exponential_smoothing',
  'exp',
  'floor',
  'histogram_avg',
  'histogram_count',
  'histogram_fraction',
  'histogram_quantile',
  'histogram_stddev',
  'histogram_stdvar',
  'histogram_sum',
  'holt_winters',
  'idelta',
  'increase',
  'irate',
  'last_over_time',
  'ln',
  'log10',
  'log2',
  'mad_over_time',
  'max_over_time',
  'min_over_time',
  'predict_linear',
  'present_over_time',
  'quantile_over_time',
  'rad',
  'rate',
  'resets',
  'round',
  'sgn',
  'sin',
  'sinh',
  'sort',
  'sort_by_label',
  'sort_by_label_desc',
  'sort_desc',
  'sqrt',
  'stddev_over_time',
  'stdvar_over_time',
  'sum_over_time',
  'tan',
  'tanh',
  'timestamp',
])

/** Functions that rewrite a label: kept when neither the label written nor those read is the merged one. */
const LABEL_FUNCTIONS = new Set(['label_replace', 'label_join'])

/** Aggregations whose `by`/`without` groups are computed independently of each other (not topk, quantile, …). */
const GROUPWISE_AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'group'])

/** Literal operands and arguments: numbers and strings, signed, in parentheses or combined by arithmetic. */
const LITERALS = new Set(['NumberDurationLiteral', 'StringLiteral'])

/** shapeOf cuts expr at its equality matchers and decides which of their labels may be merged. */
export function shapeOf(expr: string): ExprShape {
  const tree = parser.parse(expr)
  const pieces: string[] = []
  const slots: MatcherSlot[] = []
  const selectors: SyntaxNode[] = []
  let broken = false
  let from = 0
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) broken = true
      if (ref.name === 'VectorSelector') selectors.push(ref.node)
      if (ref.name !== 'UnquotedLabelMatcher') return undefined
      const slot = equalitySlot(ref.node, expr)
      if (slot === undefined) return false
      pieces.push(expr.slice(from, ref.from))
      slots.push(slot)
      from = ref.to
      return false
    },
  })
  pieces.push(expr.slice(from))
  const candidates = new Set(slots.map(s => s.label))
  const mergeable = new Set<string>()
  if (!broken) {
    const top = tree.topNode.firstChild
    // A comment is a second child of the top node: such expressions are left alone.
    const single = top !== null && top.nextSibling === null
    for (const label of candidates)
      if (single && selectors.every(s => narrows(s, label, expr)) && partitions(top as SyntaxNode, label, expr))
        mergeable.add(label)
  }
  return { pieces, slots, mergeable }
}

/**
 * sameShape reads expr as `known` with other matcher values: its text must be known's pieces with one
 * `label="value"` matcher of the same label between each two. Then it parses into the same tree (a string literal
 * for a string literal), so the mergeable labels are the same: no second parse for the thousands of rules of one
 * template. Undefined when expr is not written that way.
 */
export function sameShape(known: ExprShape, expr: string): ExprShape | undefined {
  const slots: MatcherSlot[] = []
  let at = 0
  for (let i = 0; i < known.slots.length; i++) {
    const piece = known.pieces[i] as string
    if (!expr.startsWith(piece, at)) return undefined
    const label = (known.slots[i] as MatcherSlot).label
    MATCHER.lastIndex = at + piece.length
    const m = MATCHER.exec(expr)
    if (m?.[1] !== label) return undefined
    slots.push({ label, value: unquote(m[2] as string) })
    at = MATCHER.lastIndex
  }
  if (expr.slice(at) !== known.pieces.at(-1)) return undefined
  return { pieces: known.pieces, slots, mergeable: known.mergeable }
}

/** An equality matcher at the start of a string: plain label name, `=`, one string literal as lezer-promql reads it. */
const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)/y

function equalitySlot(node: SyntaxNode, expr: string): MatcherSlot | undefined {
  const name = node.getChild('LabelName')
  const value = node.getChild('StringLiteral')
  if (name === null || value === null || node.getChild('MatchOp')?.firstChild?.name !== 'EqlSingle') return undefined
  const label = text(name, expr)
  if (label === '__name__') return undefined
  return { label, value: unquote(text(value, expr)) }
}

/** narrows: the selector has an equality matcher on label (the one the merge turns into a regex matcher). */
function narrows(selector: SyntaxNode, label: string, expr: string): boolean {
  const matchers = selector.getChild('LabelMatchers')
  for (let m = matchers?.firstChild ?? null; m !== null; m = m.nextSibling)
    if (m.name === 'UnquotedLabelMatcher' && equalitySlot(m, expr)?.label === label) return true
  return false
}

/**
 * partitions: the node's result keeps label, and its series with label = v are exactly the series the node gives
 * when every selector is narrowed to v. Anything not recognised answers false.
 */
function partitions(node: SyntaxNode, label: string, expr: string): boolean {
  switch (node.name) {
    case 'VectorSelector':
      return true
    case 'ParenExpr':
      return node.firstChild !== null && partitions(node.firstChild, label, expr)
    case 'UnaryExpr':
      return node.lastChild !== null && partitions(node.lastChild, label, expr)
    case 'BinaryExpr':
      return binaryPartitions(node, label, expr)
    case 'AggregateExpr':
      return aggregationPartitions(node, label, expr)
    case 'FunctionCall':
      return functionPartitions(node, label, expr)
    default:
      return false
  }
}

// Both sides partition (or are literals), and vector matching, when restricted, includes the label: match groups
// then never pair series with different values of it, and on(…) keeps it in the result.
function binaryPartitions(node: SyntaxNode, label: string, expr: string): boolean {
  // A parsed BinaryExpr always has both operands.
  const left = node.firstChild as SyntaxNode
  const right = node.lastChild as SyntaxNode
  const matching = node.getChild('MatchingModifierClause')
  if (matching !== null) {
    const listed = groupingLabels(matching.getChild('GroupingLabels'), expr)
    const on = matching.firstChild?.name === 'On'
    if (on !== listed.includes(label)) return false
  }
  const leftLiteral = isLiteral(left)
  const rightLiteral = isLiteral(right)
  return (leftLiteral || partitions(left, label, expr)) && (rightLiteral || partitions(right, label, expr))
}

function aggregationPartitions(node: SyntaxNode, label: string, expr: string): boolean {
  const op = node.getChild('AggregateOp')
  const modifier = node.getChild('AggregateModifier')
  const body = node.getChild('FunctionCallBody')
  if (op === null || modifier === null || body === null || !GROUPWISE_AGGREGATIONS.has(text(op, expr))) return false
  const listed = groupingLabels(modifier.getChild('GroupingLabels'), expr)
  const by = modifier.firstChild?.name === 'By'
  if (by !== listed.includes(label)) return false
  const args = children(body)
  return args.length === 1 && partitions(args[0] as SyntaxNode, label, expr)
}

function functionPartitions(node: SyntaxNode, label: string, expr: string): boolean {
  const fn = text(node.getChild('FunctionIdentifier') as SyntaxNode, expr)
  const args = children(node.getChild('FunctionCallBody') as SyntaxNode)
  // One series argument; the literal ones (φ, bounds, label names) are the same in every rule of the shape.
  const series = args.filter(a => !isLiteral(a))
  const input = series[0]
  if (series.length !== 1 || input === undefined) return false
  if (LABEL_FUNCTIONS.has(fn))
    return input === args[0] && !touchesLabel(fn, args, label, expr) && partitions(input, label, expr)
  if (!PER_SERIES_FUNCTIONS.has(fn) || (fn.startsWith('histogram_') && label === 'le')) return false
  return partitions(input.name === 'MatrixSelector' ? (input.firstChild as SyntaxNode) : input, label, expr)
}

// label_replace(v, dst, replacement, src, regex) writes dst and reads src; label_join(v, dst, separator, src…) too.
function touchesLabel(fn: string, args: readonly SyntaxNode[], label: string, expr: string): boolean {
  const strings = args.slice(1).map(a => (a.name === 'StringLiteral' ? unquote(text(a, expr)) : undefined))
  const names = fn === 'label_replace' ? [strings[0], strings[2]] : [strings[0], ...strings.slice(2)]
  return names.some(n => n === undefined || n === label)
}

function isLiteral(node: SyntaxNode): boolean {
  if (LITERALS.has(node.name)) return true
  if (node.name === 'ParenExpr' || node.name === 'UnaryExpr')
    return node.lastChild !== null && isLiteral(node.lastChild)
  if (node.name === 'BinaryExpr')
    return (
      node.firstChild !== null && node.lastChild !== null && isLiteral(node.firstChild) && isLiteral(node.lastChild)
    )
  return false
}

function groupingLabels(node: SyntaxNode | null, expr: string): string[] {
  const out: string[] = []
  for (let c = node?.firstChild ?? null; c !== null; c = c.nextSibling)
    out.push(c.name === 'LabelName' ? text(c, expr) : unquote(text(c, expr)))
  return out
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = []
  for (let c = node.firstChild; c !== null; c = c.nextSibling) out.push(c)
  return out
}

function text(node: SyntaxNode, expr: string): string {
  return expr.slice(node.from, node.to)
}
