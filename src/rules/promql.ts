import type { SyntaxNode, Tree } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import { parseDuration } from './duration.js'
import { checkTypes, PromQLError } from './promql-types.js'

/** PromQLCheck is the outcome of checkPromQL; offset is 0-based into the expression. */
export type PromQLCheck = { ok: true } | { ok: false; message: string; offset: number }

const PREFIX = 'could not parse expression: '

// Words that may legitimately precede "(" after an identifier-like token.
const PAREN_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool'])

/** checkPromQL parses expr with the lezer PromQL grammar plus the type checks Prometheus's parser does. */
export function checkPromQL(expr: string): PromQLCheck {
  const tree = parser.parse(expr)
  const syntax = firstError(tree)
  if (syntax !== undefined) return syntaxFailure(tree, expr, syntax)
  try {
    checkStrings(tree, expr)
    checkTypes(tree.topNode, expr)
  } catch (err) {
    if (err instanceof PromQLError) return fail(err.message, err.offset)
    throw err
  }
  return { ok: true }
}

/** metricNames lists the metric names an expression selects (selector names and __name__="x" matchers), sorted and unique. */
export function metricNames(expr: string): string[] {
  const names = new Set<string>()
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return
      for (const name of selectorNames(ref.node, expr)) names.add(name)
      return false
    },
  })
  return [...names].sort()
}

/** longestRange is the longest range or subquery window of an expression, in ms (0 when it has none); offsets do not count. */
export function longestRange(expr: string): number {
  let longest = 0
  // String literals may contain brackets (regular expressions); only brackets outside them are windows.
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
  for (const m of code.matchAll(/\[\s*([0-9a-z.]+)\s*(?::[^\]]*)?\]/g)) {
    try {
      longest = Math.max(longest, parseDuration(m[1] as string))
    } catch {
      // Not a duration (e.g. a number of seconds in newer PromQL): no window this code understands.
    }
  }
  return longest
}

function fail(message: string, offset: number): PromQLCheck {
  return { ok: false, message: `${PREFIX}${message} at char ${offset + 1}`, offset }
}

function firstError(tree: Tree): SyntaxNode | undefined {
  let found: SyntaxNode | undefined
  tree.iterate({
    enter(ref) {
      if (found !== undefined) return false
      if (ref.type.isError) found = ref.node
      return undefined
    },
  })
  return found
}

function syntaxFailure(tree: Tree, expr: string, err: SyntaxNode): PromQLCheck {
  if (expr.trim() === '') return fail('no expression found in input', 0)
  const before = tree.resolveInner(err.from, -1)
  const token = nextToken(expr, err.from)
  if (token === '(' && before.name === 'Identifier' && before.parent?.name === 'VectorSelector') {
    const name = expr.slice(before.from, before.to)
    if (!PAREN_KEYWORDS.has(name)) return fail(`unknown function with name ${JSON.stringify(name)}`, before.from)
  }
  // At the end, point just past the last token rather than at trailing whitespace or newlines.
  if (token === undefined) return fail('unexpected end of input', expr.trimEnd().length)
  return fail(`unexpected ${JSON.stringify(token)}`, err.from)
}

/** nextToken returns the PromQL token starting at (or after whitespace from) offset. */
function nextToken(expr: string, offset: number): string | undefined {
  const rest = expr.slice(offset).trimStart()
  if (rest === '') return undefined
  const m = /^(?:[A-Za-z_:][\w:]*|[0-9.][\w.]*|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|==|!=|>=|<=|=~|!~|\S)/.exec(rest)
  return m?.[0]
}

/** checkStrings rejects unterminated string literals, which the lezer grammar tolerates. */
function checkStrings(tree: Tree, expr: string): void {
  tree.iterate({
    enter(ref) {
      if (ref.name !== 'StringLiteral') return
      if (!isTerminated(expr.slice(ref.from, ref.to))) throw new PromQLError('unterminated quoted string', ref.from)
    },
  })
}

function isTerminated(literal: string): boolean {
  const quote = literal[0]
  if (literal.length < 2 || !literal.endsWith(quote ?? '')) return false
  if (quote === '`') return true
  // The closing quote must not itself be escaped: an odd run of backslashes escapes it.
  const backslashes = /\\*$/.exec(literal.slice(1, -1))?.[0].length ?? 0
  return backslashes % 2 === 0
}

function selectorNames(selector: SyntaxNode, expr: string): string[] {
  const out: string[] = []
  const ident = selector.getChild('Identifier')
  if (ident !== null) out.push(expr.slice(ident.from, ident.to))
  const matchers = selector.getChild('LabelMatchers')
  for (let m = matchers?.firstChild ?? null; m !== null; m = m.nextSibling) {
    const name = matcherMetricName(m, expr)
    if (name !== undefined) out.push(name)
  }
  return out
}

function matcherMetricName(m: SyntaxNode, expr: string): string | undefined {
  if (m.name === 'QuotedLabelName') return unquote(expr.slice(m.from, m.to))
  if (m.name !== 'UnquotedLabelMatcher' && m.name !== 'QuotedLabelMatcher') return undefined
  const nameNode = m.firstChild
  const op = m.getChild('MatchOp')?.firstChild
  const value = m.lastChild
  if (nameNode === null || value === null || op?.name !== 'EqlSingle') return undefined
  const text = expr.slice(nameNode.from, nameNode.to)
  const label = nameNode.name === 'LabelName' ? text : unquote(text)
  return label === '__name__' ? unquote(expr.slice(value.from, value.to)) : undefined
}

/** unquote decodes a PromQL string literal ("..." and '...' with Go escapes, `...` raw). */
export function unquote(literal: string): string {
  const quote = literal[0]
  const body = literal.slice(1, -1)
  if (quote === '`') return body
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, esc: string) =>
    unescape(esc),
  )
}

/** PROMQL_ESCAPES are the one-letter escapes of PromQL strings (Go's), decoded. */
export const PROMQL_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
}

function unescape(esc: string): string {
  const simple = PROMQL_ESCAPES[esc]
  if (simple !== undefined) return simple
  if (/^[0-7]{3}$/.test(esc)) return String.fromCodePoint(parseInt(esc, 8))
  if (/^[xuU]/.test(esc) && esc.length > 1) return String.fromCodePoint(parseInt(esc.slice(1), 16))
  return esc
}
