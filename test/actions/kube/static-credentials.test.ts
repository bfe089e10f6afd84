// rollguard's reading of static credentials against @kubernetes/client-node's KubeConfig, which the actions use:
// the same server, namespace and request headers for every kind of static user, the same errors for a missing
// context or cluster, client-node for what needs its authenticators; and the TLS settings against a real TLS server.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join, relative } from 'node:path'
import type { TLSSocket } from 'node:tls'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { kubeConfigEndpoint, loadKubeConfig, type LoadKubeConfigOptions } from '../../../src/actions/kube/client.js'
import type { ApiEndpoint } from '../../../src/actions/kube/endpoint.js'
import { LeaseClient } from '../../../src/actions/kube/lease-api.js'
import { RELOAD_MS, staticEndpoint } from '../../../src/actions/kube/static-credentials.js'
import { tempDir } from '../../fixtures/e2e.js'
import { makePki } from '../../fixtures/tls.js'

const cluster = (name: string, server: string, extra: Record<string, unknown> = {}) => ({
  name,
  cluster: { server, ...extra },
})
const user = (name: string, fields: Record<string, unknown>) => ({ name, user: fields })
const context = (name: string, c: string, u: string, namespace?: string) => ({
  name,
  context: { cluster: c, user: u, ...(namespace === undefined ? {} : { namespace }) },
})

function kubeconfig(dir: string, doc: Record<string, unknown>, name = 'config.yaml'): string {
  const file = join(dir, name)
  writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Config', ...doc }))
  return file
}

async function requestOf(e: ApiEndpoint) {
  const auth = await e.authorize()
  return { server: e.server, namespace: e.namespace, headers: auth.headers }
}

t.test('static users: the server, namespace and headers client-node gives', async t => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'token.txt'), 'from-a-file')
  const clusters = [
    cluster('plain', 'http://127.0.0.1:6443/', { 'insecure-skip-tls-verify': true }),
    cluster('prefixed', 'http://127.0.0.1:6443/k8s/clusters/c-1', { 'insecure-skip-tls-verify': true }),
  ]
  const users = [
    user('token', { token: 'abc' }),
    user('token-file', { 'token-file': join(dir, 'token.txt') }),
    user('basic', { username: 'alice', password: 's3cret' }),
    user('both', { token: 'wins', username: 'alice', password: 'loses' }),
    user('impersonating', { token: 'abc', as: 'system:serviceaccount:shop:deployer' }),
    user('anonymous', {}),
  ]
  const contexts = [
    context('token', 'plain', 'token', 'shop'),
    context('token-file', 'plain', 'token-file'),
    context('basic', 'prefixed', 'basic', 'ops'),
    context('both', 'plain', 'both'),
    context('impersonating', 'plain', 'impersonating', 'shop'),
    context('anonymous', 'plain', 'anonymous'),
    context('no-user', 'plain', 'nobody'),
  ]
  const file = kubeconfig(dir, { clusters, users, contexts, 'current-context': 'token' })
  for (const ctx of [undefined, ...contexts.map(c => c.name)]) {
    const opts: LoadKubeConfigOptions = {
      source: { mode: 'file', path: file },
      ...(ctx === undefined ? {} : { context: ctx }),
    }
    const ours = staticEndpoint(opts, {})
    if (ours === undefined) throw new Error(`no static endpoint for ${ctx}`)
    t.same(
      await requestOf(ours),
      await requestOf(kubeConfigEndpoint(loadKubeConfig(opts))),
      `context ${ctx ?? '(current)'}`,
    )
  }
})

