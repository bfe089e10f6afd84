// Keeps the benchmark scripts working: runs the smoke mode of bench/detection.mjs and bench/scale.mjs (tiny,
// bounded) and the docs generator on their output. Not a timing test: it checks only that each script runs to
// the end, stops what it started, and writes a well-formed result.
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { findBinary } from '../../src/demo/stack.js'
import { ensureBuilt } from '../fixtures/build.js'
import { ROOT, runNode } from './fixtures/run-node.js'

function hasBinary(name: string): boolean {
  try {
    findBinary([name])
    return true
  } catch {
    return false
  }
}

/**
 * ready skips the test when one of the binaries is not installed, else builds what is stale (dist/ and the fake API
 * server: the scripts run them as processes); false when the test cannot go on.
 */
async function ready(t: Test, binaries: readonly string[]): Promise<boolean> {
  const missing = binaries.filter(b => !hasBinary(b))
  if (missing.length > 0) {
    t.plan(0, `skipped: ${missing.join(', ')} not installed (npm run deps:system)`)
    return false
  }
  const failure = await ensureBuilt()
  t.equal(failure, '', 'dist/ and the fake API server are built')
  return failure === ''
}

const isNumberOrNull = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x))

/**
 * benchResult runs bench/<script> with args and `--out out`, checks that it exits 0 and returns its parsed result
 * (typed by the caller), or undefined when it failed (the failure is recorded, with the end of its stderr).
 */
async function benchResult<T>(
  t: Test,
  script: string,
  args: readonly string[],
  out: string,
  timeoutMs: number,
): Promise<T | undefined> {
  const run = await runNode([join(ROOT, 'bench', script), ...args, '--out', out], timeoutMs)
  t.equal(run.code, 0, `bench/${script} exits 0\n${run.stderr.slice(-3000)}`)
  return run.code === 0 ? (JSON.parse(readFileSync(out, 'utf8')) as T) : undefined
}

