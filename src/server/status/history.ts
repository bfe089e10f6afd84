/**
 * A small, bounded memory of what each alerting rule produced, for the status page's timelines (the engine
 * keeps no history). After every group iteration, each rule gets a frame: the evaluation time, whether the
 * evaluation failed, and the value of every series the query returned. Alerting rules return only the series
 * whose condition holds, so a series missing from a good frame was below its threshold (or had no data).
 *
 * Bounds: frames are kept for `windowMs`, at most one per `windowMs / maxFrames` (evaluations in the same
 * bucket are merged), at most `maxSeries` series per rule and `maxTotalSeries` in all (a series is tracked until
 * its last value leaves the window); rules not evaluated within the window are dropped (checked as evaluations
 * are recorded, at most once a bucket, so rules removed by reloads go whether or not anyone views the page).
 */

import type { GroupEvaluation } from '../../engine/group.js'
import type { RuleGroupSpec } from '../../engine/spec.js'
import type { Labels } from '../../engine/types.js'
import type { AlertSnapshot, GroupSnapshot, RuleSnapshot } from '../../engine/snapshot.js'

/** STATUS_WINDOW_MS is how far back the status page's timelines reach. */
export const STATUS_WINDOW_MS = 15 * 60_000

/** Frame is one (bucketed) evaluation of a rule: `values` maps an alert fingerprint to the series' value. */
export interface Frame {
  readonly t: number
  readonly error: boolean
  readonly values: ReadonlyMap<string, number>
}

/** RuleHistory is what is kept for one rule: frames oldest first, and the alert labels of each fingerprint seen. */
export interface RuleHistory {
  readonly frames: readonly Frame[]
  readonly labels: ReadonlyMap<string, Labels>
  /** truncated counts values left out because the rule or the whole history tracked as many series as allowed. */
  readonly truncated: number
}

/** HistoryOptions bound the memory. */
export interface HistoryOptions {
  readonly windowMs?: number
  readonly maxFrames?: number
  readonly maxSeries?: number
  readonly maxTotalSeries?: number
}

const NO_VALUES: ReadonlyMap<string, number> = new Map()

interface Kept {
  frames: Frame[]
  labels: Map<string, Labels>
  truncated: number
}

/** SeriesHistory keeps recent frames per rule (see the module comment). */
export class SeriesHistory {
  readonly windowMs: number
  readonly bucketMs: number
  readonly #maxSeries: number
  readonly #maxTotalSeries: number
  readonly #rules = new Map<string, Kept>()
  #tracked = 0
  #prunedAt = Number.NEGATIVE_INFINITY

  constructor(opts: HistoryOptions = {}) {
    this.windowMs = opts.windowMs ?? STATUS_WINDOW_MS
    this.bucketMs = Math.max(1, Math.floor(this.windowMs / (opts.maxFrames ?? 180)))
    this.#maxSeries = opts.maxSeries ?? 50
    this.#maxTotalSeries = opts.maxTotalSeries ?? 1000
  }

  /** tracked is the number of series with a value in the window, over all rules. */
  get tracked(): number {
    return this.#tracked
  }

  /** record adds one group iteration (the manager's onEvaluation): one frame per rule at the group's evaluation time. */
  record(group: GroupSnapshot, result: GroupEvaluation): void {
    const t = group.lastEvaluation
    if (t - this.#prunedAt >= this.bucketMs) this.prune(t)
    group.rules.forEach((rule, i) => {
      const kept = this.#kept(ruleKey(group.spec, rule))
      const error = (result.outcomes[i]?.error ?? '') !== ''
      const values = new Map<string, number>()
      for (const alert of error ? [] : presentAlerts(rule)) {
        const fp = alert.fingerprint
        if (!kept.labels.has(fp)) {
          if (kept.labels.size >= this.#maxSeries || this.#tracked >= this.#maxTotalSeries) {
            kept.truncated++
            continue
          }
          this.#tracked++
        }
        values.set(fp, alert.value)
        kept.labels.set(fp, alert.labels)
      }
      this.#push(kept, { t, error, values: values.size === 0 ? NO_VALUES : values })
    })
  }

  /** get returns the rule's history, or undefined when it has none. */
  get(group: GroupSnapshot, rule: RuleSnapshot): RuleHistory | undefined {
    return this.#rules.get(ruleKey(group.spec, rule))
  }

  /** prune drops rules with no frame within the window before now (removed by a reload, or a stopped group). */
  prune(now: number): void {
    this.#prunedAt = now
    for (const [key, kept] of this.#rules) {
      const last = kept.frames[kept.frames.length - 1]
      if (last === undefined || last.t <= now - this.windowMs) {
        this.#rules.delete(key)
        this.#tracked -= kept.labels.size
      }
    }
  }

  #kept(key: string): Kept {
    let kept = this.#rules.get(key)
    if (kept === undefined) {
      kept = { frames: [], labels: new Map(), truncated: 0 }
      this.#rules.set(key, kept)
    }
    return kept
  }

  #push(kept: Kept, frame: Frame): void {
    const last = kept.frames[kept.frames.length - 1]
    if (last !== undefined && Math.floor(last.t / this.bucketMs) === Math.floor(frame.t / this.bucketMs)) {
      // Same bucket: the frame starts at the bucket's first evaluation; a series present at either evaluation is
      // shown (latest value); an error only if both failed.
      kept.frames[kept.frames.length - 1] = {
        t: last.t,
        error: last.error && frame.error,
        values: new Map([...last.values, ...frame.values]),
      }
    } else {
      kept.frames.push(frame)
    }
    const cutoff = frame.t - this.windowMs
    let drop = 0
    while (drop < kept.frames.length - 1 && (kept.frames[drop] as Frame).t <= cutoff) drop++
    if (drop === 0) return
    kept.frames.splice(0, drop)
    const seen = new Set(kept.frames.flatMap(f => [...f.values.keys()]))
    for (const fp of kept.labels.keys()) {
      if (seen.has(fp)) continue
      kept.labels.delete(fp)
      this.#tracked--
    }
  }
}

/**
 * presentAlerts lists the alerts whose series the rule's last successful evaluation returned, with that value:
 * after an evaluation, a returned series' alert is unresolved with no keep_firing_for in effect (a series that
 * went missing is deleted, resolved, or kept firing with keepFiringSince set, and keeps its old value).
 */
export function presentAlerts(rule: RuleSnapshot): AlertSnapshot[] {
  return [...rule.state.active.values()].filter(a => a.resolvedAt === 0 && a.keepFiringSince === 0)
}

/** ruleKey identifies a rule across reloads while its group, name and expression stay the same. */
function ruleKey(group: RuleGroupSpec, rule: RuleSnapshot): string {
  return [group.file, group.name, rule.spec.name, rule.spec.expr].join('\u0000')
}
