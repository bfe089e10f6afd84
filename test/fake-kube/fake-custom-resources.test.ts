// GitOps custom resources in the fake: Argo CD Applications, Flux Kustomizations and HelmReleases served with
// their CRDs' group/version/plural, discovery, CRUD through client-node's CustomObjectsApi, the apiextensions
// semantics (generation outside metadata, status subresource or not, no strategic merge patch, no unconditional
// update), 409/422/415 bodies, dry run, RBAC, faults, watch, and kubectl against it.
import t from 'tap'
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node'
import { manualClock, type KubeObject, type ManagedFieldsEntry } from '../fixtures/kube/index.js'
import { findKubectl, kubectlAgainst } from '../fixtures/kube/kubectl.js'
import { failure, fake, kc } from '../fixtures/kube/testing.js'

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const json = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)

const APP = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' }
const KS = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' }
const HR = { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' }

const app = (name = 'shop') => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Application',
  metadata: { name },
  spec: {
    project: 'default',
    source: { repoURL: 'https://git.example/shop.git', path: 'deploy', targetRevision: 'main' },
    destination: { server: 'https://kubernetes.default.svc', namespace: 'shop' },
    syncPolicy: { automated: { selfHeal: true, prune: true } },
  },
})
const ks = (name = 'shop') => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name },
  spec: { interval: '10m', path: './deploy', prune: true, sourceRef: { kind: 'GitRepository', name: 'shop' } },
})
const hr = (name = 'shop') => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: {
    interval: '10m',
    chart: { spec: { chart: 'shop', version: '1.2.3', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
  },
})

type Obj = Record<string, any>
const get = async (url: string, path: string) => {
  const res = await fetch(`${url}${path}`)
  return { code: res.status, body: (await res.json()) as Obj }
}

t.test(
  'discovery: the three groups after the built-in ones, with their versions, short names and subresources',
  async t => {
    const f = await fake(t)
    const apis = await get(f.url, '/apis')
    const groups = (apis.body.groups as Obj[]).map(g => [g.name, g.preferredVersion.groupVersion])
    t.same(groups.slice(-3), [
      ['argoproj.io', 'argoproj.io/v1alpha1'],
      ['helm.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io/v2'],
      ['kustomize.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io/v1'],
    ])
    t.same(
      groups.slice(0, 4).map(g => g[0]),
      ['apps', 'coordination.k8s.io', 'events.k8s.io', 'authorization.k8s.io'],
      'built-in groups first',
    )
    const group = await get(f.url, '/apis/argoproj.io')
    t.same(group.body, {
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'argoproj.io',
      versions: [{ groupVersion: 'argoproj.io/v1alpha1', version: 'v1alpha1' }],
      preferredVersion: { groupVersion: 'argoproj.io/v1alpha1', version: 'v1alpha1' },
    })
    const argo = await get(f.url, '/apis/argoproj.io/v1alpha1')
    t.same(
      argo.body.resources,
      [
        {
          name: 'applications',
          singularName: 'application',
          namespaced: true,
          kind: 'Application',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['app', 'apps'],
        },
      ],
      'Application: no status subresource (its CRD has subresources: {})',
    )
    const flux = await get(f.url, '/apis/kustomize.toolkit.fluxcd.io/v1')
    t.match(flux.body, {
      kind: 'APIResourceList',
      groupVersion: 'kustomize.toolkit.fluxcd.io/v1',
      resources: [
        { name: 'kustomizations', kind: 'Kustomization', shortNames: ['ks'] },
        { name: 'kustomizations/status', kind: 'Kustomization', verbs: ['get', 'patch', 'update'] },
      ],
    })
    const helm = await get(f.url, '/apis/helm.toolkit.fluxcd.io/v2')
    t.match(helm.body.resources, [
      { name: 'helmreleases', singularName: 'helmrelease', kind: 'HelmRelease', shortNames: ['hr'] },
      { name: 'helmreleases/status' },
    ])
    t.equal((await get(f.url, '/apis/argoproj.io/v1')).code, 404, 'an unserved version')
    t.equal((await get(f.url, '/apis/helm.toolkit.fluxcd.io/v2beta1/namespaces/ns/helmreleases')).code, 404)
    t.equal(
      (await get(f.url, '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop/status')).code,
      404,
      'no /status route for Applications',
    )
  },
)

