// scripts/failed-tests.mjs (run by npm test when a test failed): lists every failed leaf of a TAP log with the path
// to it and the start of its diagnostics, so the failures are next to the summary line at the end of a CI log.
// The fixture is tap's own output for two files: one with failing assertions, a thrown error and a name holding
// "#", one that exits in the middle of a subtest.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'

const SCRIPT = join(import.meta.dirname, '../../scripts/failed-tests.mjs')
const FIXTURE = join(import.meta.dirname, '../fixtures/tap/failures.tap')

function digest(...args: string[]): { status: number | null; out: string; err: string } {
  const res = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' })
  return { status: res.status, out: res.stdout, err: res.stderr }
}

function failedLines(out: string): string[] {
  return out.split('\n').filter(line => line.startsWith('not ok: '))
}

t.test('every failed leaf, with its path; parents failing only for a child are not repeated', async t => {
  const { status, out } = digest(FIXTURE)
  t.equal(status, 0)
  t.match(out, /^== failed tests \(4\)\n/)
  t.same(failedLines(out), [
    'not ok: test/zz-crash.test.mjs › never ends › test unfinished',
    'not ok: test/zz-sample.test.mjs › group › inner › one is two',
    'not ok: test/zz-sample.test.mjs › group › should be equal',
    'not ok: test/zz-sample.test.mjs › throws › boom',
  ])
  t.notOk(
    failedLines(out).some(line => line.includes('passes')),
    'a passing subtest whose name holds "#" is not listed',
  )
})

t.test('the diagnostics follow each failure, cut at the limit', async t => {
  const { out } = digest(FIXTURE, '--max-diagnostic-lines', '40')
  const block = out.split('not ok: ')[2] ?? ''
  t.match(block, /^test\/zz-sample\.test\.mjs › group › inner › one is two\n {4}compare: ===\n/)
  t.match(block, /\n {6}-2\n {6}\+1\n/, 'the diff is there')
  const short = digest(FIXTURE, '--max-diagnostic-lines', '2').out
  const shortBlock = short.split('not ok: ')[2] ?? ''
  t.same(shortBlock.trimEnd().split('\n').slice(1), ['    compare: ===', '    at:', '    …'])
  const none = digest(FIXTURE, '--max-diagnostic-lines', '0').out
  t.equal(none.split('\n').filter(line => line.startsWith('    ')).length, 4, 'only the ellipsis under each')
})

t.test('a run without failures prints nothing', async t => {
  const passing = join(
    t.testdir({
      'tap.log': 'TAP version 14\n# Subtest: a.test.ts\n    ok 1 - fine\n    1..1\nok 1 - a.test.ts # time=1ms\n',
    }),
    'tap.log',
  )
  t.same(digest(passing), { status: 0, out: '', err: '' })
})

t.test('a file that crashed without a subtest is listed by its name', async t => {
  const log = join(
    t.testdir({
      'tap.log':
        '# Subtest: test/broken.test.ts\n    1..0\nnot ok 1 - test/broken.test.ts # time=3ms\n  ---\n  exitCode: 1\n  ...\n',
    }),
    'tap.log',
  )
  const { out } = digest(log)
  t.same(failedLines(out), ['not ok: test/broken.test.ts'])
  t.match(out, /\n {4}exitCode: 1\n/)
})

t.test('lines of a diagnostic that look like TAP are not read as results', async t => {
  const log = [
    '# Subtest: test/a.test.ts',
    '    not ok 1 - the output',
    '      ---',
    '      found: |',
    '        not ok 7 - inside the text',
    '        # Subtest: also inside the text',
    '      ...',
    '    1..1',
    'not ok 1 - test/a.test.ts # time=1ms',
    '',
  ].join('\n')
  const { out } = digest(join(t.testdir({ 'tap.log': log }), 'tap.log'))
  t.same(failedLines(out), ['not ok: test/a.test.ts › the output'])
  t.match(out, /\n {4}found: \|\n {6}not ok 7 - inside the text\n/, 'they are shown as its text')
})

t.test('bad arguments', async t => {
  const missing = digest(join(t.testdir({}), 'nothing.log'))
  t.equal(missing.status, 2)
  t.match(missing.err, /^cannot read .*nothing\.log: ENOENT/)
  const bad = digest(FIXTURE, '--max-diagnostic-lines', '-1')
  t.equal(bad.status, 2)
  t.match(bad.err, /--max-diagnostic-lines/)
  const help = digest('--help')
  t.equal(help.status, 0)
  t.match(help.out, /^usage: node scripts\/failed-tests\.mjs/)
})
