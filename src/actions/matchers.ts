/**
 * Label matchers with Alertmanager's semantics, shared by silence checks and webhook filters. Pure: parsing,
 * regex translation and matching only.
 *
 * - A matcher set matches when every matcher matches; a label the alert lacks has the value "".
 * - Regexes are fully anchored, `^(?:value)$`, like Prometheus and Alertmanager.
 * - Regexes are Go RE2 syntax. JavaScript's syntax differs in places that silently change what matches
 *   (`\z`, `[[:alpha:]]`, `.` and `\r`, a literal `{`), so patterns are translated to an equivalent JavaScript
 *   RegExp; what RE2 rejects (lookaround, backreferences) or what has no JavaScript equivalent (inline flags
 *   other than a leading `(?i)`/`(?s)`) is rejected with an error naming the construct.
 */

import { z } from 'zod'
import { parsedBy } from '../config/primitives.js'
import { errorText } from '../errors.js'

/** MatchType is the operator: equal, not equal, regex match, regex non-match. */
export type MatchType = '=' | '!=' | '=~' | '!~'

/** Matcher compares one label; build it with parseMatcher or matcherFromSilence so a regex is validated and compiled once. */
export interface Matcher {
  readonly name: string
  readonly type: MatchType
  readonly value: string
}

/** SilenceMatcher is a matcher as Alertmanager's API v2 returns it; `isEqual` is absent before Alertmanager 0.22 (= true). */
export interface SilenceMatcher {
  readonly name: string
  readonly value: string
  readonly isRegex: boolean
  readonly isEqual?: boolean | undefined
}

// Compiled once per matcher object: the webhook matches every incoming alert.
const compiled = new WeakMap<Matcher, RegExp>()

// Alertmanager's classic matcher grammar (pkg/labels/parse.go), whitespace being Go's \s.
const MATCHER = /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*([\s\S]*?)[\t\n\f\r ]*$/

/**
 * parseMatcher parses one matcher the way Alertmanager does (amtool, routes, inhibit rules): `name="value"`,
 * `name!="value"`, `name=~"regex"`, `name!~"regex"`, with optional whitespace and quotes (`severity=critical`).
 * Inside the value `\"`, `\\` and `\n` are escapes and any other backslash is literal. Throws on malformed
 * input, an empty unquoted value, an unescaped quote or an invalid regex.
 */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text)
  if (m === null) {
    throw new Error(
      `invalid matcher ${JSON.stringify(text)}: expected a label name, an operator (=, !=, =~, !~) and a value, e.g. severity="critical" or deployment=~"check.*"`,
    )
  }
  const [, name, type, raw] = m as unknown as [string, string, MatchType, string]
  if (raw === '')
    throw new Error(
      `invalid matcher ${JSON.stringify(text)}: the value is missing (write ${name}${type}"" to match an empty or absent label)`,
    )
  try {
    return newMatcher(name, type, unquote(raw))
  } catch (err) {
    throw new Error(`invalid matcher ${JSON.stringify(text)}: ${errorText(err)}`, { cause: err })
  }
}

/** parseMatchers parses a list of matchers (one per string); an error names the entry. */
export function parseMatchers(list: readonly string[]): Matcher[] {
  return list.map((text, i) => {
    try {
      return parseMatcher(text)
    } catch (err) {
      throw new Error(`matcher ${i + 1} of ${list.length}: ${errorText(err)}`, { cause: err })
    }
  })
}

/** matcherFromSilence converts a matcher of an Alertmanager silence; throws when its regex cannot be used. */
export function matcherFromSilence(m: SilenceMatcher): Matcher {
  const equal = m.isEqual ?? true
  const type: MatchType = m.isRegex ? (equal ? '=~' : '!~') : equal ? '=' : '!='
  try {
    return newMatcher(m.name, type, m.value)
  } catch (err) {
    throw new Error(`silence matcher ${formatMatcher({ name: m.name, type, value: m.value })}: ${errorText(err)}`, {
      cause: err,
    })
  }
}

/** matches reports whether one matcher matches the labels (an absent label is ""). */
export function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, m.name) ? (labels[m.name] as string) : ''
  switch (m.type) {
    case '=':
      return value === m.value
    case '!=':
      return value !== m.value
    case '=~':
      return regexOf(m).test(value)
    case '!~':
      return !regexOf(m).test(value)
  }
}

/** matchesAll reports whether every matcher matches (an empty list matches everything). */
export function matchesAll(ms: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return ms.every(m => matches(m, labels))
}

