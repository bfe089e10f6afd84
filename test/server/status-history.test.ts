// The status page's history keeps each rule's frames as columns in a ring (src/server/status/history.ts). Checked
// against a model that keeps one object per frame, as the history did before: the same frames, labels, truncation
// counts and tracked-series total after every evaluation of random runs (merged buckets, failed queries, series
// coming and going, both series bounds, windows that drop frames, rules that stop being evaluated).
import fc from 'fast-check'
import t from 'tap'
import type { GroupEvaluation } from '../../src/engine/group.js'
import type { GroupSnapshot } from '../../src/engine/snapshot.js'
import type { Labels } from '../../src/engine/types.js'
import { SeriesHistory, type Frame } from '../../src/server/status/history.js'

interface ModelRule {
  frames: Frame[]
  labels: Map<string, Labels>
  truncated: number
}

/** Model is the history as one object per frame (the straightforward reading of the module comment). */
class Model {
  readonly rules = new Map<string, ModelRule>()
  tracked = 0
  #prunedAt = Number.NEGATIVE_INFINITY
  constructor(
    readonly windowMs: number,
    readonly bucketMs: number,
    readonly maxSeries: number,
    readonly maxTotalSeries: number,
  ) {}

  record(t: number, rules: readonly { key: string; error: boolean; series: ReadonlyMap<string, number> }[]): void {
    if (t - this.#prunedAt >= this.bucketMs) this.prune(t)
    for (const rule of rules) {
      let kept = this.rules.get(rule.key)
      if (kept === undefined) {
        kept = { frames: [], labels: new Map(), truncated: 0 }
        this.rules.set(rule.key, kept)
      }
      const values = new Map<string, number>()
      for (const [fp, value] of rule.error ? [] : rule.series) {
        if (!kept.labels.has(fp)) {
          if (kept.labels.size >= this.maxSeries || this.tracked >= this.maxTotalSeries) {
            kept.truncated++
            continue
          }
          this.tracked++
        }
        values.set(fp, value)
        kept.labels.set(fp, { fp })
      }
      const last = kept.frames.at(-1)
      if (last !== undefined && Math.floor(last.t / this.bucketMs) === Math.floor(t / this.bucketMs)) {
        kept.frames[kept.frames.length - 1] = {
          t: last.t,
          error: last.error && rule.error,
          values: new Map([...last.values, ...values]),
        }
      } else {
        kept.frames.push({ t, error: rule.error, values })
      }
      let drop = 0
      while (drop < kept.frames.length - 1 && (kept.frames[drop] as Frame).t <= t - this.windowMs) drop++
      if (drop === 0) continue
      kept.frames.splice(0, drop)
      const seen = new Set(kept.frames.flatMap(f => [...f.values.keys()]))
      for (const fp of kept.labels.keys()) {
        if (seen.has(fp)) continue
        kept.labels.delete(fp)
        this.tracked--
      }
    }
  }