t.test(
  'CRUD through CustomObjectsApi: typed lists keeping apiVersion/kind, generation 1, Success on delete',
  async t => {
    const f = await fake(t, { clock: manualClock() })
    const api = kc(f).makeApiClient(CustomObjectsApi)
    for (const [r, body, ns] of [
      [APP, app(), 'argocd'],
      [KS, ks(), 'shop'],
      [HR, hr(), 'shop'],
    ] as const) {
      const created = (await api.createNamespacedCustomObject({ ...r, namespace: ns, body })) as KubeObject
      t.match(created, {
        apiVersion: `${r.group}/${r.version}`,
        kind: body.kind,
        metadata: {
          name: 'shop',
          namespace: ns,
          generation: 1,
          resourceVersion: /^\d+$/,
          uid: /^[0-9a-f-]{36}$/,
          creationTimestamp: '2026-01-01T00:00:00Z',
        },
      })
      const read = (await api.getNamespacedCustomObject({ ...r, namespace: ns, name: 'shop' })) as KubeObject
      t.same(read.spec, body.spec)
      const list = (await api.listNamespacedCustomObject({ ...r, namespace: ns })) as Obj
      t.match(list, {
        apiVersion: `${r.group}/${r.version}`,
        kind: `${body.kind}List`,
        metadata: { resourceVersion: /^\d+$/ },
      })
      t.match(
        list.items,
        [{ apiVersion: `${r.group}/${r.version}`, kind: body.kind, metadata: { name: 'shop' } }],
        'custom resource list items keep apiVersion and kind',
      )
      t.equal(((await api.listClusterCustomObject({ ...r })) as Obj).items.length, 1, 'cluster-wide list')
      const dup = await failure(api.createNamespacedCustomObject({ ...r, namespace: ns, body }))
      t.same(
        [dup.code, dup.status.message, dup.status.details],
        [409, `${r.plural}.${r.group} "shop" already exists`, { name: 'shop', group: r.group, kind: r.plural }],
      )
      const gone = (await api.deleteNamespacedCustomObject({ ...r, namespace: ns, name: 'shop' })) as Obj
      t.match(gone, {
        kind: 'Status',
        status: 'Success',
        details: { name: 'shop', group: r.group, kind: r.plural, uid: created.metadata.uid },
      })
      const nf = await failure(api.getNamespacedCustomObject({ ...r, namespace: ns, name: 'shop' }))
      t.same([nf.code, nf.status.message], [404, `${r.plural}.${r.group} "shop" not found`])
    }
    t.same(f.controllerErrors, [])
  },
)

t.test('patches: merge and JSON patch work; strategic merge patch → 415 with the apiextensions list', async t => {
  const f = await fake(t)
  const api = kc(f).makeApiClient(CustomObjectsApi)
  await f.seed('kustomizations', 'shop', ks())
  const m = (await api.patchNamespacedCustomObject(
    { ...KS, namespace: 'shop', name: 'shop', body: { spec: { suspend: true, prune: null } } },
    merge,
  )) as Obj
  t.same([m.spec.suspend, 'prune' in m.spec, m.metadata.generation], [true, false, 2])
  const j = (await api.patchNamespacedCustomObject(
    {
      ...KS,
      namespace: 'shop',
      name: 'shop',
      body: [
        { op: 'test', path: '/spec/suspend', value: true },
        { op: 'replace', path: '/spec/suspend', value: false },
      ],
    },
    json,
  )) as Obj
  t.same([j.spec.suspend, j.metadata.generation], [false, 3])
  const failed = await failure(
    api.patchNamespacedCustomObject(
      { ...KS, namespace: 'shop', name: 'shop', body: [{ op: 'test', path: '/spec/suspend', value: true }] },
      json,
    ),
  )
  t.same([failed.code, failed.status.message], [422, 'the server rejected our request due to an error in our request'])
  const rv = f.get('kustomizations', 'shop', 'shop')?.metadata.resourceVersion
  const smp = await failure(
    api.patchNamespacedCustomObject(
      { ...KS, namespace: 'shop', name: 'shop', body: { spec: { suspend: true } } },
      strategic,
    ),
  )
  t.same(smp.status, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message:
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    reason: 'UnsupportedMediaType',
    code: 415,
  })
  t.equal(smp.code, 415)
  const other = await failure(
    api.patchNamespacedCustomObject(
      { ...KS, namespace: 'shop', name: 'shop', body: {} },
      setHeaderOptions('Content-Type', 'text/plain'),
    ),
  )
  t.equal(other.code, 415)
  t.equal(f.get('kustomizations', 'shop', 'shop')?.metadata.resourceVersion, rv, 'nothing stored')
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)
  const applied = (await api.patchNamespacedCustomObject(
    { ...HR, namespace: 'shop', name: 'new', fieldManager: 'flux', body: { ...hr('new') } },
    ssa,
  )) as Obj
  t.equal(applied.metadata.generation, 1, 'apply creates')
  const reapplied = (await api.patchNamespacedCustomObject(
    {
      ...HR,
      namespace: 'shop',
      name: 'new',
      fieldManager: 'flux',
      body: { apiVersion: HR.group + '/v2', kind: 'HelmRelease', metadata: { name: 'new' }, spec: { suspend: true } },
    },
    ssa,
  )) as Obj
  t.same(
    [reapplied.spec.suspend, reapplied.spec.chart.spec.chart, reapplied.metadata.generation],
    [true, 'shop', 2],
    'apply to a custom resource merges (approximation)',
  )
  t.match(reapplied.metadata.managedFields as ManagedFieldsEntry[], [
    { manager: 'flux', operation: 'Apply', apiVersion: 'helm.toolkit.fluxcd.io/v2' },
  ])
})

