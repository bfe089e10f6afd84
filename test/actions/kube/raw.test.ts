import t from 'tap'
import { PatchStrategy } from '@kubernetes/client-node'
import { undoDeployment } from '../../../src/actions/kube/deployment-undo.js'
import { callOptions, listAllRaw, withRaw } from '../../../src/actions/kube/raw.js'
import { deploymentManifest, harness, ref, setImage, writes } from '../../fixtures/cluster-harness.js'

const NS = 'shop'

function withFutureFields(image: string) {
  const d = deploymentManifest('web', image)
  const template = d.spec.template as { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } }
  template.spec['futurePodField'] = { mode: 'strict' }
  if (template.spec.containers[0]) template.spec.containers[0]['futureContainerField'] = 42
  return d
}

t.test('fields unknown to the typed models survive the round trip into the PATCH body', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, withFutureFields('nginx:1'))
  await setImage(h.fake, NS, 'web', 'nginx:2')
  const typed = await h.clients.apps.listNamespacedReplicaSet({ namespace: NS })
  const typedSpec = typed.items[0]?.spec?.template?.spec as unknown as Record<string, unknown>
  t.notOk('futurePodField' in typedSpec, 'the typed client drops the unknown field (why raw capture exists)')
  h.fake.log.length = 0
  const r = await undoDeployment(h.clients.apps, ref('Deployment', NS, 'web'), { dryRun: false })
  t.equal(r.kind, 'rolled-back')
  const ops = writes(h.fake.log)[0]?.body as {
    path: string
    value: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } }
  }[]
  const template = ops.find(o => o.path === '/spec/template')?.value
  t.same(template?.spec['futurePodField'], { mode: 'strict' })
  t.equal(template?.spec.containers[0]?.['futureContainerField'], 42)
  await h.fake.tick()
  const stored = h.fake.get('deployments', NS, 'web') as unknown as {
    spec: { template: { spec: Record<string, unknown> } }
  }
  t.same(stored.spec.template.spec['futurePodField'], { mode: 'strict' }, 'and the stored deployment keeps it')
})

t.test('withRaw returns the server JSON; errors still throw ApiException', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, withFutureFields('nginx:1'))
  const raw = await withRaw<{ kind: string; spec: { template: { spec: Record<string, unknown> } } }>(o =>
    h.clients.apps.readNamespacedDeployment({ name: 'web', namespace: NS }, o),
  )
  t.equal(raw.kind, 'Deployment')
  t.ok('futurePodField' in raw.spec.template.spec)
  await t.rejects(
    withRaw(o => h.clients.apps.readNamespacedDeployment({ name: 'nope', namespace: NS }, o)),
    { code: 404 },
  )
})

t.test('callOptions: Content-Type override and the caller signal; the static timeout stays in force', async t => {
  const h = await harness(NS, {}, 300)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, deploymentManifest())
  await h.clients.apps.patchNamespacedDeployment(
    { name: 'web', namespace: NS, body: { metadata: { labels: { merged: 'yes' } } } },
    callOptions({ contentType: PatchStrategy.MergePatch }),
  )
  t.equal(writes(h.fake.log)[0]?.contentType, 'application/merge-patch+json')
  t.equal(h.fake.get('deployments', NS, 'web')?.metadata.labels?.['merged'], 'yes')
  const ctl = new AbortController()
  h.fake.inject({ kind: 'delay', ms: 1_000, match: { verb: 'get' } })
  const pending = h.clients.apps.readNamespacedDeployment(
    { name: 'web', namespace: NS },
    callOptions({ signal: ctl.signal }),
  )
  ctl.abort()
  await t.rejects(pending, { name: 'AbortError' }, 'the caller signal aborts the request')
  h.fake.inject({ kind: 'delay', ms: 1_000, match: { verb: 'get' } })
  const started = Date.now()
  await t.rejects(h.clients.apps.readNamespacedDeployment({ name: 'web', namespace: NS }, callOptions({})), {
    name: 'AbortError',
  })
  t.ok(Date.now() - started < 900, 'the client request timeout (300 ms) still applies')
})

t.test('listAllRaw follows continue tokens and is bounded', async t => {
  const pages: Record<string, unknown> = {
    first: { metadata: { continue: 'b' }, items: [1, 2] },
    b: { metadata: { continue: '' }, items: [3] },
  }
  const fakeCall = (cont: string | undefined, options: ReturnType<typeof callOptions>) =>
    replay(pages[cont ?? 'first'], options)
  t.same(await listAllRaw<number>(fakeCall), [1, 2, 3])
  const endless = (_c: string | undefined, options: ReturnType<typeof callOptions>) =>
    replay({ metadata: { continue: 'again' }, items: [] }, options)
  await t.rejects(listAllRaw(endless), /did not finish within 100 pages/)
  await t.rejects(
    withRaw(options => replay(undefined, options)),
    /without a JSON body/,
  )
})

// Runs the capture middleware of `options` over a canned 200 response, as the generated client would.
async function replay(json: unknown, options: ReturnType<typeof callOptions>): Promise<unknown> {
  const { ResponseContext, SelfDecodingBody } = await import('@kubernetes/client-node')
  const text = json === undefined ? 'not json' : JSON.stringify(json)
  const rsp = new ResponseContext(200, {}, new SelfDecodingBody(Promise.resolve(Buffer.from(text))))
  for (const m of options.middleware ?? []) await m.post(rsp).toPromise()
  return json
}
