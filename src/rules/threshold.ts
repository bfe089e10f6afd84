import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import { unquote } from './promql.js'

const COMPARISONS = new Set(['Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte'])
const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'Atan2'])
const SET_OPERATORS = new Set(['And', 'Or', 'Unless'])
// NumberLiteral in older grammar versions; NumberDurationLiteral since durations may be written as numbers.
const NUMBERS = new Set(['NumberLiteral', 'NumberDurationLiteral'])

/**
 * withoutThreshold is the part of an alerting expression whose series the alerts are made of, with the condition
 * taken off: `X > 0.1 and on (ns) Y >= 1` → `X`. A healthy system returns nothing for the rule itself, so this is
 * what shows which labels its alerts would carry. It follows the left side of and/or/unless and removes the
 * outermost comparison against a number (either side, without `bool`); anything else is returned unchanged.
 */
export function withoutThreshold(expr: string): string {
  const node = seriesNode(expr)
  return node === null ? expr : expr.slice(node.from, node.to).trim()
}

/**
 * LabelSource is an expression whose series carry the labels an alert's series would carry, once `keep` (labels
 * kept by on(...)) and `drop` (labels dropped by ignoring(...)) are applied.
 */
export interface LabelSource {
  readonly expr: string
  readonly keep?: readonly string[]
  readonly drop: readonly string[]
}

/**
 * labelSources lists where the labels of a rule's alerts can be seen: withoutThreshold(expr) first, then, when
 * that is one-to-one vector arithmetic (`A / B`), each operand: A / B is empty while A is (no 5xx series on a
 * healthy service), yet its series would carry B's labels, reduced as on()/ignoring() reduce them.
 */
export function labelSources(expr: string): LabelSource[] {
  const out: LabelSource[] = []
  const visit = (node: SyntaxNode | null, keep: readonly string[] | undefined, drop: readonly string[]): void => {
    while (node?.name === 'ParenExpr') node = node.firstChild
    if (node === null || node === undefined || isNumber(node)) return
    out.push({ expr: expr.slice(node.from, node.to).trim(), ...(keep === undefined ? {} : { keep }), drop })
    if (node.name !== 'BinaryExpr') return
    const op = node.firstChild?.nextSibling?.name ?? ''
    const clause = node.getChild('MatchingModifierClause')
    if (!(ARITHMETIC.has(op) || COMPARISONS.has(op)) || clause?.getChild('GroupLeft') || clause?.getChild('GroupRight'))
      return
    const labels = groupingLabels(clause?.getChild('GroupingLabels') ?? null, expr)
    const on = (clause?.getChild('On') ?? null) !== null
    const nextKeep = on ? (keep === undefined ? labels : keep.filter(l => labels.includes(l))) : keep
    const nextDrop = clause !== null && !on ? [...drop, ...labels] : drop
    visit(node.firstChild, nextKeep, nextDrop)
    visit(node.lastChild, nextKeep, nextDrop)
  }
  visit(seriesNode(expr), undefined, [])
  return out
}

/** applyLabelSource reduces a series' labels as the source says. */
export function applyLabelSource(
  labels: Readonly<Record<string, string>>,
  source: LabelSource,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(labels)) {
    if (source.drop.includes(name) || (source.keep !== undefined && !source.keep.includes(name))) continue
    out[name] = value
  }
  return out
}

function seriesNode(expr: string): SyntaxNode | null {
  let node = parser.parse(expr).topNode.firstChild
  while (node !== null) {
    const next = inner(node)
    if (next === undefined) break
    node = next
  }
  return node
}

function groupingLabels(node: SyntaxNode | null, expr: string): string[] {
  const out: string[] = []
  for (let c = node?.firstChild ?? null; c !== null; c = c.nextSibling) {
    const text = expr.slice(c.from, c.to)
    if (c.name === 'LabelName') out.push(text)
    else if (c.name === 'QuotedLabelName') out.push(unquote(text))
  }
  return out
}

/** inner is the operand to look into next, undefined when node is where the series come from. */
function inner(node: SyntaxNode): SyntaxNode | null | undefined {
  if (node.name === 'ParenExpr') return node.firstChild
  if (node.name !== 'BinaryExpr') return undefined
  const lhs = node.firstChild
  const op = lhs?.nextSibling
  const rhs = node.lastChild
  if (lhs === null || op === null || op === undefined || rhs === null) return undefined
  if (SET_OPERATORS.has(op.name)) return lhs
  if (!COMPARISONS.has(op.name) || node.getChild('BoolModifier') !== null) return undefined
  if (isNumber(rhs)) return lhs
  if (isNumber(lhs)) return rhs
  return undefined
}

function isNumber(node: SyntaxNode): boolean {
  if (NUMBERS.has(node.name)) return true
  if (node.name === 'ParenExpr' || node.name === 'UnaryExpr') return node.lastChild !== null && isNumber(node.lastChild)
  return false
}
