import type { Labels, Sample } from './types.js'

/** sortedLabels returns a copy of labels with names in ascending order (Prometheus's canonical order). */
export function sortedLabels(labels: Labels): Labels {
  const out: Record<string, string> = {}
  for (const name of Object.keys(labels).sort()) out[name] = labels[name] as string
  return out
}

/**
 * fingerprint identifies a label set exactly: each name and value prefixed by its length, so no value can pass
 * for a name, another value, or their separator (Prometheus's 0xff byte cannot occur in UTF-8, but U+00FF can in a
 * string). A string key instead of a 64-bit hash: no collisions, and V8 hashes strings for Map lookups anyway.
 */
export function fingerprint(labels: Labels): string {
  const names = Object.keys(labels).sort()
  let key = ''
  for (const name of names) {
    const value = labels[name] as string
    key += `${name.length}:${name}${value.length}:${value}`
  }
  return key
}

/** withoutName drops __name__, as Prometheus does for alert labels. */
export function withoutName(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name in labels) if (name !== '__name__') out[name] = labels[name] as string
  return out
}

/** labelsToString renders a label set the way Prometheus prints it: {a="1", b="2"}. */
export function labelsToString(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map(name => `${name}=${JSON.stringify(labels[name])}`)
  return `{${parts.join(', ')}}`
}

/**
 * samplesByValues groups samples by the values of the named labels (valuesKey), each group in the samples' order:
 * an answer shared by many filters on those labels is indexed once instead of scanned once per filter.
 */
export function samplesByValues(samples: readonly Sample[], names: readonly string[]): Map<string, Sample[]> {
  const groups = new Map<string, Sample[]>()
  for (const s of samples) {
    const key = valuesKey(names, s.labels)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [s])
    else group.push(s)
  }
  return groups
}

/**
 * valuesKey identifies the values of the named labels (in that order) exactly: JSON, so no value can pass for two,
 * and a missing label (null) differs from every value. For indexing an answer by the labels a filter picks on.
 */
export function valuesKey(names: readonly string[], labels: Labels): string {
  return JSON.stringify(names.map(n => labels[n] ?? null))
}
