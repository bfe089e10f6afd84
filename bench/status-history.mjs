#!/usr/bin/env node
// The status page's history, its memory alone: the heap and the array buffers SeriesHistory holds for the scale
// benchmark's per-deployment layout (4 rules in each of --groups groups, no series returned), evaluated every 5 s
// for --minutes minutes of evaluation times (the page keeps 15), measured after full collections. Runs in this
// process, over dist/ (or --dist DIR: another checkout's build, to compare revisions); prints one line of JSON.
//
//   npm run build && node --expose-gc bench/status-history.mjs --minutes 16
//   node --expose-gc bench/status-history.mjs --dist ../old-checkout/dist --minutes 2
//
// Options:
//   --groups N      rule groups of 4 rules each, 1..100000 (default 1000)
//   --minutes N     minutes of evaluations every 5 s, 1..60 (default 16: a full 15-minute window)
//   --dist DIR      the build whose dist/server/status/history.js is measured (default this checkout's dist)
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT, cliArgs } from './lib/common.mjs'

const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    groups: { type: 'string', default: '1000' },
    minutes: { type: 'string', default: '16' },
    dist: { type: 'string', default: join(ROOT, 'dist') },
  },
})
const count = (name, max) => {
  const n = Number(args[name])
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} is a whole number from 1 to ${max}, not ${args[name]}`)
  return n
}
const GROUPS = count('groups', 100_000)
const MINUTES = count('minutes', 60)
if (typeof globalThis.gc !== 'function') fail('run it with node --expose-gc, to measure after full collections')
const dist = isAbsolute(args.dist) ? args.dist : resolve(args.dist)
const { SeriesHistory } = await import(pathToFileURL(join(dist, 'server/status/history.js')).href).catch(err =>
  fail(`no build at ${dist} (${err.code ?? err.message}); run npm run build`),
)

const RULES = ['HealthCheckFailing', 'HighErrorRate', 'HighLatency', 'HighMemory']
const groups = Array.from({ length: GROUPS }, (_, g) => ({
  spec: { file: 'rules.yml', name: `team/app-${g}`, rules: [] },
  // Groups evaluate at their own offsets within the interval, as the scheduler spreads them.
  offsetMs: (g * 4999) % 5000,
  rules: RULES.map(name => ({
    spec: { name, expr: `${name}{deployment="app-${g}"} > 1` },
    state: { active: new Map() },
  })),
}))
const evaluation = { outcomes: RULES.map(() => ({ error: '' })) }
const START = 1_767_225_600_000

const memory = () => {
  gc()
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return { heapUsed, arrayBuffers }
}
const before = memory()
const history = new SeriesHistory()
for (let i = 0; i < (MINUTES * 60) / 5; i++) {
  for (const g of groups)
    history.record({ spec: g.spec, rules: g.rules, lastEvaluation: START + i * 5000 + g.offsetMs }, evaluation)
}
const after = memory()
// Read after the measurement, so that the history is still alive when it is taken.
const tracked = history.tracked
const mib = bytes => Math.round((bytes / 1048576) * 100) / 100
const heapMiB = mib(after.heapUsed - before.heapUsed)
const arrayBuffersMiB = mib(after.arrayBuffers - before.arrayBuffers)
process.stdout.write(
  `${JSON.stringify({ dist, groups: GROUPS, rules: GROUPS * RULES.length, minutes: MINUTES, tracked, heapMiB, arrayBuffersMiB, totalMiB: mib(after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) })}\n`,
)
