// Hostile and runaway files through the real binary (dist/main.js): `check`, `run` at start and a SIGHUP reload
// each name the file and the position, and never print a stack trace. Loopback only; every wait is bounded.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ensureBuilt, ROOT } from '../fixtures/build.js'
import { aliasBomb, manyAnnotations } from '../fixtures/big-yaml.js'
import { startRollguardProcess } from '../fixtures/rollguard-process.js'

const MAIN = join(ROOT, 'dist', 'main.js')
const STACK = /\n\s+at /
const PROBE_RULES = 'groups: [{name: probe, rules: [{alert: ProbeDown, expr: "rollguard_probe_success == 0"}]}]\n'

function rollguard(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    )
  })
}

t.before(async () => {
  const failure = await ensureBuilt()
  if (failure !== '') throw new Error(failure)
})

t.test('rollguard check: alias bombs, duplicate keys and limits are positioned errors', async t => {
  const dir = t.testdir({
    'bomb.yml': aliasBomb(),
    'dup.yml': manyAnnotations(40_000, 39_000),
    'big.yml': manyAnnotations(40_000),
    'good.yml': PROBE_RULES,
  })
  const r = await rollguard(['check', 'bomb.yml', 'dup.yml', 'big.yml', 'good.yml'], dir)
  t.equal(r.code, 1)
  t.match(
    r.stderr,
    /^bomb\.yml:5:\d+: (field '[^']+': )?too many alias references \(aliases expand to more than 100000 nodes; document contains excessive aliasing\)$/m,
  )
  t.match(r.stderr, /^dup\.yml:39007:11: mapping key "a7" already defined$/m)
  t.match(
    r.stderr,
    /^big\.yml:1007:11: group "big", rule 1, "Big": field 'annotations\.a1000': too many annotations: 40000, at most 1000 \(rules\.max_annotations_per_rule\)$/m,
  )
  t.match(r.stdout, 'Checking good.yml\n  SUCCESS: 1 rules found')
  t.notMatch(r.stderr, STACK)

  writeFileSync(join(dir, 'rollguard.yml'), aliasBomb('probes'))
  const config = await rollguard(['check', '--config', 'rollguard.yml'], dir)
  t.equal(config.code, 1)
  t.match(config.stderr, /^ {2}FAILED:\n\S*rollguard\.yml:5:\d+: too many alias references \(/)
  t.notMatch(config.stderr, STACK)

  // The limits of the config checked apply to its rule files.
  writeFileSync(
    join(dir, 'rollguard.yml'),
    'prometheus:\n  url: http://127.0.0.1:9090\nrules:\n  files: [big.yml]\n  max_annotations_per_rule: 50000\n',
  )
  const raised = await rollguard(['check', '--config', 'rollguard.yml'], dir)
  t.equal(raised.code, 0, raised.stderr)
  t.match(raised.stdout, 'SUCCESS: 1 rules found')
})

t.test('rollguard run at start: a bad config or rule file is a positioned line, and rollguard exits', async t => {
  const dir = t.testdir({ 'bomb.yml': aliasBomb('probes'), 'rules.yml': manyAnnotations(40_000, 39_000) })
  const config = await rollguard(['run', '--config', 'bomb.yml', '--listen', '127.0.0.1:0'], dir)
  t.not(config.code, 0)
  t.match(config.stderr, /^rollguard run: invalid configuration:\s+\S*bomb\.yml:5:\d+: too many alias references \(/)
  t.notMatch(config.stderr, STACK)
  const rules = await rollguard(
    ['run', '--prometheus-url', 'http://127.0.0.1:1', '--rules', 'rules.yml', '--listen', '127.0.0.1:0'],
    dir,
  )
  t.not(rules.code, 0)
  t.match(rules.stderr, /^rollguard run: invalid rules:\s+\S*rules\.yml:39007:11: mapping key "a7" already defined$/m)
  t.notMatch(rules.stderr, STACK)
})

t.test('a SIGHUP reload of bad files logs the file and position and keeps serving', async t => {
  const dir = t.testdir({ 'probe.yml': PROBE_RULES, 'extra.yml': 'groups: []\n' })
  const configFile = join(dir, 'rollguard.yml')
  const good =
    'prometheus:\n  url: http://127.0.0.1:1\nrules:\n  files: [probe.yml, extra.yml]\n  evaluation_interval: 200ms\n'
  writeFileSync(configFile, good)
  const rg = await startRollguardProcess(t, { args: ['--config', configFile] })
  const reloadLine = async (before: number): Promise<Record<string, unknown>> => {
    rg.kill('SIGHUP')
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const lines = rg
        .log()
        .split('\n')
        .slice(before)
        .filter(l => l.startsWith('{'))
        .map(l => JSON.parse(l) as Record<string, unknown>)
      const done = lines.find(
        l =>
          l['msg'] === 'reload failed, keeping the previous configuration and rules' ||
          l['msg'] === 'configuration and rules reloaded',
      )
      if (done !== undefined) return done
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error(`no reload outcome logged within 60 s:\n${rg.log().slice(-2000)}`)
  }
  const lineCount = () => rg.log().split('\n').length - 1

  writeFileSync(configFile, aliasBomb('probes'))
  t.match(await reloadLine(lineCount()), { error: new RegExp(`^${configFile}:5:\\d+: too many alias references \\(`) })
  writeFileSync(configFile, good)
  writeFileSync(join(dir, 'extra.yml'), manyAnnotations(40_000))
  t.match(await reloadLine(lineCount()), {
    error: /extra\.yml:1007:11: group "big", rule 1, "Big": field 'annotations\.a1000': too many annotations/,
  })
  writeFileSync(join(dir, 'extra.yml'), PROBE_RULES.replace('probe', 'probe-copy'))
  t.match(await reloadLine(lineCount()), { msg: 'configuration and rules reloaded', groups: 2 })
  const healthy = await fetch(`${rg.url}/-/healthy`, { signal: AbortSignal.timeout(5_000) })
  t.equal(healthy.status, 200)
  t.notMatch(rg.log(), STACK)
})
