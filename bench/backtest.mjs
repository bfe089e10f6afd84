#!/usr/bin/env node
// Backtest benchmark (issue 11). 24 hours of history for 1,000 Deployments (13 series per pod, scraped every 30 s,
// with bad rollouts; bench/lib/backtest-data.mjs) written as OpenMetrics text, backfilled into a fresh TSDB with
// `promtool tsdb create-blocks-from openmetrics`, served by a real Prometheus on a loopback port; then the four
// default rules (rules/rollback-triggers.yml, unchanged) replayed over the window at a 1-minute step by
//   rollguard   node dist/main.js backtest --from … --to … --step 1m --rules … --prometheus-url … --output json
//   vmalert     vmalert -replay.timeFrom … -replay.timeTo … (its results remote-written to a counting sink)
// each as its own process, several trials in alternating order. Measured per run: wall time (spawn to exit), peak
// RSS and CPU (GNU time's rusage of the process, or VmHWM polled from /proc without it), Prometheus's CPU
// meanwhile and the range queries it answered, and everything else the machine ran meanwhile (noise).
// Checked per run: every injected bad rollout shows up as a firing interval of its rule, starting and ending
// when it should, and nothing else fires (a run that found nothing would have measured nothing).
//
//   npm run build && node bench/backtest.mjs            # full run → bench/results/backtest.json
//   node bench/backtest.mjs --smoke --out /tmp/b.json   # 20 Deployments × 1 h, one trial
//   node bench/backtest.mjs --keep-tsdb /tmp/tsdb ...   # keep the generated TSDB; --reuse-tsdb /tmp/tsdb skips generating
//   node bench/backtest.mjs --profile DIR --engines rollguard --trials 1   # rollguard under node --cpu-prof
//   node bench/backtest.mjs --dist /tmp/dist-before --engines rollguard     # another build of rollguard (its main.js)
//   node bench/backtest.mjs --nice=-10                 # (root) Prometheus and the engines ahead of other work on a shared machine
//
// Options:
//   --smoke            20 Deployments × 1 h, one trial, shorter bounds, marked as a smoke run: checks the script works
//   --deployments N    Deployments in the generated history, 5..5000 (default 1000; 20 with --smoke)
//   --hours H          hours of history, up to 168 (default 24; 1 with --smoke)
//   --step D           the replay's evaluation step, whole seconds or minutes (default 1m)
//   --trials N         runs per engine, in alternating order (default 3; 1 with --smoke)
//   --engines LIST     comma-separated: rollguard, vmalert (default rollguard,vmalert)
//   --out FILE         the result file (default bench/results/backtest.json)
//   --profile DIR      also write rollguard's CPU profiles there (node --cpu-prof), one directory per trial
//   --keep-logs DIR    write Prometheus's and the engines' logs and output there (default: a temporary directory)
//   --keep-tsdb DIR    generate the TSDB there (an empty or new directory) and keep it
//   --reuse-tsdb DIR   replay a TSDB kept with --keep-tsdb (same --deployments and --hours) instead of generating one
//   --dist DIR         measure the rollguard build in DIR (its main.js; default dist/)
//   --nice N           nice value of Prometheus, the engines and this script, -20..19 (default 0; below 0 needs root)
import { execFile, spawn } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  DIST_MAIN,
  ROOT,
  RESULTS,
  cliArgs,
  cpuSeconds,
  fetchJson,
  fetchText,
  log,
  machineBusySeconds,
  machineInfo,
  median,
  memoryKiB,
  round,
  runBounded,
  sleep,
  writeJson,
} from './lib/common.mjs'
import {
  BLOCK_MS,
  RULE_FOR_MS,
  SERIES_PER_POD,
  blocksOf,
  compareFiring,
  createWriter,
  planHistory,
} from './lib/backtest-data.mjs'
import { startRemoteWriteSink } from './lib/remote-write-sink.mjs'

