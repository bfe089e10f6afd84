// rollguard's own Lease client against the fake API server, with the credentials of a kubeconfig file read
// without client-node: the four verbs, the label selector, the answers leader election and sharding act on
// (404, 409, 403) classified as for client-node's errors, and the bounds on time and size.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { classifyError, isConflict, isNotFound, KubeApiError } from '../../../src/actions/kube/errors.js'
import { LeaseClient, microTime } from '../../../src/actions/kube/lease-api.js'
import { staticEndpoint } from '../../../src/actions/kube/static-credentials.js'
import { tempDir } from '../../fixtures/e2e.js'
import { startFakeKube, type FakeKubeOptions } from '../../fixtures/kube/index.js'
import { writeKubeconfig } from '../../fixtures/kubeconfig.js'

const NS = 'rollguard-system'

async function client(
  t: Test,
  opts: FakeKubeOptions = {},
  limits = { requestTimeoutMs: 5_000, maxResponseBytes: 1 << 20 },
) {
  const fake = await startFakeKube(opts)
  t.teardown(() => fake.close())
  const endpoint = staticEndpoint({ source: { mode: 'file', path: writeKubeconfig(tempDir(t), fake, NS) } }, {})
  if (endpoint === undefined) throw new Error('the fake kubeconfig has static credentials')
  return { fake, endpoint, leases: new LeaseClient(endpoint, limits) }
}

const spec = (holder: string, at: Date) => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(at),
  renewTime: microTime(at),
  leaseTransitions: 0,
})

t.test('create, read, replace and list by label, as kubectl sends them', async t => {
  const { fake, endpoint, leases } = await client(t)
  t.equal(endpoint.namespace, NS, "the context's namespace")
  const at = new Date(Date.UTC(2026, 11, 6, 20, 0, 0, 123))
  t.equal(microTime(at), '2026-12-06T20:00:00.123000Z', 'MicroTime: six fractional digits')
  const created = await leases.create(NS, { metadata: { name: 'm-a', labels: { shard: 'x' } }, spec: spec('a', at) })
  t.equal(created.kind, 'Lease')
  t.equal(created.spec?.renewTime, '2026-12-06T20:00:00.123000Z', 'the server keeps the MicroTime')
  await leases.create(NS, { metadata: { name: 'm-b', labels: { shard: 'y' } }, spec: spec('b', at) })
  const read = await leases.read(NS, 'm-a')
  t.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion)
  const later = new Date(at.getTime() + 2_000)
  const replaced = await leases.replace(NS, 'm-a', { ...read, spec: { ...read.spec, renewTime: microTime(later) } })
  t.not(replaced.metadata?.resourceVersion, read.metadata?.resourceVersion, 'a new resourceVersion')
  t.same(
    (await leases.list(NS, 'shard=x')).map(l => l.metadata?.name),
    ['m-a'],
    'only the selected Leases',
  )
  t.same((await leases.list('elsewhere', 'shard=x')).length, 0, 'an empty list')
  const requests = fake.log.map(e => `${e.method} ${e.path} ${e.contentType ?? '-'}`)
  t.same(requests, [
    `POST /apis/coordination.k8s.io/v1/namespaces/${NS}/leases application/json`,
    `POST /apis/coordination.k8s.io/v1/namespaces/${NS}/leases application/json`,
    `GET /apis/coordination.k8s.io/v1/namespaces/${NS}/leases/m-a -`,
    `PUT /apis/coordination.k8s.io/v1/namespaces/${NS}/leases/m-a application/json`,
    `GET /apis/coordination.k8s.io/v1/namespaces/${NS}/leases?labelSelector=shard%3Dx -`,
    'GET /apis/coordination.k8s.io/v1/namespaces/elsewhere/leases?labelSelector=shard%3Dx -',
  ])
  t.match(fake.log[0]?.userAgent, /^rollguard\//)
})

t.test('404, 409 and 403: KubeApiError, classified as client-node errors are', async t => {
  const { leases } = await client(t, {
    tokens: { 'fake-token': 'system:serviceaccount:rollguard-system:rollguard' },
    authorize: r => !(r.verb === 'list' && r.namespace === 'locked'),
  })
  const missing = await leases.read(NS, 'none').catch((e: unknown) => e)
  t.ok(missing instanceof KubeApiError && isNotFound(missing), '404')
  t.equal(classifyError(missing, 'get').message, 'get: leases.coordination.k8s.io "none" not found')
  const at = new Date()
  const first = await leases.create(NS, { metadata: { name: 'l' }, spec: spec('a', at) })
  await leases.replace(NS, 'l', { ...first, spec: spec('b', at) })
  const stale = await leases.replace(NS, 'l', { ...first, spec: spec('c', at) }).catch((e: unknown) => e)
  t.ok(isConflict(stale), '409 on a stale resourceVersion')
  t.equal(classifyError(stale, 'update').reason, 'conflict')
  const forbidden = await leases.list('locked', 'a=b').catch((e: unknown) => e)
  t.match(classifyError(forbidden, 'list'), {
    reason: 'forbidden',
    status: 403,
    message: /cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "locked"/,
  })
})

t.test('bounded: a hung answer ends at the request timeout, a large one at max_response_bytes', async t => {
  const { fake, leases } = await client(t, {}, { requestTimeoutMs: 300, maxResponseBytes: 2_048 })
  fake.inject({ kind: 'delay', ms: 2_000, match: { verb: 'get' } })
  const started = performance.now()
  const hung = await leases.read(NS, 'x').catch((e: unknown) => e)
  t.ok(performance.now() - started < 1_500, 'ended before the server answered')
  t.match(classifyError(hung, 'get'), { reason: 'unavailable', message: /aborted|timed out/ })
  const at = new Date()
  for (let i = 0; i < 12; i++)
    await leases.create(NS, { metadata: { name: `m-${i}`, labels: { s: 'x' } }, spec: spec(`holder-${i}`, at) })
  const big = await leases.list(NS, 's=x').catch((e: unknown) => e)
  t.match(classifyError(big, 'list').message, /kubernetes\.max_response_bytes/)
})

t.test('a caller signal aborts the request', async t => {
  const { fake, leases } = await client(t)
  fake.inject({ kind: 'delay', ms: 2_000, match: { verb: 'list' } })
  const stop = new AbortController()
  setTimeout(() => stop.abort(new Error('stopping')), 100)
  const err = await leases.list(NS, 'a=b', stop.signal).catch((e: unknown) => e)
  t.match(classifyError(err, 'list').message, /aborted/)
})

t.test('an answer that is not a JSON object is an error, not a Lease', async t => {
  const bodies = ['<html>proxy error</html>', '[1]', 'null']
  const server = createServer((_req, res) => res.writeHead(200).end(bodies.shift()))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const endpoint = staticEndpoint({ source: { mode: 'file', path: writeKubeconfig(tempDir(t), { url }, NS) } }, {})
  if (endpoint === undefined) throw new Error('static credentials')
  const leases = new LeaseClient(endpoint, { requestTimeoutMs: 5_000, maxResponseBytes: 1 << 20 })
  await t.rejects(
    leases.read(NS, 'x'),
    /GET \/apis\/coordination.k8s.io\/v1\/namespaces\/rollguard-system\/leases\/x: the API server answered with a body that is not JSON/,
  )
  await t.rejects(leases.read(NS, 'x'), /JSON that is not an object/)
  await t.rejects(leases.list(NS, 'a=b'), /JSON that is not an object/)
})
