/** Go text/template built-in functions (text/template/funcs.go), with Go's error messages. */

import type { CallFunc, ShortCircuitFunc } from './func-types.js'
import { queryEscape } from './netutil.js'
import { sprint, sprintf, sprintln } from './printf.js'
import { isPrint, utf8Decode, utf8Encode, utf8Length } from './strconv.js'
import { GoHTML, GoInt, arg, formatValue, isTrue, str, stringOf, typeName, type GoSlice, type Value } from './values.js'

type Kind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid' | 'other'

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '"': '&#34;',
  "'": '&#39;',
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\0': '\uFFFD',
}
const JS_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '<': '\\u003C',
  '>': '\\u003E',
  '&': '\\u0026',
  '=': '\\u003D',
}

function kindOf(v: Value): Kind {
  if (v === null) return 'invalid'
  switch (typeof v) {
    case 'boolean':
      return 'bool'
    case 'number':
      return 'float'
    case 'string':
      return 'string'
    default:
      break
  }
  if (v.kind === 'int') return v.type === 'uint8' ? 'uint' : 'int'
  return v.kind === 'html' ? 'string' : 'other'
}

// Without pointer indirection Go reports the pointed-to type (e.g. time.Time for *time.Time).
function elemType(v: Value): string {
  return typeName(v).replace(/^\*/, '')
}

function scalar(v: Value): unknown {
  if (v !== null && typeof v === 'object' && (v.kind === 'int' || v.kind === 'html'))
    return v.kind === 'int' ? v.n : v.s
  return v
}

function isIntLike(k: Kind): boolean {
  return k === 'int' || k === 'uint'
}

function eq(a: Value, others: readonly Value[]): boolean {
  if (others.length === 0) throw new Error('missing argument for comparison')
  const k1 = kindOf(a)
  return others.some(b => {
    const k2 = kindOf(b)
    if (k1 !== k2) {
      if (isIntLike(k1) && isIntLike(k2)) return scalar(a) === scalar(b)
      if (a !== null && b !== null) throw new Error('incompatible types for comparison')
      return false
    }
    return k1 === 'other' ? eqOther(a, b) : scalar(a) === scalar(b)
  })
}

function eqOther(a: Value, b: Value): boolean {
  if (typeName(a) !== typeName(b)) {
    throw new Error(`non-comparable types ${formatValue(a)}: ${typeName(a)}, ${typeName(b)}: ${formatValue(b)}`)
  }
  // A nil slice equals only another nil one; other slices, and maps and structs, cannot be compared.
  if (typeof a === 'object' && a?.kind === 'slice' && typeof b === 'object' && b?.kind === 'slice' && (a.nil || b.nil))
    return a.nil === b.nil
  if (typeof a === 'object' && a !== null && (a.kind === 'map' || a.kind === 'root' || a.kind === 'slice')) {
    throw new Error(`non-comparable type ${sprintf('%s', [b])}: ${typeName(b)}`)
  }
  return a === b
}

function lt(a: Value, b: Value): boolean {
  const k1 = kindOf(a)
  const k2 = kindOf(b)
  for (const k of [k1, k2]) if (k === 'invalid' || k === 'other') throw new Error('invalid type for comparison')
  if (k1 !== k2) {
    if (isIntLike(k1) && isIntLike(k2)) return (scalar(a) as number) < (scalar(b) as number)
    throw new Error('incompatible types for comparison')
  }
  if (k1 === 'bool') throw new Error('invalid type for comparison')
  return (scalar(a) as number | string) < (scalar(b) as number | string)
}

function le(a: Value, b: Value): boolean {
  return lt(a, b) || eq(a, [b])
}

function length(v: Value): Value {
  if (v === null) throw new Error('len of nil pointer')
  const s = stringOf(v)
  if (s !== undefined) return new GoInt(utf8Length(s))
  if (typeof v === 'object' && v.kind === 'map') return new GoInt(Object.keys(v.entries).length)
  if (typeof v === 'object' && v.kind === 'slice') return new GoInt(v.length)
  throw new Error(`len of type ${elemType(v)}`)
}

function indexArg(v: Value, cap: number): number {
  if (v === null) throw new Error('cannot index slice/array with nil')
  if (typeof v !== 'object' || v.kind !== 'int') throw new Error(`cannot index slice/array with type ${typeName(v)}`)
  if (v.n < 0 || v.n > cap) throw new Error(`index out of range: ${v.n}`)
  return v.n
}

function indexOne(item: Value, key: Value): Value {
  if (item === null) throw new Error('index of nil pointer')
  if (typeof item === 'object' && item.kind === 'slice') {
    const x = indexArg(key, item.length)
    if (x === item.length) throw new Error('reflect: slice index out of range')
    return item.at(x)
  }
  const s = stringOf(item)
  if (s !== undefined) {
    const bytes = utf8Encode(s)
    const x = indexArg(key, bytes.length)
    if (x === bytes.length) throw new Error('reflect: string index out of range')
    return new GoInt(bytes[x] as number, 'uint8')
  }
  if (typeof item !== 'object' || item.kind !== 'map') throw new Error(`can't index item of type ${elemType(item)}`)
  if (key === null) throw new Error('value is nil; should be of type string')
  if (typeof key !== 'string') throw new Error(`value has type ${typeName(key)}; should be string`)
  return item.get(key)
}