const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    smoke: { type: 'boolean', default: false },
    deployments: { type: 'string' },
    hours: { type: 'string' },
    step: { type: 'string', default: '1m' },
    trials: { type: 'string' },
    engines: { type: 'string', default: 'rollguard,vmalert' },
    out: { type: 'string' },
    profile: { type: 'string' },
    'keep-logs': { type: 'string' },
    'keep-tsdb': { type: 'string' },
    'reuse-tsdb': { type: 'string' },
    dist: { type: 'string' },
    nice: { type: 'string', default: '0' },
  },
})
const SMOKE = args.smoke
const N = Number(args.deployments ?? (SMOKE ? 20 : 1000))
const HOURS = Number(args.hours ?? (SMOKE ? 1 : 24))
const TRIALS = Number(args.trials ?? (SMOKE ? 1 : 3))
const STEP = args.step
const STEP_MS = (() => {
  const m = /^(\d+)(s|m)$/.exec(STEP)
  if (m === null) fail(`--step is whole seconds or minutes (30s, 1m), not ${STEP}`)
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000)
})()
const SCRAPE_MS = 30_000
// Scheduling priority (nice value) of Prometheus and the measured engines; below 0 (root only) puts them ahead of
// whatever else the shared machine runs, which otherwise decides the wall time more than the engines do.
const NICE = Number(args.nice)
const ENGINES = args.engines
  .split(',')
  .map(s => s.trim())
  .filter(s => s !== '')
const OUT = args.out ?? join(RESULTS, 'backtest.json')
const RULES = join(ROOT, 'rules', 'rollback-triggers.yml')
// Another build of rollguard to measure (e.g. a copy of dist/ before a change); the helpers still come from dist/.
const MAIN = args.dist === undefined ? DIST_MAIN : join(args.dist, 'main.js')
const TARGETS = { wallSeconds: 30, peakRssMiB: 300 }
// Per run: generous, so a slow machine still finishes (a run over its bound is stopped and recorded as failed).
const RUN_TIMEOUT_MS = SMOKE ? 60_000 : 600_000
const DEADLINE_MS = (SMOKE ? 180 : 900) * 1000 + TRIALS * ENGINES.length * RUN_TIMEOUT_MS

if (!Number.isInteger(N) || N < 5 || N > 5000) fail('--deployments must be 5..5000')
if (!(HOURS > 0 && HOURS <= 24 * 7)) fail('--hours must be in (0, 168]')
if (!Number.isInteger(TRIALS) || TRIALS < 1) fail('--trials must be a positive integer')
if (!Number.isInteger(NICE) || NICE < -20 || NICE > 19) fail('--nice must be an integer in -20..19')
for (const e of ENGINES) if (e !== 'rollguard' && e !== 'vmalert') fail(`unknown engine ${e} (rollguard, vmalert)`)

const execFileAsync = promisify(execFile)
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const iso = ms => new Date(ms).toISOString()
const withIso = f => ({
  alert: f.alert,
  namespace: f.namespace,
  deployment: f.deployment,
  start: iso(f.startMs),
  end: f.endMs === null ? null : iso(f.endMs),
})

// ---- data --------------------------------------------------------------------------------------------------

/**
 * buildTsdb writes the history one 2-hour block at a time and backfills each with promtool while the next is
 * generated (one promtool at a time); each text file is removed once converted.
 */
async function buildTsdb(dist, plan, tsdb, work) {
  const promtool = dist.findBinary(['promtool'], 'PROMTOOL_BIN')
  const blocks = blocksOf(plan)
  const writer = createWriter(plan)
  mkdirSync(tsdb, { recursive: true })
  const started = performance.now()
  let textBytes = 0
  let pending = Promise.resolve()
  for (const [i, block] of blocks.entries()) {
    const file = join(work, `block-${i}.om`)
    await writer.writeBlock(block, file)
    textBytes += statSync(file).size
    await pending
    pending = execFileAsync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, tsdb], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    })
      .then(() => rmSync(file, { force: true }))
      .catch(err => {
        throw new Error(`promtool failed on ${file} (${iso(block.startMs)}): ${err.stderr ?? err.message}`)
      })
    pending.catch(() => {}) // awaited after the next block is written; a failure meanwhile is not unhandled
    log(`backtest: block ${i + 1}/${blocks.length} (${iso(block.startMs)}) written, ${writer.samples} samples so far`)
  }
  await pending
  const tsdbBytes = readdirSync(tsdb, { recursive: true }).reduce((n, f) => {
    const s = statSync(join(tsdb, String(f)))
    return s.isFile() ? n + s.size : n
  }, 0)
  return {
    samples: writer.samples,
    blocks: blocks.length,
    textBytes,
    tsdbBytes,
    seconds: round((performance.now() - started) / 1000, 1),
  }
}

