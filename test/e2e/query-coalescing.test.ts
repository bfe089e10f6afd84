// Query coalescing, proven against a real Prometheus: random series backfilled with promtool, random rule sets from
// a grammar of shapes the planner may merge and shapes it must leave alone, and at every slot each rule's series from
// the shared query equal, label for label and value for value, what the rule's own query returns.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Registry } from 'prom-client'
import t from 'tap'
import { findBinary, startPrometheus } from '../../src/demo/stack.js'
import type { QueryResult } from '../../src/engine/ports.js'
import type { Sample } from '../../src/engine/types.js'
import { selectorChecks } from '../../src/nodata/checks.js'
import { countsOf, planCounts } from '../../src/nodata/count-plan.js'
import { createCoalescedQueries } from '../../src/runtime/coalesced-query.js'
import { createPrometheusSource } from '../../src/sources/prometheus.js'
import { createCoalescingMetrics } from '../../src/telemetry/coalescing-metrics.js'
import { group, rule } from '../fixtures/engine.js'
import { tempDir } from '../fixtures/e2e.js'

const SEED = Number(process.env['COALESCING_SEED'] ?? 20261205)
const RULE_SETS = 4
const TEMPLATES_PER_SET = 14
const SLOTS = 30
/** Instants at which the no-data counts are compared, into the data and past the 5 minute lookback after it. */
const COUNT_SLOTS = 8
const STEP_S = 15
const DATA_S = 30 * 60
/** Label values with RE2 metacharacters: the merged regex must match each of them literally. */
const DEPLOYMENTS = ['cart', 'check.out', 'x|y', 'q+', 'a(b)', 'search']
const NAMESPACES = ['n1', 'n2']
const PODS = ['p1', 'p2']

/** mulberry32: a small seeded generator, so a failure can be replayed with COALESCING_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

type Rand = () => number
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T

/** openMetrics writes random series: counters with resets, gauges with gaps, histogram buckets. */
function openMetrics(r: Rand, startS: number): string {
  const lines: string[] = [
    '# TYPE app_requests_total gauge',
    '# TYPE app_mem_bytes gauge',
    '# TYPE app_latency_bucket gauge',
  ]
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')
  const series = (name: string, labels: Record<string, string>, values: (i: number) => number | undefined) => {
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',')
    for (let i = 0; i * STEP_S <= DATA_S; i++) {
      const v = values(i)
      if (v !== undefined) lines.push(`${name}{${text}} ${v} ${startS + i * STEP_S}`)
    }
  }
  for (const d of DEPLOYMENTS)
    for (const ns of NAMESPACES) {
      if (r() < 0.15) continue // some deployments do not exist in a namespace
      for (const pod of PODS) {
        for (const code of ['200', '500']) {
          let total = 0
          const rate = r() * 10
          series('app_requests_total', { d, ns, pod, code }, () => {
            total = r() < 0.01 ? 0 : total + Math.round(rate * STEP_S * r())
            return total
          })
        }
        const from = r() < 0.3 ? Math.floor(r() * 60) : 0
        const to = r() < 0.3 ? 60 + Math.floor(r() * 60) : Infinity
        series('app_mem_bytes', { d, ns, pod }, i => (i >= from && i <= to ? Math.round(r() * 1000) / 10 : undefined))
      }
      let a = 0
      let b = 0
      let c = 0
      series('app_latency_bucket', { d, ns, le: '0.1' }, () => (a += Math.floor(r() * 5)))
      series('app_latency_bucket', { d, ns, le: '0.5' }, () => (b += Math.floor(r() * 5)) + a)
      series('app_latency_bucket', { d, ns, le: '+Inf' }, () => (c += Math.floor(r() * 3)) + a + b)
    }
  lines.push('# EOF')
  return `${lines.join('\n')}\n`
}

/**
 * Templates: `$d` is the deployment, `$n` the namespace. `mergeable` says whether the planner may merge rules of
 * the template: the grammar knows which constructs keep the label and partition by it.
 */
interface Template {
  readonly text: string
  readonly mergeable: boolean
}