t.test(
  'optimistic concurrency: stale resourceVersion → 409 Conflict; PUT without resourceVersion → 422 (no unconditional update)',
  async t => {
    const f = await fake(t)
    const api = kc(f).makeApiClient(CustomObjectsApi)
    await f.seed('applications', 'argocd', app())
    const cur = (await api.getNamespacedCustomObject({ ...APP, namespace: 'argocd', name: 'shop' })) as Obj
    const lock = [
      { op: 'replace', path: '/metadata/resourceVersion', value: '1' },
      { op: 'remove', path: '/spec/syncPolicy/automated' },
    ]
    const e = await failure(
      api.patchNamespacedCustomObject({ ...APP, namespace: 'argocd', name: 'shop', body: lock }, json),
    )
    t.same(
      [e.code, e.status],
      [
        409,
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message:
            'Operation cannot be fulfilled on applications.argoproj.io "shop": the object has been modified; please apply your changes to the latest version and try again',
          reason: 'Conflict',
          details: { name: 'shop', group: 'argoproj.io', kind: 'applications' },
          code: 409,
        },
      ],
    )
    const merged = await failure(
      api.patchNamespacedCustomObject(
        {
          ...APP,
          namespace: 'argocd',
          name: 'shop',
          body: { metadata: { resourceVersion: '5' }, spec: { syncPolicy: null } },
        },
        merge,
      ),
    )
    t.equal(merged.code, 409, 'a merge patch carrying a stale resourceVersion too')
    const stale = await failure(
      api.replaceNamespacedCustomObject({
        ...APP,
        namespace: 'argocd',
        name: 'shop',
        body: { ...cur, metadata: { ...cur.metadata, resourceVersion: '7' } },
      }),
    )
    t.equal(stale.status.reason, 'Conflict')
    const noRv = await failure(
      api.replaceNamespacedCustomObject({
        ...APP,
        namespace: 'argocd',
        name: 'shop',
        body: { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } },
      }),
    )
    t.same(
      [noRv.code, noRv.status.message],
      [
        422,
        'applications.argoproj.io "shop" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
      ],
    )
    const put = (await api.replaceNamespacedCustomObject({
      ...APP,
      namespace: 'argocd',
      name: 'shop',
      body: { ...cur, spec: { ...cur.spec, syncPolicy: {} } },
    })) as Obj
    t.same([put.spec.syncPolicy, put.metadata.generation], [{}, 2])
    const missing = await failure(
      api.replaceNamespacedCustomObject({
        ...APP,
        namespace: 'argocd',
        name: 'nope',
        body: { ...cur, metadata: { name: 'nope', resourceVersion: '1' } },
      }),
    )
    t.equal(missing.code, 404, 'no create on update')
  },
)

