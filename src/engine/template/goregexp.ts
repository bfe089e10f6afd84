/**
 * Go regexp (RE2 syntax) on top of JavaScript RegExp: translation of the RE2-only
 * syntax Prometheus users write, rejection of Perl-only features RE2 refuses, and
 * Regexp.ReplaceAllString with Go's $name / ${name} expansion and empty-match rules.
 */
import { errorText } from '../../errors.js'

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}
// Escapes that JavaScript's unicode mode accepts as identity escapes ('-' only inside a class).
const JS_SYNTAX = '^$\\.*+?()[]{}|/'
const JS_MESSAGES: Readonly<Record<string, string>> = {
  'Unterminated group': 'missing closing )',
  "Unmatched ')'": 'unexpected )',
  'Nothing to repeat': 'missing argument to repetition operator',
  'Unterminated character class': 'missing closing ]',
  'Invalid property name': 'invalid character class range',
}

/** compileGoRegexp compiles an RE2 pattern; throws Error("error parsing regexp: ...") like regexp.Compile. */
export function compileGoRegexp(pattern: string): RegExp {
  const flags = /^\(\?([ims]+)\)/.exec(pattern)
  const source = translate(flags === null ? pattern : pattern.slice(flags[0].length))
  try {
    return new RegExp(source, 'gu' + (flags?.[1] ?? ''))
  } catch (e) {
    const reason = errorText(e).replace(/^.*: /, '')
    throw new Error(`error parsing regexp: ${JS_MESSAGES[reason] ?? reason}: \`${pattern}\``, { cause: e })
  }
}

function translate(p: string): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < p.length; i++) {
    const [text, skip, classAfter] = translateAt(p, i, inClass)
    out += text
    i += skip
    inClass = classAfter
  }
  return out
}

// translateAt translates the element at p[i]: [JavaScript text, extra characters consumed, inside a class after it].
function translateAt(p: string, i: number, inClass: boolean): [string, number, boolean] {
  const c = p[i] as string
  if (c === '\\') return [...translateEscape(p, i, inClass), inClass]
  if (c === '[') return [...(inClass ? classMember(p, i) : openClass(p, i)), true]
  if (inClass) return [c, 0, c !== ']']
  if (c === '(' && p[i + 1] === '?') return [...translateGroup(p, i), false]
  // Unicode-mode JavaScript rejects the stray brackets and braces that RE2 reads as literals.
  if (c === '{') {
    const repeat = /^\{\d+(,\d*)?\}/.exec(p.slice(i))
    return repeat === null ? ['\\{', 0, false] : [repeat[0], repeat[0].length - 1, false]
  }
  return [c === ']' || c === '}' ? '\\' + c : c, 0, false]
}

// A ']' first in a class is a literal in RE2 (JavaScript would read an empty class).
function openClass(p: string, i: number): [string, number] {
  const m = /^\[(\^?)(\]?)/.exec(p.slice(i)) as RegExpExecArray
  return [`[${m[1]}${m[2] === '' ? '' : '\\]'}`, m[0].length - 1]
}

function classMember(p: string, i: number): [string, number] {
  const m = /^\[:([a-z]+):\]/.exec(p.slice(i))
  return m === null ? ['\\[', 0] : [posixClass(m[1] as string, p), m[0].length - 1]
}

function posixClass(name: string, pattern: string): string {
  const cls = POSIX_CLASSES[name]
  if (cls === undefined) throw parseError(`invalid character class range: \`[:${name}:]\``, pattern)
  return cls
}

function translateEscape(p: string, i: number, inClass: boolean): [string, number] {
  const e = p[i + 1]
  if (e === undefined) throw parseError('trailing backslash at end of expression', p)
  if (/[1-9]/.test(e)) throw parseError(`invalid escape sequence: \`\\${e}\``, p)
  if (!inClass && e === 'z') return ['(?![\\s\\S])', 1]
  if (!inClass && e === 'A') return ['(?<![\\s\\S])', 1]
  if (e === 'p' || e === 'P') return unicodeClass(p, i, e)
  if (e === 'x' && p[i + 2] === '{') return ['\\u', 1]
  if (/[!-/:-@[-`{-~]/.test(e) && !JS_SYNTAX.includes(e) && !(inClass && e === '-'))
    return ['\\x' + e.charCodeAt(0).toString(16).padStart(2, '0'), 1]
  return ['\\' + e, 1]
}

// \pL is a one-letter category; \p{Greek} is a script name in RE2 but needs "Script=" in JavaScript.
function unicodeClass(p: string, i: number, e: string): [string, number] {
  const one = /^[A-Z]$/.exec(p[i + 2] ?? '')
  if (one !== null) return [`\\${e}{${one[0]}}`, 2]
  const named = /^\{([A-Za-z_]+)\}/.exec(p.slice(i + 2))
  if (named === null) return ['\\' + e, 1]
  const name = named[1] as string
  const property = /^([A-Z][a-z]?|Any)$/.test(name) ? name : `Script=${name}`
  return [`\\${e}{${property}}`, 1 + named[0].length]
}

function translateGroup(p: string, i: number): [string, number] {
  if (p.startsWith('(?P<', i)) return ['(?<', 3]
  if (p.startsWith('(?:', i) || /^\(\?<[A-Za-z_]/.test(p.slice(i))) return ['(?', 1]
  if (/^\(\?[imsU-]+[:)]/.test(p.slice(i))) throw parseError('flags inside a pattern are not supported by rollguard', p)
  throw parseError(`invalid or unsupported Perl syntax: \`${p.slice(i, i + 3)}\``, p)
}

function parseError(reason: string, pattern: string): Error {
  return new Error(`error parsing regexp: ${reason}: \`${pattern}\``)
}

/** goReplaceAll is Go's Regexp.ReplaceAllString (re must have the 'g' flag). */
export function goReplaceAll(re: RegExp, src: string, repl: string): string {
  let out = ''
  let lastEnd = 0
  let searchPos = 0
  while (searchPos <= src.length) {
    re.lastIndex = searchPos
    const m = re.exec(src)
    if (m === null) break
    const start = m.index
    const end = start + m[0].length
    out += src.slice(lastEnd, start)
    // An empty match right after the previous match is not replaced (Go semantics).
    if (end > lastEnd || start === 0) out += expand(repl, m)
    lastEnd = end
    const width = searchPos >= src.length ? 0 : (src.codePointAt(searchPos) as number) > 0xffff ? 2 : 1
    if (searchPos + width > end) searchPos += width
    else if (searchPos + 1 > end) searchPos++
    else searchPos = end
  }
  return out + src.slice(lastEnd)
}

/** goMatch is Go's regexp.MatchString (unanchored). */
export function goMatch(re: RegExp, s: string): boolean {
  re.lastIndex = 0
  return re.test(s)
}

// expand is Go's Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a literal $; bad references stay literal.
function expand(template: string, m: RegExpExecArray): string {
  let out = ''
  let rest = template
  for (let i = rest.indexOf('$'); i >= 0; i = rest.indexOf('$')) {
    out += rest.slice(0, i)
    rest = rest.slice(i + 1)
    if (rest.startsWith('$')) {
      out += '$'
      rest = rest.slice(1)
      continue
    }
    const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(rest)
    if (ref === null) {
      out += '$'
      continue
    }
    rest = rest.slice(ref[0].length)
    out += group(m, (ref[1] ?? ref[2]) as string)
  }
  return out + rest
}

function group(m: RegExpExecArray, name: string): string {
  if (/^(0|[1-9]\d{0,8})$/.test(name)) return m[Number(name)] ?? ''
  return m.groups?.[name] ?? ''
}
