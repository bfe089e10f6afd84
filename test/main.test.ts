// `node dist/main.js` as users run it: what each mistake prints and the exit code, promtool's convention (0 fine,
// 1 invalid input or a failure, 2 usage). Never a stack trace for a mistake.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { realisticRules } from './fixtures/big-yaml.js'
import { ensureBuilt, ROOT } from './fixtures/build.js'
import { tempDir } from './fixtures/e2e.js'
import { startRollguardProcess } from './fixtures/rollguard-process.js'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function rollguard(args: string[], opts: { stdin?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise(resolve => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'dist', 'main.js'), ...args],
      { cwd: opts.cwd ?? ROOT, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
      },
    )
    child.stdin?.end(opts.stdin ?? '')
  })
}

const STACK = /\n\s+at /

t.before(async () => {
  const failure = await ensureBuilt()
  if (failure !== '') throw new Error(failure)
})

t.test('unknown commands and flags: one suggestion, exit 2', async t => {
  const [command, flag, doctor] = await Promise.all([
    rollguard(['chek', 'x.yml']),
    rollguard(['run', '--promethus-url', 'http://127.0.0.1:9090']),
    rollguard(['doctor', '--outptu', 'json']),
  ])
  t.equal(command.code, 2)
  t.match(command.stderr, /^rollguard: unknown command "chek" \(did you mean check\?\)\n\nUsage: rollguard <command>/)
  t.equal(flag.code, 2)
  t.equal(
    flag.stderr,
    "rollguard run: unknown flag --promethus-url (did you mean --prometheus-url?)\nTry 'rollguard run --help'.\n",
  )
  t.equal(doctor.code, 2)
  t.equal(
    doctor.stderr,
    "rollguard doctor: unknown flag --outptu (did you mean --output?)\nTry 'rollguard doctor --help'.\n",
  )
})

t.test('run: an invalid rule file or configuration at start is exit 1 (invalid input), on one line', async t => {
  const dir = tempDir(t)
  const bad = join(dir, 'bad.yml')
  writeFileSync(bad, 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n')
  const [rules, config, unreadable, kube, several] = await Promise.all([
    rollguard(['run', '--prometheus-url', 'http://127.0.0.1:9', '--rules', bad, '--listen', '127.0.0.1:0']),
    rollguard(['run', '--config', join(dir, 'missing.yml')]),
    rollguard([
      'run',
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--prometheus-bearer-token-file',
      join(dir, 'no-token'),
      '--listen',
      '127.0.0.1:0',
    ]),
    rollguard([
      'run',
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--actions-mode',
      'dry-run',
      '--kubeconfig',
      join(dir, 'no-kubeconfig'),
      '--listen',
      '127.0.0.1:0',
    ]),
    rollguard(['run', '--eval-interval', '5x', '--listen', '127.0.0.1:0']),
  ])
  t.equal(rules.code, 1)
  t.equal(
    rules.stderr,
    `rollguard run: invalid rules: ${bad}:5:20: group "g", rule 1, "A": field 'expr': could not parse expression: unexpected end of input at char 6\n`,
  )
  t.equal(config.code, 1)
  t.equal(
    config.stderr,
    `rollguard run: invalid configuration: --config: cannot read ${join(dir, 'missing.yml')}: ENOENT\n`,
  )
  t.equal(unreadable.code, 1)
  t.equal(
    unreadable.stderr,
    `rollguard run: invalid configuration: prometheus.bearer_token_file: cannot read ${join(dir, 'no-token')}: ENOENT\n`,
  )
  t.equal(kube.code, 1)
  t.match(
    kube.stderr,
    /^rollguard run: invalid configuration: kubernetes: cannot load the Kubernetes configuration for actions: .*no-kubeconfig.*\n$/,
  )
  t.equal(several.code, 1)
  t.match(
    several.stderr,
    /^rollguard run: invalid configuration:\n {2}.*\n {2}.*\n$/,
    'several problems: one line each',
  )
  for (const r of [rules, config, unreadable, kube, several]) t.notMatch(r.stderr, STACK)
})

t.test('run: a busy --listen port is one clear line and exit 1, not a stack trace', async t => {
  const busy = createServer()
  await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => busy.close(() => resolve())))
  const port = (busy.address() as AddressInfo).port
  const r = await rollguard([
    'run',
    '--prometheus-url',
    'http://127.0.0.1:9',
    '--listen',
    `127.0.0.1:${port}`,
    '--log-level',
    'error',
  ])
  t.equal(r.code, 1)
  t.equal(
    r.stderr,
    `rollguard run: cannot listen on 127.0.0.1:${port}: address already in use (is another rollguard or Prometheus running?)\n`,
  )
})

