/**
 * The form in which loaded rule groups cross from the loader worker to the main thread. Compiled templates are
 * closures and cannot be cloned, so rules travel as their template sources; on the main thread each template is
 * compiled when first expanded (the worker has checked them all, and most rules never fire). The rules come in
 * chunks of bounded size, each cloned in its own turn of the event loop: one message with every rule of a large
 * file would be deserialized in one go, holding the event loop for as long.
 */

import type { AlertingRuleSpec, RuleGroupSpec } from '../engine/spec.js'
import type { Template } from '../engine/types.js'
import { compileTemplate } from '../engine/template/index.js'
import type { Slices } from '../sources/sliced-json.js'
import { errorText } from '../errors.js'

/** WireGroup is a group without its rules. */
export interface WireGroup {
  readonly file: string
  readonly name: string
  readonly intervalMs: number
  readonly queryOffsetMs: number
  readonly limit: number
}

/** WireRule is one rule with its template sources flattened to [name, source, name, source, …]; group indexes every group sent. */
export interface WireRule {
  readonly group: number
  readonly name: string
  readonly expr: string
  readonly forMs: number
  readonly keepFiringForMs: number
  readonly labels: readonly string[]
  readonly annotations: readonly string[]
}

/** WireChunk carries the groups that start in it and a run of rules. */
export interface WireChunk {
  readonly groups: readonly WireGroup[]
  readonly rules: readonly WireRule[]
}

/** CHUNK_CHARS bounds the text in one chunk: cloning 128 K characters of rules takes about a millisecond. */
export const CHUNK_CHARS = 128 * 1024

/** wireChunks splits groups into chunks of about maxChars characters each (at least one chunk, at least one rule per chunk). */
export function wireChunks(groups: readonly RuleGroupSpec[], maxChars = CHUNK_CHARS): WireChunk[] {
  const chunks: WireChunk[] = []
  let current: { groups: WireGroup[]; rules: WireRule[] } = { groups: [], rules: [] }
  let chars = 0
  groups.forEach((g, index) => {
    current.groups.push({
      file: g.file,
      name: g.name,
      intervalMs: g.intervalMs,
      queryOffsetMs: g.queryOffsetMs,
      limit: g.limit,
    })
    for (const rule of g.rules) {
      const wire = toWire(index, rule)
      current.rules.push(wire)
      chars += size(wire)
      if (chars < maxChars) continue
      chunks.push(current)
      current = { groups: [], rules: [] }
      chars = 0
    }
  })
  if (chunks.length === 0 || current.groups.length > 0 || current.rules.length > 0) chunks.push(current)
  return chunks
}

function toWire(group: number, rule: AlertingRuleSpec): WireRule {
  const flat = (templates: Readonly<Record<string, Template>>) =>
    Object.entries(templates).flatMap(([k, t]) => [k, t.source])
  return {
    group,
    name: rule.name,
    expr: rule.expr,
    forMs: rule.forMs,
    keepFiringForMs: rule.keepFiringForMs,
    labels: flat(rule.labels),
    annotations: flat(rule.annotations),
  }
}

function size(rule: WireRule): number {
  let n = rule.name.length + rule.expr.length + 64
  for (const s of rule.labels) n += s.length
  for (const s of rule.annotations) n += s.length
  return n
}

/** Assembler rebuilds the groups from chunks on the main thread, a slice at a time. */
export class Assembler {
  readonly #groups: { head: WireGroup; rules: AlertingRuleSpec[] }[] = []

  /** add takes the next chunk; onRule sees each rebuilt rule (to warm caches while slicing). */
  async add(chunk: WireChunk, slices: Slices, onRule?: (rule: AlertingRuleSpec) => void): Promise<void> {
    for (const head of chunk.groups) this.#groups.push({ head, rules: [] })
    for (const wire of chunk.rules) {
      const group = this.#groups[wire.group]
      if (group === undefined) throw new Error(`loader protocol: rule ${wire.name} of unknown group ${wire.group}`)
      const rule = fromWire(wire)
      group.rules.push(rule)
      onRule?.(rule)
      await slices.tick()
    }
  }

  groups(): RuleGroupSpec[] {
    return this.#groups.map(({ head, rules }) => ({ ...head, rules }))
  }
}

/** fromWire rebuilds a rule; its templates are named as validateGroups names them, so they share its cache entries. */
function fromWire(wire: WireRule): AlertingRuleSpec {
  const name = `__alert_${wire.name}`
  const templates = (flat: readonly string[]): Record<string, Template> => {
    const out: [string, Template][] = []
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, lazyTemplate(name, flat[i + 1] as string)])
    // fromEntries, not assignment, so that a "__proto__" label stays an own property.
    return Object.fromEntries(out)
  }
  return {
    name: wire.name,
    expr: wire.expr,
    forMs: wire.forMs,
    keepFiringForMs: wire.keepFiringForMs,
    labels: templates(wire.labels),
    annotations: templates(wire.annotations),
  }
}

/** lazyTemplate compiles source on its first expansion; like every Template, it never throws. */
export function lazyTemplate(name: string, source: string): Template {
  let compiled: Template | undefined
  return {
    source,
    expand(data, evalTime) {
      try {
        compiled ??= compileTemplate(name, source)
      } catch (err) {
        // The worker compiled this very text without error; rendered as Prometheus renders template errors.
        return `<error expanding template: ${errorText(err)}>`
      }
      return compiled.expand(data, evalTime)
    },
  }
}
