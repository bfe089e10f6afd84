import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { contextNamespace, loadKubeConfig, makeClients, refString } from '../../../src/actions/kube/client.js'
import { deploymentManifest, harness } from '../../fixtures/cluster-harness.js'

const KUBECONFIG = (server: string) => `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: t0k3n }
contexts:
- name: first
  context: { cluster: one, user: u, namespace: alpha }
- name: second
  context: { cluster: one, user: u, namespace: shop }
- name: dangling
  context: { cluster: missing, user: u }
current-context: first
`

t.test('kubeconfig file: current context, explicit context, unknown context, context without cluster', async t => {
  const dir = t.testdir({ config: KUBECONFIG('https://127.0.0.1:6443') })
  const file = join(dir, 'config')
  const kc = loadKubeConfig({ source: { mode: 'file', path: file } })
  t.equal(contextNamespace(kc), 'alpha')
  t.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443')
  t.equal(contextNamespace(loadKubeConfig({ source: { mode: 'file', path: file }, context: 'second' })), 'shop')
  t.throws(
    () => loadKubeConfig({ source: { mode: 'file', path: file }, context: 'nope' }),
    /context "nope" not found \(known: first, second, dangling\)/,
  )
  t.throws(
    () => loadKubeConfig({ source: { mode: 'file', path: file }, context: 'dangling' }),
    /the current context has no cluster/,
  )
})

t.test('default loading honours $KUBECONFIG; clients built from it talk to the server', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  await h.fake.seedDeployment('shop', deploymentManifest())
  const dir = t.testdir({ config: KUBECONFIG(h.fake.url) })
  const saved = process.env['KUBECONFIG']
  process.env['KUBECONFIG'] = join(dir, 'config')
  t.teardown(() => {
    if (saved === undefined) delete process.env['KUBECONFIG']
    else process.env['KUBECONFIG'] = saved
  })
  const clients = makeClients(loadKubeConfig({ source: { mode: 'default' }, context: 'second' }))
  t.equal(clients.namespace, 'shop')
  const d = await clients.apps.readNamespacedDeployment({ name: 'web', namespace: clients.namespace })
  t.equal(d.metadata?.name, 'web')
  t.equal(h.fake.log.at(-1)?.status, 200)
})

t.test('in-cluster: service env and the service-account namespace file', async t => {
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] }
  t.teardown(() => {
    for (const [k, v] of [
      ['KUBERNETES_SERVICE_HOST', saved.host],
      ['KUBERNETES_SERVICE_PORT', saved.port],
    ] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
  delete process.env['KUBERNETES_SERVICE_HOST']
  t.throws(
    () => loadKubeConfig({ source: { mode: 'in-cluster' } }),
    /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set/,
  )
  const root = t.testdir({})
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount')
  mkdirSync(sa, { recursive: true })
  writeFileSync(join(sa, 'namespace'), 'rollguard-system')
  writeFileSync(join(sa, 'token'), 'tok')
  process.env['KUBERNETES_SERVICE_HOST'] = 'fd00::1'
  process.env['KUBERNETES_SERVICE_PORT'] = '443'
  const kc = loadKubeConfig({ source: { mode: 'in-cluster', pathPrefix: root } })
  t.equal(kc.getCurrentCluster()?.server, 'https://[fd00::1]:443')
  t.equal(contextNamespace(kc), 'rollguard-system')
  t.ok(makeClients(kc).leases)
})

t.test('refString names objects the way kubectl prints them', async t => {
  t.equal(refString({ kind: 'Deployment', namespace: 'a', name: 'web' }), 'deployment.apps/web -n a')
  t.equal(refString({ kind: 'StatefulSet', namespace: 'b', name: 'db' }), 'statefulset.apps/db -n b')
  t.equal(refString({ kind: 'DaemonSet', namespace: 'c', name: 'x' }), 'daemonset.apps/x -n c')
})
