import type { Labels, Sample } from '../engine/types.js'

/** LocalQueryError is a compile-time error of a local probe expression. */
export class LocalQueryError extends Error {
  override readonly name = 'LocalQueryError'
}

/** BinaryOp is an arithmetic or comparison operator, named as in the lezer-promql grammar. */
export type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Mod' | 'Pow' | 'Eql' | 'Neq' | 'Gtr' | 'Lss' | 'Gte' | 'Lte'

/** SetOp is a PromQL set operator. */
export type SetOp = 'And' | 'Or' | 'Unless'

/** AggregateOp is a supported aggregation operator. */
export type AggregateOp = 'sum' | 'min' | 'max' | 'count' | 'avg'

/** Matching is an on(...) / ignoring(...) clause of a set operation. */
export interface Matching {
  readonly on: boolean
  readonly labels: readonly string[]
}

/** Grouping is the by(...) / without(...) clause of an aggregation (by () when absent). */
export interface Grouping {
  readonly without: boolean
  readonly labels: readonly string[]
}

const COMPARISONS: ReadonlySet<string> = new Set(['Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte'])

/** isComparison reports whether op is a comparison operator. */
export function isComparison(op: BinaryOp): boolean {
  return COMPARISONS.has(op)
}

/** binaryOp applies op like PromQL's vectorElemBinop; with returnBool a comparison yields 1/0 and always keeps. */
export function binaryOp(op: BinaryOp, l: number, r: number, returnBool: boolean): { value: number; keep: boolean } {
  if (!isComparison(op)) return { value: arithmetic(op, l, r), keep: true }
  const holds = compare(op, l, r)
  return returnBool ? { value: holds ? 1 : 0, keep: true } : { value: l, keep: holds }
}

function arithmetic(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case 'Add':
      return l + r
    case 'Sub':
      return l - r
    case 'Mul':
      return l * r
    case 'Div':
      return l / r
    case 'Mod':
      return l % r
    default:
      return goPow(l, r)
  }
}

function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case 'Eql':
      return l === r
    case 'Neq':
      return l !== r
    case 'Gtr':
      return l > r
    case 'Lss':
      return l < r
    case 'Gte':
      return l >= r
    default:
      return l <= r
  }
}

// Go's math.Pow differs from Math.pow for a base of ±1 with an infinite or NaN exponent.
function goPow(base: number, exp: number): number {
  if (base === 1) return 1
  if (base === -1 && (exp === Infinity || exp === -Infinity)) return 1
  return Math.pow(base, exp)
}

/** setOp evaluates and/or/unless, matching on all labels except __name__ unless on/ignoring says otherwise. */
export function setOp(
  op: SetOp,
  lhs: readonly Sample[],
  rhs: readonly Sample[],
  matching: Matching | undefined,
): Sample[] {
  const rightSigs = new Set(rhs.map(s => signature(s.labels, matching)))
  switch (op) {
    case 'And':
      return lhs.filter(s => rightSigs.has(signature(s.labels, matching)))
    case 'Unless':
      return lhs.filter(s => !rightSigs.has(signature(s.labels, matching)))
    case 'Or': {
      const leftSigs = new Set(lhs.map(s => signature(s.labels, matching)))
      return [...lhs, ...rhs.filter(s => !leftSigs.has(signature(s.labels, matching)))]
    }
  }
}

function signature(labels: Labels, matching: Matching | undefined): string {
  const names = Object.keys(labels)
    .filter(n =>
      matching?.on === true ? matching.labels.includes(n) : n !== '__name__' && matching?.labels.includes(n) !== true,
    )
    .sort()
  return JSON.stringify(names.map(n => [n, labels[n]]))
}

interface Group {
  readonly labels: Labels
  count: number
  sum: number
  compensation: number
  extreme: number
}

/** aggregate evaluates sum/min/max/count/avg by/without labels as PromQL does (Kahan sums, NaN-skipping min/max). */
export function aggregate(op: AggregateOp, samples: readonly Sample[], grouping: Grouping): Sample[] {
  const groups = new Map<string, Group>()
  for (const s of samples) {
    const labels = groupLabels(s.labels, grouping)
    const key = JSON.stringify(Object.entries(labels))
    const group = groups.get(key)
    if (group === undefined) {
      groups.set(key, { labels, count: 1, sum: s.value, compensation: 0, extreme: s.value })
      continue
    }
    group.count++
    addKahan(group, s.value)
    if (op === 'min' && (group.extreme > s.value || Number.isNaN(group.extreme))) group.extreme = s.value
    if (op === 'max' && (group.extreme < s.value || Number.isNaN(group.extreme))) group.extreme = s.value
  }
  return [...groups.values()].map(g => ({ labels: g.labels, value: groupValue(op, g) }))
}

function groupValue(op: AggregateOp, g: Group): number {
  switch (op) {
    case 'sum':
      return g.sum + g.compensation
    case 'avg':
      return (g.sum + g.compensation) / g.count
    case 'count':
      return g.count
    default:
      return g.extreme
  }
}

// Kahan–Neumaier summation, as Prometheus's kahanSumInc.
function addKahan(g: Group, inc: number): void {
  const t = g.sum + inc
  if (!Number.isFinite(t)) g.compensation = 0
  else if (Math.abs(g.sum) >= Math.abs(inc)) g.compensation += g.sum - t + inc
  else g.compensation += inc - t + g.sum
  g.sum = t
}

function groupLabels(labels: Labels, grouping: Grouping): Labels {
  const out: Record<string, string> = {}
  for (const name of Object.keys(labels).sort()) {
    const listed = grouping.labels.includes(name)
    const keep = grouping.without ? !listed && name !== '__name__' : listed
    const value = labels[name]
    if (keep && value !== undefined) out[name] = value
  }
  return out
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  y: 31536000,
  w: 604800,
  d: 86400,
  h: 3600,
  m: 60,
  s: 1,
  ms: 0.001,
}

/** parseNumber parses a PromQL number literal: decimal, hex, octal, Inf, NaN, or a duration in seconds. */
export function parseNumber(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1
  const body = text.replace(/^[+-]/, '')
  if (/^inf$/i.test(body)) return sign * Infinity
  if (/^nan$/i.test(body)) return Number.NaN
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * Number.parseInt(body.slice(2), 16)
  if (/^0[0-7]+$/.test(body)) return sign * Number.parseInt(body, 8)
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(body)) return sign * Number(body)
  if (/^(\d+(ms|[ywdhms]))+$/.test(body)) {
    let seconds = 0
    for (const m of body.matchAll(/(\d+)(ms|[ywdhms])/g)) seconds += Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1)
    return sign * seconds
  }
  throw new LocalQueryError(`invalid number literal ${JSON.stringify(text)}`)
}