t.test('a missing context or cluster: the errors loadKubeConfig gives', async t => {
  const dir = tempDir(t)
  const file = kubeconfig(dir, {
    clusters: [cluster('c', 'http://127.0.0.1:1', { 'insecure-skip-tls-verify': true })],
    users: [user('u', { token: 'x' })],
    contexts: [context('a', 'c', 'u'), context('dangling', 'gone', 'u')],
    'current-context': 'dangling',
  })
  const source = { mode: 'file', path: file } as const
  for (const opts of [{ source, context: 'nope' }, { source }, { source, context: 'dangling' }]) {
    const expected = t.throws(() => loadKubeConfig(opts)) as Error
    t.throws(() => staticEndpoint(opts, {}), { message: expected.message })
  }
  const broken = join(dir, 'broken.yaml')
  writeFileSync(broken, 'clusters: [\n')
  t.throws(
    () => staticEndpoint({ source: { mode: 'file', path: broken } }, {}),
    /^kubeconfig \(file .*broken\.yaml\): /,
  )
})

t.test('credentials that need client-node: no static endpoint', async t => {
  const dir = tempDir(t)
  const c = cluster('c', 'https://127.0.0.1:6443')
  const cases = {
    exec: { users: [user('u', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } })] },
    'auth-provider': { users: [user('u', { 'auth-provider': { name: 'oidc', config: {} } })] },
    'proxy-url': {
      users: [user('u', { token: 'x' })],
      clusters: [cluster('c', 'https://127.0.0.1:6443', { 'proxy-url': 'http://proxy:3128' })],
    },
  }
  for (const [name, doc] of Object.entries(cases)) {
    const file = kubeconfig(
      dir,
      { clusters: [c], contexts: [context('x', 'c', 'u')], 'current-context': 'x', ...doc },
      `${name}.yaml`,
    )
    t.equal(staticEndpoint({ source: { mode: 'file', path: file } }, {}), undefined, name)
  }
  const one = kubeconfig(
    dir,
    { clusters: [c], users: [user('u', { token: 'x' })], contexts: [context('x', 'c', 'u')], 'current-context': 'x' },
    'one.yaml',
  )
  const two = kubeconfig(dir, { clusters: [], users: [], contexts: [] }, 'two.yaml')
  t.equal(
    staticEndpoint({ source: { mode: 'default' } }, { KUBECONFIG: `${one}:${two}` }),
    undefined,
    'KUBECONFIG files to merge',
  )
  t.equal(
    staticEndpoint({ source: { mode: 'default' } }, { KUBECONFIG: one })?.server,
    'https://127.0.0.1:6443',
    'one KUBECONFIG file',
  )
  mkdirSync(join(dir, 'home', '.kube'), { recursive: true })
  writeFileSync(join(dir, 'home', '.kube', 'config'), readFileSync(one))
  t.equal(
    staticEndpoint({ source: { mode: 'default' } }, { HOME: join(dir, 'home') })?.server,
    'https://127.0.0.1:6443',
    '~/.kube/config',
  )
})

t.test('in-cluster: the service account as client-node reads it; the token is read again after a minute', async t => {
  const root = tempDir(t)
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount')
  mkdirSync(sa, { recursive: true })
  writeFileSync(join(sa, 'namespace'), 'rollguard-system')
  writeFileSync(join(sa, 'token'), 'first')
  writeFileSync(join(sa, 'ca.crt'), readFileSync(makePki(tempDir(t)).caFile))
  const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }
  const clock = { now: 0 }
  const ours = staticEndpoint({ source: { mode: 'in-cluster', pathPrefix: root } }, env, () => clock.now)
  if (ours === undefined) throw new Error('no static endpoint')
  t.equal(ours.server, 'https://[fd00::1]:443')
  t.equal(ours.namespace, 'rollguard-system')
  t.same((await ours.authorize()).headers, { Authorization: 'Bearer first' })
  writeFileSync(join(sa, 'token'), 'rotated')
  clock.now = RELOAD_MS - 1
  t.same((await ours.authorize()).headers, { Authorization: 'Bearer first' }, 'within a minute: the token read before')
  clock.now = RELOAD_MS
  t.same((await ours.authorize()).headers, { Authorization: 'Bearer rotated' }, 'after a minute: the new token')
  const agent = (await ours.authorize()).agent
  writeFileSync(join(sa, 'token'), 'again')
  clock.now = 2 * RELOAD_MS
  t.equal((await ours.authorize()).agent, agent, 'the same CA: the same agent (its connections kept)')
  writeFileSync(join(sa, 'ca.crt'), readFileSync(makePki(tempDir(t)).caFile))
  clock.now = 3 * RELOAD_MS
  t.not((await ours.authorize()).agent, agent, 'a rotated CA: a new agent')

  t.throws(
    () => staticEndpoint({ source: { mode: 'in-cluster', pathPrefix: root } }, {}),
    /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set/,
  )
  t.throws(
    () => staticEndpoint({ source: { mode: 'in-cluster', pathPrefix: join(root, 'elsewhere') } }, env),
    /^kubeconfig \(in-cluster\): cannot read .*token/,
  )
})