function template(r: Rand, narrowNamespace: boolean, depth = 0): Template {
  const sel = (metric: string) =>
    `${metric}{d="$d"${narrowNamespace ? ', ns="$n"' : pick(r, ['', ', ns="n1"', ', pod!="p2"'])}}`
  if (depth >= 2 || r() < 0.25) {
    return pick(r, [
      { text: sel('app_mem_bytes'), mergeable: true },
      { text: `rate(${sel('app_requests_total')}[2m])`, mergeable: true },
      { text: `increase(${sel('app_requests_total')}[3m])`, mergeable: true },
      { text: `max_over_time(${sel('app_mem_bytes')}[3m])`, mergeable: true },
      { text: `count_over_time(${sel('app_mem_bytes')}[2m])`, mergeable: true },
      {
        text: `histogram_quantile(0.9, sum by (le, d, ns) (rate(${sel('app_latency_bucket')}[2m])))`,
        mergeable: true,
      },
      { text: `${sel('app_mem_bytes')} offset 1m`, mergeable: false },
      { text: `max_over_time(${sel('app_mem_bytes')}[2m:30s])`, mergeable: false },
      { text: `absent(${sel('app_mem_bytes')})`, mergeable: false },
      { text: 'app_mem_bytes{pod="p1"}', mergeable: false },
    ])
  }
  const inner = template(r, narrowNamespace, depth + 1)
  const wrap = (text: string, mergeable: boolean): Template => ({ text, mergeable: mergeable && inner.mergeable })
  switch (Math.floor(r() * 6)) {
    case 0:
      return pick(r, [
        wrap(`sum by (d, ns) (${inner.text})`, true),
        wrap(`max by (ns, d, pod) (${inner.text})`, true),
        wrap(`avg without (pod) (${inner.text})`, true),
        wrap(`count by (d) (${inner.text})`, true),
        wrap(`sum(${inner.text})`, false),
        wrap(`sum without (d) (${inner.text})`, false),
        wrap(`topk by (d) (1, ${inner.text})`, false),
        wrap(`quantile(0.5, ${inner.text})`, false),
        wrap(`count_values("v", ${inner.text})`, false),
      ])
    case 1:
      return pick(r, [
        wrap(`${inner.text} > ${pick(r, ['0.5', '3', '40'])}`, true),
        wrap(`${inner.text} > bool 10`, true),
        wrap(`2 * ${inner.text}`, true),
        wrap(`-(${inner.text})`, true),
      ])
    case 2:
      return pick(r, [
        wrap(`abs(${inner.text})`, true),
        wrap(`clamp_min(${inner.text}, 1)`, true),
        wrap(`round(${inner.text}, 0.5)`, true),
        wrap(`label_replace(${inner.text}, "svc", "$1", "pod", "(.*)")`, true),
        wrap(`label_replace(${inner.text}, "d", "same", "", "")`, false),
        wrap(`scalar(${inner.text}) * ${sel('app_mem_bytes')}`, false),
      ])
    default: {
      const other = template(r, narrowNamespace, depth + 1)
      const matching = pick(r, [
        { text: '', ok: true },
        { text: ' on (d, ns, pod)', ok: true },
        { text: ' on (d)', ok: true },
        { text: ' ignoring (code)', ok: true },
        { text: ' ignoring (d)', ok: false },
        { text: ' on (ns)', ok: false },
      ])
      const op = pick(r, ['+', '/', '>', 'and', 'or', 'unless'])
      return {
        text: `(${inner.text}) ${op}${matching.text} (${other.text})`,
        mergeable: inner.mergeable && other.mergeable && matching.ok,
      }
    }
  }
}

const canonical = (samples: readonly Sample[]): string[] =>
  samples
    .map(s => {
      const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return JSON.stringify([labels, Number.isNaN(s.value) ? 'NaN' : s.value])
    })
    .sort()

const settle = async (p: Promise<QueryResult>): Promise<string[] | string> =>
  p.then(
    r => canonical(r.samples),
    (err: unknown) => `error: ${err instanceof Error ? err.message : String(err)}`,
  )