function index(item: Value, keys: readonly Value[]): Value {
  if (item === null) throw new Error('index of untyped nil')
  return keys.reduce(indexOne, item)
}

function slice(item: Value, idx: readonly Value[]): Value {
  if (item === null) throw new Error('slice of untyped nil')
  if (idx.length > 3) throw new Error(`too many slice indexes: ${idx.length}`)
  if (typeof item === 'object' && item.kind === 'slice') return sliceSlice(item, idx)
  // slice does not dereference pointers, unlike len and index.
  if (typeof item === 'object' && item.kind === 'sample') throw new Error(`can't slice item of type ${typeName(item)}`)
  const s = stringOf(item)
  if (s === undefined) throw new Error(`can't slice item of type ${elemType(item)}`)
  if (idx.length === 3) throw new Error('cannot 3-index slice a string')
  const bytes = utf8Encode(s)
  const bounds = [0, bytes.length]
  idx.forEach((v, i) => (bounds[i] = indexArg(v, bytes.length)))
  const [from, to] = bounds as [number, number]
  if (from > to) throw new Error(`invalid slice index: ${from} > ${to}`)
  const out = utf8Decode(bytes.subarray(from, to))
  return typeof item === 'string' ? out : new GoHTML(out)
}

// sliceSlice is slice on a slice: indexes up to its capacity, a third index sets the capacity.
function sliceSlice(item: GoSlice, idx: readonly Value[]): GoSlice {
  const bounds = [0, item.length, item.cap]
  idx.forEach((v, i) => (bounds[i] = indexArg(v, item.cap)))
  const [from, to, max] = bounds as [number, number, number]
  if (from > to) throw new Error(`invalid slice index: ${from} > ${to}`)
  if (to > max) throw new Error(`invalid slice index: ${to} > ${max}`)
  return item.slice(from, to, max)
}

// evalArgs is text/template's evalArgs: a lone string as is, otherwise fmt.Sprint.
function evalArgs(args: readonly Value[]): string {
  const only = args.length === 1 ? args[0] : undefined
  return typeof only === 'string' ? only : sprint(args)
}

/** htmlEscape is Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/["'&<>\0]/g, c => HTML_ESCAPES[c] as string)
}

/** jsEscape is Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = ''
  for (const ch of s) {
    const r = ch.codePointAt(0) as number
    const known = JS_ESCAPES[ch]
    if (known !== undefined) out += known
    else if (r < 0x20) out += '\\u00' + r.toString(16).toUpperCase().padStart(2, '0')
    else if (r >= 0x80 && !isPrint(r)) out += '\\u' + r.toString(16).toUpperCase().padStart(4, '0')
    else out += ch
  }
  return out
}

function fixed(n: number, call: (args: readonly Value[]) => Value): CallFunc {
  return { params: Array<'value'>(n).fill('value'), call }
}

function variadic(call: (args: readonly Value[], callee: string) => Value): CallFunc {
  return { params: ['value'], variadic: 'value', call: (args, _env, callee) => call(args, callee) }
}

function printer(call: (args: readonly Value[]) => string): CallFunc {
  return { params: [], variadic: 'any', call }
}

const andOr = (shortCircuit: 'and' | 'or'): ShortCircuitFunc => ({ params: ['value'], variadic: 'value', shortCircuit })

/** BUILTINS are Go's predefined template functions. */
export const BUILTINS: Readonly<Record<string, CallFunc | ShortCircuitFunc>> = {
  and: andOr('and'),
  or: andOr('or'),
  not: fixed(1, a => !isTrue(arg(a, 0))),
  len: fixed(1, a => length(arg(a, 0))),
  index: variadic(a => index(arg(a, 0), a.slice(1))),
  slice: variadic(a => slice(arg(a, 0), a.slice(1))),
  call: variadic((a, callee) => {
    const fn = arg(a, 0)
    throw new Error(fn === null ? 'call of nil' : `non-function ${callee} of type ${typeName(fn)}`)
  }),
  eq: variadic(a => eq(arg(a, 0), a.slice(1))),
  ne: fixed(2, a => !eq(arg(a, 0), [arg(a, 1)])),
  lt: fixed(2, a => lt(arg(a, 0), arg(a, 1))),
  le: fixed(2, a => le(arg(a, 0), arg(a, 1))),
  gt: fixed(2, a => !le(arg(a, 0), arg(a, 1))),
  ge: fixed(2, a => !lt(arg(a, 0), arg(a, 1))),
  print: printer(sprint),
  println: printer(sprintln),
  printf: { params: ['string'], variadic: 'any', call: a => sprintf(str(a, 0), a.slice(1)) },
  html: printer(a => htmlEscape(evalArgs(a))),
  js: printer(a => jsEscape(evalArgs(a))),
  urlquery: printer(a => queryEscape(evalArgs(a))),
}
