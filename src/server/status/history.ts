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
import { groupKey } from '../../engine/spec.js'
import { RuleMap } from '../../engine/rule-map.js'
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
  /** The time of the oldest frame kept (undefined when there is none); cheaper than frames[0]. */
  readonly firstAt: number | undefined
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
const NO_LABELS: ReadonlyMap<string, Labels> = new Map()

/**
 * RuleFrames is one rule's frames as columns in a ring: times in a typed array, error flags and values only where
 * there are any. With 4,000 rules evaluated every 5 s a window holds 720,000 frames; as one object each they took
 * ~51 MiB of heap that lived 15 minutes, so every one of them was promoted and later collected from the old
 * generation (what made the daemon's heap grow with the rule count). Times are whole milliseconds kept as 32-bit
 * offsets from a base (as 64-bit floats they held 5.8 MiB of 4,000 rules' full windows, now 2.9); the error flags'
 * array is made at the rule's first failure: most rules never fail, and a second typed array for each held ~1.2 MiB
 * of 4,000 rules' heap (each brings a buffer object and a native store).
 */
class RuleFrames {
  /** Frame times in ms, as offsets from #base (evaluation times are whole milliseconds). */
  #times: Int32Array
  #base = 0
  /** 1 at the slot of a failed frame; made at the rule's first failure, then kept the size of #times. */
  #errors: Uint8Array | undefined
  /** The most frames a window holds (one per bucket, plus the newest's): the ring never grows past it. */
  readonly #maxFrames: number
  /**
   * The values of frames with any, by sequence number (a frame's position since the rule's first). This map and
   * the two below are made at the rule's first series: most rules never return one, and 12,000 empty maps for
   * 4,000 rules held ~2 MiB.
   */
  #values: Map<number, ReadonlyMap<string, number>> | undefined
  /** Sequence numbers of the oldest kept frame and of the next one. */
  #head = 0
  #next = 0
  #labels: Map<string, Labels> | undefined
  /** The sequence number of the newest frame holding each tracked fingerprint. */
  #lastSeen: Map<string, number> | undefined
  /** #head when the fingerprints were last checked against the kept frames. */
  #sweptAt = 0
  truncated = 0

  constructor(maxFrames: number) {
    this.#maxFrames = maxFrames
    this.#times = new Int32Array(Math.min(INITIAL_CAPACITY, maxFrames))
  }

  get size(): number {
    return this.#next - this.#head
  }

  /** labels are the alert labels of each fingerprint tracked. */
  get labels(): ReadonlyMap<string, Labels> {
    return this.#labels ?? NO_LABELS
  }

