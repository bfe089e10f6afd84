import type { Labels } from '../engine/types.js'

/** Operator is a label-selector requirement operator; `=`/`==` parse to `in` and `!=` to `notin`, as in Kubernetes. */
export type Operator = 'in' | 'notin' | 'exists' | '!exists'

/** Requirement is one comma-separated term of a label selector. */
export interface Requirement {
  readonly key: string
  readonly op: Operator
  readonly values: readonly string[]
}

/** Selector is a parsed label selector: every requirement must hold (an empty selector matches everything). */
export type Selector = readonly Requirement[]

/** SelectorError is a label-selector syntax error; the message names the column (1-based). */
export class SelectorError extends Error {
  override readonly name = 'SelectorError'
}

type TokenKind = 'id' | 'in' | 'notin' | ',' | '=' | '==' | '!=' | '!' | '(' | ')' | 'end'

interface Token {
  readonly kind: TokenKind
  readonly text: string
  readonly pos: number
}

// The Kubernetes lexer (apimachinery labels/selector.go): identifiers run until whitespace or a special character.
const TOKEN = String.raw`\s*(?:(==|!=|[=!(),<>])|([^\s=!(),<>]+))`
const QUALIFIED_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/

/** parseSelector parses Kubernetes label-selector syntax (`a=b,c!=d,e in (x,y),f notin (z),g,!h`); throws SelectorError. */
export function parseSelector(source: string): Selector {
  return new Parser(source).parse()
}

/** selectorMatches reports whether labels satisfy every requirement (Kubernetes semantics: `!=`/notin match a missing label). */
export function selectorMatches(selector: Selector, labels: Labels): boolean {
  return selector.every(r => requirementMatches(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined))
}

/** namespaceMatches matches a namespace against an exact name or a glob where `*` stands for any run of characters. */
export function namespaceMatches(pattern: string, namespace: string): boolean {
  const body = pattern
    .split('*')
    .map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${body}$`).test(namespace)
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  switch (r.op) {
    case 'exists':
      return value !== undefined
    case '!exists':
      return value === undefined
    case 'in':
      return value !== undefined && r.values.includes(value)
    case 'notin':
      return value === undefined || !r.values.includes(value)
  }
}

class Parser {
  private readonly tokens: Token[]
  private index = 0

  constructor(private readonly source: string) {
    this.tokens = this.lex()
  }

  parse(): Selector {
    const out: Requirement[] = []
    if (this.peek().kind === 'end') return out
    for (;;) {
      out.push(this.requirement())
      const sep = this.next()
      if (sep.kind === 'end') return out
      if (sep.kind !== ',') throw this.error(sep, `expected "," or the end of the selector, found ${describe(sep)}`)
    }
  }

  private requirement(): Requirement {
    if (this.peek().kind === '!') {
      this.next()
      return { key: this.key(), op: '!exists', values: [] }
    }
    const key = this.key()
    const op = this.peek()
    switch (op.kind) {
      case ',':
      case 'end':
        return { key, op: 'exists', values: [] }
      case '=':
      case '==':
      case '!=':
        this.next()
        return { key, op: op.kind === '!=' ? 'notin' : 'in', values: [this.singleValue()] }
      case 'in':
      case 'notin':
        this.next()
        return { key, op: op.kind, values: this.valueSet(op.kind) }
      default:
        throw this.error(
          op,
          `expected an operator (=, ==, !=, in, notin), "," or the end after key "${key}", found ${describe(op)}`,
        )
    }
  }

  private key(): string {
    const tok = this.next()
    if (tok.kind !== 'id') throw this.error(tok, `expected a label key, found ${describe(tok)}`)
    const slash = tok.text.indexOf('/')
    const [prefix, name] = slash < 0 ? [undefined, tok.text] : [tok.text.slice(0, slash), tok.text.slice(slash + 1)]
    const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix))
    if (!prefixOk || name.length > 63 || !QUALIFIED_NAME.test(name)) {
      throw this.error(
        tok,
        `invalid label key "${tok.text}" (want [prefix/]name: name up to 63 alphanumerics, "-", "_", "." starting and ending alphanumeric; prefix a DNS subdomain)`,
      )
    }
    return tok.text
  }

  private singleValue(): string {
    const tok = this.peek()
    // `a=` compares with the empty value, as Kubernetes allows.
    if (tok.kind === ',' || tok.kind === 'end') return ''
    return this.value()
  }

  private valueSet(op: 'in' | 'notin'): string[] {
    const open = this.next()
    if (open.kind !== '(') throw this.error(open, `expected "(" after "${op}", found ${describe(open)}`)
    const values = [this.value()]
    for (;;) {
      const tok = this.next()
      if (tok.kind === ')') return values
      if (tok.kind !== ',') throw this.error(tok, `expected "," or ")" in the value list, found ${describe(tok)}`)
      values.push(this.value())
    }
  }

  private value(): string {
    const tok = this.next()
    if (tok.kind !== 'id') throw this.error(tok, `expected a label value, found ${describe(tok)}`)
    if (tok.text.length > 63 || !QUALIFIED_NAME.test(tok.text)) {
      throw this.error(
        tok,
        `invalid label value "${tok.text}" (up to 63 alphanumerics, "-", "_", "." starting and ending alphanumeric)`,
      )
    }
    return tok.text
  }

  private peek(): Token {
    return this.tokens[this.index] as Token
  }

  private next(): Token {
    const tok = this.peek()
    if (tok.kind !== 'end') this.index++
    return tok
  }

  private lex(): Token[] {
    const tokens: Token[] = []
    const re = new RegExp(TOKEN, 'y')
    let m: RegExpExecArray | null
    while ((m = re.exec(this.source)) !== null) {
      const text = m[1] ?? (m[2] as string)
      const pos = re.lastIndex - text.length
      if (text === '<' || text === '>')
        throw this.error(
          { kind: 'id', text, pos },
          `operator "${text}" is not supported (use =, !=, in, notin, exists or !exists)`,
        )
      tokens.push({ kind: tokenKind(m[1], text), text, pos })
    }
    tokens.push({ kind: 'end', text: '', pos: this.source.length })
    return tokens
  }

  private error(tok: Token, message: string): SelectorError {
    return new SelectorError(
      `invalid label selector ${JSON.stringify(this.source)}: ${message} at column ${tok.pos + 1}`,
    )
  }
}

function tokenKind(special: string | undefined, text: string): TokenKind {
  if (special !== undefined) return special as TokenKind
  return text === 'in' || text === 'notin' ? text : 'id'
}

function describe(tok: Token): string {
  return tok.kind === 'end' ? 'the end' : JSON.stringify(tok.text)
}
