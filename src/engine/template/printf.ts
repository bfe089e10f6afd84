/** Go fmt.Sprintf/Sprint/Sprintln for template values (flags - + # space 0, width, precision, '*'). */

import { formatFloat, type FloatFormat } from '../format.js'
import { canBackquote, formatUnicode, goQuote, goQuoteRune, utf8Encode } from './strconv.js'
import { formatAddress, formatMap, formatValue, stringOf, typeName, type Value } from './values.js'

interface Spec {
  minus: boolean
  plus: boolean
  sharp: boolean
  space: boolean
  zero: boolean
  wid: number | undefined
  prec: number | undefined
}

const FLOAT_VERBS: Readonly<Record<string, [FloatFormat, number]>> = {
  v: ['g', -1],
  g: ['g', -1],
  G: ['G', -1],
  e: ['e', 6],
  E: ['E', 6],
  f: ['f', 6],
  F: ['f', 6],
}
const INT_BASES: Readonly<Record<string, number>> = { v: 10, d: 10, b: 2, o: 8, O: 8, x: 16, X: 16 }

/** sprint is Go's fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: readonly Value[]): string {
  let out = ''
  args.forEach((a, i) => {
    if (i > 0 && stringOf(a) === undefined && stringOf(args[i - 1] as Value) === undefined) out += ' '
    out += formatValue(a)
  })
  return out
}

/** sprintln is Go's fmt.Sprintln: operands separated by spaces, then a newline. */
export function sprintln(args: readonly Value[]): string {
  return args.map(formatValue).join(' ') + '\n'
}

/** sprintf is Go's fmt.Sprintf for template values (no %[n] argument indexes, no %#v Go syntax). */
export function sprintf(format: string, args: readonly Value[]): string {
  let out = ''
  let argNum = 0
  let i = 0
  while (i < format.length) {
    const pct = format.indexOf('%', i)
    if (pct < 0) return out + format.slice(i) + extra(args, argNum)
    out += format.slice(i, pct)
    const f: Spec = {
      minus: false,
      plus: false,
      sharp: false,
      space: false,
      zero: false,
      wid: undefined,
      prec: undefined,
    }
    i = parseFlags(format, pct + 1, f)
    ;[i, argNum, out] = parseWidthPrec(format, i, f, args, argNum, out)
    if (i >= format.length) return out + '%!(NOVERB)' + extra(args, argNum)
    const verb = String.fromCodePoint(format.codePointAt(i) as number)
    i += verb.length
    if (verb === '%') out += '%'
    else if (argNum >= args.length) out += `%!${verb}(MISSING)`
    else out += printArg(args[argNum++] as Value, verb, verb === 'v' ? { ...f, plus: false, sharp: false } : f)
  }
  return out + extra(args, argNum)
}

function extra(args: readonly Value[], argNum: number): string {
  if (argNum >= args.length) return ''
  return `%!(EXTRA ${args
    .slice(argNum)
    .map(a => (a === null ? '<nil>' : `${typeName(a)}=${formatValue(a)}`))
    .join(', ')})`
}

function parseFlags(format: string, i: number, f: Spec): number {
  for (; i < format.length; i++) {
    switch (format[i]) {
      case '#':
        f.sharp = true
        break
      case '0':
        f.zero = !f.minus
        break
      case '+':
        f.plus = true
        break
      case '-':
        f.minus = true
        f.zero = false
        break
      case ' ':
        f.space = true
        break
      default:
        return i
    }
  }
  return i
}

function parseWidthPrec(
  format: string,
  i: number,
  f: Spec,
  args: readonly Value[],
  argNum: number,
  out: string,
): [number, number, string] {
  if (format[i] === '*') {
    f.wid = intArg(args, argNum++)
    if (f.wid === undefined) out += '%!(BADWIDTH)'
    else if (f.wid < 0) Object.assign(f, { wid: -f.wid, minus: true, zero: false })
    i++
  } else [f.wid, i] = parseNum(format, i)
  if (i + 1 < format.length && format[i] === '.') {
    i++
    if (format[i] === '*') {
      f.prec = intArg(args, argNum++)
      if (f.prec === undefined || f.prec < 0) {
        f.prec = undefined
        out += '%!(BADPREC)'
      }
      i++
    } else {
      ;[f.prec, i] = parseNum(format, i)
      f.prec ??= 0
    }
  }
  return [i, argNum, out]
}

function parseNum(format: string, i: number): [number | undefined, number] {
  const m = /^\d+/.exec(format.slice(i))
  return m === null ? [undefined, i] : [Number(m[0]), i + m[0].length]
}

function intArg(args: readonly Value[], n: number): number | undefined {
  const a = args[n]
  return a !== undefined && a !== null && typeof a === 'object' && a.kind === 'int' && Math.abs(a.n) <= 1e6
    ? a.n
    : undefined
}