  /** track remembers the labels of a fingerprint. */
  track(fp: string, labels: Labels): void {
    ;(this.#labels ??= new Map()).set(fp, labels)
  }

  /** newestAt is the time of the newest frame (-Infinity when there is none). */
  get newestAt(): number {
    return this.size === 0 ? Number.NEGATIVE_INFINITY : this.#time(this.#next - 1)
  }

  get oldestAt(): number | undefined {
    return this.size === 0 ? undefined : this.#time(this.#head)
  }

  /** push adds a frame, or merges it into the newest one when both fall in the same bucket. */
  push(t: number, error: boolean, values: ReadonlyMap<string, number>, bucketMs: number): void {
    const newest = this.#next - 1
    if (this.size > 0 && Math.floor(this.#time(newest) / bucketMs) === Math.floor(t / bucketMs)) {
      // Same bucket: the frame starts at the bucket's first evaluation; a series present at either evaluation is
      // shown (latest value); an error only if both failed.
      if (!error && this.#errors !== undefined) this.#errors[this.#slot(newest)] = 0
      if (values.size > 0) {
        const before = this.#values?.get(newest)
        this.#keep(newest, before === undefined ? values : new Map([...before, ...values]))
      }
      return
    }
    if (this.size === 0) this.#base = t
    else if (!isOffset(t - this.#base)) this.#rebase(t)
    if (this.size === this.#times.length) {
      if (this.#times.length < this.#maxFrames) this.#grow()
      // Full only when evaluation times went backwards across buckets; the oldest frame gives way.
      else this.#dropOldest()
    }
    const seq = this.#next++
    const i = this.#slot(seq)
    this.#times[i] = t - this.#base
    if (error) (this.#errors ??= new Uint8Array(this.#times.length))[i] = 1
    else if (this.#errors !== undefined) this.#errors[i] = 0
    if (values.size > 0) this.#keep(seq, values)
  }

  #keep(seq: number, values: ReadonlyMap<string, number>): void {
    ;(this.#values ??= new Map()).set(seq, values)
    const lastSeen = (this.#lastSeen ??= new Map())
    for (const fp of values.keys()) lastSeen.set(fp, seq)
  }

  /**
   * dropBefore drops the frames at or before cutoff, never the newest, and forgets the fingerprints no kept frame
   * holds; it returns how many it forgot.
   */
  dropBefore(cutoff: number): number {
    while (this.#head < this.#next - 1 && this.#time(this.#head) <= cutoff) this.#dropOldest()
    // Also after push dropped the oldest frame of a full ring.
    if (this.#head === this.#sweptAt) return 0
    this.#sweptAt = this.#head
    let forgotten = 0
    const lastSeen = this.#lastSeen
    if (lastSeen === undefined) return 0
    for (const [fp, seq] of lastSeen) {
      if (seq >= this.#head) continue
      lastSeen.delete(fp)
      this.#labels?.delete(fp)
      forgotten++
    }
    return forgotten
  }

  /** frames are the kept frames, oldest first, as objects (for the page, when someone views it). */
  frames(): Frame[] {
    const out = new Array<Frame>(this.size)
    for (let seq = this.#head; seq < this.#next; seq++) {
      const i = this.#slot(seq)
      out[seq - this.#head] = {
        t: this.#base + (this.#times[i] as number),
        error: this.#errors?.[i] === 1,
        values: this.#values?.get(seq) ?? NO_VALUES,
      }
    }
    return out
  }

  #dropOldest(): void {
    this.#values?.delete(this.#head)
    this.#head++
  }

  #time(seq: number): number {
    return this.#base + (this.#times[this.#slot(seq)] as number)
  }

  #slot(seq: number): number {
    return seq % this.#times.length
  }

  /** #grow doubles the ring, keeping every frame at the slot its sequence number maps to in the new size. */
  #grow(): void {
    const size = Math.min(this.#times.length * 2, this.#maxFrames)
    this.#times = this.#moved(this.#times, new Int32Array(size))
    if (this.#errors !== undefined) this.#errors = this.#moved(this.#errors, new Uint8Array(size))
  }

  /** #moved copies the live frames' column from a ring into a larger one, each to its sequence number's slot there. */
  #moved<T extends Int32Array | Uint8Array>(from: T, to: T): T {
    for (let seq = this.#head; seq < this.#next; seq++) to[seq % to.length] = from[seq % from.length] as number
    return to
  }

  /**
   * #rebase moves #base to t, a time more than the offsets' range (~24.8 days) from it: a rule evaluated again after
   * so long, or a clock set far back. A frame that would fall out of range is weeks from t, far outside the window:
   * it goes, with every frame older than it.
   */
  #rebase(t: number): void {
    let keepFrom = this.#head
    for (let seq = this.#head; seq < this.#next; seq++) if (!isOffset(this.#time(seq) - t)) keepFrom = seq + 1
    while (this.#head < keepFrom) this.#dropOldest()
    for (let seq = this.#head; seq < this.#next; seq++) {
      const i = this.#slot(seq)
      this.#times[i] = this.#base + (this.#times[i] as number) - t
    }
    this.#base = t
  }
}

/** isOffset says whether a time difference in ms fits the 32-bit offsets frames are kept as. */
function isOffset(ms: number): boolean {
  return ms >= -0x8000_0000 && ms <= 0x7fff_ffff
}

/** INITIAL_CAPACITY frames per rule; a rule evaluated every bucket grows its ring to the window's frames. */
const INITIAL_CAPACITY = 16

/** SeriesHistory keeps recent frames per rule (see the module comment). */
export class SeriesHistory {
  readonly windowMs: number
  readonly bucketMs: number
  readonly #maxSeries: number
  readonly #maxTotalSeries: number
  /** The rules' frames by group, name and expression: a rule keeps its history across reloads while those stay. */
  readonly #rules = new RuleMap<RuleFrames>()
  readonly #framesPerRule: number
  #tracked = 0
  #prunedAt = Number.NEGATIVE_INFINITY

  constructor(opts: HistoryOptions = {}) {
    this.windowMs = opts.windowMs ?? STATUS_WINDOW_MS
    this.bucketMs = Math.max(1, Math.floor(this.windowMs / (opts.maxFrames ?? 180)))
    this.#maxSeries = opts.maxSeries ?? 50
    this.#maxTotalSeries = opts.maxTotalSeries ?? 1000
    this.#framesPerRule = Math.ceil(this.windowMs / this.bucketMs) + 2
  }

  /** tracked is the number of series with a value in the window, over all rules. */
  get tracked(): number {
    return this.#tracked
  }

  /** record adds one group iteration (the manager's onEvaluation): one frame per rule at the group's evaluation time. */
  record(group: GroupSnapshot, result: GroupEvaluation): void {
    const t = group.lastEvaluation
    if (t - this.#prunedAt >= this.bucketMs) this.prune(t)
    const key = groupKey(group.spec)
    group.rules.forEach((rule, i) => {
      const kept = this.#kept(key, rule.spec.name, rule.spec.expr)
      const error = (result.outcomes[i]?.error ?? '') !== ''
      let values: Map<string, number> | undefined
      if (!error) {
        for (const alert of rule.state.active.values()) {
          if (!isPresent(alert)) continue
          const fp = alert.fingerprint
          if (!kept.labels.has(fp)) {
            if (kept.labels.size >= this.#maxSeries || this.#tracked >= this.#maxTotalSeries) {
              kept.truncated++
              continue
            }
            this.#tracked++
          }
          values ??= new Map()
          values.set(fp, alert.value)
          kept.track(fp, alert.labels)
        }
      }
      kept.push(t, error, values ?? NO_VALUES, this.bucketMs)
      this.#tracked -= kept.dropBefore(t - this.windowMs)
    })
  }

  /** get returns the rule's history, or undefined when it has none. */
  get(group: GroupSnapshot, rule: RuleSnapshot): RuleHistory | undefined {
    const kept = this.#rules.get(groupKey(group.spec), rule.spec.name, rule.spec.expr)
    if (kept === undefined) return undefined
    let frames: Frame[] | undefined
    return {
      get frames() {
        frames ??= kept.frames()
        return frames
      },
      firstAt: kept.oldestAt,
      labels: kept.labels,
      truncated: kept.truncated,
    }
  }

  /** prune drops rules with no frame within the window before now (removed by a reload, or a stopped group). */
  prune(now: number): void {
    this.#prunedAt = now
    for (const kept of this.#rules.deleteWhere(k => k.newestAt <= now - this.windowMs))
      this.#tracked -= kept.labels.size
  }

  #kept(group: string, name: string, expr: string): RuleFrames {
    let kept = this.#rules.get(group, name, expr)
    if (kept === undefined) {
      kept = new RuleFrames(this.#framesPerRule)
      this.#rules.set(group, name, expr, kept)
    }
    return kept
  }
}

/**
 * presentAlerts lists the alerts whose series the rule's last successful evaluation returned, with that value:
 * after an evaluation, a returned series' alert is unresolved with no keep_firing_for in effect (a series that
 * went missing is deleted, resolved, or kept firing with keepFiringSince set, and keeps its old value).
 */
export function presentAlerts(rule: RuleSnapshot): AlertSnapshot[] {
  return [...rule.state.active.values()].filter(isPresent)
}

function isPresent(alert: AlertSnapshot): boolean {
  return alert.resolvedAt === 0 && alert.keepFiringSince === 0
}