t.test('benchmark smoke runs produce well-formed results and regenerate the docs tables', async t => {
  if (!(await ready(t, ['prometheus']))) return
  const withVmalert = hasBinary('vmalert')
  if (!withVmalert)
    t.comment('vmalert is not installed (bash scripts/install-system-deps.sh --with-vmalert): smoke runs without it')
  const dir = t.testdir()
  const detectionOut = join(dir, 'detection.json')
  const scaleOut = join(dir, 'scale.json')
  const actionOut = join(dir, 'action.json')
  const [detection, scale] = await Promise.all([
    runNode(
      [
        join(ROOT, 'bench', 'detection.mjs'),
        '--smoke',
        '--out',
        detectionOut,
        '--engines',
        withVmalert ? 'prometheus,vmalert,rollguard' : 'prometheus,rollguard',
      ],
      200_000,
    ),
    runNode(
      [
        join(ROOT, 'bench', 'scale.mjs'),
        '--smoke',
        '--out',
        scaleOut,
        '--engines',
        withVmalert ? 'rollguard,vmalert' : 'rollguard',
      ],
      200_000,
    ),
  ])
  // After the others: three benchmarks at once on a small machine measure mostly each other.
  const action = await runNode([join(ROOT, 'bench', 'action.mjs'), '--smoke', '--out', actionOut], 200_000)
  t.equal(action.code, 0, `action smoke run exits 0\n${action.stderr.slice(-3000)}`)
  t.equal(detection.code, 0, `detection smoke run exits 0\n${detection.stderr.slice(-3000)}`)
  t.equal(scale.code, 0, `scale smoke run exits 0\n${scale.stderr.slice(-3000)}`)
  if (detection.code !== 0 || scale.code !== 0 || action.code !== 0) return

  const a = JSON.parse(readFileSync(actionOut, 'utf8')) as {
    benchmark: string
    smoke: boolean
    summary: Record<string, unknown>
    latenciesMs: unknown[]
  }
  t.equal(a.benchmark, 'action')
  t.equal(a.summary['trials'], a.latenciesMs.length)
  t.equal(a.summary['patches'], a.summary['trials'], 'exactly one rollback patch per trigger')
  t.ok(
    a.latenciesMs.every(x => typeof x === 'number' && x >= 0),
    'latencies are measured, never negative',
  )

  const d = JSON.parse(readFileSync(detectionOut, 'utf8')) as {
    benchmark: string
    smoke: boolean
    settings: { engines: string[]; trials: number }
    summary: Record<string, Record<string, unknown>>
    trials: Array<{ engines: Record<string, Record<string, unknown>> }>
    shortFaults: Array<{ falseAlerts: Record<string, unknown> }>
    machine: { nproc: number; node: string }
  }
  t.equal(d.benchmark, 'detection')
  t.equal(d.smoke, true)
  t.equal(d.trials.length, d.settings.trials)
  t.equal(d.shortFaults.length, d.settings.trials)
  t.ok(d.machine.nproc >= 1 && d.machine.node.startsWith('v'))
  for (const e of d.settings.engines) {
    const s = d.summary[e] ?? {}
    t.ok(Number.isInteger(s['fired']) && Number.isInteger(s['falseAlerts']), `${e}: counts`)
    for (const k of ['fireE2eMs', 'fireEngineMs', 'resolveE2eMs', 'resolveEngineMs', 'evalToReceiveMs'])
      t.ok(isNumberOrNull(s[k]), `${e}: ${k} is a number or null`)
    t.ok(
      d.trials.every(tr => tr.engines[e] !== undefined),
      `${e}: a record per trial`,
    )
  }

  const s = JSON.parse(readFileSync(scaleOut, 'utf8')) as {
    benchmark: string
    settings: { engines: string[]; layouts: string[] }
    summary: Record<string, Record<string, Record<string, unknown>>>
    runs: Array<Record<string, unknown>>
  }
  t.equal(s.benchmark, 'scale')
  t.equal(s.runs.length, s.settings.engines.length * s.settings.layouts.length)
  for (const layout of s.settings.layouts) {
    for (const e of s.settings.engines) {
      const x = s.summary[layout]?.[e] ?? {}
      for (const k of [
        'cpuSecondsPerMinute',
        'peakRssMiB',
        'prometheusCpuSecondsPerMinute',
        'evaluations',
        'expectedEvaluations',
        'missedIterations',
      ]) {
        t.ok(isNumberOrNull(x[k]), `${layout}/${e}: ${k} is a number`)
      }
      t.ok((x['peakRssMiB'] as number) > 0, `${layout}/${e}: RSS read from /proc`)
    }
  }

  // The generator fills the marked sections of a copy of docs/benchmarks.md.
  const doc = join(dir, 'benchmarks.md')
  copyFileSync(join(ROOT, 'docs', 'benchmarks.md'), doc)
  const report = await runNode(
    [
      join(ROOT, 'bench', 'report.mjs'),
      '--allow-smoke',
      '--detection',
      detectionOut,
      '--scale',
      scaleOut,
      '--action',
      actionOut,
      '--webhook',
      join(dir, 'none.json'),
      '--doc',
      doc,
    ],
    30_000,
  )
  t.equal(report.code, 0, report.stderr)
  const text = readFileSync(doc, 'utf8')
  t.match(text, /\| engine \| fired \|/, 'detection table')
  t.match(text, /\| layout \| engine \| CPU-s\/min \|/, 'scale table')
  t.match(text, /\| target \(issue 6\) \|/, 'targets table')
  t.match(text, /\| trials \| median \| p99 \|/, 'action-latency table')
  t.notMatch(text, /_No detection results yet/)
  const refused = await runNode(
    [join(ROOT, 'bench', 'report.mjs'), '--detection', detectionOut, '--scale', scaleOut, '--doc', doc],
    30_000,
  )
  t.not(refused.code, 0, 'smoke results are not written into the docs by accident')
})

