// A sharded replica without actions keeps its member Lease through rollguard's own Lease client: with static
// credentials (a token here; the pod's service account in a cluster) it never loads @kubernetes/client-node, the
// one large optional dependency (issue: memory per sharded replica). With an exec plugin it loads client-node for
// its KubeConfig, and the Lease goes out with the plugin's token. The fake API server admits only the expected user.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { eventually, tempDir } from '../../fixtures/e2e.js'
import { startFakeKube, type FakeKube } from '../../fixtures/kube/index.js'
import { writeKubeconfig } from '../../fixtures/kubeconfig.js'
import { moduleTrace } from '../../fixtures/module-trace.js'
import { startRollguardProcess } from '../../fixtures/rollguard-process.js'

const KUBERNETES_CLIENT = /\/node_modules\/@kubernetes\/client-node\//
const NAMESPACE = 'rollguard-system'
const USER = 'system:serviceaccount:rollguard-system:rollguard'

async function fakeFor(t: Test, token: string): Promise<FakeKube> {
  const fake = await startFakeKube({ tokens: { [token]: USER }, authorize: r => r.user === USER })
  t.teardown(() => fake.close())
  return fake
}

/** shardedReplica starts a daemon with sharding on and this kubeconfig; resolves with the modules it loaded once its member Lease exists. */
async function shardedReplica(t: Test, dir: string, fake: FakeKube, kubeconfig: string): Promise<string[]> {
  writeFileSync(join(dir, 'rules.yml'), 'groups: []\n')
  writeFileSync(
    join(dir, 'rollguard.yml'),
    stringify({
      log: { level: 'warn' },
      kubernetes: { kubeconfig },
      sharding: { enabled: true, namespace: NAMESPACE, identity: 'r-0' },
    }),
  )
  const trace = moduleTrace(dir)
  const args = ['--config', join(dir, 'rollguard.yml'), '--rules', join(dir, 'rules.yml')]
  args.push('--prometheus-url', 'http://127.0.0.1:9', '--alertmanager-url', 'http://127.0.0.1:9')
  await startRollguardProcess(t, { args, env: trace.env })
  const created = (e: FakeKube['log'][number]) => e.resource === 'leases' && e.method === 'POST' && e.status === 201
  await eventually('the member Lease is created', async () => fake.log.some(created), 15_000)
  t.notOk(
    fake.log.some(e => e.status === 401 || e.status === 403),
    'no request was refused',
  )
  return trace.loaded()
}

t.test('a token: the member Lease without the Kubernetes client', async t => {
  const dir = tempDir(t)
  const fake = await fakeFor(t, 'fake-token')
  const loaded = await shardedReplica(t, dir, fake, writeKubeconfig(dir, fake, NAMESPACE))
  t.ok(
    loaded.some(url => /\/dist\/runtime\/sharding\/build\.js$/.test(url)),
    'the trace records sharding',
  )
  t.notOk(
    loaded.some(url => KUBERNETES_CLIENT.test(url)),
    'no Kubernetes client',
  )
})

t.test('an exec plugin: the Kubernetes client for its credentials', async t => {
  const dir = tempDir(t)
  const fake = await fakeFor(t, 'from-exec')
  const credential = {
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: 'from-exec' },
  }
  const kubeconfig = join(dir, 'exec.yaml')
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: fake.url, 'insecure-skip-tls-verify': true } }],
      users: [
        {
          name: 'exec',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: process.execPath,
              args: ['-e', `process.stdout.write(${JSON.stringify(JSON.stringify(credential))})`],
              interactiveMode: 'Never',
            },
          },
        },
      ],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'exec', namespace: NAMESPACE } }],
      'current-context': 'fake',
    }),
  )
  const loaded = await shardedReplica(t, dir, fake, kubeconfig)
  t.ok(
    loaded.some(url => KUBERNETES_CLIENT.test(url)),
    'the Kubernetes client',
  )
})