/** startPrometheus serves the TSDB: no scrape targets, retention far beyond the data, no compaction of the 2 h blocks. */
async function startPrometheus(dist, tsdb, logFile, work) {
  const port = await dist.freePort()
  const config = join(work, 'prometheus.yml')
  writeFileSync(config, 'global: {}\n')
  const proc = await dist.startProcess(
    dist.findBinary(['prometheus'], 'PROMETHEUS_BIN'),
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${tsdb}`,
      '--storage.tsdb.retention.time=3650d',
      // Backfilled 2 h blocks stay as they are: no compaction running in the background while engines are measured.
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=2h',
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { name: 'prometheus', logFile, cwd: work },
  )
  const url = `http://127.0.0.1:${port}`
  if (NICE !== 0) setPriority(proc.pid, NICE)
  await dist.waitForHttp(`${url}/-/ready`, { timeoutMs: 120_000, process: proc })
  return { url, pid: proc.pid, stop: () => proc.stop(30_000) }
}

async function instant(url, expr, atMs) {
  const body = new URLSearchParams({ query: expr, time: String(atMs / 1000) })
  const r = await fetchJson(`${url}/api/v1/query`, { method: 'POST', body }, 120_000)
  return Number(r.data.result[0]?.value[1] ?? Number.NaN)
}

/** queryRangeCount reads prometheus_http_requests_total{handler="/api/v1/query_range"} (all codes). */
async function queryRangeCount(url) {
  const text = await fetchText(`${url}/metrics`, 20_000)
  let n = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('prometheus_http_requests_total{') && line.includes('handler="/api/v1/query_range"'))
      n += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return n
}

// ---- measured runs -----------------------------------------------------------------------------------------

/**
 * runMeasured runs one command to its end: wall time from spawn to exit; peak RSS and CPU from GNU time (the
 * kernel's rusage of the process: exact), or VmHWM polled every 20 ms from /proc when GNU time is missing.
 */
async function runMeasured(dist, cmd, argv, { stdoutFile, stderrFile, timeFile, cwd, env }) {
  const out = openSync(stdoutFile, 'w')
  const err = openSync(stderrFile, 'w')
  // nice(1) execs the command: the measured process keeps its pid and its rusage.
  const [c, a] = NICE === 0 ? [cmd, argv] : ['nice', ['-n', String(NICE), cmd, ...argv]]
  const [bin, binArgs] = GNU_TIME === undefined ? [c, a] : [GNU_TIME, ['-f', '%e %M %U %S', '-o', timeFile, c, ...a]]
  const started = performance.now()
  const child = spawn(bin, binArgs, { cwd, env, stdio: ['ignore', out, err] })
  closeSync(out)
  closeSync(err)
  // The measured process: GNU time's only child, or the child itself.
  const measuredPid = () => {
    if (GNU_TIME === undefined) return child.pid
    try {
      return (
        Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]) ||
        undefined
      )
    } catch {
      return undefined
    }
  }
  let polledHwm = 0
  let pid
  const poll = setInterval(() => {
    pid ??= measuredPid()
    if (pid === undefined) return
    try {
      polledHwm = Math.max(polledHwm, memoryKiB(pid).hwm || 0)
    } catch {
      // exited
    }
  }, 20)
  const killAll = () => {
    for (const p of [measuredPid() ?? pid, child.pid]) {
      try {
        if (p !== undefined) process.kill(p, 'SIGKILL')
      } catch {
        // gone
      }
    }
  }
  const unregister = dist.onExitSync(killAll)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killAll()
  }, RUN_TIMEOUT_MS)
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (c, sig) => resolve(c ?? sig))
  })
  const wallSeconds = (performance.now() - started) / 1000
  clearTimeout(timer)
  clearInterval(poll)
  unregister()
  let peakRssMiB = polledHwm / 1024
  let cpuSeconds = null
  let peakSource = 'VmHWM polled every 20 ms'
  if (GNU_TIME !== undefined && !timedOut) {
    // GNU time prints "Command exited with non-zero status N" first when the command failed.
    const line = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number)
    const [, maxKiB, user, sys] = line
    peakRssMiB = maxKiB / 1024
    cpuSeconds = user + sys
    peakSource = 'rusage (GNU time)'
  }
  return { code: timedOut ? 'timeout' : code, wallSeconds, peakRssMiB, cpuSeconds, peakSource }
}