function printArg(arg: Value, verb: string, f: Spec, depth = 0): string {
  if (verb === 'T') return pad(typeName(arg), f)
  if (arg === null) return verb === 'v' ? pad('<nil>', f) : badVerb(verb, arg, f)
  switch (typeof arg) {
    case 'boolean':
      return verb === 't' || verb === 'v' ? pad(String(arg), f) : badVerb(verb, arg, f)
    case 'number':
      return fmtFloat(arg, verb, f)
    case 'string':
      return fmtString(arg, verb, f)
    default:
      break
  }
  switch (arg.kind) {
    case 'int':
      return fmtInteger(arg.n, verb, f) ?? badVerb(verb, arg, f)
    case 'html':
      return fmtString(arg.s, verb, f)
    case 'map':
      return formatMap(arg, v => printArg(v, verb, f, depth + 1))
    case 'root':
      return `{${arg
        .fields()
        .map(v => printArg(v, verb, f, depth + 1))
        .join(' ')}}`
    case 'slice':
      return `[${arg
        .items()
        .map(v => printArg(v, verb, f, depth + 1))
        .join(' ')}]`
    // A pointer to a struct prints as &{...} at the top level, as its address deeper down or with %p.
    case 'sample':
      if (verb === 'p' || (verb === 'v' && depth > 0)) return pad(formatAddress(arg.address), f)
      if (depth === 0) return `&{${printArg(arg.labels, verb, f, 1)} ${printArg(arg.value, verb, f, 1)}}`
      return 'bodxX'.includes(verb) ? (fmtInteger(arg.address, verb, f) as string) : badVerb(verb, arg, f)
    default:
      return 'vsxXq'.includes(verb) ? fmtString(formatValue(arg), verb, f) : badVerb(verb, arg, f)
  }
}

function badVerb(verb: string, arg: Value, f: Spec): string {
  return arg === null ? `%!${verb}(<nil>)` : `%!${verb}(${typeName(arg)}=${printArg(arg, 'v', f)})`
}

function pad(s: string, f: Spec): string {
  const width = (f.wid ?? 0) - [...s].length
  if (width <= 0) return s
  const fill = (f.zero ? '0' : ' ').repeat(width)
  return f.minus ? s + fill : fill + s
}

function fmtFloat(v: number, verb: string, f: Spec): string {
  const spec = FLOAT_VERBS[verb]
  if (spec === undefined) return badVerb(verb, v, f)
  let num = formatFloat(v, spec[0], f.prec ?? spec[1])
  if (num[0] !== '-' && num[0] !== '+') num = '+' + num
  if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1)
  if (num[1] === 'I' || num[1] === 'N') {
    if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1)
    return pad(num, { ...f, zero: false })
  }
  if (!f.plus && num[0] === '+') return pad(num.slice(1), f)
  // Zero padding goes between the sign and the digits.
  if (f.zero && f.wid !== undefined && f.wid > num.length) return num[0] + '0'.repeat(f.wid - num.length) + num.slice(1)
  return pad(num, f)
}

function fmtInteger(n: number, verb: string, f: Spec): string | undefined {
  if (verb === 'c') return pad(String.fromCodePoint(validRune(n)), f)
  if (verb === 'q') return pad(goQuoteRune(n), f)
  if (verb === 'U') return pad(formatUnicode(n, f.sharp), f)
  const base = INT_BASES[verb]
  if (base === undefined) return undefined
  let digits = Math.abs(n).toString(base)
  if (verb === 'X') digits = digits.toUpperCase()
  const sign = n < 0 ? '-' : f.plus ? '+' : f.space ? ' ' : ''
  if (f.prec !== undefined) {
    if (f.prec === 0 && n === 0) return pad('', { ...f, zero: false })
    digits = digits.padStart(f.prec, '0')
  } else if (f.zero && f.wid !== undefined) digits = digits.padStart(f.wid - sign.length, '0')
  return pad(sign + basePrefix(digits, verb, f.sharp) + digits, { ...f, zero: false })
}

function basePrefix(digits: string, verb: string, sharp: boolean): string {
  if (verb === 'O') return '0o'
  if (!sharp) return ''
  if (verb === 'b') return '0b'
  if (verb === 'o') return digits.startsWith('0') ? '' : '0'
  if (verb === 'x') return '0x'
  return verb === 'X' ? '0X' : ''
}

function validRune(n: number): number {
  return n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) ? 0xfffd : n
}

function fmtString(s: string, verb: string, f: Spec): string {
  const t = f.prec === undefined ? s : [...s].slice(0, f.prec).join('')
  switch (verb) {
    case 'v':
    case 's':
      return pad(t, f)
    case 'q':
      return pad(f.sharp && canBackquote(t) ? '`' + t + '`' : goQuote(t), f)
    case 'x':
    case 'X':
      return fmtHex(s, verb, f)
    default:
      return badVerb(verb, s, f)
  }
}

function fmtHex(s: string, verb: string, f: Spec): string {
  const bytes = [...utf8Encode(s)].slice(0, f.prec)
  const prefix = f.sharp ? (verb === 'X' ? '0X' : '0x') : ''
  let hex = bytes.map(b => (f.space ? prefix : '') + b.toString(16).padStart(2, '0')).join(f.space ? ' ' : '')
  if (!f.space && hex !== '') hex = prefix + hex
  return pad(verb === 'X' ? hex.replace(/[a-f]/g, c => c.toUpperCase()) : hex, f)
}