/** formatMatcher renders a matcher in the syntax parseMatcher reads back: name="value" with \\, \" and \n escaped. */
export function formatMatcher(m: Matcher): string {
  const value = m.value.replace(/[\\"\n]/g, c => (c === '\n' ? '\\n' : `\\${c}`))
  return `${m.name}${m.type}"${value}"`
}

/** MatcherString is a config field holding one matcher; the parse error is reported at the field. */
export const MatcherString = z.string().transform(parsedBy(parseMatcher))

function newMatcher(name: string, type: MatchType, value: string): Matcher {
  const m: Matcher = Object.freeze({ name, type, value })
  if (type === '=~' || type === '!~') compiled.set(m, compileAnchored(value))
  return m
}

function regexOf(m: Matcher): RegExp {
  let re = compiled.get(m)
  if (re === undefined) {
    // A matcher built by hand (not through parseMatcher/matcherFromSilence): compile on first use.
    re = compileAnchored(m.value)
    compiled.set(m, re)
  }
  return re
}

// Alertmanager's unescaping: \" \\ \n are escapes, any other backslash is literal; quotes only around the value.
function unquote(raw: string): string {
  const quoted = raw.startsWith('"')
  const body = quoted ? raw.slice(1) : raw
  const unquotedError = new Error(
    `the value ${raw} contains an unescaped double quote (write \\" inside a quoted value)`,
  )
  let out = ''
  let closed = !quoted
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string
    const last = i === body.length - 1
    if (c === '\\' && !last) {
      const next = body[++i] as string
      out += next === 'n' ? '\n' : next === '"' || next === '\\' ? next : `\\${next}`
    } else if (c === '"') {
      if (!quoted || !last) throw unquotedError
      closed = true
    } else {
      out += c
    }
  }
  if (!closed) throw unquotedError
  return out
}

/** compileAnchored compiles an RE2 pattern as Alertmanager does, `^(?:pattern)$`, into a JavaScript RegExp. */
function compileAnchored(pattern: string): RegExp {
  // A leading (?i) / (?s) applies to the whole pattern, which JavaScript expresses as flags.
  const lead = /^\(\?([is]+)\)/.exec(pattern)
  const flags = new Set(lead?.[1] ?? '')
  const body = lead === null ? pattern : pattern.slice(lead[0].length)
  let source: string
  try {
    source = translate(body, flags.has('s'))
  } catch (err) {
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${errorText(err)}`, { cause: err })
  }
  try {
    return new RegExp(`^(?:${source})$`, `u${[...flags].join('')}`)
  } catch (err) {
    throw new Error(
      `invalid regular expression ${JSON.stringify(pattern)}: ${errorText(err).replace(/^Invalid regular expression: /, '')}`,
      { cause: err },
    )
  }
}

// Characters JavaScript's u-mode allows (and needs) escaped; RE2 allows any ASCII punctuation escaped.
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/')
const SPACE = '\\t\\n\\f\\r '
const POSIX: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-\\x60{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}
const MAX_REPEAT = 1000

/** translate rewrites RE2 syntax to JavaScript u-mode syntax with the same meaning, or throws naming the construct. */
function translate(src: string, dotAll: boolean): string {
  let out = ''
  let i = 0
  while (i < src.length) {
    const c = src[i] as string
    const rest = src.slice(i)
    if (c === '\\') {
      const e = escape(src, i, false)
      out += e.js
      i = e.next
    } else if (c === '[') {
      const cls = charClass(src, i)
      out += cls.js
      i = cls.next
    } else if (rest.startsWith('(?')) {
      const group = groupOpening(rest)
      out += group.js
      i += group.length
    } else if (c === '{') {
      // RE2 reads `{` as a repetition only in the forms {n}, {n,} and {n,m}; anywhere else it is literal.
      const rep = /^\{(\d+)(?:,(\d*))?\}/.exec(rest)
      if (rep !== null && [rep[1], rep[2]].every(n => n === undefined || n === '' || Number(n) <= MAX_REPEAT)) {
        out += rep[0]
        i += rep[0].length
      } else if (rep !== null) {
        throw new Error(`invalid repeat count ${rep[0]} (RE2 allows at most ${MAX_REPEAT})`)
      } else {
        out += '\\{'
        i++
      }
    } else {
      // RE2's `.` excludes only \n (JavaScript's also \r, \u2028, \u2029); a lone } or ] is literal in RE2.
      out += c === '.' && !dotAll ? '[^\\n]' : c === '}' || c === ']' ? `\\${c}` : c
      i++
    }
  }
  return out
}

function groupOpening(rest: string): { js: string; length: number } {
  if (rest.startsWith('(?:')) return { js: '(?:', length: 3 }
  const named = /^\(\?P?<(?![=!])/.exec(rest)
  if (named !== null) return { js: '(?<', length: named[0].length }
  if (/^\(\?<?[=!]/.test(rest)) throw new Error('lookahead and lookbehind are not supported (RE2 has no lookaround)')
  throw new Error('inline flags are supported only as a leading (?i) or (?s) applying to the whole pattern')
}

interface Piece {
  readonly js: string
  readonly next: number
}

/** charClass translates [...] starting at `start`: a leading ] is literal, POSIX classes expand, [ is literal. */
function charClass(src: string, start: number): Piece {
  let i = start + 1
  let js = '['
  if (src[i] === '^') {
    js += '^'
    i++
  }
  if (src[i] === ']') {
    js += '\\]'
    i++
  }
  while (i < src.length && src[i] !== ']') {
    const rest = src.slice(i)
    const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest)
    if (posix !== null) {
      const expansion = POSIX[posix[2] as string]
      if (expansion === undefined) throw new Error(`unknown POSIX class ${posix[0]}`)
      if (posix[1] === '^')
        throw new Error(`negated POSIX class ${posix[0]} is not supported; negate the whole class instead`)
      js += expansion
      i += posix[0].length
    } else if (src[i] === '\\') {
      const e = escape(src, i, true)
      js += e.js
      i = e.next
    } else {
      js += src[i] === '[' ? '\\[' : src[i]
      i++
    }
  }
  if (i >= src.length) throw new Error('missing closing ]')
  return { js: `${js}]`, next: i + 1 }
}

/** escape translates the escape sequence at `start` (a backslash), inside or outside a character class. */
function escape(src: string, start: number, inClass: boolean): Piece {
  const c = src[start + 1]
  const next = start + 2
  if (c === undefined) throw new Error('trailing backslash at end of expression')
  const code = c.charCodeAt(0)
  if (code < 0x80 && !/[0-9A-Za-z]/.test(c)) {
    // RE2: an escaped ASCII punctuation character is itself; JavaScript's u-mode accepts only some escaped.
    const literal = JS_SYNTAX.has(c) || (inClass && c === '-') ? `\\${c}` : c
    return { js: literal, next }
  }
  if (/[0-7]/.test(c)) return octal(src, start)
  if (inClass && 'bBAzQ'.includes(c)) throw new Error(`\\${c} is not allowed inside a character class`)
  switch (c) {
    case 'a':
      return { js: '\\x07', next }
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'b':
    case 'B':
      return { js: `\\${c}`, next }
    case 's':
      return { js: inClass ? SPACE : `[${SPACE}]`, next }
    case 'S':
      // Inside a class JavaScript's \S differs from RE2's only in Unicode spaces (JavaScript treats them as spaces).
      return { js: inClass ? '\\S' : `[^${SPACE}]`, next }
    case 'A':
      return { js: '^', next }
    case 'z':
      return { js: '$', next }
    case 'Q':
      return quoteLiteral(src, next)
    case 'x':
      return hexEscape(src, start)
    case 'p':
    case 'P':
      return unicodeClass(src, start)
  }
  throw new Error(`invalid escape sequence \\${c}`)
}

function octal(src: string, start: number): Piece {
  const digits = /^[0-7]{1,3}/.exec(src.slice(start + 1))?.[0] as string
  // RE2: \0 and multi-digit octal are characters; a single \1..\7 would be a backreference, which RE2 rejects.
  if (digits.length === 1 && digits !== '0')
    throw new Error(`backreference \\${digits} is not supported (RE2 has no backreferences)`)
  return { js: `\\u{${parseInt(digits, 8).toString(16)}}`, next: start + 1 + digits.length }
}

function quoteLiteral(src: string, from: number): Piece {
  const end = src.indexOf('\\E', from)
  const text = end === -1 ? src.slice(from) : src.slice(from, end)
  const js = [...text].map(ch => (JS_SYNTAX.has(ch) ? `\\${ch}` : ch)).join('')
  return { js, next: end === -1 ? src.length : end + 2 }
}

function hexEscape(src: string, start: number): Piece {
  const braced = /^\{([0-9A-Fa-f]+)\}/.exec(src.slice(start + 2))
  if (braced !== null) return { js: `\\u{${braced[1]}}`, next: start + 2 + braced[0].length }
  // \xHH is the same in both; anything malformed is left for the RegExp compiler to reject.
  return { js: '\\x', next: start + 2 }
}

function unicodeClass(src: string, start: number): Piece {
  const negate = src[start + 1] === 'P'
  const m = /^(?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(src.slice(start + 2))
  if (m === null) throw new Error(`invalid Unicode class escape \\${src[start + 1]}`)
  const name = (m[2] ?? m[3]) as string
  // RE2 names general categories (L, Lu) and scripts (Greek) alike; JavaScript needs Script= for scripts.
  const property = /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`
  const negated = negate !== (m[1] === '^')
  return { js: `\\${negated ? 'P' : 'p'}{${property}}`, next: start + 2 + m[0].length }
}