t.test('coalesced answers equal individual answers at every slot (random series and rule sets)', async t => {
  const dir = tempDir(t)
  const r = rng(SEED)
  t.comment(`seed ${SEED} (replay with COALESCING_SEED=${SEED})`)
  // Whole hours, well in the past, so the backfilled block is complete and nothing is still being written.
  const startS = Math.floor(Date.now() / 7_200_000) * 7_200 - 4 * 3_600
  const input = join(dir, 'series.om')
  writeFileSync(input, openMetrics(r, startS))
  const data = join(dir, 'data')
  await promisify(execFile)(findBinary(['promtool'], 'PROMTOOL_BIN'), [
    'tsdb',
    'create-blocks-from',
    'openmetrics',
    '--quiet',
    input,
    data,
  ])
  const prom = await startPrometheus({ scrapeTargets: [], scrapeInterval: '15s', dataDir: data })
  t.teardown(() => prom.stop())
  const source = createPrometheusSource({ url: prom.url, timeoutMs: 20_000 })
  t.teardown(() => source.close())
  const query = (expr: string, at: number) => source.query(expr, at)

  let merged = 0
  let compared = 0
  let nonEmpty = 0
  const counted = { compared: 0, merged: 0, nonZero: 0 }
  // The no-data watch's counts of the same rules' selectors: a merged count gives each selector its own count.
  const compareCounts = async (rules: readonly { expr: string }[], startS: number, r: Rand) => {
    const checks = [...new Map(rules.flatMap(x => selectorChecks(x.expr)).map(c => [c.key, c])).values()]
    const plan = planCounts(checks)
    counted.merged += plan.filter(q => q.checks.length > 1).reduce((n, q) => n + q.checks.length, 0)
    for (let slot = 0; slot < COUNT_SLOTS; slot++) {
      const at = (startS + 120 + Math.floor(((DATA_S + 600) * slot) / COUNT_SLOTS) + Math.floor(r() * 7)) * 1000
      const answers = await Promise.all(plan.map(async q => countsOf(q, (await query(q.query, at)).samples)))
      const ours = new Map(answers.flat())
      const theirs = await Promise.all(checks.map(async c => (await query(c.query, at)).samples[0]?.value ?? 0))
      checks.forEach((check, i) => {
        counted.compared++
        if (theirs[i] !== 0) counted.nonZero++
        if (ours.get(check.key) !== theirs[i]) t.equal(ours.get(check.key), theirs[i], `count of ${check.key} at ${at}`)
      })
    }
  }
  for (let set = 0; set < RULE_SETS; set++) {
    const templates = Array.from({ length: TEMPLATES_PER_SET }, () => template(r, r() < 0.3))
    const rules = templates.flatMap(tpl => {
      const ds = DEPLOYMENTS.filter(() => r() < 0.6)
      return ds.map(d => ({ tpl, expr: tpl.text.replaceAll('$d', d).replaceAll('$n', pick(r, NAMESPACES)) }))
    })
    const spec = group(
      rules.map((x, i) => rule({ name: `R${i}`, expr: x.expr })),
      { name: `set${set}` },
    )
    const coalesced = createCoalescedQueries([spec], 60_000, createCoalescingMetrics(new Registry()))
    const shares = coalesced.plan.groups.get(`test.yml;set${set}`)
    for (const x of rules) {
      const share = shares?.get(x.expr)
      // A shape outside the grammar's mergeable part is never rewritten (identical expressions may still share).
      if (!x.tpl.mergeable && share !== undefined) t.equal(share.query.expr, x.expr, `left alone: ${x.expr}`)
      if (share !== undefined && share.query.expr !== x.expr) merged++
    }
    const shared = coalesced.queryFor(`test.yml;set${set}`, query)
    for (let slot = 0; slot < SLOTS; slot++) {
      // From 2 minutes into the data to 6 minutes past its end (series going stale), at uneven instants.
      const at = (startS + 120 + Math.floor(((DATA_S + 240) * slot) / SLOTS) + Math.floor(r() * 7)) * 1000
      const [ours, theirs] = await Promise.all([
        Promise.all(rules.map(x => settle(shared(x.expr, at)))),
        Promise.all(rules.map(x => settle(query(x.expr, at)))),
      ])
      rules.forEach((x, i) => {
        compared++
        const want = theirs[i] as string[] | string
        if (Array.isArray(want) && want.length > 0) nonEmpty++
        const got = ours[i]
        if (JSON.stringify(got) !== JSON.stringify(want))
          t.same(got, want, `${x.expr} at ${at}: shared ${shares?.get(x.expr)?.query.expr ?? '(own query)'}`)
      })
    }
    await compareCounts(rules, startS, r)
  }
  t.pass(`${compared} answers compared, ${nonEmpty} non-empty, ${merged} rules answered by merged queries`)
  t.pass(
    `no-data counts: ${counted.compared} compared, ${counted.nonZero} non-zero, ${counted.merged} selectors merged`,
  )
  t.ok(counted.merged > 20 && counted.nonZero > counted.compared / 4, 'the counts exercise merging')
  t.ok(merged > 20, 'the rule sets exercise merging')
  t.ok(nonEmpty > compared / 4, 'the data gives answers to compare')
})
