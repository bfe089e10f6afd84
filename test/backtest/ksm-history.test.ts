import t from 'tap'
import { ksmHistory, ksmQueries, readKsmHistory } from '../../src/backtest/ksm-history.js'
import { factsAt } from '../../src/backtest/would-be.js'
import type { RangeQueryFn } from '../../src/backtest/replay.js'

const T0 = Date.parse('2026-12-01T10:00:00Z')
const MIN = 60_000
const STEP = 30_000
const ref = { kind: 'Deployment', namespace: 'shop', name: 'checkout' } as const
const every = (from: number, to: number, value: (t: number) => number): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  for (let at = from; at <= to; at += STEP) out.push([at, value(at)])
  return out
}
const created = (replicaset: string, at: number) => ({
  labels: { replicaset },
  points: every(T0, T0 + 60 * MIN, () => at / 1000),
})

t.test('rollouts: each ReplicaSet at its creation, a re-used one again when scaled up from zero', async t => {
  const h = ksmHistory({
    created: [created('checkout-b', T0 - 30 * MIN), created('checkout-a', T0 - 120 * MIN)],
    replicas: [
      { labels: { replicaset: 'checkout-a' }, points: every(T0, T0 + 60 * MIN, at => (at < T0 + 40 * MIN ? 0 : 3)) },
      { labels: { replicaset: 'checkout-b' }, points: every(T0, T0 + 60 * MIN, at => (at < T0 + 40 * MIN ? 3 : 0)) },
    ],
    labels: [
      { labels: { __name__: 'kube_deployment_labels', label_team: 'payments', namespace: 'shop' }, points: [[T0, 1]] },
    ],
    generationLag: [],
    stepMs: STEP,
  })
  if ('error' in h) throw new Error(h.error)
  t.same(
    h.rollouts.map(r => [r.revision, r.name, (r.at - T0) / MIN, r.reapplied !== undefined]),
    [
      [1, 'checkout-a', -120, false],
      [2, 'checkout-b', -30, false],
      [3, 'checkout-a', 40, true],
    ],
  )
  t.same(h.labels, { team: 'payments' })
  t.equal(h.source, 'kube-state-metrics')
  const before = factsAt(ref, h, T0 + 10 * MIN, undefined)
  t.match(before, {
    currentRevision: 2,
    previousRevision: 1,
    currentRevisionSince: T0 - 30 * MIN,
    currentIsUndo: undefined,
  })
  const after = factsAt(ref, h, T0 + 45 * MIN, undefined)
  t.match(after, {
    currentRevision: 3,
    currentRevisionSince: T0 + 40 * MIN,
    currentIsUndo: { evidence: /ReplicaSet checkout-a, created .* scaled up from 0 again/ },
  })
})

t.test('a new ReplicaSet scaling up from zero right after its creation is one rollout', async t => {
  const h = ksmHistory({
    created: [created('checkout-c', T0 + 10 * MIN)],
    replicas: [
      {
        labels: { replicaset: 'checkout-c' },
        points: every(T0 + 10 * MIN, T0 + 20 * MIN, at => (at === T0 + 10 * MIN ? 0 : 1)),
      },
    ],
    labels: [],
    generationLag: [],
    stepMs: STEP,
  })
  if ('error' in h) throw new Error(h.error)
  t.same(
    h.rollouts.map(r => r.name),
    ['checkout-c'],
  )
})

t.test('a rollout in progress where the generation is ahead of the observed one', async t => {
  const h = ksmHistory({
    created: [created('checkout-a', T0 - 60 * MIN)],
    replicas: [],
    labels: [],
    generationLag: [
      { labels: {}, points: every(T0, T0 + 20 * MIN, at => (at >= T0 + 5 * MIN && at < T0 + 8 * MIN ? 1 : 0)) },
    ],
    stepMs: STEP,
  })
  if ('error' in h) throw new Error(h.error)
  const at = (m: number) => factsAt(ref, h, T0 + m * MIN, undefined)
  t.ok(at(6).observedGeneration < at(6).generation, 'in progress at +6m')
  t.equal(at(9).observedGeneration, at(9).generation, 'done at +9m')
})

t.test('readKsmHistory: the queries, nothing recorded, errors, other kinds', async t => {
  const asked: string[] = []
  const answer =
    (series: Awaited<ReturnType<RangeQueryFn>>['series']): RangeQueryFn =>
    async (expr, range) => {
      asked.push(expr)
      t.ok(range.stepMs >= STEP && (range.endMs - range.startMs) / range.stepMs <= 10_000, 'bounded points per series')
      return { series: expr.includes('kube_replicaset_created') ? series : [], warnings: [] }
    }
  const opts = { fromMs: T0, toMs: T0 + 24 * 60 * MIN }
  t.equal(await readKsmHistory(ref, { ...opts, rangeQuery: answer([]) }), undefined, 'nothing recorded: ask the API')
  t.same(asked, Object.values(ksmQueries(ref)))
  t.match(
    ksmQueries(ref).created,
    'kube_replicaset_owner{namespace="shop",owner_kind="Deployment",owner_name="checkout"}',
  )
  t.match(await readKsmHistory(ref, { ...opts, rangeQuery: answer([created('checkout-a', T0)]) }), {
    rollouts: [{ name: 'checkout-a', at: T0 }],
  })
  t.match(
    await readKsmHistory(ref, {
      ...opts,
      rangeQuery: async () => {
        throw new Error('query failed: 503')
      },
    }),
    { error: /kube-state-metrics: query failed: 503/ },
  )
  t.equal(
    await readKsmHistory({ ...ref, kind: 'StatefulSet' }, { ...opts, rangeQuery: answer([]) }),
    undefined,
    'StatefulSets: the API',
  )
})
