#!/usr/bin/env node
// Memory floor (issue 15): the peak RSS of an idle rollguard beside what it is built from, each started alone in a
// fresh process and read after the same settling time: Node.js with nothing loaded, Node's own HTTP server, fastify
// with one route listening (as rollguard builds it: without schema compilers), the libraries every rollguard
// configuration loads at start (fastify listening, zod, prom-client, pino, yaml, the PromQL parser;
// bench/lib/floor-child.mjs), the same without fastify and zod (Node's HTTP server instead), an idle rollguard
// (`groups: []`, the scale benchmark's idle layout) and an idle vmalert. It shows how much of the idle footprint is
// rollguard's own and how much the runtime and the chosen libraries cost before rollguard runs a line. Each process
// gets one /metrics request (where it serves HTTP) halfway through its settling time; the order rotates from trial
// to trial.
//
//   npm run build && node bench/floor.mjs        # ~6 min → bench/results/floor.json
//
// Options:
//   --trials N     how many times each process is measured (default 3); the summary has the medians
//   --settle D     how long each process runs before its memory is read, whole seconds (default 15s)
//   --out FILE     the result file (default bench/results/floor.json)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BENCH,
  RESULTS,
  cliArgs,
  fetchText,
  log,
  machineInfo,
  median,
  memoryKiB,
  round,
  runBounded,
  sleep,
  startRollguard,
  startVmalert,
  writeJson,
} from './lib/common.mjs'

const {
  values: args,
  fail,
  wholeSeconds,
} = cliArgs(import.meta.url, {
  options: {
    trials: { type: 'string', default: '3' },
    settle: { type: 'string', default: '15s' },
    out: { type: 'string', default: join(RESULTS, 'floor.json') },
  },
})
if (!/^[1-9]\d?$/.test(args.trials)) fail(`--trials is a whole number from 1 to 99, not ${args.trials}`)
const TRIALS = Number(args.trials)
const SETTLE_S = wholeSeconds('settle', args.settle)
if (SETTLE_S < 2) fail(`--settle is at least 2s, not ${args.settle}`)

/** The processes measured, in the order of the first trial. */
const PROCESSES = [
  { name: 'node', description: 'Node.js, nothing loaded (a timer keeps it running)' },
  { name: 'node-http', description: "Node's own HTTP server (node:http), listening" },
  {
    name: 'fastify',
    description: 'fastify with one route, listening, without schema compilers (as rollguard builds it)',
  },
  {
    name: 'libraries',
    description:
      'the libraries every configuration loads: fastify listening, zod, prom-client, pino, yaml, the PromQL parser',
  },
  {
    name: 'libraries-without-fastify-zod',
    description: "Node's own HTTP server listening, with prom-client, pino, yaml and the PromQL parser loaded",
  },
  { name: 'rollguard', description: 'rollguard run, no rules (groups: [])' },
  { name: 'vmalert', description: 'vmalert, no rules (groups: [])' },
]

// Nothing listens on port 9 (discard): with no rules neither engine queries it, and nothing is sent to it.
const NOWHERE = 'http://127.0.0.1:9'
const DEADLINE_MS = (TRIALS * PROCESSES.length * (SETTLE_S + 40) + 60) * 1000

await runBounded('floor', DEADLINE_MS, async dist => {
  const work = mkdtempSync(join(tmpdir(), 'rollguard-floor-'))
  const rules = join(work, 'idle.yml')
  writeFileSync(rules, 'groups: []\n')

  /** start runs one process and returns its pid, the URL of its /metrics (if any) and how to stop it. */
  async function start(name) {
    const logFile = join(work, `${name}.log`)
    if (name === 'rollguard' || name === 'vmalert') {
      const launch = name === 'rollguard' ? startRollguard : startVmalert
      const e = await launch(dist, { prometheusUrl: NOWHERE, alertmanagerUrl: NOWHERE, rules, interval: '5s', logFile })
      return { pid: e.pid, metrics: `${e.url}/metrics`, stop: () => e.stop() }
    }
    const port = await dist.freePort()
    const child = join(BENCH, 'lib', 'floor-child.mjs')
    const proc = await dist.startProcess(process.execPath, [child, name, String(port)], { name, logFile })
    const url = `http://127.0.0.1:${port}`
    if (name !== 'node') await dist.waitForHttp(`${url}/metrics`, { timeoutMs: 30_000, process: proc })
    return { pid: proc.pid, metrics: name === 'node' ? undefined : `${url}/metrics`, stop: () => proc.stop(10_000) }
  }

  /** measureOne starts a process, lets it settle (one /metrics request halfway), reads its memory and stops it. */
  async function measureOne(name) {
    const p = await start(name)
    try {
      await sleep((SETTLE_S * 1000) / 2)
      if (p.metrics !== undefined) await fetchText(p.metrics)
      await sleep((SETTLE_S * 1000) / 2)
      const { hwm, rss } = memoryKiB(p.pid)
      return { peakRssMiB: round(hwm / 1024, 1), rssMiB: round(rss / 1024, 1) }
    } finally {
      await p.stop()
    }
  }

  const results = []
  for (let trial = 0; trial < TRIALS; trial++) {
    const order = PROCESSES.map((_, i) => PROCESSES[(i + trial) % PROCESSES.length])
    for (const { name } of order) {
      const m = await measureOne(name)
      log(`trial ${trial + 1}/${TRIALS}, ${name}: peak RSS ${m.peakRssMiB} MiB, RSS ${m.rssMiB} MiB`)
      results.push({ trial, process: name, ...m })
    }
  }
  rmSync(work, { recursive: true, force: true })

  const summary = PROCESSES.map(({ name, description }) => {
    const runs = results.filter(r => r.process === name)
    return {
      process: name,
      description,
      peakRssMiB: round(median(runs.map(r => r.peakRssMiB)), 1),
      peakRssMiBTrials: runs.map(r => r.peakRssMiB),
      rssMiB: round(median(runs.map(r => r.rssMiB)), 1),
    }
  })
  writeJson(args.out, {
    benchmark: 'floor',
    generatedAt: new Date().toISOString(),
    machine: machineInfo(),
    settle: `${SETTLE_S}s`,
    trials: TRIALS,
    summary,
    results,
  })
  for (const s of summary)
    log(`${s.process.padEnd(10)} peak RSS ${s.peakRssMiB} MiB (trials ${s.peakRssMiBTrials.join(', ')})`)
  log(`wrote ${args.out}`)
})
