/** Go strconv/unicode/utf8 behaviour needed by the template engine: quoting, literals, float parsing. */

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
}
const UNESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
}
const HEX_DIGITS: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 }
const DECIMAL_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const GO_INT = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]+)|(0|[1-9][0-9]*))$/
const INT_PREFIXES = ['0x', '0o', '0b', '0o', '']

/** isPrint is Go's unicode.IsPrint for one code point. */
export function isPrint(r: number): boolean {
  return r >= 0 && r <= 0x10ffff && PRINTABLE.test(String.fromCodePoint(r))
}

/** utf8Encode returns the UTF-8 bytes of s. */
export function utf8Encode(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

/** utf8Decode decodes UTF-8 bytes, replacing invalid sequences with U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes)
}

/** utf8Length is Go's len(s) for a string: its length in UTF-8 bytes. */
export function utf8Length(s: string): number {
  let n = 0
  for (const ch of s) {
    const c = ch.codePointAt(0) as number
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
  }
  return n
}

/**
 * compareGoStrings orders strings as Go's < does, by UTF-8 bytes, which is code point order. JavaScript's < compares
 * UTF-16 units and puts characters beyond U+FFFF before U+E000-U+FFFF.
 */
export function compareGoStrings(a: string, b: string): number {
  if (!/[\uD800-\uDFFF]/.test(a + b)) return a < b ? -1 : a > b ? 1 : 0
  const x = [...a]
  const y = [...b]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as string).codePointAt(0) as number
    const e = (y[i] as string).codePointAt(0) as number
    if (d !== e) return d - e
  }
  return x.length - y.length
}

function hex(r: number, width: number): string {
  return r.toString(16).padStart(width, '0')
}

/** escapeRune appends Go's strconv escaping of one code point inside the given quote. */
function escapeRune(r: number, quote: string): string {
  const ch = String.fromCodePoint(r)
  if (ch === quote || ch === '\\') return '\\' + ch
  if (isPrint(r)) return ch
  const simple = SIMPLE_ESCAPES[ch]
  if (simple !== undefined) return simple
  if (r < 0x20 || r === 0x7f) return '\\x' + hex(r, 2)
  if (r >= 0xd800 && r <= 0xdfff) return '\\ufffd'
  return r < 0x10000 ? '\\u' + hex(r, 4) : '\\U' + hex(r, 8)
}

/** goQuote is Go's strconv.Quote. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) out += escapeRune(ch.codePointAt(0) as number, '"')
  return out + '"'
}

/** goQuoteRune is Go's strconv.QuoteRune. */
export function goQuoteRune(r: number): string {
  const valid = r >= 0 && r <= 0x10ffff && !(r >= 0xd800 && r <= 0xdfff)
  return `'${escapeRune(valid ? r : 0xfffd, "'")}'`
}

/** canBackquote is Go's strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  // Go's rule names control characters; the regex says exactly that.
  // eslint-disable-next-line no-control-regex
  return !/[`\x00-\x08\x0a-\x1f\x7f\ufeff\ud800-\udfff]/.test(s)
}

/** unquoteChar is Go's strconv.UnquoteChar: [value, isByte, rest] of s; throws SyntaxError("invalid syntax"). */
export function unquoteChar(s: string, quote: string): [number, boolean, string] {
  // Callers never pass an empty string, nor one ending in a lone backslash (the lexer rejects those).
  const c = s[0] as string
  if (c === quote) throw new SyntaxError('invalid syntax')
  if (c !== '\\') {
    const r = s.codePointAt(0) as number
    return [r, false, s.slice(r > 0xffff ? 2 : 1)]
  }
  const e = s[1] as string
  const rest = s.slice(2)
  const simple = UNESCAPES[e]
  if (simple !== undefined) return [simple, false, rest]
  if (e === "'" || e === '"') {
    if (e !== quote) throw new SyntaxError('invalid syntax')
    return [e.charCodeAt(0), false, rest]
  }
  const n = HEX_DIGITS[e]
  if (n !== undefined) return unquoteHex(rest, n, e === 'x')
  if (e >= '0' && e <= '7') return unquoteOctal(e + rest.slice(0, 2), rest.slice(2))
  throw new SyntaxError('invalid syntax')
}

