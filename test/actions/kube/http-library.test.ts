// The Kubernetes clients' transport: client-node's requests as it builds them (credentials, body, headers), every
// answer read with a bound (kubernetes.max_response_bytes) after decompression, aborts named as aborts.
import type http from 'node:http'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { makeClients } from '../../../src/actions/kube/client.js'
import { classifyError } from '../../../src/actions/kube/errors.js'
import { DEFAULT_LIMITS } from '../../../src/sources/bounded-body.js'
import { gzipBomb, MiB, serve, stream, type Streamed } from '../../fixtures/big-answers.js'
import { kubeConfigFor } from '../../fixtures/kube/index.js'

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'checkout', namespace: 'shop', resourceVersion: '7' },
  spec: { replicas: 2 },
}

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

t.test('requests go out as client-node builds them; gzipped answers are decoded', async t => {
  const seen: Seen[] = []
  const { url } = await serve(t, (req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      res
        .writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' })
        .end(gzipSync(JSON.stringify(deployment)))
    })
  })
  const { apps } = makeClients(kubeConfigFor({ url }, 'shop'))
  const read = await apps.readNamespacedDeployment({ name: 'checkout', namespace: 'shop' })
  t.equal(read.metadata?.resourceVersion, '7')
  const patched = await apps.patchNamespacedDeployment({
    name: 'checkout',
    namespace: 'shop',
    body: { spec: { replicas: 3 } },
    fieldManager: 'rollguard',
  })
  t.equal(patched.spec?.replicas, 2, 'the answer, not the request')
  t.match(seen[0], {
    method: 'GET',
    url: '/apis/apps/v1/namespaces/shop/deployments/checkout',
    headers: { authorization: 'Bearer fake-token', 'accept-encoding': 'gzip, deflate', 'user-agent': /^rollguard\// },
  })
  t.match(seen[1], {
    method: 'PATCH',
    url: '/apis/apps/v1/namespaces/shop/deployments/checkout?fieldManager=rollguard',
    headers: { 'content-type': /json/ },
  })
  t.same(JSON.parse(seen[1]?.body ?? ''), { spec: { replicas: 3 } })
})

t.test(
  'an answer past kubernetes.max_response_bytes fails the call (plain or a gzip bomb) and is read no further',
  async t => {
    t.equal(DEFAULT_LIMITS.kubernetes, 16 * MiB)
    const bomb = gzipBomb(50 * MiB)
    let streamed: Promise<Streamed> | undefined
    const { url } = await serve(t, (req, res) => {
      req.resume()
      if (req.url?.includes('replicasets') === true)
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(bomb)
      else streamed = stream(res.writeHead(200, { 'Content-Type': 'application/json' }), 1024 * MiB)
    })
    const { apps } = makeClients(kubeConfigFor({ url }, 'shop'), { maxResponseBytes: 1 * MiB })
    const message =
      'response exceeds 1048576 bytes (1 MiB); raise kubernetes.max_response_bytes to accept larger answers'
    await t.rejects(apps.readNamespacedDeployment({ name: 'checkout', namespace: 'shop' }), {
      name: 'ResponseTooLargeError',
      message,
    })
    const sent = (await streamed) as Streamed
    t.ok(sent.closedEarly && sent.written < 17 * MiB, `the server stopped after ${sent.written} bytes, not 1 GiB`)
    const err = await apps.listNamespacedReplicaSet({ namespace: 'shop' }).catch((e: unknown) => e)
    t.match(err, { name: 'ResponseTooLargeError', message })
    t.match(classifyError(err, 'list replicasets shop'), {
      reason: 'unavailable',
      message: `list replicasets shop: ${message}`,
    })
  },
)

t.test('a timeout while the answer streams in is an abort, not a reset', async t => {
  const { url } = await serve(t, (req, res) => {
    req.resume()
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.write('{"kind":') // ...and never more
  })
  const { apps } = makeClients(kubeConfigFor({ url }, 'shop'), { requestTimeoutMs: 200 })
  const started = Date.now()
  const err = await apps.readNamespacedDeployment({ name: 'checkout', namespace: 'shop' }).catch((e: unknown) => e)
  t.match(err, { name: 'AbortError' })
  t.match(classifyError(err, 'read'), { reason: 'unavailable', message: /^read: request aborted or timed out/ })
  t.ok(Date.now() - started < 2_000)
})
