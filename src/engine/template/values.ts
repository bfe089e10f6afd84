/**
 * Runtime values of the template engine, modelling the Go types a Prometheus alert
 * template can see: float64 (number), string, bool, int kinds, template.HTML,
 * label maps, the alert data struct, and *time.Time / *time.Duration.
 */

import type { Labels, TemplateData } from '../types.js'
import { formatGoDuration, formatGoFloat, formatGoTime } from '../format.js'

/** IntType is the Go integer type of a GoInt. */
export type IntType = 'int' | 'int64' | 'uint8'

/** GoInt is a Go integer (template int constants, len results, string bytes). */
export class GoInt {
  readonly kind = 'int'
  constructor(
    readonly n: number,
    readonly type: IntType = 'int',
  ) {}
}

/** GoHTML is html/template.HTML, returned by safeHtml. */
export class GoHTML {
  readonly kind = 'html'
  constructor(readonly s: string) {}
}

/** GoMap is a map[string]string (labels) or map[string]interface{} (args); missing keys yield the zero value. */
export class GoMap {
  readonly kind = 'map'
  constructor(
    readonly entries: Readonly<Record<string, Value>>,
    readonly elem: 'string' | 'interface',
  ) {}

  /** get implements missingkey=zero lookups. */
  get(key: string): Value {
    if (Object.hasOwn(this.entries, key)) return this.entries[key] as Value
    return this.elem === 'string' ? '' : null
  }

  /** keys returns the keys sorted like Go's fmt and range. */
  keys(): string[] {
    return Object.keys(this.entries).sort()
  }
}

/** GoTime is a *time.Time (ptr) or time.Time in UTC with millisecond precision. */
export class GoTime {
  readonly kind = 'time'
  constructor(
    readonly ms: number,
    readonly ptr: boolean,
  ) {}
}

/** GoDuration is a *time.Duration in nanoseconds. */
export class GoDuration {
  readonly kind = 'duration'
  constructor(readonly ns: bigint) {}
}

/**
 * GoSample is Prometheus's *template.sample, one element of a query result (fields Labels and Value). Each query
 * call makes new ones, so two calls never return the same pointer; address stands in for the pointer fmt prints.
 */
export class GoSample {
  readonly kind = 'sample'
  readonly labels: GoMap
  readonly address: number

  constructor(
    labels: Labels,
    readonly value: number,
  ) {
    this.labels = labelMap(labels)
    this.address = nextAddress()
  }

  /** field returns an exported struct field, or undefined when there is none. */
  field(name: string): Value | undefined {
    if (name === 'Labels') return this.labels
    return name === 'Value' ? this.value : undefined
  }
}

/**
 * GoSlice is Prometheus's queryResult ([]*sample): a window (offset, length, capacity) on a backing array, shared
 * as Go slices share theirs (sortByLabel sorts in place, so a sorted sub-slice reorders the slice it came from).
 */
export class GoSlice {
  readonly kind = 'slice'

  constructor(
    private readonly backing: GoSample[],
    private readonly offset: number,
    readonly length: number,
    readonly cap: number,
    /** nil is a nil slice (sortByLabel of nil): it prints as [] but compares equal only to another nil. */
    readonly nil: boolean,
  ) {}

  /** of wraps a fresh array. */
  static of(samples: GoSample[]): GoSlice {
    return new GoSlice(samples, 0, samples.length, samples.length, false)
  }

  /** at returns element i (0 <= i < cap). */
  at(i: number): GoSample {
    return this.backing[this.offset + i] as GoSample
  }

  /** items returns the elements. */
  items(): GoSample[] {
    return this.backing.slice(this.offset, this.offset + this.length)
  }

  /** slice is Go's s[from:to:max], bounds already checked. */
  slice(from: number, to: number, max: number): GoSlice {
    return new GoSlice(this.backing, this.offset + from, to - from, max - from, false)
  }

  /** sortInPlace stably reorders the elements, as sort.Stable on the shared backing array. */
  sortInPlace(compare: (a: GoSample, b: GoSample) => number): void {
    const sorted = this.items().sort(compare)
    sorted.forEach((s, i) => (this.backing[this.offset + i] = s))
  }
}

// Pointers print as hexadecimal addresses; these are made up (Go's differ from run to run anyway).
let lastAddress = 0xc000010000
function nextAddress(): number {
  lastAddress += 0x30
  return lastAddress
}

/** AlertData is Prometheus's anonymous alert template struct (dot and $). */
export class AlertData {
  readonly kind = 'root'
  readonly labels: GoMap
  readonly externalLabels: GoMap

  constructor(readonly data: TemplateData) {
    this.labels = labelMap(data.labels)
    this.externalLabels = labelMap(data.externalLabels)
  }