t.test('the webhook benchmark smoke run writes a well-formed result', async t => {
  // bench/webhook.mjs runs the built daemon (no Prometheus needed).
  if (!(await ready(t, []))) return
  // One test directory: every t.testdir() call would empty it again.
  const dir = t.testdir()
  const out = join(dir, 'webhook.json')
  const w = await benchResult<{
    benchmark: string
    smoke: boolean
    machine: { nproc: number; node: string }
    settings: { alertsPerNotification: number; mode: string; connections: number }
    targets: { requestsPerSecond: number; p99Ms: number; met: Record<string, unknown> }
    summary: {
      requestsPerSecond: number
      requestsTotal: number
      latencyMs: Record<string, unknown>
      non2xx: number
      errors: number
      served200: number
    }
  }>(t, 'webhook.mjs', ['--smoke'], out, 120_000)
  if (w === undefined) return
  t.equal(w.benchmark, 'webhook')
  t.equal(w.smoke, true)
  t.ok(w.machine.nproc >= 1 && w.machine.node.startsWith('v'))
  t.match(w.settings, { alertsPerNotification: 5, mode: 'dry-run' })
  t.ok(w.summary.requestsTotal > 0 && w.summary.requestsPerSecond > 0, 'requests were answered')
  t.equal(w.summary.non2xx, 0, 'every request was answered 200')
  t.equal(w.summary.errors, 0)
  t.ok(w.summary.served200 >= w.summary.requestsTotal, "rollguard's own metrics count at least the client's requests")
  for (const k of ['p50', 'p90', 'p99', 'max']) t.ok(isNumberOrNull(w.summary.latencyMs[k]), `latency ${k}`)
  t.same(Object.keys(w.targets.met).sort(), ['p99Ms', 'requestsPerSecond'])
  // The docs generator reads this shape: its webhook table and target row come out of it.
  const doc = join(dir, 'benchmarks.md')
  copyFileSync(join(ROOT, 'docs', 'benchmarks.md'), doc)
  const none = join(dir, 'none.json')
  const report = await runNode(
    [
      join(ROOT, 'bench', 'report.mjs'),
      '--allow-smoke',
      '--detection',
      none,
      '--scale',
      none,
      '--action',
      none,
      '--webhook',
      out,
      '--doc',
      doc,
    ],
    30_000,
  )
  t.equal(report.code, 0, report.stderr)
  const text = readFileSync(doc, 'utf8')
  t.match(text, /\| requests\/s \| p50 \| p99 \| max \|/, 'webhook table')
  t.match(text, /\| webhook ≥ 5,000 req\/s, p99 ≤ 20 ms \| \d+ req\/s, p99 \d+ ms \|/, 'webhook target row')
})

t.test('the memory soak smoke run writes a well-formed result and its docs section', async t => {
  if (!(await ready(t, ['prometheus', 'prometheus-alertmanager']))) return
  const dir = t.testdir()
  const out = join(dir, 'soak.json')
  const k = await benchResult<{
    benchmark: string
    smoke: boolean
    settings: { rules: number; sampleEverySeconds: number; settledAfterSeconds: number }
    summary: {
      settledSamples: number
      rss: Record<string, unknown> | null
      heapFloor: Record<string, unknown> | null
      met: Record<string, unknown>
    }
    totals: {
      reloads: number
      reloadFailures: number
      webhookRequests: number
      webhookStatuses: Record<string, number>
      evaluations: number
    }
    samples: Array<Record<string, unknown>>
  }>(t, 'soak.mjs', ['--smoke'], out, 200_000)
  if (k === undefined) return
  t.equal(k.benchmark, 'soak')
  t.equal(k.smoke, true)
  t.equal(k.settings.rules, 50)
  t.ok(k.samples.length >= 2, 'samples were taken')
  for (const s of k.samples) {
    t.ok((s['rssMiB'] as number) > 0, 'RSS read from /proc')
    t.ok((s['heapFloorMiB'] as number) > 0, "heap floor read from rollguard's /metrics")
    t.ok((s['openFds'] as number) > 0, 'open descriptors counted')
    t.ok(isNumberOrNull(s['eventLoopP99Ms']), 'event-loop delay is a number')
  }
  t.ok(k.totals.reloads >= 1, 'reloaded at least once')
  t.equal(k.totals.reloadFailures, 0, 'every reload succeeded')
  t.ok(
    k.totals.webhookRequests > 0 && (k.totals.webhookStatuses['200'] ?? 0) > 0,
    'webhook notifications were answered',
  )
  t.ok(k.totals.evaluations > 0, 'rules were evaluated')
  t.equal(k.summary.settledSamples, k.samples.length, 'a smoke run summarizes every sample (no windows to wait for)')
  for (const key of ['meanMiB', 'bandPercent', 'slopeMiBPer10Min'])
    t.ok(isNumberOrNull(k.summary.rss?.[key]), `rss.${key}`)
  t.ok(isNumberOrNull(k.summary.heapFloor?.['slopeMiBPer10Min']), 'heap floor slope')
  t.same(Object.keys(k.summary.met).sort(), ['heapFloor', 'rss'])

  const doc = join(dir, 'benchmarks.md')
  copyFileSync(join(ROOT, 'docs', 'benchmarks.md'), doc)
  const none = join(dir, 'none.json')
  const report = await runNode(
    [
      join(ROOT, 'bench', 'report.mjs'),
      '--allow-smoke',
      '--detection',
      none,
      '--scale',
      none,
      '--action',
      none,
      '--webhook',
      none,
      '--soak',
      out,
      '--doc',
      doc,
    ],
    30_000,
  )
  t.equal(report.code, 0, report.stderr)
  const text = readFileSync(doc, 'utf8')
  t.match(text, /\| target \(issue 12\) \| measured/, 'soak targets table')
  t.match(text, /RSS \(MiB\) over the run[\s\S]*```text\n[\s\S]*┤[\s\S]*```/, 'RSS chart')
  t.notMatch(text, /_No soak results yet/)
})

