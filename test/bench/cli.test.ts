// Every bench/*.mjs script is a command people run by hand: --help (and -h) prints its usage (the script's leading
// comment) and exits 0; an unknown flag or a bad value ends in one line on stderr and exit 2, not a stack trace.
// Both happen before the script starts anything, so no build, Prometheus or benchmark run is needed here.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ROOT, runNode, type Run } from './fixtures/run-node.js'

const BENCH = join(ROOT, 'bench')

/** One option per script that its --help must name (a new script without an entry fails the test). */
const OPTION: Record<string, string> = {
  'action.mjs': '--trials',
  'backtest.mjs': '--reuse-tsdb',
  'detection.mjs': '--vm-latency-offset',
  'floor.mjs': '--settle',
  'heap-growth.mjs': '--settings',
  'http-client.mjs': '--axios',
  'profile-summary.mjs': '--top',
  'recorder.mjs': '--port',
  'report.mjs': '--allow-smoke',
  'rule-load.mjs': 'FILE',
  'scale.mjs': '--rollguard-node-args',
  'sharding.mjs': '--replicas',
  'soak.mjs': '--snapshot-at',
  'status-history.mjs': '--minutes',
  'synthetic-target.mjs': '--flap-slots',
  'webhook.mjs': '--connections',
}

/** Values the scripts check before starting anything: each must end the same way as an unknown flag. */
const BAD_VALUES: Array<[script: string, args: string[], mentions: string]> = [
  ['scale.mjs', ['--warmup', '1m'], '--warmup'],
  ['scale.mjs', ['--memory-limit', '512MB'], '--memory-limit'],
  ['backtest.mjs', ['--step', '5x'], '--step'],
  ['detection.mjs', ['--for', '1s'], '--for'],
  ['soak.mjs', ['--minutes', 'many'], '--minutes'],
  ['webhook.mjs', ['--duration', '0'], '--duration'],
  ['action.mjs', ['--out'], '--out'],
  ['rule-load.mjs', [], 'FILE'],
  ['detection.mjs', ['--window', '500ms'], '--window'],
  ['action.mjs', ['--trials', 'x'], '--trials'],
  ['soak.mjs', ['--snapshot-at', '2,x'], '--snapshot-at'],
  ['sharding.mjs', ['--interval', 'abc'], '--interval'],
  ['sharding.mjs', ['--trials', '0'], '--trials'],
  ['sharding.mjs', ['--replicas', '1,x'], '--replicas'],
  ['scale.mjs', ['--interval', '5'], '--interval'],
  ['detection.mjs', ['--for', '5'], '--for'],
  ['profile-summary.mjs', ['/no/such/profile.cpuprofile'], '/no/such/profile.cpuprofile'],
  ['profile-summary.mjs', ['--top', 'all', '.'], '--top'],
  ['http-client.mjs', ['--requests', '0'], '--requests'],
  ['http-client.mjs', ['--silences', 'many'], '--silences'],
  ['synthetic-target.mjs', ['--port', '99999'], '--port'],
  ['synthetic-target.mjs', ['--deployments', '0'], '--deployments'],
  ['recorder.mjs', ['--port', 'x'], '--port'],
  ['report.mjs', ['--doc', '/no/such/benchmarks.md'], '/no/such/benchmarks.md'],
  ['heap-growth.mjs', ['--settings', '0,5000'], '--settings'],
  ['heap-growth.mjs', ['--layout', 'idle'], 'layout idle'],
  ['heap-growth.mjs', ['--measure', '5m'], '--measure'],
  ['heap-growth.mjs', ['--deployments', '0'], '--deployments'],
  ['status-history.mjs', ['--minutes', '0'], '--minutes'],
  ['status-history.mjs', ['--groups', 'x'], '--groups'],
  ['floor.mjs', ['--trials', '0'], '--trials'],
  ['floor.mjs', ['--settle', '1s'], '--settle'],
]

function run(script: string, args: readonly string[]): Promise<Run> {
  // Bounded: a script that went on to start its benchmark is stopped and fails.
  return runNode([join(BENCH, script), ...args], 30_000)
}

