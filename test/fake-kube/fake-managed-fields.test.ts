// metadata.managedFields: who (fieldManager, else the User-Agent's prefix) last changed which field, and when;
// server-owned, unchanged by identical writes and dry runs; controllers write as kube-controller-manager.
import t from 'tap'
import { manualClock, type KubeObject, type ManagedFieldsEntry } from '../fixtures/kube/index.js'
import { fake, web } from '../fixtures/kube/testing.js'

const DEPLOY = '/apis/apps/v1/namespaces/ns/deployments'
const entries = (o: KubeObject | undefined) => (o?.metadata.managedFields ?? []) as ManagedFieldsEntry[]
const entry = (o: KubeObject | undefined, manager: string, subresource?: string) =>
  entries(o).find(e => e.manager === manager && e.subresource === subresource)
/** owns: the entry's FieldsV1 has this f: path. */
const owns = (e: ManagedFieldsEntry | undefined, ...path: string[]) => {
  let node: unknown = e?.fieldsV1
  for (const seg of path) node = (node as Record<string, unknown> | undefined)?.[seg === '.' ? '.' : `f:${seg}`]
  return node !== undefined
}

async function send(url: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const ct = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': ct, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { code: res.status, body: (await res.json()) as KubeObject }
}

t.test(
  'create: the creator owns every field it set, in the real FieldsV1 shape; status and server fields are not tracked',
  async t => {
    const f = await fake(t, { clock: manualClock() })
    const r = await send(f.url, 'POST', `${DEPLOY}?fieldManager=deployer`, web(), {
      'User-Agent': 'kubectl/v1.33.1 (linux/amd64) kubernetes/abc',
    })
    t.equal(r.code, 201)
    const e = entry(r.body, 'deployer')
    t.match(
      e,
      {
        manager: 'deployer',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
      },
      'fieldManager wins over the User-Agent',
    )
    t.notOk('subresource' in (e ?? {}), 'no subresource for the main resource')
    t.same(
      e?.fieldsV1['f:metadata'],
      { 'f:annotations': { '.': {}, 'f:kubernetes.io/change-cause': {}, 'f:team': {} } },
      'maps get {".":{}}; name/namespace/uid/… are not tracked',
    )
    t.ok(owns(e, 'spec', 'template', 'spec', 'containers'), 'lists are atomic leaves')
    t.ok(owns(e, 'spec', 'selector'), 'LabelSelector is atomic')
    t.ok(owns(e, 'spec', 'revisionHistoryLimit'), 'defaulted fields are owned by the creator (Update semantics)')
    t.notOk(owns(e, 'status'))
    t.equal(entries(r.body).length, 1, 'the controller has not run yet in this answer')
  },
)

