import type { SyntaxNode } from '@lezer/common'

/** PromQLError is a semantic PromQL error at a 0-based offset; messages follow Prometheus's parser. */
export class PromQLError extends Error {
  override name = 'PromQLError'
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message)
  }
}

type ValueType = 'scalar' | 'vector' | 'matrix' | 'string'

const DOCUMENTED: Readonly<Record<ValueType, string>> = {
  scalar: 'scalar',
  vector: 'instant vector',
  matrix: 'range vector',
  string: 'string',
}

const LETTER: Readonly<Record<string, ValueType>> = { s: 'scalar', v: 'vector', m: 'matrix', S: 'string' }

// Prometheus's function table (promql/parser/functions.go): argument types, then "?" = last one
// optional (Variadic 1) or "*" = last one optional and repeatable (Variadic -1).
const FUNCTIONS: Readonly<Record<string, string>> = {
  abs: 'v',
  absent: 'v',
  absent_over_time: 'm',
  acos: 'v',
  acosh: 'v',
  asin: 'v',
  asinh: 'v',
  atan: 'v',
  atanh: 'v',
  avg_over_time: 'm',
  ceil: 'v',
  changes: 'm',
  clamp: 'vss',
  clamp_max: 'vs',
  clamp_min: 'vs',
  cos: 'v',
  cosh: 'v',
  count_over_time: 'm',
  days_in_month: 'v?',
  day_of_month: 'v?',
  day_of_week: 'v?',
  day_of_year: 'v?',
  deg: 'v',
  delta: 'm',
  deriv: 'm',
  exp: 'v',
  first_over_time: 'm',
  floor: 'v',
  histogram_avg: 'v',
  histogram_count: 'v',
  histogram_fraction: 'ssv',
  histogram_quantile: 'sv',
  histogram_stddev: 'v',
  histogram_stdvar: 'v',
  histogram_sum: 'v',
  double_exponential_smoothing: 'mss',
  hour: 'v?',
  idelta: 'm',
  increase: 'm',
  info: 'vv?',
  irate: 'm',
  label_join: 'vSSS*',
  label_replace: 'vSSSS',
  last_over_time: 'm',
  ln: 'v',
  log10: 'v',
  log2: 'v',
  mad_over_time: 'm',
  max_over_time: 'm',
  min_over_time: 'm',
  minute: 'v?',
  month: 'v?',
  pi: '',
  predict_linear: 'ms',
  present_over_time: 'm',
  quantile_over_time: 'sm',
  rad: 'v',
  rate: 'm',
  resets: 'm',
  round: 'vs?',
  scalar: 'v',
  sgn: 'v',
  sin: 'v',
  sinh: 'v',
  sort: 'v',
  sort_by_label: 'vS*',
  sort_by_label_desc: 'vS*',
  sort_desc: 'v',
  sqrt: 'v',
  stddev_over_time: 'm',
  stdvar_over_time: 'm',
  sum_over_time: 'm',
  tan: 'v',
  tanh: 'v',
  time: '',
  timestamp: 'v',
  ts_of_first_over_time: 'm',
  ts_of_last_over_time: 'm',
  ts_of_max_over_time: 'm',
  ts_of_min_over_time: 'm',
  vector: 's',
  year: 'v?',
}

const SCALAR_FUNCTIONS = new Set(['pi', 'scalar', 'time'])
const PARAM_AGGREGATIONS: Readonly<Record<string, ValueType>> = {
  topk: 'scalar',
  bottomk: 'scalar',
  quantile: 'scalar',
  limitk: 'scalar',
  limit_ratio: 'scalar',
  count_values: 'string',
}
const COMPARISONS = new Set(['Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte'])
const SET_OPERATORS = new Set(['And', 'Or', 'Unless'])
const MODIFIABLE = new Set(['VectorSelector', 'MatrixSelector', 'SubqueryExpr'])

/** checkTypes walks a parsed expression and throws PromQLError where Prometheus's type checks would fail. */
export function checkTypes(top: SyntaxNode, expr: string): void {
  const root = exprChildren(top)[0]
  if (root !== undefined) typeOf(root, expr)
}

