// "Did you mean": the distance, the choice of one suggestion, and the message of every command's unknown flags.
import t from 'tap'
import { parseFlags, parseRunArgs, UsageError } from '../../src/cli/args.js'
import { runBacktestCommand } from '../../src/cli/backtest.js'
import { runCheck } from '../../src/cli/check.js'
import { runDoctor } from '../../src/cli/doctor.js'
import { runGitOps } from '../../src/cli/gitops.js'
import { runHistory } from '../../src/cli/history.js'
import { runRollback } from '../../src/cli/rollback.js'
import { runDaemon, type CliIO } from '../../src/cli/run.js'
import { closest, didYouMean, editDistance } from '../../src/cli/suggest.js'

async function capture(run: (io: CliIO) => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await run({ stdout: s => void (out += s), stderr: s => void (err += s) })
  return { code, out, err }
}

t.test('editDistance counts insertions, deletions, substitutions and adjacent transpositions', async t => {
  t.equal(editDistance('', ''), 0)
  t.equal(editDistance('abc', ''), 3)
  t.equal(editDistance('', 'abc'), 3)
  t.equal(editDistance('promethus', 'prometheus'), 1, 'a missing letter')
  t.equal(editDistance('chekc', 'check'), 1, 'two letters swapped')
  t.equal(editDistance('histroy', 'history'), 1)
  t.equal(editDistance('kitten', 'sitting'), 3)
  t.equal(editDistance('ca', 'abc'), 3, 'optimal string alignment: no edit of a transposed pair')
})

t.test('closest: the nearest within 2 (less for short words), else the shortest name it is a prefix of', async t => {
  const flags = ['--prometheus-url', '--prometheus-timeout', '--rules', '--help', '-h', '--listen']
  t.equal(closest('--promethus-url', flags), '--prometheus-url')
  t.equal(closest('--prometheus-timout', flags), '--prometheus-timeout')
  t.equal(closest('--rulse', flags), '--rules')
  t.equal(closest('--prom', flags), '--prometheus-url', 'a prefix: the shortest name')
  t.equal(closest('--nope', flags), undefined)
  t.equal(closest('-x', flags), undefined, 'one letter matches nothing by distance')
  t.equal(closest('--xy', ['--xyzw', '--xyz', '--xya']), '--xyz', 'a prefix of several: the first of the shortest')
  t.equal(closest('--x', ['--xyz']), undefined, 'a one-letter prefix suggests nothing')
  t.equal(closest('ab', ['ac', 'abc']), 'abc', 'two characters: no distance match, a prefix still counts')
  t.equal(closest('abcd', ['abxy', 'abcx']), 'abcx', 'four characters: distance 1 only')
  t.equal(closest('--listne', ['--listen', '--lister']), '--listen', 'equal distance: the earlier name')
  t.equal(didYouMean('chek', ['run', 'check']), ' (did you mean check?)')
  t.equal(didYouMean('zzz', ['run', 'check']), '')
})

t.test("parseFlags: unknown flags name the closest known one; other errors lose Node's hint", async t => {
  const options = { namespace: { type: 'string', short: 'n' }, 'dry-run': { type: 'boolean' } } as const
  t.same(parseFlags(['-n', 'shop', 'x'], options).values, { namespace: 'shop' })
  t.throws(
    () => parseFlags(['--namspace', 'x'], options),
    new UsageError('unknown flag --namspace (did you mean --namespace?)'),
  )
  t.throws(() => parseFlags(['--dryrun=1'], options), new UsageError('unknown flag --dryrun (did you mean --dry-run?)'))
  t.throws(() => parseFlags(['--bogus'], options), new UsageError('unknown flag --bogus'))
  t.throws(() => parseFlags(['-x'], options), new UsageError('unknown flag -x'))
  t.throws(
    () => parseFlags(['-dry-run'], options),
    new UsageError('unknown flag -dry-run (did you mean --dry-run?)'),
    "Go's single dash",
  )
  t.same(
    parseFlags(['-namespace'], options).values,
    { namespace: 'amespace' },
    'but -n takes the rest as its value, as kubectl does',
  )
  t.throws(() => parseFlags(['-n'], options), new UsageError("Option '-n, --namespace <value>' argument missing"))
  t.same(parseFlags(['--', '--bogus'], options).positionals, ['--bogus'], 'after -- nothing is a flag')
  t.throws(
    () => parseRunArgs(['--web.enable-lifecyle']),
    new UsageError('unknown flag --web.enable-lifecyle (did you mean --web.enable-lifecycle?)'),
  )
  t.throws(
    () => parseRunArgs(['-web.enable-lifecycle']),
    new UsageError('unknown flag -web.enable-lifecycle (did you mean --web.enable-lifecycle?)'),
  )
})

t.test('every command suggests the closest flag and exits 2', async t => {
  const cases: Array<[string, (io: CliIO) => Promise<number>, string]> = [
    [
      'run',
      io => runDaemon(['--promethus-url', 'http://x'], io, {}),
      'unknown flag --promethus-url (did you mean --prometheus-url?)',
    ],
    [
      'doctor',
      io => runDoctor(['--outptu', 'json'], io, { env: {} }),
      'unknown flag --outptu (did you mean --output?)',
    ],
    [
      'check',
      io => runCheck(['--lint-fatl', 'x.yml'], { ...io, readStdin: async () => '' }),
      'unknown flag --lint-fatl (did you mean --lint-fatal?)',
    ],
    [
      'history',
      io => runHistory(['deploy/web', '--namepsace', 'shop'], io, { env: {} }),
      'unknown flag --namepsace (did you mean --namespace?)',
    ],
    [
      'rollback',
      io => runRollback(['deploy/web', '--to-revison', '3'], io, { env: {} }),
      'unknown flag --to-revison (did you mean --to-revision?)',
    ],
    [
      'gitops',
      io => runGitOps(['resume', 'app/shop', '--dryrun'], io, { env: {} }),
      'unknown flag --dryrun (did you mean --dry-run?)',
    ],
  ]
  for (const [command, run, message] of cases) {
    const r = await capture(run)
    t.equal(r.code, 2, command)
    t.equal(r.err, `rollguard ${command}: ${message}\nTry 'rollguard ${command} --help'.\n`, command)
  }
  const backtest = await capture(io => runBacktestCommand(['--form', 'now-1h'], io, {}))
  t.equal(backtest.code, 2)
  t.match(
    backtest.err,
    /^rollguard backtest: unknown flag --form \(did you mean --from\?\)\n\nUsage: rollguard backtest/,
  )
  const sub = await capture(io => runGitOps(['resme', 'app/shop'], io, { env: {} }))
  t.equal(
    sub.err,
    'rollguard gitops: unknown subcommand "resme" (did you mean resume?)\nTry \'rollguard gitops --help\'.\n',
  )
  const kind = await capture(io => runHistory(['deploymnet/web'], io, { env: {} }))
  t.match(
    kind.err,
    /^rollguard history: unsupported kind "deploymnet" \(did you mean deployment\?\): rollguard works on/,
  )
})
