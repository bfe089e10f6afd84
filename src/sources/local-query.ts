import { parser } from '@prometheus-io/lezer-promql'
import type { SyntaxNode } from '@lezer/common'
import type { Labels, Sample } from '../engine/types.js'
import { isProbeMetric } from './probe-store.js'
import type { ProbeMetric, ProbeStore } from './probe-store.js'
import { unquote } from '../rules/promql.js'
import { aggregate, binaryOp, isComparison, LocalQueryError, parseNumber, setOp } from './local-query-ops.js'
import type { AggregateOp, BinaryOp, Matching } from './local-query-ops.js'
import { errorText } from '../errors.js'

export { LocalQueryError }

/** LocalQuery is a compiled expression over the probe store. */
export interface LocalQuery {
  readonly expr: string
  /** evaluate returns the instant-query result at atMs; a scalar result is one sample with no labels. */
  evaluate(store: ProbeStore, atMs: number): Sample[]
}

type Vector = (store: ProbeStore, atMs: number) => Sample[]
type Value = { readonly kind: 'scalar'; readonly value: number } | { readonly kind: 'vector'; readonly eval: Vector }

/** PROBE_METRIC_PREFIX names rollguard's in-process probe series, which only the local probe store has. */
export const PROBE_METRIC_PREFIX = 'rollguard_probe_'
const LOCAL_PREFIX = PROBE_METRIC_PREFIX

/**
 * mayNameProbeMetric is false when expr cannot name a rollguard_probe_* metric, without parsing it: the prefix is not
 * in its text and no escape sequence (`\x5f`) could spell it in a string. Nearly every rule's expression is such, and
 * callers need not parse or remember it.
 */
export function mayNameProbeMetric(expr: string): boolean {
  return expr.includes(LOCAL_PREFIX) || expr.includes('\\')
}

/** isLocalExpression is true iff every metric the expression references is a rollguard_probe_* metric. */
export function isLocalExpression(expr: string): boolean {
  if (!mayNameProbeMetric(expr)) return false
  const all: (string | undefined)[] = []
  parser.parse(expr).iterate({
    enter: ref => {
      if (ref.name === 'VectorSelector') all.push(selectorName(ref.node, expr))
    },
  })
  const local = all.filter(n => n?.startsWith(LOCAL_PREFIX) === true).length
  if (local === 0) return false
  if (local < all.length)
    throw new LocalQueryError('expression mixes rollguard_probe_* metrics with Prometheus metrics')
  return true
}

/**
 * readsProbeSeries is true when the query router sends expr to the local probe store (or refuses it for mixing
 * probe and Prometheus series): its data lives only in this process, with no history in Prometheus.
 */
export function readsProbeSeries(expr: string): boolean {
  if (!mayNameProbeMetric(expr)) return false
  let reads = probeReaders.get(expr)
  if (reads === undefined) {
    try {
      reads = isLocalExpression(expr)
    } catch {
      reads = true
    }
    if (probeReaders.size >= PROBE_READERS_LIMIT) probeReaders.clear()
    probeReaders.set(expr, reads)
  }
  return reads
}

// Asked for every rule of every group a reload starts (restore): kept per expression that may name a probe metric,
// bounded, as parsing is the cost.
const probeReaders = new Map<string, boolean>()
const PROBE_READERS_LIMIT = 50_000

/** compileLocalQuery compiles expr, throwing LocalQueryError for anything the local evaluator cannot run. */
export function compileLocalQuery(expr: string): LocalQuery {
  const tree = parser.parse(expr)
  tree.iterate({
    enter: ref => {
      if (ref.type.isError) throw new LocalQueryError(`invalid expression: syntax error at position ${ref.from}`)
    },
  })
  const root = tree.topNode.firstChild
  if (root === null) throw new LocalQueryError('invalid expression: empty expression')
  const value = compile(root, expr)
  const evaluate = value.kind === 'scalar' ? () => [{ labels: {}, value: value.value }] : value.eval
  return { expr, evaluate }
}

function compile(node: SyntaxNode, src: string): Value {
  switch (node.name) {
    case 'ParenExpr':
      return compile(child(node, 0), src)
    case 'NumberDurationLiteral':
      return { kind: 'scalar', value: parseNumber(text(node, src)) }
    case 'VectorSelector':
      return { kind: 'vector', eval: compileSelector(node, src) }
    case 'UnaryExpr':
      return compileUnary(node, src)
    case 'BinaryExpr':
      return compileBinary(node, src)
    case 'AggregateExpr':
      return compileAggregate(node, src)
    default:
      throw unsupported(describe(node, src))
  }
}

