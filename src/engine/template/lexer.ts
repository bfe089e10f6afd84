/** Lexer for Go text/template with {{ }} delimiters, mirroring text/template/parse/lex.go. */

import { formatUnicode, goQuote, isPrint } from './strconv.js'

/** Keyword is a token kind that Go prints as <word> in parse errors. */
export type Keyword =
  'block' | 'break' | 'continue' | 'define' | 'dot' | 'else' | 'end' | 'if' | 'nil' | 'range' | 'template' | 'with'

/** Kind is the type of a lexed token (Go's itemType). */
export type Kind =
  | Keyword
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'eof'
  | 'error'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'bool'
  | 'number'
  | 'charConstant'
  | 'complex'
  | 'string'
  | 'rawString'
  | 'char'
  | 'pipe'
  | 'assign'
  | 'declare'
  | 'leftParen'
  | 'rightParen'

/** Token is one lexed item; pos is its offset in the source (UTF-16 units). */
export interface Token {
  readonly kind: Kind
  readonly val: string
  readonly pos: number
}

const LEFT = '{{'
const RIGHT = '}}'
const EOF = -1
const KEYWORDS: ReadonlyMap<string, Keyword> = new Map<string, Keyword>(
  (['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'nil', 'range', 'template', 'with'] as const).map(
    k => [k, k],
  ),
)
const TERMINATORS = '.,|:)('
const SINGLE: Readonly<Record<string, Kind>> = { '=': 'assign', '|': 'pipe' }

type State = (l: Lexer) => State | undefined

/** lex tokenizes a whole template; the last token is 'eof' or 'error'. */
export function lex(input: string): Token[] {
  const l = new Lexer(input)
  let state: State | undefined = lexText
  while (state !== undefined) state = state(l)
  return l.tokens
}

/** isKeyword reports whether a token kind is a Go keyword item. */
export function isKeyword(kind: Kind): kind is Keyword {
  return kind === 'dot' || KEYWORDS.has(kind)
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n'
}

function isAlphaNumeric(r: number): boolean {
  if (r < 0x80) return r === 95 || (r >= 48 && r <= 57) || (r >= 65 && r <= 90) || (r >= 97 && r <= 122)
  return /^[\p{L}\p{Nd}]$/u.test(String.fromCodePoint(r))
}

function spaceRun(s: string, from: number, step: 1 | -1, stop: number): number {
  let i = from
  while (i !== stop && isSpace(s[step === 1 ? i : i - 1])) i += step
  return Math.abs(i - from)
}

class Lexer {
  readonly tokens: Token[] = []
  pos = 0
  start = 0
  parenDepth = 0
  private width = 0

  constructor(readonly input: string) {}

  next(): number {
    if (this.pos >= this.input.length) {
      this.width = 0
      return EOF
    }
    const r = this.input.codePointAt(this.pos) as number
    this.width = r > 0xffff ? 2 : 1
    this.pos += this.width
    return r
  }

  backup(): void {
    this.pos -= this.width
  }

  accept(valid: string): boolean {
    const c = this.input[this.pos]
    if (c === undefined || !valid.includes(c)) return false
    this.pos++
    return true
  }

  acceptRun(valid: string): void {
    while (this.accept(valid));
  }

  emit(kind: Kind): void {
    this.tokens.push({ kind, val: this.input.slice(this.start, this.pos), pos: this.start })
    this.start = this.pos
  }

  errorf(message: string): undefined {
    this.tokens.push({ kind: 'error', val: message, pos: this.start })
    return undefined
  }

  // Returns [at a right delimiter, with a " -" trim marker before it].
  atRightDelim(): [boolean, boolean] {
    if (this.hasRightTrimMarker(this.pos) && this.input.startsWith(RIGHT, this.pos + 2)) return [true, true]
    return [this.input.startsWith(RIGHT, this.pos), false]
  }

  hasRightTrimMarker(i: number): boolean {
    return isSpace(this.input[i]) && this.input[i + 1] === '-'
  }

  atTerminator(): boolean {
    const c = this.input[this.pos]
    return c === undefined || isSpace(c) || TERMINATORS.includes(c) || this.input.startsWith(RIGHT, this.pos)
  }
}

function lexText(l: Lexer): State | undefined {
  const x = l.input.indexOf(LEFT, l.pos)
  if (x < 0) {
    l.pos = l.input.length
    if (l.pos > l.start) l.emit('text')
    l.emit('eof')
    return undefined
  }
  const trimmed = l.input[x + 2] === '-' && isSpace(l.input[x + 3])
  l.pos = x - (trimmed ? spaceRun(l.input, x, -1, l.start) : 0)
  if (l.pos > l.start) l.emit('text')
  l.pos = x
  l.start = x
  return lexLeftDelim
}

function lexLeftDelim(l: Lexer): State | undefined {
  l.pos += LEFT.length
  const afterMarker = l.input[l.pos] === '-' && isSpace(l.input[l.pos + 1]) ? 2 : 0
  if (l.input.startsWith('/*', l.pos + afterMarker)) {
    l.pos += afterMarker
    l.start = l.pos
    return lexComment
  }
  l.emit('leftDelim')
  l.pos += afterMarker
  l.start = l.pos
  l.parenDepth = 0
  return lexInsideAction
}

function lexComment(l: Lexer): State | undefined {
  const end = l.input.indexOf('*/', l.pos + 2)
  if (end < 0) return l.errorf('unclosed comment')
  l.pos = end + 2
  const [delim, trim] = l.atRightDelim()
  if (!delim) return l.errorf('comment ends before closing delimiter')
  l.pos += (trim ? 2 : 0) + RIGHT.length
  if (trim) l.pos += spaceRun(l.input, l.pos, 1, l.input.length)
  l.start = l.pos
  return lexText
}

function lexRightDelim(l: Lexer): State | undefined {
  const [, trim] = l.atRightDelim()
  if (trim) {
    l.pos += 2
    l.start = l.pos
  }
  l.pos += RIGHT.length
  l.emit('rightDelim')
  if (trim) {
    l.pos += spaceRun(l.input, l.pos, 1, l.input.length)
    l.start = l.pos
  }
  return lexText
}

function lexInsideAction(l: Lexer): State | undefined {
  const [delim] = l.atRightDelim()
  if (delim) return l.parenDepth === 0 ? lexRightDelim : l.errorf('unclosed left paren')
  const r = l.next()
  if (r === EOF) return l.errorf('unclosed action')
  const c = String.fromCodePoint(r)
  if (isSpace(c)) {
    l.backup()
    return lexSpace
  }
  const single = SINGLE[c]
  if (single !== undefined) return emitThen(l, single)
  switch (c) {
    case ':':
      return l.next() === 61 ? emitThen(l, 'declare') : l.errorf('expected :=')
    case '"':
      return lexQuote
    case '`':
      return lexRawQuote
    case '$':
      return lexVariable
    case "'":
      return lexChar
    case '(':
      l.parenDepth++
      return emitThen(l, 'leftParen')
    case ')':
      if (--l.parenDepth < 0) return l.errorf('unexpected right paren')
      return emitThen(l, 'rightParen')
    case '.':
      if (!/[0-9]/.test(l.input[l.pos] ?? '0')) return lexField
  }
  return lexOther(l, r)
}

function lexOther(l: Lexer, r: number): State | undefined {
  if (r === 43 || r === 45 || r === 46 || (r >= 48 && r <= 57)) {
    l.backup()
    return lexNumber
  }
  if (isAlphaNumeric(r)) {
    l.backup()
    return lexIdentifier
  }
  if (r < 0x80 && isPrint(r)) return emitThen(l, 'char')
  return l.errorf(`unrecognized character in action: ${formatUnicode(r, true)}`)
}

function emitThen(l: Lexer, kind: Kind): State {
  l.emit(kind)
  return lexInsideAction
}

function lexSpace(l: Lexer): State {
  const n = spaceRun(l.input, l.pos, 1, l.input.length)
  l.pos += n
  // The last space may belong to a " -}}" trim marker (then there were at least two spaces).
  if (l.hasRightTrimMarker(l.pos - 1) && l.input.startsWith(RIGHT, l.pos + 1)) l.pos--
  return emitThen(l, 'space')
}

function lexField(l: Lexer): State | undefined {
  return lexFieldOrVariable(l, 'field')
}

function lexVariable(l: Lexer): State | undefined {
  return lexFieldOrVariable(l, 'variable')
}

function lexFieldOrVariable(l: Lexer, kind: 'field' | 'variable'): State | undefined {
  if (l.atTerminator()) return emitThen(l, kind === 'variable' ? 'variable' : 'dot')
  return lexWord(l, () => kind)
}

function lexIdentifier(l: Lexer): State | undefined {
  return lexWord(l, word => KEYWORDS.get(word) ?? (word === 'true' || word === 'false' ? 'bool' : 'identifier'))
}

function lexWord(l: Lexer, kindOf: (word: string) => Kind): State | undefined {
  let r: number
  do r = l.next()
  while (isAlphaNumeric(r))
  l.backup()
  if (!l.atTerminator()) return l.errorf(`bad character ${formatUnicode(r, true)}`)
  return emitThen(l, kindOf(l.input.slice(l.start, l.pos)))
}

function lexNumber(l: Lexer): State | undefined {
  if (!scanNumber(l)) return l.errorf(`bad number syntax: ${goQuote(l.input.slice(l.start, l.pos))}`)
  const sign = l.input[l.pos]
  if (sign !== '+' && sign !== '-') return emitThen(l, 'number')
  if (!scanNumber(l) || l.input[l.pos - 1] !== 'i')
    return l.errorf(`bad number syntax: ${goQuote(l.input.slice(l.start, l.pos))}`)
  return emitThen(l, 'complex')
}

function scanNumber(l: Lexer): boolean {
  l.accept('+-')
  let digits = '0123456789_'
  if (l.accept('0')) {
    if (l.accept('xX')) digits = '0123456789abcdefABCDEF_'
    else if (l.accept('oO')) digits = '01234567_'
    else if (l.accept('bB')) digits = '01_'
  }
  l.acceptRun(digits)
  if (l.accept('.')) l.acceptRun(digits)
  if (digits.length === 11 && l.accept('eE')) exponent(l)
  if (digits.length === 23 && l.accept('pP')) exponent(l)
  l.accept('i')
  if (!isAlphaNumeric(l.input.codePointAt(l.pos) ?? EOF)) return true
  l.next()
  return false
}

function exponent(l: Lexer): void {
  l.accept('+-')
  l.acceptRun('0123456789_')
}

function lexQuote(l: Lexer): State | undefined {
  return lexQuoted(l, '"', 'string', 'unterminated quoted string')
}

function lexChar(l: Lexer): State | undefined {
  return lexQuoted(l, "'", 'charConstant', 'unterminated character constant')
}

function lexQuoted(l: Lexer, quote: string, kind: Kind, unterminated: string): State | undefined {
  for (;;) {
    let c = l.input[l.pos++]
    // An escaped character is skipped unless it ends the input or the line.
    if (c === '\\') c = l.input[l.pos++] ?? '\n'
    else if (c === quote) return emitThen(l, kind)
    if (c === undefined || c === '\n') return l.errorf(unterminated)
  }
}

function lexRawQuote(l: Lexer): State | undefined {
  const end = l.input.indexOf('`', l.pos)
  if (end < 0) return l.errorf('unterminated raw quoted string')
  l.pos = end + 1
  return emitThen(l, 'rawString')
}