t.test(
  'the backtest benchmark smoke run backfills, replays, finds the injected incidents and writes its docs section',
  async t => {
    if (!(await ready(t, ['prometheus', 'promtool']))) return
    const withVmalert = hasBinary('vmalert')
    if (!withVmalert)
      t.comment('vmalert is not installed (bash scripts/install-system-deps.sh --with-vmalert): smoke run without it')
    const dir = t.testdir()
    const out = join(dir, 'backtest.json')
    const bench = await runNode(
      [
        join(ROOT, 'bench', 'backtest.mjs'),
        '--smoke',
        '--out',
        out,
        '--engines',
        withVmalert ? 'rollguard,vmalert' : 'rollguard',
      ],
      200_000,
    )
    t.equal(bench.code, 0, `backtest smoke run exits 0\n${bench.stderr.slice(-3000)}`)
    if (bench.code !== 0) return
    const b = JSON.parse(readFileSync(out, 'utf8')) as {
      benchmark: string
      smoke: boolean
      machine: { nproc: number; node: string }
      settings: {
        deployments: number
        hours: number
        slots: number
        series: number
        samples: number
        engines: string[]
        trials: number
        incidents: Array<{ alert: string | null }>
      }
      summary: Record<string, Record<string, unknown>>
      targets: { wallSeconds: number; peakRssMiB: number; met: Record<string, unknown> }
      runs: Array<{
        engine: string
        exit: unknown
        firingIntervals: number | null
        check: { ok: boolean; problems: string[] }
        rangeQueries: number
      }>
    }
    t.equal(b.benchmark, 'backtest')
    t.equal(b.smoke, true)
    t.ok(b.machine.nproc >= 1 && b.machine.node.startsWith('v'))
    t.match(b.settings, { deployments: 20, hours: 1, slots: 60 })
    t.ok(b.settings.series >= 20 * 13 && b.settings.samples > 0, 'the TSDB holds the generated series')
    const expected = b.settings.incidents.filter(i => i.alert !== null).length
    t.equal(expected, 4, 'one incident per rule, and one below the minimum evidence')
    t.equal(b.runs.length, b.settings.engines.length * b.settings.trials)
    for (const r of b.runs) {
      t.equal(r.exit, 0, `${r.engine} exits 0`)
      t.ok(r.rangeQueries > 0, `${r.engine}: Prometheus answered its range queries`)
    }
    const rollguard = b.runs.find(r => r.engine === 'rollguard')
    t.same(
      rollguard?.check,
      { ok: true, firingIntervals: expected, expected, problems: [] },
      'rollguard finds every injected incident and nothing else',
    )
    for (const e of b.settings.engines) {
      const s = b.summary[e] ?? {}
      for (const k of ['wallSeconds', 'peakRssMiB', 'prometheusCpuSeconds', 'rangeQueries'])
        t.ok(isNumberOrNull(s[k]) && s[k] !== null, `${e}: ${k} is a number`)
      t.ok((s['peakRssMiB'] as number) > 0, `${e}: peak RSS measured`)
    }
    t.same(Object.keys(b.targets.met).sort(), ['peakRssMiB', 'wallSeconds'])

    const doc = join(dir, 'benchmarks.md')
    copyFileSync(join(ROOT, 'docs', 'benchmarks.md'), doc)
    const none = join(dir, 'none.json')
    const report = await runNode(
      [
        join(ROOT, 'bench', 'report.mjs'),
        '--allow-smoke',
        '--detection',
        none,
        '--scale',
        none,
        '--action',
        none,
        '--webhook',
        none,
        '--backtest',
        out,
        '--doc',
        doc,
      ],
      30_000,
    )
    t.equal(report.code, 0, report.stderr)
    const text = readFileSync(doc, 'utf8')
    t.match(text, /\| engine \| wall s \(min–max\) \| peak RSS MiB \|/, 'backtest table')
    t.match(text, /\| backtest wall ≤ 30 s \| [\d.]+ s \| (met|\*\*missed\*\*) \|/, 'backtest target row')
    t.notMatch(text, /_No backtest results yet/)
  },
)

