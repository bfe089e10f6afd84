// Reloads of large and hostile files in a running daemon: the rule files are loaded off the main thread, so
// evaluations and /-/healthy carry on and the event loop is never held for 100 ms; a failed reload names the file
// and the position, and the running rules stay. A fake Prometheus answers every query with nothing; loopback only.
// slow: megabytes of rule and config files, reloaded by a worker thread that compiles the sources anew
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { Daemon } from '../src/daemon.js'
import { groupKey } from '../src/engine/spec.js'
import { aliasBomb, manyAnnotations, realisticRules } from './fixtures/big-yaml.js'
import { describeStall, heldMs, stallWhile } from './fixtures/main-thread-stall.js'

const PROBE_RULES = 'groups: [{name: probe, rules: [{alert: ProbeDown, expr: "rollguard_probe_success == 0"}]}]\n'

async function emptyPrometheus(t: Test): Promise<string> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"status":"success","data":{"resultType":"vector","result":[]}}'),
    )
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function startDaemon(t: Test): Promise<{ daemon: Daemon; dir: string; config: string }> {
  const dir = t.testdir({ 'probe.yml': PROBE_RULES, more: { 'empty.yml': 'groups: []\n' } })
  const config = join(dir, 'rollguard.yml')
  // Restore replays each new group's rules over their `for` right after a reload, on the main thread; this test
  // is about loading and checking the files, so it is off (see docs/limits.md).
  const prometheus = await emptyPrometheus(t)
  writeFileSync(
    config,
    `prometheus:\n  url: ${prometheus}\nrules:\n  files: [probe.yml, more/*.yml]\n  restore_window: 0s\n`,
  )
  const flags = new Map([
    ['config', [config]],
    ['listen', ['127.0.0.1:0']],
    ['eval-interval', ['100ms']],
  ])
  const daemon = await Daemon.start(
    { flags, env: {}, cwd: dir },
    { version: 'test', logger: pino({ level: 'silent' }) },
  )
  t.teardown(() => daemon.stop())
  return { daemon, dir, config }
}

const probeEvaluation = (daemon: Daemon) =>
  daemon.manager.groups().find(g => g.spec.name === 'probe')?.lastEvaluation ?? 0

/** duringReload reloads while polling /-/healthy and watching the probe group's evaluations. */
async function duringReload(daemon: Daemon) {
  const evaluations = new Set<number>()
  const healthy: number[] = []
  let polling = true
  const poll = (async () => {
    while (polling) {
      const started = performance.now()
      const res = await fetch(`${daemon.address}/-/healthy`, { signal: AbortSignal.timeout(5_000) })
      await res.arrayBuffer()
      healthy.push(res.status === 200 ? performance.now() - started : -1)
      evaluations.add(probeEvaluation(daemon))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  const before = probeEvaluation(daemon)
  const started = performance.now()
  const { value: result, stall } = await stallWhile(() => daemon.reload())
  const ms = performance.now() - started
  polling = false
  await poll
  evaluations.delete(before)
  return { result, stall, ms, healthy, evaluations: evaluations.size }
}

t.test('a reload of megabytes of rules leaves evaluations, /-/healthy and the event loop running', async t => {
  const { daemon, dir } = await startDaemon(t)
  await new Promise(resolve => setTimeout(resolve, 300))
  t.ok(probeEvaluation(daemon) > 0, 'evaluating')
  writeFileSync(join(dir, 'more', 'kube.yml'), realisticRules(1024 * 1024))
  const r = await duringReload(daemon)
  t.same(r.result, { ok: true })
  t.ok(daemon.manager.groups().length > 60, `${daemon.manager.groups().length} groups loaded`)
  t.comment(
    `reload took ${r.ms.toFixed(0)} ms; ${describeStall(r.stall)}; /-/healthy answered ${r.healthy.length} times, slowest ${Math.max(...r.healthy).toFixed(0)} ms; ${r.evaluations} probe evaluations meanwhile`,
  )
  t.ok(r.healthy.length > 0 && r.healthy.every(ms => ms >= 0), '/-/healthy answered 200 throughout')
  t.ok(r.evaluations > 0, 'the running group kept evaluating')
  t.ok(heldMs(r.stall) < 100, describeStall(r.stall))
})

t.test('a 40 000-annotation rule file and a 10 MB config fail the reload fast, naming file and position', async t => {
  const { daemon, dir, config } = await startDaemon(t)
  const before = daemon.manager.groups().map(g => groupKey(g.spec))
  writeFileSync(join(dir, 'more', 'big.yml'), manyAnnotations(40_000))
  const big = await duringReload(daemon)
  t.match(big.result, {
    ok: false,
    error:
      /more\/big\.yml:1007:11: group "big", rule 1, "Big": field 'annotations\.a1000': too many annotations: 40000, at most 1000 \(rules\.max_annotations_per_rule\)$/,
  })
  t.comment(`reload took ${big.ms.toFixed(0)} ms; ${describeStall(big.stall)}`)
  t.ok(heldMs(big.stall) < 100, describeStall(big.stall))
  t.ok(
    big.healthy.every(ms => ms >= 0),
    '/-/healthy answered 200 throughout',
  )
  t.same(
    daemon.manager.groups().map(g => groupKey(g.spec)),
    before,
    'the running rules stay',
  )

  writeFileSync(join(dir, 'more', 'big.yml'), manyAnnotations(40_000, 39_000))
  t.match(await daemon.reload(), { ok: false, error: /more\/big\.yml:39007:11: mapping key "a7" already defined/ })

  const good = `prometheus:\n  url: http://127.0.0.1:1\n`
  writeFileSync(config, good + 'x'.repeat(10 * 1024 * 1024))
  t.same(await daemon.reload(), {
    ok: false,
    error: `${config}: the file is 10 MiB, larger than the limit of 1 MiB for a config file`,
  })
  writeFileSync(config, aliasBomb('probes'))
  t.match(await daemon.reload(), { ok: false, error: new RegExp(`^${config}:5:\\d+: too many alias references \\(`) })
  t.same(
    daemon.manager.groups().map(g => groupKey(g.spec)),
    before,
    'the running rules stay',
  )
})
