import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CHECK_USAGE, runCheck } from '../../src/cli/check.js'
import type { CheckHooks, CheckIO } from '../../src/cli/check.js'

const dir = fileURLToPath(new URL('../fixtures/rules/', import.meta.url))

async function check(args: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: CheckIO = { stdout: s => void (out += s), stderr: s => void (err += s) }
  if (stdin !== undefined) io.readStdin = async () => stdin
  const code = await runCheck(args, io)
  return { code, out, err }
}

t.test('a valid file prints SUCCESS with the rule count and exits 0', async t => {
  const r = await check([`${dir}basic.good.yaml`])
  t.equal(r.code, 0)
  t.equal(r.out, `Checking ${dir}basic.good.yaml\n  SUCCESS: 3 rules found\n\n`)
  t.equal(r.err, '')
})

t.test('an invalid file prints FAILED and every error, exits 1', async t => {
  const r = await check([`${dir}many-errors.bad.yaml`, `${dir}basic.good.yaml`])
  t.equal(r.code, 1)
  t.match(r.out, `Checking ${dir}many-errors.bad.yaml\n\nChecking ${dir}basic.good.yaml\n  SUCCESS: 3 rules found\n`)
  const lines = r.err.trimEnd().split('\n')
  t.equal(lines[0], '  FAILED:')
  t.equal(lines.length, 6)
  t.equal(
    lines[1],
    `${dir}many-errors.bad.yaml:5:20: group "g", rule 1, "A": field 'expr': could not parse expression: unexpected end of input at char 6`,
  )
})

t.test('duplicate rules: lint FAILED but exit 0, or 3 with --lint-fatal, or silent with --lint=none', async t => {
  const file = `${dir}duplicate-rules.lint.yaml`
  const plain = await check([file])
  t.equal(plain.code, 0)
  t.match(plain.err, /^ {2}FAILED:\nlint error: .*duplicate rule/)
  t.notMatch(plain.out, 'SUCCESS')
  t.equal((await check(['--lint-fatal', file])).code, 3)
  t.equal((await check(['--lint=all', '--lint-fatal', file])).code, 3)
  const none = await check(['--lint=none', '--lint-fatal', file])
  t.equal(none.code, 0)
  t.match(none.out, 'SUCCESS: 2 rules found')
  const both = await check(['--lint-fatal', file, `${dir}bad-for.bad.yaml`])
  t.equal(both.code, 1, 'real errors win over lint')
})

t.test('unknown lint options only warn, like promtool', async t => {
  const r = await check(['--lint', 'bogus', `${dir}duplicate-rules.lint.yaml`])
  t.equal(r.code, 0)
  t.match(r.out, 'WARNING: unknown lint option bogus\n')
  t.match(r.out, 'SUCCESS', 'bogus alone disables duplicate-rules')
})

t.test('non-lint warnings are printed and do not fail the check', async t => {
  const r = await check([`${dir}multidoc.good.yaml`])
  t.equal(r.code, 0)
  t.match(r.err, /WARNING: .*multidoc\.good\.yaml:6:1: multiple YAML documents/)
  t.match(r.out, 'SUCCESS: 1 rules found')
})

t.test('globs are expanded; a pattern matching nothing is an error', async t => {
  const ok = await check([`${dir}*.good.yaml`])
  t.equal(ok.code, 0)
  t.equal(ok.out.match(/SUCCESS/g)?.length, 6)
  const none = await check([`${dir}nothing-*.yaml`])
  t.equal(none.code, 1)
  t.match(none.out, `Checking ${dir}nothing-*.yaml\n`)
  t.match(none.err, `FAILED:\n${dir}nothing-*.yaml: no rule files match ${dir}nothing-*.yaml\n`)
})

t.test('with no files, rules are read from standard input', async t => {
  const r = await check([], 'groups: [{name: g, rules: [{alert: A, expr: up}]}]\n')
  t.equal(r.code, 0)
  t.equal(r.out, 'Checking standard input\n  SUCCESS: 1 rules found\n\n')
  const bad = await check([], 'groups: [{name: g, rules: [{alert: A, expr: "up =="}]}]\n')
  t.equal(bad.code, 1)
  t.match(bad.err, '<stdin>:1:51: group "g", rule 1, "A"')
})