t.test('the sharding benchmark splits the groups between two replicas and writes a well-formed result', async t => {
  // bench/sharding.mjs runs the built daemon and the fake API server that holds the member Leases.
  if (!(await ready(t, ['prometheus']))) return
  const dir = t.testdir()
  const out = join(dir, 'sharding.json')
  const groups = 8
  const args = [
    ...['--groups', String(groups), '--interval', '1s', '--warmup', '3s', '--measure', '5s'],
    ...['--replicas', '1,2', '--trials', '2'],
  ]
  const s = await benchResult<{
    benchmark: string
    groups: number
    rules: number
    trials: number
    summary: Array<{
      replicas: number
      trials: number
      cpuSecondsPerMinutePerReplica: number
      peakRssMiBPerReplica: number
      evaluationsPerMinuteAllReplicas: number
      missedIterationsInWindows: number
    }>
    results: Array<{
      trial: number
      replicas: number
      settledAfterS: number
      perReplica: Array<{
        cpuSecondsPerMinute: number
        peakRssMiB: number
        evaluationsPerMinute: number
        groupsOwned: number
      }>
    }>
  }>(t, 'sharding.mjs', args, out, 200_000)
  if (s === undefined) return
  t.equal(s.benchmark, 'sharding')
  t.match(s, { groups, rules: groups * 4 })
  t.same(
    s.results.map(r => [r.trial, r.replicas, r.perReplica.length]),
    [
      [0, 1, 1],
      [0, 2, 2],
      [1, 1, 1],
      [1, 2, 2],
    ],
    'one result per trial and replica count, one row per replica',
  )
  t.equal(s.trials, 2)
  t.same(
    s.summary.map(x => [x.replicas, x.trials]),
    [
      [1, 2],
      [2, 2],
    ],
    'a summary per replica count over both trials',
  )
  for (const x of s.summary) {
    t.ok(x.cpuSecondsPerMinutePerReplica > 0 && x.peakRssMiBPerReplica > 0, `${x.replicas} replica(s): medians`)
    t.ok(x.evaluationsPerMinuteAllReplicas > 0, `${x.replicas} replica(s): evaluations summed over the replicas`)
  }
  for (const r of s.results) {
    const owned = r.perReplica.reduce((sum, p) => sum + p.groupsOwned, 0)
    t.equal(owned, groups, `${r.replicas} replica(s): every group owned exactly once`)
    for (const p of r.perReplica) {
      t.ok(p.cpuSecondsPerMinute > 0 && p.peakRssMiB > 0, `${r.replicas} replica(s): CPU and RSS measured`)
      if (p.groupsOwned > 0)
        t.ok(p.evaluationsPerMinute > 0, `${r.replicas} replica(s): a replica evaluates its groups`)
    }
  }
})

t.test('the memory floor benchmark measures every process and writes a well-formed result', async t => {
  // bench/floor.mjs runs the built daemon and vmalert with no rules, and Node.js processes loading its libraries.
  if (!(await ready(t, ['vmalert']))) return
  const out = join(t.testdir(), 'floor.json')
  const s = await benchResult<{
    benchmark: string
    trials: number
    summary: Array<{ process: string; peakRssMiB: number; peakRssMiBTrials: number[]; rssMiB: number }>
    results: Array<{ trial: number; process: string; peakRssMiB: number }>
  }>(t, 'floor.mjs', ['--trials', '2', '--settle', '2s'], out, 120_000)
  if (s === undefined) return
  t.equal(s.benchmark, 'floor')
  t.equal(s.trials, 2)
  const names = ['node', 'node-http', 'fastify', 'libraries', 'libraries-without-fastify-zod', 'rollguard', 'vmalert']
  t.same(
    s.summary.map(r => r.process),
    names,
    'one summary row per process',
  )
  t.same(
    s.results.map(r => `${r.trial} ${r.process}`),
    [...names.map(n => `0 ${n}`), ...[...names.slice(1), names[0]].map(n => `1 ${n}`)],
    'each trial measures every process, the order rotated',
  )
  for (const row of s.summary) {
    t.equal(row.peakRssMiBTrials.length, 2, `${row.process}: a peak per trial`)
    t.ok(row.rssMiB > 0 && row.rssMiB <= row.peakRssMiB, `${row.process}: RSS within its peak`)
  }
  // Relations that hold with tens of MiB to spare, so they check what was measured, not its noise.
  const peak = (name: string) => s.summary.find(r => r.process === name)?.peakRssMiB ?? Number.NaN
  t.ok(peak('vmalert') < peak('node'), 'vmalert (Go) below Node.js with nothing loaded')
  t.ok(peak('node') < peak('fastify'), 'fastify above Node.js alone')
  t.ok(peak('fastify') < peak('libraries'), 'the libraries together above fastify alone')
  t.ok(
    peak('libraries-without-fastify-zod') < peak('libraries'),
    'the libraries without fastify and zod below all of them',
  )
  t.ok(peak('node') < peak('rollguard'), 'rollguard above Node.js alone')
})