t.test('manager from the User-Agent prefix, else "unknown"; the template change moves ownership and time', async t => {
  const clock = manualClock()
  const f = await fake(t, { clock })
  await f.seedDeployment('ns', web())
  const created = f.get('deployments', 'ns', 'web')
  t.ok(
    owns(entry(created, 'kubectl-create'), 'spec', 'template', 'spec', 'containers'),
    'seedDeployment writes as kubectl-create',
  )
  t.match(entry(created, 'kube-controller-manager', 'status'), { operation: 'Update', subresource: 'status' })
  t.ok(
    owns(
      entry(created, 'kube-controller-manager', 'status'),
      'metadata',
      'annotations',
      'deployment.kubernetes.io/revision',
    ),
    'the controller writes the revision annotation through /status',
  )
  const rs = f.list('replicasets', 'ns')[0]
  t.ok(owns(entry(rs, 'kube-controller-manager'), 'spec', 'template'), 'the controller created the ReplicaSet')
  clock.advance(90_500)
  const ua = { 'User-Agent': 'kubectl/v1.33.1 (linux/amd64) kubernetes/abc' }
  const patch = {
    spec: {
      template: { spec: { containers: [{ name: 'c', image: 'nginx:2', resources: { limits: { cpu: '500m' } } }] } },
    },
  }
  const r = await send(f.url, 'PATCH', `${DEPLOY}/web`, patch, ua)
  t.equal(r.code, 200)
  const mine = entry(r.body, 'kubectl')
  t.same(
    mine?.fieldsV1,
    { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': {} } } } },
    'only what the write changed',
  )
  t.equal(mine?.time, '2026-01-01T00:01:30Z', 'whole seconds of the fake clock')
  const creator = entry(r.body, 'kubectl-create')
  t.notOk(owns(creator, 'spec', 'template', 'spec', 'containers'), 'taken from the previous owner')
  t.equal(creator?.time, '2026-01-01T00:00:00Z', "losing a field does not move the loser's time")
  t.ok(owns(creator, 'spec', 'template', 'spec', 'dnsPolicy'), 'unchanged fields stay with their owner')
  t.same(
    entries(r.body).map(e => [e.manager, e.subresource]),
    [
      ['kube-controller-manager', 'status'],
      ['kubectl-create', undefined],
      ['kubectl', undefined],
    ],
    "one entry per key, in the apiserver's order (operation, time, manager)",
  )
  const anon = await send(f.url, 'PATCH', `${DEPLOY}/web`, { metadata: { labels: { x: '1' } } }, { 'User-Agent': '' })
  t.ok(owns(entry(anon.body, 'unknown'), 'metadata', 'labels', 'x'), 'no fieldManager and no User-Agent → "unknown"')
})

t.test(
  'identical writes, dry runs and client-sent managedFields change nothing; removed fields are dropped with empty entries',
  async t => {
    const clock = manualClock()
    const f = await fake(t, { clock })
    await f.seedDeployment('ns', web())
    const before = f.get('deployments', 'ns', 'web')
    clock.advance(5_000)
    const same = await send(f.url, 'PUT', `${DEPLOY}/web?fieldManager=other`, before)
    t.equal(
      same.body.metadata.resourceVersion,
      before?.metadata.resourceVersion,
      'an identical PUT by a new manager does not bump resourceVersion',
    )
    t.same(same.body.metadata.managedFields, before?.metadata.managedFields, 'and records no empty entry')
    const forged = {
      ...before,
      metadata: {
        ...before?.metadata,
        managedFields: [{ manager: 'forged', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
      },
    }
    const ignored = await send(f.url, 'PUT', `${DEPLOY}/web`, forged)
    t.same(
      [ignored.code, ignored.body.metadata.resourceVersion, ignored.body.metadata.managedFields],
      [200, before?.metadata.resourceVersion, before?.metadata.managedFields],
      'managedFields in a request are ignored',
    )
    const dry = await send(f.url, 'PATCH', `${DEPLOY}/web?dryRun=All&fieldManager=dry`, {
      metadata: { labels: { a: 'b' } },
    })
    t.same(dry.body.metadata.managedFields, before?.metadata.managedFields, 'dry run: nothing recorded')
    await send(f.url, 'PATCH', `${DEPLOY}/web?fieldManager=labeler`, { metadata: { labels: { a: 'b' } } })
    const gone = await send(f.url, 'PATCH', `${DEPLOY}/web?fieldManager=cleaner`, { metadata: { labels: { a: null } } })
    t.notOk(entry(gone.body, 'labeler'), 'the only field of labeler is gone, so is its entry')
    t.notOk(entry(gone.body, 'cleaner'), 'removing a field owns nothing')
    t.equal(
      gone.body.metadata.generation,
      before?.metadata.generation,
      'generation rules unchanged (labels do not count)',
    )
  },
)

t.test(
  '/status and /scale writes get their own entries; apply-patch+yaml is an Apply owning exactly its fields',
  async t => {
    const f = await fake(t, { clock: manualClock(), autoController: false })
    await f.seedDeployment('ns', web())
    const st = await send(f.url, 'PUT', `${DEPLOY}/web/status?fieldManager=prober`, {
      ...f.get('deployments', 'ns', 'web'),
      status: { replicas: 7 },
    })
    t.ok(owns(entry(st.body, 'prober', 'status'), 'status', 'replicas'))
    t.notOk(owns(entry(st.body, 'prober', 'status'), 'spec'), 'a /status write cannot change spec')
    const sc = await send(f.url, 'PATCH', `${DEPLOY}/web/scale?fieldManager=hpa`, { spec: { replicas: 5 } })
    t.equal(sc.code, 200)
    const d = f.get('deployments', 'ns', 'web')
    t.same(entry(d, 'hpa', 'scale')?.fieldsV1, { 'f:spec': { 'f:replicas': {} } })
    t.notOk(owns(entry(d, 'kubectl-create'), 'spec', 'replicas'))
    const yaml =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 5\n'
    const res = await fetch(`${f.url}${DEPLOY}/web?fieldManager=argocd-controller`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: yaml,
    })
    const applied = entries((await res.json()) as KubeObject).find(e => e.manager === 'argocd-controller')
    t.match(applied, { operation: 'Apply' })
    t.same(
      applied?.fieldsV1,
      { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } },
      'same-valued replicas are shared with hpa',
    )
  },
)
