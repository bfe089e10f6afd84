// Without usable Kubernetes credentials, actions cannot work: `rollguard run` refuses to start with the one line
// `rollguard history` prints, and `rollguard doctor` fails its kubeconfig check with the same words.
import { existsSync } from 'node:fs'
import t from 'tap'
import { pino } from 'pino'
import { runDaemon } from '../../src/cli/run.js'
import { ConfigError } from '../../src/config/load.js'
import { NO_CLUSTER_CONFIGURATION, SERVICE_ACCOUNT_TOKEN } from '../../src/config/kubeconfig-lookup.js'
import { Daemon } from '../../src/daemon.js'
import { freePort } from '../../src/demo/processes.js'
import { tempDir } from '../fixtures/e2e.js'
import { startFakeKube } from '../fixtures/kube/index.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'
import { capture } from '../fixtures/cluster-harness.js'
import { doctor, failures } from './fixtures/doctor.js'

const skip = existsSync(SERVICE_ACCOUNT_TOKEN)
  ? `${SERVICE_ACCOUNT_TOKEN} exists here: client-node would use it`
  : false

t.test(
  "rollguard run with actions and no kubeconfig: exit 1 at start, with history's message on one line",
  { skip, timeout: 20_000 },
  async t => {
    const home = tempDir(t)
    const closed = await freePort()
    const flags = [
      '--prometheus-url',
      `http://127.0.0.1:${closed}`,
      '--listen',
      '127.0.0.1:0',
      '--actions-mode',
      'dry-run',
      '--log-level',
      'error',
    ]
    // Before the fix the daemon started and retried the Lease against http://localhost:8080 forever: bounded here.
    const r = await capture(io => runDaemon(flags, io, { HOME: home }))
    t.equal(r.code, 1)
    t.equal(
      r.err,
      `rollguard run: invalid configuration: kubernetes: cannot load the Kubernetes configuration for actions: ${NO_CLUSTER_CONFIGURATION}\n`,
    )
    t.equal(r.out, '')
    const start = Daemon.start(
      {
        flags: new Map(
          flags.reduce<[string, string[]][]>(
            (acc, v, i) => (i % 2 === 0 ? [...acc, [v.slice(2), [flags[i + 1] as string]]] : acc),
            [],
          ),
        ),
        env: { HOME: home },
        cwd: home,
      },
      { version: 'test', logger: pino({ level: 'silent' }) },
    )
    await t.rejects(start, ConfigError)
  },
)

t.test('KUBECONFIG or ~/.kube/config make the default lookup usable again', { skip, timeout: 20_000 }, async t => {
  const fake = await startFakeKube()
  t.teardown(() => fake.close())
  const home = tempDir(t)
  const kubeconfig = writeKubeconfig(tempDir(t), fake, 'rollguard-system')
  const closed = await freePort()
  const args = ['--prometheus-url', `http://127.0.0.1:${closed}`, '--actions-mode', 'dry-run']
  // client-node's default lookup reads process.env itself, whatever environment rollguard was given.
  const saved = process.env['KUBECONFIG']
  process.env['KUBECONFIG'] = kubeconfig
  t.teardown(() => {
    if (saved === undefined) delete process.env['KUBECONFIG']
    else process.env['KUBECONFIG'] = saved
  })
  const viaEnv = await doctor(args, { HOME: home, KUBECONFIG: kubeconfig })
  t.match(
    viaEnv.out,
    new RegExp(
      `\\[ ok \\] kubeconfig: credentials from \\$KUBECONFIG \\(${kubeconfig}\\): context "fake", API server ${fake.url}\\n`,
    ),
  )
  t.match(viaEnv.out, /\[ ok \] kubernetes-api: /)
  t.match(viaEnv.out, /\[warn\] kubernetes-permissions: actions\.allow is empty: no workload may be rolled back/)
})

t.test(
  'doctor: no kubeconfig, a missing context, an API server that does not answer',
  { skip, timeout: 30_000 },
  async t => {
    const closed = await freePort()
    const base = ['--prometheus-url', `http://127.0.0.1:${closed}`, '--actions-mode', 'dry-run']
    const none = await doctor(base, { HOME: tempDir(t) })
    t.equal(none.code, 1)
    t.match(failures(none.out), [
      /prometheus/,
      `[FAIL] kubeconfig: cannot load the Kubernetes credentials for actions: ${NO_CLUSTER_CONFIGURATION}`,
    ])
    t.notMatch(none.out, /kubernetes-api/, 'nothing to ask without credentials')

    const fake = await startFakeKube()
    const kubeconfig = writeKubeconfig(tempDir(t), fake)
    await fake.close()
    const context = await doctor([...base, '--kubeconfig', kubeconfig, '--kube-context', 'prod'])
    t.match(
      failures(context.out)[1],
      `[FAIL] kubeconfig: cannot load the Kubernetes credentials for actions: kubeconfig (file ${kubeconfig}): context "prod" not found (known: fake)`,
    )
    const gone = await doctor([...base, '--kubeconfig', kubeconfig])
    t.match(
      failures(gone.out)[1],
      new RegExp(
        `^\\[FAIL\\] kubernetes-api: the Kubernetes API at ${fake.url} does not answer: GET /version: .*ECONNREFUSED`,
      ),
    )
  },
)