t.test(
  'Kustomization (status subresource): spec bumps generation, metadata does not; main writes keep status; /status writes only status',
  async t => {
    const f = await fake(t)
    const api = kc(f).makeApiClient(CustomObjectsApi)
    const created = (await api.createNamespacedCustomObject({
      ...KS,
      namespace: 'shop',
      body: { ...ks(), status: { lastAppliedRevision: 'x' } },
    })) as Obj
    t.equal(created.status, undefined, 'create drops status')
    const labelled = (await api.patchNamespacedCustomObject(
      {
        ...KS,
        namespace: 'shop',
        name: 'shop',
        body: { metadata: { labels: { team: 'a' }, annotations: { note: 'n' } } },
      },
      merge,
    )) as Obj
    t.equal(labelled.metadata.generation, 1, 'labels and annotations are metadata')
    const before = labelled.metadata.resourceVersion
    const ignored = (await api.patchNamespacedCustomObject(
      { ...KS, namespace: 'shop', name: 'shop', body: { status: { lastAppliedRevision: 'y' } } },
      merge,
    )) as Obj
    t.same(
      [ignored.status, ignored.metadata.generation, ignored.metadata.resourceVersion],
      [undefined, 1, before],
      'a main-resource status write changes nothing',
    )
    const st = (await api.patchNamespacedCustomObjectStatus(
      {
        ...KS,
        namespace: 'shop',
        name: 'shop',
        body: {
          status: { lastAppliedRevision: 'main@sha1:abc' },
          spec: { suspend: true },
          metadata: { labels: { team: 'b' } },
        },
      },
      merge,
    )) as Obj
    t.same(
      [st.status, st.spec.suspend, st.metadata.labels, st.metadata.generation],
      [{ lastAppliedRevision: 'main@sha1:abc' }, undefined, { team: 'a' }, 1],
      '/status: only status sticks, no generation bump',
    )
    const kept = (await api.patchNamespacedCustomObject(
      { ...KS, namespace: 'shop', name: 'shop', body: { spec: { suspend: true }, status: null } },
      merge,
    )) as Obj
    t.same(
      [kept.spec.suspend, kept.status, kept.metadata.generation],
      [true, { lastAppliedRevision: 'main@sha1:abc' }, 2],
      'spec change: generation 2, status kept',
    )
    const viaHandle = await f.updateStatus(
      'kustomizations',
      'shop',
      'shop',
      o => void (o.status = { observedGeneration: 2 }),
      'gotk-kustomize-controller',
    )
    t.same([viaHandle.status, viaHandle.metadata.generation], [{ observedGeneration: 2 }, 2])
    const entry = (viaHandle.metadata.managedFields as ManagedFieldsEntry[]).find(
      e => e.manager === 'gotk-kustomize-controller',
    )
    t.match(entry, {
      operation: 'Update',
      subresource: 'status',
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      fieldsV1: { 'f:status': { 'f:observedGeneration': {} } },
    })
    t.notOk('f:spec' in (entry?.fieldsV1 ?? {}), 'a /status write owns no spec field')
  },
)

t.test(
  'Application (no status subresource): status written through the main resource, and it bumps generation',
  async t => {
    const f = await fake(t)
    const api = kc(f).makeApiClient(CustomObjectsApi)
    const created = (await api.createNamespacedCustomObject({
      ...APP,
      namespace: 'argocd',
      body: { ...app(), status: { sync: { status: 'Synced' } } },
    })) as Obj
    t.same([created.status, created.metadata.generation], [{ sync: { status: 'Synced' } }, 1], 'create keeps status')
    const st = (await api.patchNamespacedCustomObject(
      { ...APP, namespace: 'argocd', name: 'shop', body: { status: { sync: { status: 'OutOfSync' } } } },
      merge,
    )) as Obj
    t.same([st.status.sync.status, st.metadata.generation], ['OutOfSync', 2])
    const same = (await api.patchNamespacedCustomObject(
      { ...APP, namespace: 'argocd', name: 'shop', body: { status: { sync: { status: 'OutOfSync' } } } },
      merge,
    )) as Obj
    t.same(
      [same.metadata.generation, same.metadata.resourceVersion],
      [2, st.metadata.resourceVersion],
      'an identical write changes nothing',
    )
    const status = await failure(
      api.patchNamespacedCustomObjectStatus({ ...APP, namespace: 'argocd', name: 'shop', body: { status: {} } }, merge),
    )
    t.same([status.code, status.status.message], [404, 'the server could not find the requested resource'])
    await t.rejects(
      f.updateStatus('applications', 'argocd', 'shop', () => {}),
      /no \/status subresource/,
    )
  },
)

