import type { Labels } from '../engine/types.js'
import { errorText } from '../errors.js'
import { PROMQL_ESCAPES } from '../rules/promql.js'

/** MatchType is a PromQL label-matcher operator. */
export type MatchType = '=' | '!=' | '=~' | '!~'

/** Matcher is one parsed label matcher; matches gets "" for a missing label, as Prometheus does. */
export interface Matcher {
  readonly name: string
  readonly type: MatchType
  readonly value: string
  matches(value: string): boolean
}

/** SelectorError is a syntax error in a series selector, with a Prometheus-style "1:col: parse error:" prefix. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError'
}

const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y
const OPERATOR = /=~|!~|!=|=/y
const SPACE = /\s*/y
const HEX = /^[0-9a-fA-F]+$/
const ESCAPE_WIDTH: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 }

/**
 * parseSelector parses a PromQL series selector (`name`, `{a="b", c=~"d.*"}` or both; Prometheus 3's quoted names
 * included) the way parser.ParseMetricSelector does. Regexes are anchored; Go-only syntax beyond a leading (?i) is rejected.
 */
export function parseSelector(input: string): Matcher[] {
  return new SelectorParser(input).parse()
}

/** matchesAll reports whether labels satisfy every matcher (a missing label reads as ""). */
export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  return matchers.every(m => m.matches(labels[m.name] ?? ''))
}

/** newMatcher builds a matcher, compiling regexes as Prometheus does: anchored, "." matching newlines. */
export function newMatcher(name: string, type: MatchType, value: string): Matcher {
  if (type === '=') return { name, type, value, matches: v => v === value }
  if (type === '!=') return { name, type, value, matches: v => v !== value }
  const re = compileRegex(value)
  const negate = type === '!~'
  return { name, type, value, matches: v => re.test(v) !== negate }
}

function compileRegex(source: string): RegExp {
  const caseless = source.startsWith('(?i)')
  const body = (caseless ? source.slice(4) : source).replaceAll('(?P<', '(?<')
  return new RegExp(`^(?:${body})$`, caseless ? 'si' : 's')
}

class SelectorParser {
  private readonly src: string
  private pos = 0
  private metricName: string | undefined

  constructor(src: string) {
    this.src = src
  }

  parse(): Matcher[] {
    if (this.space() === undefined) this.fail('unexpected end of input')
    this.metricName = this.take(METRIC_NAME)
    let matchers: Matcher[] = []
    if (this.space() === '{') matchers = this.braces()
    else if (this.metricName === undefined) this.fail(`unexpected ${this.describeNext()}`)
    if (this.space() !== undefined) this.fail(`unexpected ${this.describeNext()} after selector`)
    return this.metricName === undefined ? matchers : [newMatcher('__name__', '=', this.metricName), ...matchers]
  }

  private braces(): Matcher[] {
    this.pos++
    const matchers: Matcher[] = []
    while (this.space() !== '}') {
      const matcher = this.item()
      if (matcher !== undefined) matchers.push(matcher)
      const next = this.space()
      if (next === ',') this.pos++
      else if (next !== '}')
        this.fail(
          next === undefined
            ? 'unexpected end of input inside braces'
            : `unexpected character inside braces: ${JSON.stringify(next)}`,
        )
    }
    this.pos++
    return matchers
  }

  /** item parses `name op "value"`, or a lone quoted string naming the metric (returns undefined then). */
  private item(): Matcher | undefined {
    const quoted = this.src[this.pos] === '"' || this.src[this.pos] === "'" || this.src[this.pos] === '`'
    const name = quoted ? this.string() : this.take(LABEL_NAME)
    if (name === undefined) this.fail(`unexpected ${this.describeNext()} inside braces`)
    this.space()
    const op = this.take(OPERATOR) as MatchType | undefined
    if (op === undefined) {
      if (!quoted) this.fail(`unexpected ${this.describeNext()} in label matching, expected label matching operator`)
      if (this.metricName !== undefined) this.fail('metric name must not be set twice')
      this.metricName = name
      return undefined
    }
    this.space()
    const start = this.pos
    const value = this.string()
    try {
      return newMatcher(name, op, value)
    } catch (err) {
      this.pos = start
      return this.fail(`error parsing regexp: ${errorText(err)}`)
    }
  }

  /** string reads a "double", 'single' (Go escapes) or `raw` string literal. */
  private string(): string {
    const quote = this.src[this.pos]
    if (quote !== '"' && quote !== "'" && quote !== '`') this.fail(`unexpected ${this.describeNext()}, expected string`)
    this.pos++
    let out = ''
    for (;;) {
      const c = this.src[this.pos++]
      if (c === undefined || (c === '\n' && quote !== '`')) this.fail('unterminated quoted string')
      if (c === quote) return out
      out += c === '\\' && quote !== '`' ? this.escape(quote) : c
    }
  }

  /** escape decodes one Go escape sequence (after the backslash). */
  private escape(quote: string): string {
    const c = this.src[this.pos++] ?? ''
    const simple = PROMQL_ESCAPES[c]
    if (simple !== undefined && ((c !== '"' && c !== "'") || c === quote)) return simple
    const width = ESCAPE_WIDTH[c]
    const octal = width === undefined && /[0-7]/.test(c)
    const text = octal ? this.src.slice(this.pos - 1, this.pos + 2) : this.src.slice(this.pos, this.pos + (width ?? 0))
    const code = Number.parseInt(text, octal ? 8 : 16)
    const valid = octal
      ? /^[0-7]{3}$/.test(text) && code <= 0xff
      : width !== undefined && HEX.test(text) && text.length === width
    if (!valid || code > 0x10ffff) this.fail(`unknown escape sequence ${JSON.stringify('\\' + c)}`)
    this.pos += octal ? 2 : text.length
    return String.fromCodePoint(code)
  }

  /** space skips whitespace and returns the next character, if any. */
  private space(): string | undefined {
    this.take(SPACE)
    return this.src[this.pos]
  }

  private take(re: RegExp): string | undefined {
    re.lastIndex = this.pos
    const m = re.exec(this.src)
    if (m === null) return undefined
    this.pos += m[0].length
    return m[0]
  }

  private describeNext(): string {
    const c = this.src[this.pos]
    return c === undefined ? 'end of input' : `character ${JSON.stringify(c)}`
  }

  private fail(message: string): never {
    throw new SelectorError(`1:${this.pos + 1}: parse error: ${message}`)
  }
}
