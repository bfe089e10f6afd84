import { Registry } from 'prom-client'
import t from 'tap'
import { createCoalescedQueries } from '../../src/runtime/coalesced-query.js'
import { QueryError } from '../../src/sources/prometheus.js'
import { createCoalescingMetrics } from '../../src/telemetry/coalescing-metrics.js'
import type { QueryFn } from '../../src/engine/ports.js'
import { group, rule, sample } from '../fixtures/engine.js'

const A = 'sum by (d) (x{d="a"}) > 1'
const B = 'sum by (d) (x{d="b"}) > 1'
const MERGED = 'sum by (d) (x{d=~"a|b"}) > 1'

function setup(answer: (expr: string, at: number) => ReturnType<QueryFn>) {
  const registry = new Registry()
  const metrics = createCoalescingMetrics(registry)
  const asked: string[] = []
  const query: QueryFn = (expr, at) => {
    asked.push(`${expr}@${at}`)
    return answer(expr, at)
  }
  const specs = [group([rule({ expr: A }), rule({ expr: B }), rule({ expr: 'up' })], { intervalMs: 0 })]
  const coalesced = createCoalescedQueries(specs, 60_000, metrics)
  const value = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value
  return { q: coalesced.queryFor('test.yml;g', query), query, coalesced, asked, value }
}

const both = async () => ({
  samples: [sample({ d: 'a' }, 2), sample({ d: 'b' }, 3)],
  warnings: ['w'],
})

t.test('one query per instant; each rule gets its series; gauges and the saved counter', async t => {
  const { q, asked, value, coalesced, query } = setup(both)
  t.same(await q(A, 1000), { samples: [sample({ d: 'a' }, 2)], warnings: ['w'] })
  t.same(await q(B, 1000), { samples: [sample({ d: 'b' }, 3)], warnings: ['w'] })
  t.same((await q('up', 1000)).samples.length, 2, 'an unplanned expression asks as written')
  t.same(asked, [`${MERGED}@1000`, 'up@1000'])
  t.equal(await value('rollguard_coalesced_rules'), 2)
  t.equal(await value('rollguard_coalesced_queries'), 1)
  t.equal(await value('rollguard_coalesced_queries_saved_total'), 1)
  t.equal(coalesced.queryFor('other.yml;g', query), query, 'a group without shares queries as is')
  await Promise.all([q(A, 2000), q(B, 2000)])
  t.same(asked.slice(2), [`${MERGED}@2000`], 'the next instant asks again, once')
})

t.test('a newer instant replaces an answer not fully taken; an older one asks on its own', async t => {
  const { q, asked } = setup(both)
  await q(A, 1000)
  await q(A, 2000)
  t.equal((await q(B, 1000)).samples.length, 2, "the rule's own query, answered as is")
  t.same(asked, [`${MERGED}@1000`, `${MERGED}@2000`, `${B}@1000`])
})

t.test('a refused shared query: every rule asks on its own; other failures reach every rule', async t => {
  const refusing = setup(async expr => {
    if (expr === MERGED) throw new QueryError('too_large', undefined, 'query failed: too_large: big')
    return { samples: [sample({ d: expr === A ? 'a' : 'b' })], warnings: [] }
  })
  t.same((await refusing.q(A, 1000)).samples, [sample({ d: 'a' })])
  t.same((await refusing.q(B, 1000)).samples, [sample({ d: 'b' })])
  t.same(refusing.asked, [`${MERGED}@1000`, `${A}@1000`, `${B}@1000`])
  t.equal(await refusing.value('rollguard_coalesced_query_fallbacks_total'), 2)
  t.equal(await refusing.value('rollguard_coalesced_queries_saved_total'), 0)
  const down = setup(async () => {
    throw new QueryError('connection', undefined, 'query failed: connection: refused')
  })
  await t.rejects(down.q(A, 1000), /connection: refused/)
  await t.rejects(down.q(B, 1000), /connection: refused/)
  t.same(down.asked, [`${MERGED}@1000`], 'asked once')
  const plain = setup(async () => {
    throw new Error('boom')
  })
  await t.rejects(plain.q(A, 1000), /boom/)
})

t.test(
  "a shared answer split for many rules: each its own series, in the answer's order, none for a label missing",
  async t => {
    const n = 300
    const exprs = Array.from({ length: n }, (_, i) => `sum by (d, k) (x{d="d${i}"}) > 1`)
    const specs = [
      group(
        exprs.map(expr => rule({ expr })),
        { intervalMs: 0 },
      ),
    ]
    const coalesced = createCoalescedQueries(specs, 60_000, createCoalescingMetrics(new Registry()))
    // Two series for most values (k differs), some values without series, series without d, and values no rule has.
    const samples = [
      ...Array.from({ length: n }, (_, i) => sample({ d: `d${i}`, k: 'one' }, i)),
      ...Array.from({ length: n }, (_, i) => sample({ d: `d${(i * 7) % n}`, k: 'two' }, -i)),
      sample({ k: 'lost' }, 1),
      sample({ d: 'elsewhere', k: 'one' }, 1),
    ].filter((_, i) => i % 11 !== 0)
    let asked = 0
    const q = coalesced.queryFor('test.yml;g', async () => {
      asked++
      return { samples, warnings: [] }
    })
    for (let i = 0; i < n; i++) {
      const got = await q(exprs[i] as string, 1000)
      t.same(
        got.samples,
        samples.filter(s => s.labels['d'] === `d${i}`),
        `rule ${i}`,
      )
    }
    t.ok(asked < n / 10, `${asked} queries for ${n} rules`)
  },
)