t.test('decoding: kind and apiVersion are required for custom resources; metadata is validated', async t => {
  const f = await fake(t)
  const post = async (body: unknown) => {
    const res = await fetch(`${f.url}/apis/argoproj.io/v1alpha1/namespaces/argocd/applications`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { code: res.status, body: (await res.json()) as Obj }
  }
  const noKind = await post({ apiVersion: 'argoproj.io/v1alpha1', metadata: { name: 'a' } })
  t.same(
    [noKind.code, noKind.body.reason, noKind.body.message],
    [
      400,
      'BadRequest',
      `Application in version "v1alpha1" cannot be handled as a Application: Object 'Kind' is missing in '{"apiVersion":"argoproj.io/v1alpha1","metadata":{"name":"a"}}'`,
    ],
  )
  const noVersion = await post({ kind: 'Application', metadata: { name: 'a' } })
  t.same(
    [noVersion.code, noVersion.body.message],
    [400, 'the API version in the data () does not match the expected API version (argoproj.io/v1alpha1)'],
  )
  const wrongVersion = await post({ ...app('a'), apiVersion: 'argoproj.io/v1' })
  t.same(
    [wrongVersion.code, wrongVersion.body.message],
    [
      400,
      'the API version in the data (argoproj.io/v1) does not match the expected API version (argoproj.io/v1alpha1)',
    ],
  )
  const badName = await post({ ...app('Bad_Name') })
  t.same([badName.code, badName.body.reason], [422, 'Invalid'])
  t.match(
    badName.body.message,
    /^Application\.argoproj\.io "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
  )
  t.equal((await post(app('ok'))).code, 201)
  const seeded = await f.seed('helmreleases', 'shop', { metadata: { name: 'bare' }, spec: {} })
  t.match(seeded, { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease' }, 'the test-side seed fills them in')
  t.same(
    f.list('helmreleases', 'shop').map(o => o.metadata.name),
    ['bare'],
  )
})

t.test('dryRun=All validates and answers, stores nothing', async t => {
  const f = await fake(t)
  const api = kc(f).makeApiClient(CustomObjectsApi)
  await f.seed('helmreleases', 'shop', hr())
  const rv = f.get('helmreleases', 'shop', 'shop')?.metadata.resourceVersion
  const dry = (await api.patchNamespacedCustomObject(
    { ...HR, namespace: 'shop', name: 'shop', dryRun: 'All', body: { spec: { suspend: true } } },
    merge,
  )) as Obj
  t.same([dry.spec.suspend, dry.metadata.generation], [true, 2])
  t.equal(f.get('helmreleases', 'shop', 'shop')?.metadata.resourceVersion, rv)
  t.equal((f.get('helmreleases', 'shop', 'shop')?.spec as Obj).suspend, undefined)
  const dryStatus = (await api.patchNamespacedCustomObjectStatus(
    { ...HR, namespace: 'shop', name: 'shop', dryRun: 'All', body: { status: { observedGeneration: 1 } } },
    merge,
  )) as Obj
  t.same(dryStatus.status, { observedGeneration: 1 })
  t.equal(f.get('helmreleases', 'shop', 'shop')?.status, undefined)
  const created = (await api.createNamespacedCustomObject({
    ...HR,
    namespace: 'shop',
    dryRun: 'All',
    body: hr('dry'),
  })) as Obj
  t.equal(created.metadata.name, 'dry')
  t.equal(f.get('helmreleases', 'shop', 'dry'), undefined)
  await api.deleteNamespacedCustomObject({ ...HR, namespace: 'shop', name: 'shop', dryRun: 'All' })
  t.ok(f.get('helmreleases', 'shop', 'shop'))
  const bad = await failure(
    api.patchNamespacedCustomObject({ ...HR, namespace: 'shop', name: 'shop', dryRun: 'Yes', body: {} }, merge),
  )
  t.equal(bad.code, 422)
})

t.test('RBAC, faults, request log and watch work for custom resources as for the others', async t => {
  const f = await fake(t)
  const api = kc(f).makeApiClient(CustomObjectsApi)
  await f.seed('applications', 'argocd', app())
  f.authorize = r => !(r.group === 'argoproj.io' && r.verb === 'patch')
  const denied = await failure(
    api.patchNamespacedCustomObject(
      { ...APP, namespace: 'argocd', name: 'shop', body: { spec: { syncPolicy: null } } },
      merge,
    ),
  )
  t.same(
    [denied.code, denied.status.message, denied.status.details],
    [
      403,
      'applications.argoproj.io "shop" is forbidden: User "system:serviceaccount:default:default" cannot patch resource "applications" in API group "argoproj.io" in the namespace "argocd"',
      { name: 'shop', group: 'argoproj.io', kind: 'applications' },
    ],
  )
  f.authorize = () => true
  f.inject({ kind: 'status', code: 503, retryAfterSeconds: 1, match: { resource: 'applications', verb: 'patch' } })
  const unavailable = await failure(
    api.patchNamespacedCustomObject(
      { ...APP, namespace: 'argocd', name: 'shop', body: { spec: { syncPolicy: null } } },
      merge,
    ),
  )
  t.same([unavailable.code, unavailable.headers['retry-after']], [503, '1'])
  f.log.length = 0
  await api.patchNamespacedCustomObject(
    { ...APP, namespace: 'argocd', name: 'shop', body: { spec: { syncPolicy: null } } },
    merge,
  )
  t.match(f.log, [
    {
      method: 'PATCH',
      path: '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/shop',
      contentType: 'application/merge-patch+json',
      verb: 'patch',
      resource: 'applications',
      namespace: 'argocd',
      name: 'shop',
      body: { spec: { syncPolicy: null } },
      status: 200,
    },
  ])
  const ac = new AbortController()
  t.teardown(() => ac.abort())
  const res = await fetch(`${f.url}/apis/argoproj.io/v1alpha1/namespaces/argocd/applications?watch=true`, {
    signal: ac.signal,
  })
  const reader = res.body!.getReader()
  const lines: Obj[] = []
  let buf = ''
  const next = async () => {
    while (!buf.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) throw new Error('watch ended')
      buf += Buffer.from(value).toString('utf8')
    }
    const i = buf.indexOf('\n')
    lines.push(JSON.parse(buf.slice(0, i)) as Obj)
    buf = buf.slice(i + 1)
    return lines.at(-1) as Obj
  }
  t.match(await next(), { type: 'ADDED', object: { kind: 'Application', metadata: { name: 'shop' } } })
  await api.patchNamespacedCustomObject(
    { ...APP, namespace: 'argocd', name: 'shop', body: { spec: { syncPolicy: { automated: {} } } } },
    merge,
  )
  t.match(await next(), {
    type: 'MODIFIED',
    object: { spec: { syncPolicy: { automated: {} } }, metadata: { generation: 3 } },
  })
})

const bin = await findKubectl()
const skip = bin ? false : 'no working kubectl binary found'

t.test(
  'kubectl: short names from discovery, merge patch, and its error for a strategic merge patch',
  { skip },
  async t => {
    const f = await fake(t)
    const kubectl = kubectlAgainst(t, bin ?? 'kubectl', f.url)
    await f.seed('applications', 'argocd', app())
    await f.seed('kustomizations', 'shop', ks())
    await f.seed('helmreleases', 'shop', hr())
    const apps = await kubectl(['-n', 'argocd', 'get', 'app', '-o', 'name'])
    t.same([apps.code, apps.stdout.trim()], [0, 'application.argoproj.io/shop'], apps.stderr)
    const kss = await kubectl(['-n', 'shop', 'get', 'ks,hr', '-o', 'name'])
    t.same(
      [kss.code, kss.stdout.trim().split('\n')],
      [0, ['kustomization.kustomize.toolkit.fluxcd.io/shop', 'helmrelease.helm.toolkit.fluxcd.io/shop']],
      kss.stderr,
    )
    const suspend = await kubectl([
      '-n',
      'shop',
      'patch',
      'ks',
      'shop',
      '--type=merge',
      '-p',
      '{"spec":{"suspend":true}}',
    ])
    t.same(
      [suspend.code, suspend.stdout.trim()],
      [0, 'kustomization.kustomize.toolkit.fluxcd.io/shop patched'],
      suspend.stderr,
    )
    t.equal((f.get('kustomizations', 'shop', 'shop')?.spec as Obj).suspend, true)
    const smp = await kubectl(['-n', 'shop', 'patch', 'hr', 'shop', '-p', '{"spec":{"suspend":true}}'])
    t.not(smp.code, 0)
    t.equal(
      smp.stderr.trim(),
      'error: application/strategic-merge-patch+json is not supported by helm.toolkit.fluxcd.io/v2, Kind=HelmRelease: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    )
    const status = await kubectl([
      '-n',
      'shop',
      'patch',
      'hr',
      'shop',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"observedGeneration":1}}',
    ])
    t.equal(status.code, 0, status.stderr)
    t.same(f.get('helmreleases', 'shop', 'shop')?.status, { observedGeneration: 1 })
  },
)
