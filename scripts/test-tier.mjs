#!/usr/bin/env node
// Runs one tier of the tests with tap:
//   unit  pure and in-process tests (the fake Kubernetes API server is in-process)
//   e2e   tests that start real processes: Prometheus, Alertmanager, promtool, kubectl, the built daemon, a browser
// A test file belongs to e2e when it uses one of the fixtures or tools that start a process (PROCESS below), so a
// new test lands in the right tier without a list to maintain; an in-process test that is slow for good reason
// (megabytes of input, worker threads that compile the sources) says so in a line `// slow: <why>` and runs there
// too, so the unit tier stays quick. `npm test` runs both (scripts/test.sh).
//
//   node scripts/test-tier.mjs unit|e2e [--list] [tap flags...]
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PROCESS =
  /startPrometheus|startAlertmanager|\bprometheus\(t|\balertmanager\(t|startRollguardProcess|fixtures\/build|dist\/main|\bspawn\(|\bexecFile|promtool|amtool|kubectl\.js|actingRollguard|playwright|startStack|\bstack\(t\)|bench\/|startVictoriaMetrics|victoriaMetrics\(t|\brunNode\(/

function testFiles(dir) {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? testFiles(path) : path.endsWith('.test.ts') ? [path] : []
  })
}

const SLOW = /^\/\/ slow: /m

/** tierOf says which tier a test file belongs to. */
export function tierOf(file) {
  const text = readFileSync(file, 'utf8')
  return PROCESS.test(text) || SLOW.test(text) ? 'e2e' : 'unit'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [tier, ...rest] = process.argv.slice(2)
  if (tier !== 'unit' && tier !== 'e2e') {
    console.error('usage: node scripts/test-tier.mjs unit|e2e [--list] [tap flags...]')
    process.exit(2)
  }
  const files = testFiles(join(ROOT, 'test'))
    .filter(f => tierOf(f) === tier)
    .map(f => relative(ROOT, f))
    .sort()
  if (rest.includes('--list')) {
    console.log(files.join('\n'))
    process.exit(0)
  }
  // tap runs one file at a time where there are 2 CPUs (it leaves one free). The unit tier's files start no
  // processes and bound their event-loop holds in CPU time, not wall time, so they take every CPU, unless told.
  const jobs = tier === 'unit' && !rest.some(a => /^(-j|--jobs)/.test(a)) ? [`--jobs=${availableParallelism()}`] : []
  // tap builds its plugin set into node_modules, and test processes get the node arguments of the set it was built
  // with when the run starts: after a fresh `npm ci`, tap's default set with its TypeScript plugin (scripts/test.sh).
  const build = spawnSync('npx', ['tap', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  if (build.status !== 0) process.exit(build.status ?? 1)
  const r = spawnSync('npx', ['tap', ...jobs, ...rest, ...files], { cwd: ROOT, stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