/** expectUsageError checks the one-line error: the script, what is wrong (naming `mentions`), the hint, no stack. */
function expectUsageError(t: Test, r: Run, script: string, mentions: string): void {
  t.equal(r.code, 2, `exit 2\n${r.stderr}`)
  t.equal(r.stdout, '', 'nothing on stdout')
  t.match(r.stderr, /^[^\n]*\n$/, 'one line on stderr')
  t.ok(r.stderr.startsWith(`bench/${script}: `), 'names the script')
  t.ok(r.stderr.includes(mentions), `mentions ${mentions}`)
  t.ok(r.stderr.trimEnd().endsWith('; see --help'), 'points at --help')
  t.notMatch(r.stderr, /^ {4}at /m, 'no stack trace')
}

const scripts = readdirSync(BENCH)
  .filter(f => f.endsWith('.mjs'))
  .sort()

t.test('every bench script has an entry here', async t => {
  t.ok(scripts.length > 0)
  t.same(scripts, Object.keys(OPTION).sort())
})

for (const script of scripts) {
  t.test(`bench/${script}: --help, -h and an unknown flag`, async t => {
    const [help, short, unknown] = await Promise.all([
      run(script, ['--help']),
      run(script, ['-h']),
      run(script, ['--no-such-flag']),
    ])
    t.equal(help.code, 0, `--help exits 0\n${help.stderr}`)
    t.equal(help.stderr, '', 'nothing on stderr')
    t.ok(help.stdout.includes(`bench/${script}`), 'the usage names the script')
    const option = OPTION[script] ?? '--help'
    t.ok(help.stdout.includes(option), `the usage lists ${option}`)
    t.notMatch(help.stdout, /^\/\//m, 'comment prefixes are stripped')
    t.equal(short.code, 0, '-h exits 0')
    t.equal(short.stdout, help.stdout, '-h prints the same usage')
    expectUsageError(t, unknown, script, '--no-such-flag')
  })
}

t.test('bad values are one-line errors too', async t => {
  const runs = await Promise.all(BAD_VALUES.map(([script, args]) => run(script, args)))
  BAD_VALUES.forEach(([script, args, mentions], i) => {
    t.test(`bench/${script} ${args.join(' ')}`, async t => expectUsageError(t, runs[i] as Run, script, mentions))
  })
})

t.test('files the scripts read are checked the same way', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'rollguard-bench-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const smoke = join(dir, 'scale.json')
  writeFileSync(smoke, '{"smoke": true}\n')
  const notJson = join(dir, 'broken.cpuprofile')
  writeFileSync(notJson, '{"nodes": [\n')
  const notProfile = join(dir, 'other.cpuprofile')
  writeFileSync(notProfile, '{"groups": []}\n')
  const empty = join(dir, 'empty')
  mkdirSync(empty)
  const doc = join(dir, 'benchmarks.md')
  writeFileSync(doc, '# no generated sections\n')
  const cases: Array<[script: string, args: string[], mentions: string]> = [
    // A smoke result never reaches the docs by accident.
    ['report.mjs', ['--scale', smoke, '--doc', doc], 'is a smoke run'],
    ['report.mjs', ['--scale', notJson, '--doc', doc], 'not a readable JSON result'],
    ['report.mjs', ['--scale', join(dir, 'absent.json'), '--doc', doc], 'lacks the markers'],
    ['profile-summary.mjs', [notJson], 'not a readable JSON file'],
    ['profile-summary.mjs', [notProfile], 'not a V8 CPU profile'],
    ['profile-summary.mjs', [empty], 'no .cpuprofile files'],
  ]
  const runs = await Promise.all(cases.map(([script, args]) => run(script, args)))
  cases.forEach(([script, args, mentions], i) => {
    t.test(`bench/${script} ${args.map(a => a.replace(dir, 'DIR')).join(' ')}`, async t =>
      expectUsageError(t, runs[i] as Run, script, mentions),
    )
  })
  t.equal(readdirSync(dir).sort().join(','), 'benchmarks.md,broken.cpuprofile,empty,other.cpuprofile,scale.json')
})
