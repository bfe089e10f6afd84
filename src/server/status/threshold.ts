/**
 * The threshold of an alerting rule, read from its expression's top-level comparison with a number:
 * `… > 0.10` is "> 0.1", `0.5 < …` is "> 0.5"; through `and`/`unless` (whose values come from the left side)
 * and parentheses. Anything else (`bool`, vector-to-vector comparisons, arithmetic on the number) has none.
 */

import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'

/** Comparison is a PromQL comparison operator. */
export type Comparison = '>' | '<' | '>=' | '<=' | '==' | '!='

/** Threshold is "the rule's value `op` value holds while the alert is active". */
export interface Threshold {
  readonly op: Comparison
  readonly value: number
}

const OPS: Readonly<Record<string, Comparison>> = { Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', Eql: '==', Neq: '!=' }
const FLIPPED: Readonly<Record<Comparison, Comparison>> = {
  '>': '<',
  '<': '>',
  '>=': '<=',
  '<=': '>=',
  '==': '==',
  '!=': '!=',
}
const EXPRESSIONS = new Set([
  'BinaryExpr',
  'ParenExpr',
  'NumberDurationLiteral',
  'VectorSelector',
  'AggregateExpr',
  'FunctionCall',
])

/** parseThreshold returns the threshold of expr, or undefined when it has none this page can show. */
export function parseThreshold(expr: string): Threshold | undefined {
  const top = parser.parse(expr).topNode.firstChild
  return top === null ? undefined : thresholdOf(top, expr)
}

function thresholdOf(node: SyntaxNode, expr: string): Threshold | undefined {
  const inner = unparen(node)
  if (inner.name !== 'BinaryExpr') return undefined
  const children = childList(inner)
  const [lhs, op, rhs] = children
  if (lhs === undefined || op === undefined || rhs === undefined) return undefined
  if (op.name === 'And' || op.name === 'Unless') return thresholdOf(lhs, expr)
  if (children.length !== 3) return undefined
  const comparison = OPS[op.name]
  if (comparison === undefined) return undefined
  const right = numberOf(rhs, expr)
  if (right !== undefined) return numberOf(lhs, expr) === undefined ? { op: comparison, value: right } : undefined
  const left = numberOf(lhs, expr)
  return left === undefined ? undefined : { op: FLIPPED[comparison], value: left }
}

/** childList lists the child nodes without comments; a `bool` or matching modifier makes it longer than 3. */
function childList(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = []
  for (let c = node.firstChild; c !== null; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c)
  return out
}

function unparen(node: SyntaxNode): SyntaxNode {
  let n = node
  while (n.name === 'ParenExpr' && n.firstChild !== null && EXPRESSIONS.has(n.firstChild.name)) n = n.firstChild
  return n
}

/** numberOf reads a number literal (decimal, hex, exponent, Inf, NaN, a leading sign), or undefined. */
function numberOf(node: SyntaxNode, expr: string): number | undefined {
  const n = unparen(node)
  if (n.name !== 'NumberDurationLiteral') return undefined
  const text = expr.slice(n.from, n.to).trim()
  const m = /^([+-]?)(inf|nan)$/i.exec(text)
  if (m !== null) return (m[2] as string).toLowerCase() === 'nan' ? Number.NaN : m[1] === '-' ? -Infinity : Infinity
  if (/^[+-]?(0x[0-9a-f]+|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)$/i.test(text)) {
    const negative = text.startsWith('-')
    const v = Number(text.replace(/^[+-]/, ''))
    return negative ? -v : v
  }
  return undefined
}
