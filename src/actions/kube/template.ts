import { HASH_LABEL, type RawLabelSelector, type RawTemplate } from './model.js'

/** selectorString is metav1.LabelSelectorAsSelector(sel).String(): requirements sorted by key, set values sorted; throws on an invalid selector. */
export function selectorString(sel: RawLabelSelector | undefined): string {
  if (!sel) throw new Error('the workload has no selector')
  const reqs: Array<[string, string]> = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => [k, `${k}=${v}`])
  for (const e of sel.matchExpressions ?? []) reqs.push([e.key, expressionString(e.key, e.operator, e.values ?? [])])
  reqs.sort((a, b) => compareBytes(a[0], b[0]))
  return reqs.map(r => r[1]).join(',')
}

function expressionString(key: string, operator: string, values: readonly string[]): string {
  const set = [...values].sort(compareBytes).join(',')
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0)
        throw new Error(`invalid label selector: values must be non-empty for ${operator} on "${key}"`)
      return operator === 'In' ? `${key} in (${set})` : `${key} notin (${set})`
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) throw new Error(`invalid label selector: values must be empty for ${operator} on "${key}"`)
      return operator === 'Exists' ? key : `!${key}`
    default:
      throw new Error(`invalid label selector: "${operator}" is not a valid label selector operator`)
  }
}

// Go sorts strings by bytes; for the ASCII of label keys and values UTF-16 order is the same.
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** withoutHash deep-copies a template and drops the pod-template-hash label (and an emptied labels map, as Go's omitempty does). */
export function withoutHash(template: RawTemplate): RawTemplate {
  const copy = structuredClone(template) as { metadata?: { labels?: Record<string, string> } }
  const labels = copy.metadata?.labels
  if (labels && copy.metadata) {
    delete labels[HASH_LABEL]
    if (Object.keys(labels).length === 0) delete copy.metadata.labels
  }
  return copy as RawTemplate
}

/** equalIgnoreHash approximates kubectl's equalIgnoreHash (Semantic.DeepEqual without pod-template-hash) on raw JSON. */
export function equalIgnoreHash(a: RawTemplate | undefined, b: RawTemplate | undefined): boolean {
  return semanticEqual(withoutHash(a ?? {}), withoutHash(b ?? {}))
}

/** semanticEqual compares JSON values the way apimachinery's Semantic.DeepEqual treats API objects: absent, null, {} and [] are equal, key order is ignored, resource quantities compare by value. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalize(a, '') ?? null) === JSON.stringify(normalize(b, '') ?? null)
}

const QUANTITY_MAPS = new Set(['limits', 'requests', 'overhead'])

function normalize(v: unknown, parentKey: string): unknown {
  if (Array.isArray(v)) {
    const items = v.map(x => normalize(x, '') ?? null)
    return items.length > 0 ? items : undefined
  }
  if (v !== null && typeof v === 'object') return normalizeObject(v as Record<string, unknown>, parentKey)
  if (typeof v === 'string' && (QUANTITY_MAPS.has(parentKey) || parentKey === 'sizeLimit')) return quantityKey(v)
  return v === null ? undefined : v
}

function normalizeObject(o: Record<string, unknown>, parentKey: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(o).sort()) {
    const x = normalize(o[k], QUANTITY_MAPS.has(parentKey) ? parentKey : k)
    if (x !== undefined) out[k] = x
  }
  return Object.keys(out).length > 0 ? out : undefined
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}

/** quantityKey maps a resource.Quantity string to a comparable token ("500m" and "0.5" agree); other strings pass through. */
export function quantityKey(q: string): string {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q)
  if (!m) return q
  const base = Number(m[1])
  const value = m[2] !== undefined ? base * 10 ** Number(m[2].slice(1)) : base * (SUFFIX[m[3] ?? ''] ?? 1)
  return `quantity:${value.toPrecision(15)}`
}