t.test('check: nothing to check is a usage error; an empty file is valid; a bad file is exit 1', async t => {
  const [empty, devNull, bad] = await Promise.all([
    rollguard(['check'], { stdin: '' }),
    rollguard(['check', '/dev/null']),
    rollguard(['check'], { stdin: 'groups: [{name: g, rules: [{alert: A}]}]\n' }),
  ])
  t.equal(empty.code, 2)
  t.equal(empty.stderr, "rollguard check: no rule files given and stdin is empty\nTry 'rollguard check --help'.\n")
  t.equal(devNull.code, 0, 'as promtool check rules /dev/null')
  t.equal(devNull.stdout, 'Checking /dev/null\n  SUCCESS: 0 rules found\n\n')
  t.equal(bad.code, 1)
  t.match(bad.stderr, '<stdin>:1:28: group "g", rule 1, "A": field \'expr\' must be set in rule')
})

t.test('every --help documents its exit status', async t => {
  const [
    { runUsage },
    { CHECK_USAGE },
    { DOCTOR_USAGE },
    { BACKTEST_USAGE },
    { ROLLBACK_USAGE },
    { HISTORY_USAGE },
    { GITOPS_USAGE },
  ] = await Promise.all([
    import('../src/cli/args.js'),
    import('../src/cli/check.js'),
    import('../src/cli/doctor.js'),
    import('../src/cli/backtest.js'),
    import('../src/cli/rollback.js'),
    import('../src/cli/history.js'),
    import('../src/cli/gitops.js'),
  ])
  const usages = {
    run: runUsage(),
    check: CHECK_USAGE,
    doctor: DOCTOR_USAGE,
    backtest: BACKTEST_USAGE,
    rollback: ROLLBACK_USAGE,
    history: HISTORY_USAGE,
    gitops: GITOPS_USAGE,
  }
  for (const [command, usage] of Object.entries(usages)) t.match(usage, /Exit status: 0 .*1 .*2 usage error/s, command)
  const top = await rollguard(['--help'])
  t.equal(top.code, 0)
  t.match(
    top.stdout,
    /Exit status: 0 success; 1 invalid input .* or a failure, as promtool;\n2 usage error .*, as prometheus;/,
  )
})

// The old generation of a large host (a 4 GiB one lets V8 grow the semi-spaces to 16 MiB wherever this runs), and a
// start-up that makes plenty of short-lived objects (about a thousand rules to load): the semi-spaces grow to their
// largest unless `run` keeps them small. (The test runner preloads a module into every child, which may grow them
// a little before rollguard's first line runs: hence "a few MiB".)
t.test('run keeps the young generation small, unless node was given a semi-space size', async t => {
  const dir = tempDir(t)
  const rules = join(dir, 'many.rules.yml')
  writeFileSync(rules, realisticRules(750_000))
  const newSpace = async (nodeOptions: string): Promise<number> => {
    const daemon = await startRollguardProcess(t, {
      args: ['--rules', rules, '--prometheus-url', 'http://127.0.0.1:9'],
      env: { NODE_OPTIONS: nodeOptions },
    })
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text()
    await daemon.stop()
    const size = /^rollguard_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics)?.[1]
    t.ok(size, 'the new space size is exported')
    return Number(size)
  }
  const MiB = 1024 * 1024
  const small = await newSpace('--max-old-space-size=4096')
  t.ok(small <= 4 * MiB, `a few MiB: 1 MiB semi-spaces as V8 starts them (${small / MiB} MiB)`)
  const own = await newSpace('--max-old-space-size=4096 --max-semi-space-size=16')
  t.ok(own >= 16 * MiB, `the operator's --max-semi-space-size is left to V8, which grows them (${own / MiB} MiB)`)
})
