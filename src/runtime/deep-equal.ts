/**
 * deepEqual compares two values structurally, the way a reload decides whether a piece of configuration changed:
 * primitives by value (NaN equals NaN), arrays and typed arrays element by element, Maps and Sets by their entries,
 * plain objects by their own enumerable keys — a key whose value is undefined counts as absent, as an optional
 * config key left out does — and functions by identity.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  if (Array.isArray(a)) return sameItems(a, b as unknown[])
  if (ArrayBuffer.isView(a)) return sameBytes(a, b as ArrayBufferView)
  if (a instanceof Map) return sameMaps(a, b as Map<unknown, unknown>)
  if (a instanceof Set) return a.size === (b as Set<unknown>).size && [...a].every(v => (b as Set<unknown>).has(v))
  if (a instanceof Date) return a.getTime() === (b as Date).getTime()
  return sameRecords(a as Record<string, unknown>, b as Record<string, unknown>)
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

function sameMaps(a: Map<unknown, unknown>, b: Map<unknown, unknown>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false
  return true
}

function sameRecords(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter(k => o[k] !== undefined)
  const [ka, kb] = [keys(a), keys(b)]
  return ka.length === kb.length && ka.every(k => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
}