  prune(now: number): void {
    this.#prunedAt = now
    for (const [key, kept] of this.rules) {
      const last = kept.frames.at(-1)
      if (last === undefined || last.t <= now - this.windowMs) {
        this.rules.delete(key)
        this.tracked -= kept.labels.size
      }
    }
  }
}

/** snapshot is a group snapshot of the rules named, each returning the series given (fingerprint → value). */
function snapshot(
  at: number,
  names: readonly string[],
  series: (name: string) => ReadonlyMap<string, number>,
  specs: Map<string, object>,
): GroupSnapshot {
  const rules = names.map(name => {
    let spec = specs.get(name)
    if (spec === undefined) {
      spec = { name, expr: `${name} > 0`, labels: {}, annotations: {} }
      specs.set(name, spec)
    }
    const active = new Map(
      [...series(name)].map(([fp, value]) => [
        fp,
        { fingerprint: fp, labels: { fp }, value, resolvedAt: 0, keepFiringSince: 0, state: 'firing' },
      ]),
    )
    return { spec, state: { active } }
  })
  return { spec: groupSpecs.get(names.join()) ?? newGroupSpec(names), lastEvaluation: at, rules } as never
}

const groupSpecs = new Map<string, object>()
function newGroupSpec(names: readonly string[]): object {
  const spec = { file: 'rules.yml', name: 'g', rules: names }
  groupSpecs.set(names.join(), spec)
  return spec
}

const evaluation = (errors: readonly boolean[]): GroupEvaluation =>
  ({ outcomes: errors.map(e => ({ error: e ? 'query failed' : '' })) }) as never

const step = fc.record({
  // Time since the previous evaluation: often within a bucket (merges), sometimes past the whole window.
  advanceMs: fc.oneof(fc.integer({ min: 0, max: 12_000 }), fc.integer({ min: 50_000, max: 200_000 })),
  // Which of the rules this evaluation has (a reload that removes a rule, and one that brings it back).
  rules: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
  errors: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  series: fc.array(fc.subarray(['s1', 's2', 's3', 's4', 's5']), { minLength: 3, maxLength: 3 }),
  value: fc.integer({ min: 0, max: 100 }),
})

t.test('frames, labels, truncation and the tracked total match a frame-per-object model', async t => {
  // fast-check throws with the shortest failing run it finds.
  fc.assert(
    fc.property(
      fc.array(step, { minLength: 1, maxLength: 80 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 2, max: 40 }),
      (steps, maxSeries, maxTotalSeries, maxFrames) => {
        const windowMs = 120_000
        const history = new SeriesHistory({ windowMs, maxFrames, maxSeries, maxTotalSeries })
        const model = new Model(windowMs, history.bucketMs, maxSeries, maxTotalSeries)
        const specs = new Map<string, object>()
        let now = 1_767_225_600_000
        for (const s of steps) {
          now += s.advanceMs
          const seriesOf = (name: string) => {
            const i = ['a', 'b', 'c'].indexOf(name)
            return new Map((s.series[i] ?? []).map(fp => [`${name}-${fp}`, s.value + i]))
          }
          const group = snapshot(now, s.rules, seriesOf, specs)
          const errors = s.rules.map(name => s.errors[['a', 'b', 'c'].indexOf(name)] ?? false)
          history.record(group, evaluation(errors))
          model.record(
            now,
            s.rules.map((name, i) => ({ key: name, error: errors[i] ?? false, series: seriesOf(name) })),
          )
          if (history.tracked !== model.tracked) return false
          for (const name of ['a', 'b', 'c']) {
            const rule = group.rules.find(r => r.spec.name === name) ?? {
              spec: specs.get(name) ?? { name, expr: `${name} > 0` },
            }
            const got = history.get(group, rule as never)
            const want = model.rules.get(name)
            if ((got === undefined) !== (want === undefined)) return false
            if (got === undefined || want === undefined) continue
            const shown = (frames: readonly Frame[]) =>
              JSON.stringify(frames.map(f => [f.t, f.error, [...f.values].sort()]))
            if (shown(got.frames) !== shown(want.frames)) return false
            if (got.firstAt !== want.frames[0]?.t || got.truncated !== want.truncated) return false
            if ([...got.labels.keys()].sort().join() !== [...want.labels.keys()].sort().join()) return false
          }
        }
        return true
      },
    ),
    { numRuns: 300, seed: 20261205 },
  )
  t.pass('300 random runs agree')
})

t.test('a rule evaluated every bucket keeps one frame per bucket of the window, no more', async t => {
  const history = new SeriesHistory({ windowMs: 60_000, maxFrames: 12 })
  const specs = new Map<string, object>()
  const start = 1_767_225_600_000
  for (let i = 0; i < 100; i++)
    history.record(
      snapshot(start + i * 5_000, ['a'], () => new Map([['s', i]]), specs),
      evaluation([false]),
    )
  const group = snapshot(start + 99 * 5_000, ['a'], () => new Map(), specs)
  const frames = history.get(group, group.rules[0] as never)?.frames ?? []
  t.equal(frames.length, 12, 'the window is 12 buckets: the 12 newest frames are kept')
  t.same(
    frames.map(f => f.values.get('s')),
    Array.from({ length: 12 }, (_, i) => 88 + i),
    'in order, across the ring wrapping around many times',
  )
  t.equal(history.tracked, 1)
})

t.test(
  'a full ring (evaluation times going back across buckets) gives up its oldest frame and that frame’s series',
  async t => {
    const history = new SeriesHistory({ windowMs: 60_000, maxFrames: 12 })
    const specs = new Map<string, object>()
    const start = 1_767_225_600_000
    let group = snapshot(start, ['a'], () => new Map(), specs)
    for (let i = 0; i < 20; i++) {
      group = snapshot(start - i * 5_000, ['a'], () => new Map([[`s${i}`, i]]), specs)
      history.record(group, evaluation([false]))
    }
    const kept = history.get(group, group.rules[0] as never)
    t.equal(kept?.frames.length, 14, 'the ring holds the window’s buckets and two more, no more')
    t.same(
      [...(kept?.labels.keys() ?? [])].sort(),
      Array.from({ length: 14 }, (_, i) => `s${i + 6}`).sort(),
      'only the series of kept frames are remembered',
    )
    t.equal(history.tracked, 14, 'and counted')
  },
)

t.test('frame times stay exact over weeks of evaluations and after a rule returns a month later', async t => {
  const DAY = 86_400_000
  const history = new SeriesHistory({ windowMs: 2 * 3600_000, maxFrames: 4 })
  const specs = new Map<string, object>()
  const start = 1_767_225_600_000
  const framesAt = (at: number) => {
    const group = snapshot(at, ['a'], () => new Map(), specs)
    return (history.get(group, group.rules[0] as never)?.frames ?? []).map(f => [f.t, f.error])
  }
  // Hourly for 40 days: past the ~24.8 days a frame's 32-bit offset reaches, so its base moves while frames are kept.
  let at = start
  for (let i = 0; i < 40 * 24; i++, at = start + i * 3600_000) {
    history.record(
      snapshot(at, ['a'], () => new Map(), specs),
      evaluation([i % 7 === 0]),
    )
    if (i < 590 || i > 600) continue
    const want = [at - 2 * 3600_000, at - 3600_000, at].filter(x => x > at - 2 * 3600_000 && x >= start)
    t.same(
      framesAt(at).map(f => f[0]),
      want,
      `hour ${i}: the frames of the last two hours, to the millisecond`,
    )
  }
  const last = start + (40 * 24 - 1) * 3600_000
  t.same(framesAt(last), [
    [last - 3600_000, (40 * 24 - 2) % 7 === 0],
    [last, (40 * 24 - 1) % 7 === 0],
  ])
  // Not evaluated for a month, then again: the old frame is far outside the window and goes.
  const later = last + 30 * DAY
  history.record(
    snapshot(later, ['a'], () => new Map(), specs),
    evaluation([true]),
  )
  t.same(framesAt(later), [[later, true]])
})

t.test('a ring that grows after its oldest frames went keeps every frame and error flag in place', async t => {
  // Evaluated every 8 buckets, the rule keeps ~5 frames while older ones leave the window (the ring's start moves
  // past 16), with its error flags made at an early failure; then every bucket, so the ring of 16 grows: every frame
  // must move to the slot of its sequence number in the larger ring, error flags included.
  const windowMs = 200_000
  const history = new SeriesHistory({ windowMs, maxFrames: 40 })
  const specs = new Map<string, object>()
  const start = 1_767_225_600_000
  const written: [number, boolean][] = []
  const record = (at: number, error: boolean) => {
    history.record(
      snapshot(at, ['a'], () => new Map(), specs),
      evaluation([error]),
    )
    written.push([at, error])
  }
  for (let i = 0; i < 20; i++) record(start + i * 40_000, i === 2)
  const sparseEnd = start + 19 * 40_000
  for (let j = 1; j <= 25; j++) record(sparseEnd + j * 5_000, j % 3 === 0)
  const end = sparseEnd + 25 * 5_000
  const group = snapshot(end, ['a'], () => new Map(), specs)
  const frames = history.get(group, group.rules[0] as never)?.frames ?? []
  t.same(
    frames.map(f => [f.t, f.error]),
    written.filter(([at]) => at > end - windowMs),
    'the frames of the window, in order, each with its own error flag',
  )
})