  /** field returns an exported struct field, or undefined when there is none. */
  field(name: string): Value | undefined {
    switch (name) {
      case 'Labels':
        return this.labels
      case 'ExternalLabels':
        return this.externalLabels
      case 'ExternalURL':
        return this.data.externalURL
      case 'Value':
        return this.data.value
    }
    return undefined
  }

  /** fields returns the field values in declaration order. */
  fields(): Value[] {
    return [this.labels, this.externalLabels, this.data.externalURL, this.data.value]
  }
}

/** GoObject is a non-primitive template value. */
export type GoObject = GoInt | GoHTML | GoMap | GoTime | GoDuration | AlertData | GoSample | GoSlice

/** Value is a template value; null is Go's nil (or an invalid reflect.Value). */
export type Value = null | boolean | number | string | GoObject

/** ROOT_TYPE is the Go type name of AlertData. */
export const ROOT_TYPE =
  'struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }'

/** labelMap wraps a label set as a map[string]string. */
export function labelMap(labels: Labels): GoMap {
  return new GoMap(labels, 'string')
}

/** typeName is Go's %T of a value. */
export function typeName(v: Value): string {
  if (v === null) return '<nil>'
  switch (typeof v) {
    case 'boolean':
      return 'bool'
    case 'number':
      return 'float64'
    case 'string':
      return 'string'
    default:
      break
  }
  switch (v.kind) {
    case 'int':
      return v.type
    case 'html':
      return 'template.HTML'
    case 'map':
      return v.elem === 'string' ? 'map[string]string' : 'map[string]interface {}'
    case 'time':
      return v.ptr ? '*time.Time' : 'time.Time'
    case 'duration':
      return '*time.Duration'
    case 'root':
      return ROOT_TYPE
    case 'sample':
      return '*template.sample'
    case 'slice':
      return 'template.queryResult'
  }
}

/** stringOf returns the text of a string-kinded value (string or template.HTML), else undefined. */
export function stringOf(v: Value): string | undefined {
  if (typeof v === 'string') return v
  return v !== null && typeof v === 'object' && v.kind === 'html' ? v.s : undefined
}

/** formatValue is Go's fmt %v (as fmt.Fprint prints a template value); depth > 0 inside maps, structs and slices. */
export function formatValue(v: Value, depth = 0): string {
  if (v === null) return '<nil>'
  switch (typeof v) {
    case 'boolean':
      return String(v)
    case 'number':
      return formatGoFloat(v)
    case 'string':
      return v
    default:
      break
  }
  const inner = (x: Value): string => formatValue(x, depth + 1)
  switch (v.kind) {
    case 'int':
      return String(v.n)
    case 'html':
      return v.s
    case 'map':
      return formatMap(v, inner)
    case 'time':
      return formatGoTime(v.ms)
    case 'duration':
      return formatGoDuration(v.ns)
    case 'root':
      return `{${v.fields().map(inner).join(' ')}}`
    // fmt prints a pointer to a struct as &{...} at the top level only, deeper as its address.
    case 'sample':
      return depth === 0 ? `&{${inner(v.labels)} ${inner(v.value)}}` : formatAddress(v.address)
    case 'slice':
      return `[${v.items().map(inner).join(' ')}]`
  }
}

/** formatAddress prints a pointer like fmt's %v (0xc000123456). */
export function formatAddress(address: number): string {
  return '0x' + address.toString(16)
}

/** formatPrinted is what an action such as {{.}} prints: text/template dereferences a pointer before fmt prints it. */
export function formatPrinted(v: Value): string {
  if (v === null) return '<no value>'
  return typeof v === 'object' && v.kind === 'sample' ? formatValue(v).slice(1) : formatValue(v)
}

/** formatMap renders a map like fmt: map[k1:v1 k2:v2] with sorted keys. */
export function formatMap(m: GoMap, element: (v: Value) => string): string {
  return `map[${m
    .keys()
    .map(k => `${element(k)}:${element(m.get(k))}`)
    .join(' ')}]`
}

/** isTrue is text/template's truth: false for nil, zero numbers, empty strings and empty maps. */
export function isTrue(v: Value): boolean {
  if (v === null) return false
  switch (typeof v) {
    case 'boolean':
      return v
    case 'number':
      return v !== 0
    case 'string':
      return v.length > 0
    default:
      break
  }
  switch (v.kind) {
    case 'int':
      return v.n !== 0
    case 'html':
      return v.s.length > 0
    case 'map':
      return Object.keys(v.entries).length > 0
    case 'slice':
      return v.length > 0
    default:
      return true
  }
}

/** arg returns argument i, which the executor guarantees to exist. */
export function arg(args: readonly Value[], i: number): Value {
  return args[i] as Value
}

/** str returns string argument i, which the executor has type-checked. */
export function str(args: readonly Value[], i: number): string {
  return args[i] as string
}