function compileUnary(node: SyntaxNode, src: string): Value {
  const operand = compile(child(node, 1), src)
  if (text(child(node, 0), src) === '+') return operand
  if (operand.kind === 'scalar') return { kind: 'scalar', value: -operand.value }
  const inner = operand.eval
  return {
    kind: 'vector',
    eval: (store, at) => inner(store, at).map(s => ({ labels: dropName(s.labels), value: -s.value })),
  }
}

function compileBinary(node: SyntaxNode, src: string): Value {
  const opNode = child(node, 1)
  const op = opNode.name
  const returnBool = node.getChild('BoolModifier') !== null
  const matching = compileMatching(node, src)
  const lhs = compile(child(node, 0), src)
  const rhs = compile(node.lastChild ?? opNode, src)
  if (op === 'And' || op === 'Or' || op === 'Unless') {
    if (lhs.kind !== 'vector' || rhs.kind !== 'vector')
      throw new LocalQueryError(`set operator ${text(opNode, src)} not allowed in binary scalar expression`)
    const [l, r] = [lhs.eval, rhs.eval]
    return { kind: 'vector', eval: (store, at) => setOp(op, l(store, at), r(store, at), matching) }
  }
  if (!isBinaryOp(op)) throw unsupported(`binary operator ${text(opNode, src)}`)
  if (returnBool && !isComparison(op))
    throw new LocalQueryError('bool modifier can only be used on comparison operators')
  if (matching !== undefined)
    throw unsupported(
      `vector matching (${text(node.getChild('MatchingModifierClause') ?? node, src)}) with ${text(opNode, src)}`,
    )
  if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
    if (isComparison(op) && !returnBool) throw new LocalQueryError('comparisons between scalars must use BOOL modifier')
    return { kind: 'scalar', value: binaryOp(op, lhs.value, rhs.value, returnBool).value }
  }
  if (lhs.kind === 'vector' && rhs.kind === 'scalar')
    return { kind: 'vector', eval: vectorScalar(op, lhs.eval, rhs.value, { swap: false, returnBool }) }
  if (lhs.kind === 'scalar' && rhs.kind === 'vector')
    return { kind: 'vector', eval: vectorScalar(op, rhs.eval, lhs.value, { swap: true, returnBool }) }
  throw unsupported(`binary operator ${text(opNode, src)} between two vectors`)
}

/** vectorScalar is PromQL's VectorscalarBinop; swap means the scalar is the left operand. */
function vectorScalar(
  op: BinaryOp,
  vector: Vector,
  scalar: number,
  { swap, returnBool }: { swap: boolean; returnBool: boolean },
): Vector {
  const keepName = isComparison(op) && !returnBool
  return (store, at) => {
    const out: Sample[] = []
    for (const s of vector(store, at)) {
      const [l, r] = swap ? [scalar, s.value] : [s.value, scalar]
      const res = binaryOp(op, l, r, returnBool)
      // A filter comparison keeps the vector element's value even when the scalar is on the left.
      const value = isComparison(op) && !returnBool ? s.value : res.value
      if (res.keep) out.push({ labels: keepName ? s.labels : dropName(s.labels), value })
    }
    return out
  }
}

function compileMatching(node: SyntaxNode, src: string): Matching | undefined {
  const clause = node.getChild('MatchingModifierClause')
  if (clause === null) return undefined
  if (clause.getChild('GroupLeft') !== null || clause.getChild('GroupRight') !== null) {
    throw unsupported(`vector matching (${text(clause, src)})`)
  }
  const grouping = clause.getChild('GroupingLabels')
  return { on: clause.getChild('On') !== null, labels: grouping === null ? [] : groupingLabels(grouping, src) }
}

function compileAggregate(node: SyntaxNode, src: string): Value {
  const opName = text(child(node, 0), src).toLowerCase()
  if (!['sum', 'min', 'max', 'count', 'avg'].includes(opName)) throw unsupported(`aggregation ${opName}()`)
  const body = node.getChild('FunctionCallBody')
  const args = body === null ? [] : children(body)
  if (args.length !== 1 || args[0] === undefined) throw unsupported(`${opName}() with ${args.length} arguments`)
  const operand = compile(args[0], src)
  if (operand.kind !== 'vector')
    throw new LocalQueryError(`expected type instant vector in aggregation expression, got scalar`)
  const modifier = node.getChild('AggregateModifier')
  const grouping = modifier?.getChild('GroupingLabels') ?? null
  const labels = grouping === null ? [] : groupingLabels(grouping, src)
  const without = modifier !== null && modifier.getChild('Without') !== null
  const inner = operand.eval
  return {
    kind: 'vector',
    eval: (store, at) => aggregate(opName as AggregateOp, inner(store, at), { without, labels }),
  }
}