function typeOf(n: SyntaxNode, expr: string): ValueType {
  const inner = exprChildren(n)
  switch (n.name) {
    case 'NumberDurationLiteral':
      return 'scalar'
    case 'StringLiteral':
      return 'string'
    case 'VectorSelector':
      checkSelector(n, expr)
      return 'vector'
    case 'MatrixSelector':
      if (inner[0]?.name !== 'VectorSelector') throw new PromQLError('ranges only allowed for vector selectors', n.from)
      typeOf(inner[0], expr)
      return 'matrix'
    case 'SubqueryExpr':
      return subqueryType(n, inner, expr)
    case 'OffsetExpr':
    case 'StepInvariantExpr':
      return modifiedType(n, inner, expr)
    case 'UnaryExpr':
      return unaryType(n, inner, expr)
    case 'BinaryExpr':
      return binaryType(n, inner, expr)
    case 'AggregateExpr':
      return aggregateType(n, expr)
    case 'FunctionCall':
      return callType(n, expr)
    default:
      // ParenExpr and the experimental anchored/smoothed wrappers keep their operand's type.
      return inner[0] === undefined ? 'vector' : typeOf(inner[0], expr)
  }
}

function exprChildren(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = []
  for (let c = n.firstChild; c !== null; c = c.nextSibling) if (c.type.is('Expr')) out.push(c)
  return out
}

function expectType(n: SyntaxNode, want: ValueType, context: string, expr: string): void {
  const got = typeOf(n, expr)
  if (got !== want)
    throw new PromQLError(`expected type ${DOCUMENTED[want]} in ${context}, got ${DOCUMENTED[got]}`, n.from)
}

function subqueryType(n: SyntaxNode, inner: SyntaxNode[], expr: string): ValueType {
  const t = inner[0] === undefined ? 'vector' : typeOf(inner[0], expr)
  if (t !== 'vector')
    throw new PromQLError(`subquery is only allowed on instant vector, got ${DOCUMENTED[t]} instead`, n.from)
  return 'matrix'
}

function modifiedType(n: SyntaxNode, inner: SyntaxNode[], expr: string): ValueType {
  let target = inner[0]
  if (target?.name === 'StepInvariantExpr' && n.name === 'OffsetExpr') target = exprChildren(target)[0]
  if (target === undefined || !MODIFIABLE.has(target.name)) {
    const what = n.name === 'OffsetExpr' ? 'offset' : '@'
    throw new PromQLError(
      `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`,
      n.from,
    )
  }
  return typeOf(inner[0] as SyntaxNode, expr)
}

function unaryType(n: SyntaxNode, inner: SyntaxNode[], expr: string): ValueType {
  const t = inner[0] === undefined ? 'vector' : typeOf(inner[0], expr)
  if (t !== 'scalar' && t !== 'vector') {
    throw new PromQLError(
      `unary expression only allowed on expressions of type scalar or instant vector, got "${DOCUMENTED[t]}"`,
      n.from,
    )
  }
  return t
}

function binaryType(n: SyntaxNode, inner: SyntaxNode[], expr: string): ValueType {
  const [l, r] = inner
  const lt = l === undefined ? 'vector' : typeOf(l, expr)
  const rt = r === undefined ? 'vector' : typeOf(r, expr)
  if ((lt !== 'scalar' && lt !== 'vector') || (rt !== 'scalar' && rt !== 'vector')) {
    throw new PromQLError('binary expression must contain only scalar and instant vector types', n.from)
  }
  const op = operatorOf(n)
  const returnBool = n.getChild('BoolModifier') !== null
  if (returnBool && !COMPARISONS.has(op))
    throw new PromQLError('bool modifier can only be used on comparison operators', n.from)
  if (COMPARISONS.has(op) && !returnBool && lt === 'scalar' && rt === 'scalar') {
    throw new PromQLError('comparisons between scalars must use BOOL modifier', n.from)
  }
  if (SET_OPERATORS.has(op) && (lt === 'scalar' || rt === 'scalar')) {
    throw new PromQLError(`set operator "${op.toLowerCase()}" not allowed in binary scalar expression`, n.from)
  }
  return lt === 'scalar' && rt === 'scalar' ? 'scalar' : 'vector'
}

function operatorOf(n: SyntaxNode): string {
  for (let c = n.firstChild; c !== null; c = c.nextSibling) if (!c.type.is('Expr')) return c.name
  return ''
}