/** A TLS server asking for client certificates, answering every request with an empty Lease list. */
async function tlsServer(t: Test, pki: ReturnType<typeof makePki>): Promise<string> {
  const server = https.createServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ca: readFileSync(pki.caFile),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const authorized = (req.socket as TLSSocket).authorized
      res.writeHead(authorized ? 200 : 401, { 'Content-Type': 'application/json' })
      res.end(
        JSON.stringify(authorized ? { kind: 'LeaseList', items: [] } : { kind: 'Status', message: 'Unauthorized' }),
      )
    },
  )
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test(
  'TLS: the CA, client certificate, insecure-skip-tls-verify and tls-server-name reach the connection',
  async t => {
    const dir = tempDir(t)
    const pki = makePki(join(dir))
    const server = await tlsServer(t, pki)
    const cert = { 'client-certificate': pki.clientCert, 'client-key': pki.clientKey }
    const list = async (clusterFields: Record<string, unknown>, userFields: Record<string, unknown>) => {
      const file = kubeconfig(dir, {
        clusters: [cluster('c', server, clusterFields)],
        users: [user('u', userFields)],
        contexts: [context('x', 'c', 'u')],
        'current-context': 'x',
      })
      const endpoint = staticEndpoint({ source: { mode: 'file', path: file } }, {})
      if (endpoint === undefined) throw new Error('no static endpoint')
      const leases = new LeaseClient(endpoint, { requestTimeoutMs: 5_000, maxResponseBytes: 1 << 20 })
      try {
        return (await leases.list('ns', 'a=b')).length === 0 ? 'ok' : 'items'
      } catch (err) {
        return (err as Error).message
      }
    }
    t.equal(await list({ 'certificate-authority': pki.caFile }, cert), 'ok', 'CA file and client certificate files')
    t.equal(
      await list(
        { 'certificate-authority': relative(dir, pki.caFile) },
        { 'client-certificate': relative(dir, pki.clientCert), 'client-key': relative(dir, pki.clientKey) },
      ),
      'ok',
      'paths relative to the kubeconfig file',
    )
    const data = (f: string) => readFileSync(f).toString('base64')
    t.equal(
      await list(
        { 'certificate-authority-data': data(pki.caFile) },
        { 'client-certificate-data': data(pki.clientCert), 'client-key-data': data(pki.clientKey) },
      ),
      'ok',
      'the same as data',
    )
    t.match(await list({ 'certificate-authority': pki.caFile }, {}), /HTTP 401/, 'no client certificate: 401')
    t.match(
      await list({ 'certificate-authority': pki.otherCaFile }, cert),
      /self.signed|unable to verify|certificate/i,
      'another CA: refused',
    )
    t.match(await list({}, cert), /self.signed|unable to verify|certificate/i, 'no CA: the system roots refuse it')
    t.equal(await list({ 'insecure-skip-tls-verify': true }, cert), 'ok', 'insecure-skip-tls-verify')
    t.match(
      await list({ 'certificate-authority': pki.caFile, 'tls-server-name': 'elsewhere.test' }, cert),
      /elsewhere\.test/,
      'tls-server-name is the name checked',
    )
  },
)