function compileSelector(node: SyntaxNode, src: string): Vector {
  const name = selectorName(node, src)
  if (name === undefined) throw unsupported('vector selector without a metric name')
  if (!isProbeMetric(name)) throw new LocalQueryError(`unknown probe metric ${name}`)
  const list = node.getChild('LabelMatchers')
  const matchers = (list === null ? [] : children(list)).map(m => compileMatcher(m, src))
  const metric: ProbeMetric = name
  return (store, at) => store.samples(metric, at).filter(s => matchers.every(match => match(s.labels)))
}

function selectorName(node: SyntaxNode, src: string): string | undefined {
  const id = node.getChild('Identifier')
  if (id !== null) return text(id, src)
  for (const m of children(node.getChild('LabelMatchers') ?? node)) {
    if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') continue
    if (matcherParts(m, src).name === '__name__' && m.getChild('MatchOp')?.firstChild?.name === 'EqlSingle') {
      return matcherParts(m, src).value
    }
  }
  return undefined
}

function matcherParts(m: SyntaxNode, src: string): { name: string; value: string } {
  const nameNode = m.getChild('LabelName') ?? m.getChild('QuotedLabelName')?.firstChild ?? m
  const name = nameNode.name === 'StringLiteral' ? unquote(text(nameNode, src)) : text(nameNode, src)
  const valueNode = m.lastChild
  return { name, value: valueNode === null ? '' : unquote(text(valueNode, src)) }
}

function compileMatcher(m: SyntaxNode, src: string): (labels: Labels) => boolean {
  if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') throw unsupported(describe(m, src))
  const { name, value } = matcherParts(m, src)
  const op = m.getChild('MatchOp')?.firstChild?.name
  const get = (l: Labels): string => (Object.hasOwn(l, name) ? (l[name] ?? '') : '')
  if (op === 'EqlSingle') return l => get(l) === value
  if (op === 'Neq') return l => get(l) !== value
  const re = compileRegex(value)
  return op === 'EqlRegex' ? l => re.test(get(l)) : l => !re.test(get(l))
}

/** compileRegex anchors a PromQL (RE2) regular expression; "." matches newlines as in Prometheus. */
function compileRegex(source: string): RegExp {
  const caseless = source.startsWith('(?i)')
  const body = caseless ? source.slice(4) : source
  try {
    return new RegExp(`^(?:${body})$`, caseless ? 'si' : 's')
  } catch (err) {
    throw new LocalQueryError(`invalid regular expression ${JSON.stringify(source)}: ${errorText(err)}`, {
      cause: err,
    })
  }
}

function groupingLabels(node: SyntaxNode, src: string): string[] {
  return children(node).map(n => (n.name === 'QuotedLabelName' ? unquote(text(n.firstChild ?? n, src)) : text(n, src)))
}

function dropName(labels: Labels): Labels {
  if (!('__name__' in labels)) return labels
  const { __name__: _, ...rest } = labels
  return rest
}

function isBinaryOp(op: string): op is BinaryOp {
  return ['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow', 'Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte'].includes(op)
}

function unsupported(construct: string): LocalQueryError {
  return new LocalQueryError(`expression not supported by the local probe source: ${construct}`)
}

function describe(node: SyntaxNode, src: string): string {
  switch (node.name) {
    case 'FunctionCall':
      return `function ${text(node.firstChild ?? node, src)}()`
    case 'MatrixSelector':
      return 'range vector selector'
    case 'SubqueryExpr':
      return 'subquery'
    case 'OffsetExpr':
      return 'offset modifier'
    case 'StepInvariantExpr':
      return '@ modifier'
    case 'StringLiteral':
      return 'string literal'
    default:
      return `${node.name} ${JSON.stringify(text(node, src))}`
  }
}

function child(node: SyntaxNode, index: number): SyntaxNode {
  const found = children(node)[index]
  if (found === undefined) throw new LocalQueryError(`invalid expression: incomplete ${node.name}`)
  return found
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = []
  for (let c = node.firstChild; c !== null; c = c.nextSibling) out.push(c)
  return out
}

function text(node: SyntaxNode, src: string): string {
  return src.slice(node.from, node.to)
}