function aggregateType(n: SyntaxNode, expr: string): ValueType {
  const opNode = n.getChild('AggregateOp')
  const op = opNode === null ? '' : expr.slice(opNode.from, opNode.to).toLowerCase()
  const args = exprChildren(n.getChild('FunctionCallBody') ?? n)
  const param = PARAM_AGGREGATIONS[op]
  const want = param === undefined ? 1 : 2
  if (args.length === 0) throw new PromQLError('no arguments for aggregate expression provided', n.from)
  if (args.length !== want) {
    throw new PromQLError(
      `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`,
      n.from,
    )
  }
  if (param !== undefined) expectType(args[0] as SyntaxNode, param, 'aggregation parameter', expr)
  expectType(args[want - 1] as SyntaxNode, 'vector', 'aggregation expression', expr)
  return 'vector'
}

function callType(n: SyntaxNode, expr: string): ValueType {
  const ident = n.getChild('FunctionIdentifier')
  const name = ident === null ? '' : expr.slice(ident.from, ident.to)
  const args = exprChildren(n.getChild('FunctionCallBody') ?? n)
  const spec = FUNCTIONS[name]
  // Experimental functions outside the table are left to Prometheus.
  if (spec === undefined) return 'vector'
  const types = [...spec.replace(/[?*]$/, '')].map(c => LETTER[c] as ValueType)
  checkArity(name, spec, types.length, args.length, n.from)
  args.forEach((arg, i) => {
    expectType(arg, types[Math.min(i, types.length - 1)] as ValueType, `call to function "${name}"`, expr)
  })
  return SCALAR_FUNCTIONS.has(name) ? 'scalar' : 'vector'
}

function checkArity(name: string, spec: string, nargs: number, got: number, offset: number): void {
  const quoted = JSON.stringify(name)
  if (!spec.endsWith('?') && !spec.endsWith('*')) {
    if (got !== nargs) throw new PromQLError(`expected ${nargs} argument(s) in call to ${quoted}, got ${got}`, offset)
    return
  }
  if (got < nargs - 1)
    throw new PromQLError(`expected at least ${nargs - 1} argument(s) in call to ${quoted}, got ${got}`, offset)
  if (spec.endsWith('?') && got > nargs)
    throw new PromQLError(`expected at most ${nargs} argument(s) in call to ${quoted}, got ${got}`, offset)
}

function checkSelector(n: SyntaxNode, expr: string): void {
  const ident = n.getChild('Identifier')
  const matchers = matchersOf(n, expr)
  const nameMatch = matchers.find(m => m.name === '__name__')
  if (ident !== null && nameMatch !== undefined) {
    const name = expr.slice(ident.from, ident.to)
    throw new PromQLError(
      `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(nameMatch.value)}`,
      n.from,
    )
  }
  if (ident === null && matchers.every(matchesEmpty)) {
    throw new PromQLError('vector selector must contain at least one non-empty matcher', n.from)
  }
}

interface Matcher {
  name: string
  op: string
  value: string
}

function matchersOf(n: SyntaxNode, expr: string): Matcher[] {
  const out: Matcher[] = []
  const list = n.getChild('LabelMatchers')
  for (let m = list?.firstChild ?? null; m !== null; m = m.nextSibling) {
    const text = (node: SyntaxNode): string => expr.slice(node.from, node.to)
    if (m.name === 'QuotedLabelName') out.push({ name: '__name__', op: 'EqlSingle', value: unquoteSimple(text(m)) })
    const nameNode = m.firstChild
    const op = m.getChild('MatchOp')?.firstChild
    const value = m.lastChild
    if (m.name.endsWith('LabelMatcher') && nameNode !== null && op != null && value !== null) {
      const name = nameNode.name === 'LabelName' ? text(nameNode) : unquoteSimple(text(nameNode))
      out.push({ name, op: op.name, value: unquoteSimple(text(value)) })
    }
  }
  return out
}

// Regexes are RE2 and not always valid JavaScript, so only the obvious empty-matching ones are recognised.
function matchesEmpty(m: Matcher): boolean {
  switch (m.op) {
    case 'EqlSingle':
      return m.value === ''
    case 'Neq':
      return m.value !== ''
    case 'EqlRegex':
      return m.value === '' || m.value === '.*'
    default:
      return m.value === '.+' || (m.value !== '' && !/[\\.+*?()|[\]{}^$]/.test(m.value))
  }
}

// Enough to compare names and values for the checks above; escapes are rare in label matchers.
function unquoteSimple(literal: string): string {
  return literal.slice(1, -1)
}
