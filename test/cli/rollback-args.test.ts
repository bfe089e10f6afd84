import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseRollbackArgs, ROLLBACK_USAGE, runRollback } from '../../src/cli/rollback.js'
import { parseKind, parseTarget } from '../../src/cli/workload-args.js'
import { web } from '../fixtures/kube/testing.js'
import { capture, cluster, patches, setImage } from '../fixtures/cluster-harness.js'

t.test('kubeconfig lookup: -n defaults to the context namespace, KUBECONFIG, --context, missing config', async t => {
  const c = await cluster(t, 'shop')
  await c.fake.seedDeployment('shop', web('nginx:1'))
  await setImage(c.fake, 'shop', 'web', 'nginx:2')
  const viaEnv = await capture(io =>
    runRollback(['deployment/web', '--dry-run'], io, { env: { KUBECONFIG: c.kubeconfig }, pollMs: 20 }),
  )
  t.equal(viaEnv.code, 0, viaEnv.err)
  t.equal(patches(c.fake.log).at(-1)?.namespace, 'shop', 'the context namespace')
  const badContext = await c.rollback(['deployment/web', '--context', 'nope'])
  t.equal(badContext.code, 1)
  t.match(badContext.err, /^error: kubeconfig \(file .*\): context "nope" not found \(known: fake\)\n$/)
  const home = mkdtempSync(join(tmpdir(), 'rollguard-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const none = await capture(io => runRollback(['deployment/web'], io, { env: { HOME: home } }))
  t.equal(none.code, 1)
  t.equal(
    none.err,
    'error: no cluster configuration: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run inside a pod\n',
  )
  const missingFile = await capture(io =>
    runRollback(['deployment/web', '--kubeconfig', '/nonexistent/kubeconfig'], io),
  )
  t.equal(missingFile.code, 1)
  t.match(missingFile.err, /^error: .*ENOENT.*\/nonexistent\/kubeconfig/)
  const other = await c.rollback(['deployment/web', '-n', 'elsewhere'])
  t.equal(
    other.err,
    'error: deployment.apps/web -n elsewhere: deployments.apps "web" not found\n',
    '-n wins over the context',
  )
})

t.test('usage: --help, and usage errors exit 2', async t => {
  const help = await capture(io => runRollback(['--help'], io))
  t.equal(help.code, 0)
  t.equal(help.out, ROLLBACK_USAGE)
  t.match(ROLLBACK_USAGE, /Examples:\n {2}# Roll back/)
  t.equal((await capture(io => runRollback(['deployment/web', '-h'], io))).code, 0)
  const cases: [string[], string][] = [
    [[], 'a workload is required: KIND/NAME, e.g. deployment/web'],
    [
      ['pod/web'],
      'unsupported kind "pod": rollguard works on deployment (deploy), statefulset (sts) and daemonset (ds)',
    ],
    [['deployment/'], 'deployment: a name is required, e.g. deployment/web'],
    [['deployment'], 'deployment: a name is required, e.g. deployment/web'],
    [['deployment/web', 'extra'], 'unexpected argument: extra'],
    [['deployment/a/b'], 'invalid name "a/b": use KIND/NAME'],
    [['deployment/web', '--to-revision', 'two'], '--to-revision: invalid revision "two", want an integer'],
    [['deployment/web', '--timeout', 'soon'], '--timeout: not a valid duration string: "soon"'],
    [
      ['deployment/web', '--timeout', '0'],
      '--timeout must be greater than 0 (use --no-wait to skip following the rollout)',
    ],
    [
      ['deployment/web', '--dry-run=client'],
      '--dry-run=client is not supported: rollguard only does server-side dry runs (--dry-run)',
    ],
    [['deployment/web', '--dry-run=yes'], 'invalid --dry-run value "yes": use --dry-run (server) or --dry-run=none'],
    [['deployment/web', '--reason', ''], '--reason must be 1 to 256 characters'],
    [['deployment/web', '--bogus'], 'unknown flag --bogus'],
    [['deployment/web', '-n'], "Option '-n, --namespace <value>' argument missing"],
  ]
  for (const [args, message] of cases) {
    const r = await capture(io => runRollback(args, io))
    t.equal(r.code, 2, args.join(' '))
    t.equal(r.err, `rollguard rollback: ${message}\nTry 'rollguard rollback --help'.\n`, args.join(' '))
  }
})

t.test("KIND accepts kubectl's names and aliases, case-insensitive", async t => {
  for (const k of [
    'deployment',
    'deployments',
    'deploy',
    'Deployment',
    'DEPLOY',
    'deployment.apps',
    'deployments.v1.apps',
  ])
    t.equal(parseKind(k), 'Deployment', k)
  for (const k of ['statefulset', 'statefulsets', 'sts', 'StatefulSet']) t.equal(parseKind(k), 'StatefulSet', k)
  for (const k of ['daemonset', 'daemonsets', 'ds', 'DS']) t.equal(parseKind(k), 'DaemonSet', k)
  for (const k of ['pod', 'replicaset', 'rs', 'deployment.extensions', '']) t.equal(parseKind(k), undefined, k)
  t.same(parseTarget(['deploy', 'web']), { kind: 'Deployment', name: 'web' })
  t.match(parseRollbackArgs(['sts/db', '--namespace=data', '--to-revision=-1', '--no-wait', '--timeout', '1m30s']), {
    target: { kind: 'StatefulSet', name: 'db' },
    flags: { namespace: 'data' },
    toRevision: -1,
    wait: false,
    dryRun: false,
    timeoutMs: 90_000,
  })
})