function unquoteHex(s: string, n: number, isByte: boolean): [number, boolean, string] {
  const digits = s.slice(0, n)
  if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) throw new SyntaxError('invalid syntax')
  const v = parseInt(digits, 16)
  if (!isByte && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))) throw new SyntaxError('invalid syntax')
  return [v, isByte, s.slice(n)]
}

function unquoteOctal(digits: string, rest: string): [number, boolean, string] {
  if (!/^[0-7]{3}$/.test(digits)) throw new SyntaxError('invalid syntax')
  const v = parseInt(digits, 8)
  if (v > 255) throw new SyntaxError('invalid syntax')
  return [v, true, rest]
}

/** unquote is Go's strconv.Unquote for a "..." or `...` literal token; throws SyntaxError("invalid syntax"). */
export function unquote(token: string): string {
  if (token.startsWith('`')) return token.slice(1, -1).replace(/\r/g, '')
  let s = token.slice(1, -1)
  if (!s.includes('\\')) return s
  const bytes: number[] = []
  while (s !== '') {
    const [r, isByte, rest] = unquoteChar(s, '"')
    if (isByte) bytes.push(r)
    else bytes.push(...utf8Encode(String.fromCodePoint(r)))
    s = rest
  }
  return utf8Decode(Uint8Array.from(bytes))
}

/** NumberLiteral is a parsed template number constant, like Go's parse.NumberNode. */
export interface NumberLiteral {
  readonly isInt: boolean
  readonly isUint: boolean
  readonly isFloat: boolean
  readonly value: number
}

/** parseNumberLiteral mirrors Go's parse.newNumber; throws Error with Go's message. */
export function parseNumberLiteral(text: string, kind: 'number' | 'charConstant' | 'complex'): NumberLiteral {
  if (kind === 'charConstant') {
    const [r, , tail] = unquoteChar(text.slice(1), "'")
    if (tail !== "'") throw new Error(`malformed character constant: ${text}`)
    return { isInt: true, isUint: true, isFloat: true, value: r }
  }
  if (kind === 'complex' || text.endsWith('i'))
    throw new Error(`complex numbers are not supported by rollguard: ${text}`)
  const big = parseGoInt(text)
  if (big !== undefined && big >= -(2n ** 63n) && big < 2n ** 64n) {
    const isInt = big < 2n ** 63n
    return { isInt, isUint: big >= 0n, isFloat: true, value: Number(big) }
  }
  if (!DECIMAL_FLOAT.test(text)) throw new Error(`illegal number syntax: ${goQuote(text)}`)
  if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${goQuote(text)}`)
  const f = Number(text)
  const isInt = Number.isInteger(f) && Math.abs(f) < 2 ** 63
  return { isInt, isUint: isInt && f >= 0, isFloat: true, value: f }
}

// parseGoInt is strconv.ParseInt(text, 0, ...) syntax (without underscores), unbounded.
function parseGoInt(text: string): bigint | undefined {
  const m = GO_INT.exec(text)
  if (m === null) return undefined
  const [, sign, ...groups] = m
  const i = groups.findIndex(g => g !== undefined)
  const v = BigInt(`${INT_PREFIXES[i]}${groups[i]}`)
  return sign === '-' ? -v : v
}

/** parseGoFloat is Go's strconv.ParseFloat(s, 64) for decimal syntax; throws Error with Go's message. */
export function parseGoFloat(s: string): number {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity
  if (/^nan$/i.test(s)) return NaN
  if (!DECIMAL_FLOAT.test(s)) throw new Error(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`)
  const v = Number(s)
  if (!Number.isFinite(v)) throw new Error(`strconv.ParseFloat: parsing ${goQuote(s)}: value out of range`)
  return v
}

/** formatUnicode is Go's %#U: "U+0041 'A'" (the character only when printable). */
export function formatUnicode(r: number, withChar: boolean): string {
  const code = 'U+' + r.toString(16).toUpperCase().padStart(4, '0')
  return withChar && isPrint(r) ? `${code} '${String.fromCodePoint(r)}'` : code
}