// ---- results and checks ------------------------------------------------------------------------------------

/** fromRollguard reads firing intervals from `rollguard backtest --output json`. */
function fromRollguard(text) {
  const j = JSON.parse(text)
  const firing = []
  for (const a of j.alerts) {
    for (const i of a.intervals) {
      if (i.state !== 'firing') continue
      firing.push({
        alert: a.alertname,
        namespace: a.labels.namespace,
        deployment: a.labels.deployment,
        startMs: Date.parse(i.start),
        endMs: i.end === null ? null : Date.parse(i.end),
      })
    }
  }
  const errors = j.groups.flatMap(g => Object.entries(g.errors).map(([rule, e]) => `${rule}: ${e}`))
  return { firing, errors, alerts: j.alerts.length, slots: j.groups.reduce((n, g) => n + g.slots, 0) }
}

/** fromVmalert turns the ALERTS{alertstate="firing"} samples vmalert wrote into intervals (a gap > step ends one). */
function fromVmalert(sinkFiring) {
  const firing = intervalsOf(sinkFiring)
  return { firing, errors: [], alerts: sinkFiring.size, slots: null }
}

function intervalsOf(byAlert) {
  const firing = []
  for (const [key, times] of byAlert) {
    const [alert, namespace, deployment] = key.split('\t')
    const ts = [...new Set(times)].sort((a, b) => a - b)
    let start = ts[0]
    for (let i = 1; i <= ts.length; i++) {
      if (i === ts.length || ts[i] - ts[i - 1] > STEP_MS) {
        // Resolved at the next slot after the last firing sample, as rollguard's interval end.
        firing.push({ alert, namespace, deployment, startMs: start, endMs: ts[i - 1] + STEP_MS })
        start = ts[i]
      }
    }
  }
  return firing
}

/**
 * check compares firing intervals with the injected incidents: each bad rollout fires its rule once, starting
 * between `for` and `for` + 5 min after the rollout (range windows, scrape phase, step) and resolving within
 * 8 min after the rollback (range windows; the bad pod's series are still visible for the 5 min lookback — there
 * are no staleness markers in backfilled data); nothing else fires.
 */
function check(plan, firing) {
  const problems = []
  const matched = new Set()
  for (const inc of plan.incidents) {
    const mine = firing.filter(f => f.namespace === inc.namespace && f.deployment === inc.deployment)
    if (inc.alert === null) {
      for (const f of mine)
        problems.push(
          `${inc.namespace}/${inc.deployment} (${inc.kind}, below the minimum evidence) fired ${f.alert} at ${iso(f.startMs)}`,
        )
      mine.forEach(f => matched.add(f))
      continue
    }
    const hits = mine.filter(f => f.alert === inc.alert)
    hits.forEach(f => matched.add(f))
    if (hits.length !== 1) {
      problems.push(
        `${inc.namespace}/${inc.deployment} (${inc.kind} ${iso(inc.startMs)}–${iso(inc.endMs)}): ${hits.length} firing intervals of ${inc.alert}, expected 1`,
      )
      continue
    }
    const f = hits[0]
    const forMs = RULE_FOR_MS[inc.alert]
    const startLate = f.startMs - inc.startMs - forMs
    if (startLate < -STEP_MS || startLate > 5 * 60_000)
      problems.push(
        `${inc.alert} ${inc.namespace}/${inc.deployment}: fired at ${iso(f.startMs)}, rollout at ${iso(inc.startMs)} + for ${forMs / 60_000}m`,
      )
    const endLate = f.endMs === null ? Number.POSITIVE_INFINITY : f.endMs - inc.endMs
    if (endLate < 0 || endLate > 8 * 60_000)
      problems.push(
        `${inc.alert} ${inc.namespace}/${inc.deployment}: resolved at ${f.endMs === null ? 'never' : iso(f.endMs)}, rollback at ${iso(inc.endMs)}`,
      )
  }
  for (const f of firing)
    if (!matched.has(f))
      problems.push(`unexpected: ${f.alert} ${f.namespace}/${f.deployment} firing from ${iso(f.startMs)}`)
  return {
    ok: problems.length === 0,
    firingIntervals: firing.length,
    expected: plan.incidents.filter(i => i.alert !== null).length,
    problems,
  }
}