t.test('no files and nothing on standard input is a usage error; an empty file is valid, as for promtool', async t => {
  for (const stdin of ['', ' \n\n']) {
    const r = await check([], stdin)
    t.equal(r.code, 2, JSON.stringify(stdin))
    t.equal(r.err, "rollguard check: no rule files given and stdin is empty\nTry 'rollguard check --help'.\n")
    t.equal(r.out, '')
  }
  let err = ''
  const terminal = await runCheck([], {
    stdout: () => undefined,
    stderr: s => void (err += s),
    stdinIsTerminal: true,
    readStdin: () => Promise.reject(new Error('not read')),
  })
  t.equal(terminal, 2, 'a terminal on standard input is not waited on')
  t.match(err, 'no rule files given and stdin is empty')
  const comment = await check([], '# rules go here\n')
  t.equal(comment.code, 0, 'standard input with only a comment is an empty rule file')
  t.equal(comment.out, 'Checking standard input\n  SUCCESS: 0 rules found\n\n')
  const empty = t.testdir({ 'empty.yml': '' })
  const file = await check([`${empty}/empty.yml`])
  t.equal(file.code, 0)
  t.equal(file.out, `Checking ${empty}/empty.yml\n  SUCCESS: 0 rules found\n\n`)
  const devNull = await check(['/dev/null'])
  t.equal(devNull.code, 0, 'a path that is not a regular file is read as named (promtool check rules /dev/null)')
  t.equal(devNull.out, 'Checking /dev/null\n  SUCCESS: 0 rules found\n\n')
})

t.test('--help prints usage; bad flags are usage errors (exit 2)', async t => {
  const help = await check(['--help'])
  t.equal(help.code, 0)
  t.equal(help.out, CHECK_USAGE)
  t.equal((await check(['-h'])).code, 0)
  const bad = await check(['--nope', 'x.yml'])
  t.equal(bad.code, 2)
  t.equal(bad.err, "rollguard check: unknown flag --nope\nTry 'rollguard check --help'.\n")
  const typo = await check(['--lint-fata', 'x.yml'])
  t.equal(
    typo.err,
    "rollguard check: unknown flag --lint-fata (did you mean --lint-fatal?)\nTry 'rollguard check --help'.\n",
  )
  t.equal((await check(['--lint'])).code, 2)
  t.equal((await check(['--config'])).code, 2)
})

t.test('"--" ends the flags', async t => {
  const r = await check(['--', `${dir}basic.good.yaml`])
  t.equal(r.code, 0)
})

t.test('--config checks a rollguard config file and the rule files it names', async t => {
  const cfgDir = t.testdir({
    'good.yml': 'prometheus: { url: "http://p:9090" }\nrules: { files: [rules/*.yaml] }\n',
    'bad.yml': 'prometheus: { url: "http://p:9090" }\nrules: { evaluation_interval: 5x }\n',
    'bad-rules.yml': 'prometheus: { url: "http://p:9090" }\nrules: { files: [rules-bad/*.yaml] }\n',
    rules: { 'a.yaml': 'groups: [{ name: g, rules: [{ alert: A, expr: up == 0 }] }]\n' },
    'rules-bad': { 'b.yaml': 'groups: [{ name: g, rules: [{ alert: A }] }]\n' },
  })
  const good = await runCapture([`--config=${cfgDir}/good.yml`], { env: {} })
  t.equal(good.code, 0, good.err)
  t.match(good.out, 'SUCCESS: 1 rules found')
  const bad = await runCapture(['--config', `${cfgDir}/bad.yml`], { env: {} })
  t.equal(bad.code, 1)
  t.match(bad.err, /bad\.yml:2:31: rules\.evaluation_interval: /)
  const badRules = await runCapture(['--config', `${cfgDir}/bad-rules.yml`], { env: {} })
  t.equal(badRules.code, 1)
  t.match(badRules.err, /b\.yaml:1:\d+: .*field 'expr' must be set in rule/)
  const missing = await runCapture(['--config', `${cfgDir}/nope.yml`], { env: {} })
  t.equal(missing.code, 1)
  t.match(missing.err, 'cannot read')
  const seen: string[] = []
  let out = ''
  const io: CheckIO = { stdout: s => void (out += s), stderr: () => undefined }
  const code = await runCheck(['--config=rollguard.yml', `${dir}basic.good.yaml`], io, {
    checkConfig: async file => {
      seen.push(file)
      return 0
    },
  })
  t.equal(code, 0)
  t.same(seen, ['rollguard.yml'])
  t.match(out, 'SUCCESS: 3 rules found')
  const failing = await runCheck(['--config', 'c.yml'], io, { checkConfig: async () => 1 })
  t.equal(failing, 1)
})

async function runCapture(args: string[], hooks: CheckHooks): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCheck(args, { stdout: s => void (out += s), stderr: s => void (err += s) }, hooks)
  return { code, out, err }
}