// ---- main --------------------------------------------------------------------------------------------------

await runBounded('backtest', DEADLINE_MS, async dist => {
  const machine = machineInfo()
  const work = mkdtempSync(join(tmpdir(), 'rollguard-bench-backtest-'))
  const removeWork = dist.onExitSync(() => rmSync(work, { recursive: true, force: true }))
  const logs = args['keep-logs'] ?? work
  mkdirSync(logs, { recursive: true })
  if (args.profile !== undefined) mkdirSync(args.profile, { recursive: true })
  if (ENGINES.includes('vmalert')) dist.findBinary(['vmalert'], 'VMALERT_BIN') // fail early with the install hint
  // This process too (the remote-write sink vmalert writes to runs here), and, with the kernel's autogroup
  // scheduling (where nice values only order processes within one session), this session's group: every process
  // started from here inherits both.
  // The group's nice value outlives this process (it belongs to the session): it is put back at exit.
  let autogroup = null
  if (NICE !== 0) {
    setPriority(process.pid, NICE)
    try {
      const before = /nice (-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'))?.[1] ?? '0'
      writeFileSync('/proc/self/autogroup', String(NICE))
      dist.onExitSync(() => writeFileSync('/proc/self/autogroup', before))
      autogroup = readFileSync('/proc/self/autogroup', 'utf8').trim()
    } catch (err) {
      log(
        `backtest: cannot set the autogroup's nice value (${err.code ?? err.message}): the priority applies within this session only`,
      )
    }
  }

  // The window: whole minutes, ending at the last full hour (the data stays in the past).
  let plan
  let prep
  const tsdb = args['reuse-tsdb'] ?? args['keep-tsdb'] ?? join(work, 'tsdb')
  if (args['reuse-tsdb'] !== undefined) {
    const saved = JSON.parse(readFileSync(join(tsdb, 'bench-plan.json'), 'utf8'))
    plan = planHistory({ deployments: saved.deployments, fromMs: saved.fromMs, toMs: saved.toMs, scrapeMs: SCRAPE_MS })
    if (saved.deployments !== N || saved.toMs - saved.fromMs !== HOURS * 3600_000)
      throw new Error(
        `${tsdb} holds ${saved.deployments} Deployments × ${(saved.toMs - saved.fromMs) / 3600_000} h, not ${N} × ${HOURS} h`,
      )
    prep = saved.prep
    log(`backtest: reusing ${tsdb} (${iso(plan.fromMs)} – ${iso(plan.toMs)})`)
  } else {
    const toMs = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000
    plan = planHistory({ deployments: N, fromMs: toMs - HOURS * 3600_000, toMs, scrapeMs: SCRAPE_MS })
    if (existsSync(tsdb) && readdirSync(tsdb).length > 0) throw new Error(`${tsdb} is not empty`)
    log(
      `backtest: generating ${N} Deployments × ${HOURS} h (${iso(plan.fromMs)} – ${iso(plan.toMs)}), ${plan.incidents.length} incidents, into ${tsdb}`,
    )
    prep = await buildTsdb(dist, plan, tsdb, work)
    writeFileSync(
      join(tsdb, 'bench-plan.json'),
      JSON.stringify({ deployments: N, fromMs: plan.fromMs, toMs: plan.toMs, prep }),
    )
    log(
      `backtest: ${prep.samples} samples, ${prep.blocks} blocks, ${round(prep.textBytes / 1024 ** 2, 0)} MiB of text → ${round(prep.tsdbBytes / 1024 ** 2, 1)} MiB of TSDB in ${prep.seconds} s`,
    )
  }

  const prom = await startPrometheus(dist, tsdb, join(logs, 'prometheus.log'), work)
  const sink = await startRemoteWriteSink()
  try {
    // Wait (bounded) until the window answers at both ends, then read every sample once so that neither engine
    // pays for cold pages.
    const deadline = Date.now() + 60_000
    let seriesAtStart = 0
    let seriesAtEnd = 0
    for (;;) {
      seriesAtStart = await instant(prom.url, 'count(rollguard_probe_success)', plan.fromMs)
      seriesAtEnd = await instant(prom.url, 'count(rollguard_probe_success)', plan.toMs)
      if (seriesAtStart === N && seriesAtEnd === N) break
      if (Date.now() > deadline)
        throw new Error(
          `Prometheus answers ${seriesAtStart} and ${seriesAtEnd} probe series at the ends of the window, expected ${N}`,
        )
      await sleep(500)
    }
    const series = await instant(
      prom.url,
      `count(last_over_time({__name__=~".+"}[${HOURS * 60 + 20}m]))`,
      plan.dataToMs,
    )
    // Two hours at a time: one query over everything could exceed --query.max-samples.
    const warmStart = performance.now()
    const warm = new URLSearchParams({
      query: 'sum(count_over_time({__name__=~".+"}[2h]))',
      start: String((plan.dataFromMs + BLOCK_MS) / 1000),
      end: String((plan.dataToMs + BLOCK_MS) / 1000),
      step: '7200',
    })
    await fetchJson(`${prom.url}/api/v1/query_range`, { method: 'POST', body: warm }, 300_000)
    log(
      `backtest: prometheus ${prom.url} (pid ${prom.pid}) serves ${series} series; every sample read once in ${round((performance.now() - warmStart) / 1000, 1)} s`,
    )

    const from = iso(plan.fromMs)
    const to = iso(plan.toMs)
    // Per-query bound: Prometheus's own --query.timeout (2m), the only bound vmalert's queries have; rollguard's
    // default (30 s, sized for instant queries) would fail a 240-step histogram query on a busy shared machine.
    const rollguardArgs = [
      'backtest',
      `--from=${from}`,
      `--to=${to}`,
      `--step=${STEP}`,
      '--rules',
      RULES,
      '--prometheus-url',
      prom.url,
      '--prometheus-timeout',
      '2m',
      '--output',
      'json',
    ]
    const vmalertArgs = rw => [
      `-rule=${RULES}`,
      `-datasource.url=${prom.url}`,
      `-remoteWrite.url=${rw}`,
      `-replay.timeFrom=${from}`,
      `-replay.timeTo=${to}`,
      `-evaluationInterval=${STEP}`,
      // The step of its range queries (the default, 5m, would make every point a gap and nothing would fire).
      `-datasource.queryStep=${STEP}`,
      // No pause between the rules of a group (it is for chained recording rules; these are four alerts).
      '-replay.rulesDelay=0',
      '-replay.disableProgressBar',
      '-httpListenAddr=127.0.0.1:0',
    ]

    const runs = []
    for (let t = 0; t < TRIALS; t++) {
      const order = t % 2 === 0 ? ENGINES : [...ENGINES].reverse()
      for (const engine of order) {
        const name = `${engine}-${t}`
        const files = {
          stdoutFile: join(logs, `${name}.out`),
          stderrFile: join(logs, `${name}.log`),
          timeFile: join(work, `${name}.time`),
        }
        sink.reset()
        const q0 = await queryRangeCount(prom.url)
        const p0 = cpuSeconds(prom.pid)
        const m0 = machineBusySeconds()
        let measured
        if (engine === 'rollguard') {
          const nodeArgs =
            args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(args.profile, `trial-${t}`)}`]
          measured = await runMeasured(dist, process.execPath, [...nodeArgs, MAIN, ...rollguardArgs], {
            ...files,
            cwd: ROOT,
            env: { ...process.env, NODE_ENV: 'production' },
          })
        } else {
          measured = await runMeasured(dist, dist.findBinary(['vmalert'], 'VMALERT_BIN'), vmalertArgs(sink.url), {
            ...files,
            cwd: work,
            env: process.env,
          })
        }
        const promCpu = cpuSeconds(prom.pid) - p0
        const machineCpu = machineBusySeconds() - m0
        const queries = (await queryRangeCount(prom.url)) - q0
        let result
        let failure = null
        try {
          if (measured.code !== 0)
            throw new Error(`exit ${measured.code}: ${readFileSync(files.stderrFile, 'utf8').slice(-2000)}`)
          result =
            engine === 'rollguard' ? fromRollguard(readFileSync(files.stdoutFile, 'utf8')) : fromVmalert(sink.firing)
          if (result.errors.length > 0) throw new Error(`rules not replayed: ${result.errors.join('; ')}`)
        } catch (err) {
          failure = err.message
        }
        const verdict = result === undefined ? { ok: false, problems: [failure] } : check(plan, result.firing)
        const run = {
          trial: t,
          engine,
          exit: measured.code,
          failure,
          wallSeconds: round(measured.wallSeconds, 2),
          peakRssMiB: round(measured.peakRssMiB, 1),
          cpuSeconds: round(measured.cpuSeconds, 2),
          peakRssSource: measured.peakSource,
          prometheusCpuSeconds: round(promCpu, 2),
          otherCpuSeconds: round(machineCpu - promCpu - (measured.cpuSeconds ?? 0), 1),
          rangeQueries: queries,
          firingIntervals: result?.firing.length ?? null,
          remoteWrite: engine === 'vmalert' ? { ...sink.stats } : undefined,
          check: verdict,
          firing: result?.firing.map(withIso) ?? [],
          // What vmalert wrote as pending, for the alerts its check found wrong (to tell why).
          pending:
            engine === 'vmalert' && !verdict.ok
              ? intervalsOf(sink.pending)
                  .filter(p => verdict.problems.some(x => x.includes(`${p.namespace}/${p.deployment}`)))
                  .map(withIso)
              : undefined,
        }
        runs.push(run)
        log(
          `trial ${t} ${engine}: ${run.wallSeconds} s wall, peak RSS ${run.peakRssMiB} MiB, ${run.cpuSeconds} CPU-s; prometheus ${run.prometheusCpuSeconds} CPU-s for ${queries} range queries; others ${run.otherCpuSeconds} CPU-s; ${run.firingIntervals} firing intervals, check ${verdict.ok ? 'ok' : `FAILED: ${verdict.problems.join('; ')}`}`,
        )
      }
    }

    const summary = {}
    for (const engine of ENGINES) {
      const rs = runs.filter(r => r.engine === engine)
      const ok = rs.filter(r => r.exit === 0)
      const med = k => round(median(ok.map(r => r[k])), 2)
      summary[engine] = {
        runs: rs.length,
        succeeded: ok.length,
        checksPassed: rs.filter(r => r.check.ok).length,
        wallSeconds: med('wallSeconds'),
        minWallSeconds: ok.length > 0 ? Math.min(...ok.map(r => r.wallSeconds)) : null,
        maxWallSeconds: ok.length > 0 ? Math.max(...ok.map(r => r.wallSeconds)) : null,
        peakRssMiB: med('peakRssMiB'),
        maxPeakRssMiB: ok.length > 0 ? Math.max(...ok.map(r => r.peakRssMiB)) : null,
        cpuSeconds: med('cpuSeconds'),
        prometheusCpuSeconds: med('prometheusCpuSeconds'),
        otherCpuSeconds: med('otherCpuSeconds'),
        rangeQueries: med('rangeQueries'),
      }
    }
    const q = (a, b) =>
      a === null || b === null || a === undefined || b === undefined || b === 0 ? null : round(a / b, 2)
    const r = summary.rollguard
    const v = summary.vmalert
    const ratios =
      r !== undefined && v !== undefined
        ? {
            wall: q(r.wallSeconds, v.wallSeconds),
            peakRss: q(r.peakRssMiB, v.peakRssMiB),
            cpu: q(r.cpuSeconds, v.cpuSeconds),
            prometheusCpu: q(r.prometheusCpuSeconds, v.prometheusCpuSeconds),
          }
        : {}
    // Agreement between the engines: their first completed runs, whether or not they matched the incidents.
    const firstOk = engine => runs.find(x => x.engine === engine && x.exit === 0 && x.failure === null)?.firing
    const agree =
      firstOk('rollguard') !== undefined && firstOk('vmalert') !== undefined
        ? compareFiring(firstOk('rollguard'), firstOk('vmalert'))
        : null

    const result = {
      benchmark: 'backtest',
      generatedAt: new Date().toISOString(),
      smoke: SMOKE,
      machine,
      settings: {
        deployments: N,
        hours: HOURS,
        from,
        to,
        step: STEP,
        slots: Math.floor((plan.toMs - plan.fromMs) / STEP_MS),
        scrapeInterval: `${SCRAPE_MS / 1000}s`,
        seriesPerPod: SERIES_PER_POD,
        series,
        samples: prep.samples,
        blocks: prep.blocks,
        blockHours: BLOCK_MS / 3600_000,
        openMetricsMiB: round(prep.textBytes / 1024 ** 2, 0),
        tsdbMiB: round(prep.tsdbBytes / 1024 ** 2, 1),
        preparationSeconds: prep.seconds,
        incidents: plan.incidents.map(i => ({
          kind: i.kind,
          alert: i.alert,
          workload: `${i.namespace}/${i.deployment}`,
          start: iso(i.startMs),
          end: iso(i.endMs),
        })),
        rules: 'rules/rollback-triggers.yml (unchanged: 4 rules, 1 group)',
        trials: TRIALS,
        engines: ENGINES,
        rollguardCommand: `node dist/main.js ${rollguardArgs.join(' ').replace(prom.url, 'http://127.0.0.1:PORT').replace(RULES, 'rules/rollback-triggers.yml')}`,
        vmalertFlags: vmalertArgs('http://127.0.0.1:SINK').slice(3).join(' '),
        measurement:
          GNU_TIME === undefined
            ? 'wall from spawn to exit; peak RSS = VmHWM polled every 20 ms'
            : 'wall from spawn to exit; peak RSS and CPU = rusage of the process (GNU time %M, %U + %S)',
        profiled: args.profile !== undefined,
        build: args.dist === undefined ? 'dist/' : args.dist,
        nice: NICE,
        autogroup,
      },
      targets: {
        ...TARGETS,
        met:
          r === undefined
            ? null
            : {
                wallSeconds: r.wallSeconds !== null && r.wallSeconds <= TARGETS.wallSeconds,
                peakRssMiB: r.peakRssMiB !== null && r.peakRssMiB <= TARGETS.peakRssMiB,
              },
      },
      summary,
      ratios,
      agreement: agree,
      runs,
    }
    writeJson(OUT, result)
    log(`wrote ${OUT}`)
    process.stdout.write(
      `${JSON.stringify({ summary, ratios, targets: result.targets, agreement: agree === null ? null : { ...agree, alerts: undefined } }, null, 2)}\n`,
    )
    const bad = runs.filter(x => x.engine === 'rollguard' && !x.check.ok)
    if (bad.length > 0)
      throw new Error(
        `rollguard's backtest did not find the injected incidents (${bad[0].check.problems.join('; ')}): the run measured nothing`,
      )
  } finally {
    await sink.stop()
    await prom.stop()
  }
  removeWork()
  rmSync(work, { recursive: true, force: true })
})
process.exit(0)
