// The simulated GitOps controllers: a human's `kubectl rollout undo` is reverted to the Git template after the
// delay when the real controller would correct drift (Argo CD self-heal, Flux Kustomization unless suspended,
// HelmRelease with drift detection enabled), and sticks when it would not (automation off, suspended, per-object
// opt-outs); correction resumes when the owner is resumed; re-applies are recorded like real ones (field manager,
// generation, rollout); owners get minimal status; workloads get the controllers' tracking labels/annotations.
import t, { type Test } from 'tap'
import {
  kubectlUndo,
  manualClock,
  type FakeKube,
  type GitOpsKind,
  type GitOpsOptions,
  type KubeObject,
  type ManagedFieldsEntry,
} from '../fixtures/kube/index.js'
import { fake, until, web, type Teardown } from '../fixtures/kube/testing.js'

type Obj = Record<string, any>
const REV = 'deployment.kubernetes.io/revision'
const image = (o: KubeObject | undefined) =>
  (o?.spec as Obj | undefined)?.template.spec.containers[0].image as string | undefined
const setImage = (img: string) => (tm: { spec?: { containers?: { image?: string }[] } }) =>
  void (tm.spec!.containers![0]!.image = img)
const webImage = (f: FakeKube) => image(f.get('deployments', 'shop', 'web'))

const OWNERS: Record<
  GitOpsKind,
  { plural: 'applications' | 'kustomizations' | 'helmreleases'; ns: string; spec: Obj }
> = {
  Application: {
    plural: 'applications',
    ns: 'argocd',
    spec: {
      project: 'default',
      source: { repoURL: 'https://git.example/shop.git', path: 'deploy', targetRevision: 'main' },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'shop' },
      syncPolicy: { automated: { selfHeal: true, prune: true } },
    },
  },
  Kustomization: {
    plural: 'kustomizations',
    ns: 'shop',
    spec: { interval: '10m', path: './deploy', prune: true, sourceRef: { kind: 'GitRepository', name: 'shop' } },
  },
  HelmRelease: {
    plural: 'helmreleases',
    ns: 'shop',
    spec: {
      interval: '5m',
      chart: { spec: { chart: 'shop', version: '1.2.3', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
      driftDetection: { mode: 'enabled' },
    },
  },
}

/** setup: web at nginx:1 then nginx:2 (Git), the owner with `patch` merged into its spec, and its controller. */
async function setup(t: Teardown, kind: GitOpsKind, patch: Obj = {}, opts: Partial<GitOpsOptions> = {}) {
  const clock = manualClock()
  const f = await fake(t, { clock })
  await f.seedDeployment('shop', web('nginx:1'))
  await f.updateTemplate('shop', 'web', setImage('nginx:2'))
  const o = OWNERS[kind]
  await f.seed(o.plural, o.ns, { metadata: { name: 'shop' }, spec: { ...o.spec, ...patch } })
  const ctl = f.gitops({
    owner: { kind, namespace: o.ns, name: 'shop' },
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'web' }],
    revertAfterMs: 2_000,
    pollMs: 20,
    ...opts,
  })
  await f.tick()
  const owner = () => f.get(o.plural, o.ns, 'shop') as KubeObject & { spec: Obj; status?: Obj }
  const setOwner = (mutate: (spec: Obj) => void) =>
    f.update(o.plural, o.ns, 'shop', x => mutate(x.spec as Obj), 'rollguard')
  return { f, clock, ctl, owner, setOwner }
}

/** undoThenWait: a human's undo to nginx:1, then the controller's delay passes on the fake clock and it reconciles. */
async function undoThenWait(s: Awaited<ReturnType<typeof setup>>, ms = 2_000) {
  await kubectlUndo(s.f, 'shop', 'web')
  await s.ctl.reconcile()
  const early = webImage(s.f)
  s.clock.advance(ms)
  await s.ctl.reconcile()
  return early
}

t.test('Argo CD self-heal: the undo is reverted after the delay by argocd-controller, like a re-apply', async t => {
  const s = await setup(t, 'Application')
  const { f, ctl } = s
  t.equal(ctl.manager, 'argocd-controller')
  t.match(s.owner().status, {
    sync: { status: 'Synced', revision: ctl.revision },
    health: { status: 'Healthy' },
    history: [{ id: 0, revision: ctl.revision, initiatedBy: { automated: true } }],
  })
  t.match(ctl.revision, /^[0-9a-f]{40}$/)
  const before = f.get('deployments', 'shop', 'web')
  t.equal(await undoThenWait(s), 'nginx:1', 'the undo holds until the delay has passed')
  t.equal(webImage(f), 'nginx:2', 'reverted to the Git template')
  const d = f.get('deployments', 'shop', 'web') as KubeObject
  t.equal(
    d.metadata.generation,
    (before?.metadata.generation ?? 0) + 2,
    'the undo and the re-apply each bump generation',
  )
  t.equal(
    d.metadata.annotations?.[REV],
    '4',
    'the deployment controller rolled the Git template out again (revision 2 reused as 4)',
  )
  t.equal((d.status as Obj).observedGeneration, d.metadata.generation)
  const mf = (d.metadata.managedFields ?? []) as ManagedFieldsEntry[]
  t.match(
    mf.find(e => e.manager === 'argocd-controller'),
    { operation: 'Update', fieldsV1: { 'f:spec': { 'f:template': {} } } },
  )
  t.notOk(
    mf.some(e => e.manager === 'kubectl' && JSON.stringify(e.fieldsV1).includes('f:containers')),
    'kubectl lost the containers to the controller',
  )
  t.match(ctl.reverts, [
    {
      at: Date.UTC(2026, 0, 1) + 2_000,
      workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
      manager: 'argocd-controller',
      reason: 'drift',
      revision: ctl.revision,
    },
  ])
  t.equal(ctl.reverts.length, 1)
  const st = s.owner().status as Obj
  t.same(
    st.history.map((h: Obj) => [h.id, h.revision]),
    [
      [0, ctl.revision],
      [1, ctl.revision],
    ],
    'a self-heal sync is a history entry',
  )
  t.match(st, {
    sync: { status: 'Synced' },
    resources: [{ group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web', status: 'Synced' }],
  })
  t.same(f.controllerErrors, [])
})

t.test(
  'Argo CD: no self-heal without selfHeal or with automated.enabled false; OutOfSync; re-enabling heals at once',
  async t => {
    for (const policy of [{ automated: { prune: true } }, { automated: { selfHeal: true, enabled: false } }, {}]) {
      const s = await setup(t, 'Application', { syncPolicy: policy })
      await undoThenWait(s, 60_000)
      t.equal(webImage(s.f), 'nginx:1', `undo sticks with syncPolicy ${JSON.stringify(policy)}`)
      t.same(s.ctl.reverts, [])
      t.match(s.owner().status, { sync: { status: 'OutOfSync' }, resources: [{ status: 'OutOfSync' }] })
      t.equal((s.owner().status as Obj).history.length, 1)
    }
    const s = await setup(t, 'Application', { syncPolicy: { automated: { selfHeal: true, enabled: false } } })
    await kubectlUndo(s.f, 'shop', 'web')
    await s.ctl.reconcile()
    await s.setOwner(sp => void (sp.syncPolicy.automated.enabled = true))
    await s.ctl.reconcile()
    t.equal(
      webImage(s.f),
      'nginx:2',
      'a spec change of the Application makes the controller act without waiting for the delay',
    )
    t.equal(s.ctl.reverts.length, 1)
  },
)

t.test(
  'Flux Kustomization: reverted by kustomize-controller (server-side apply) unless suspended; resuming corrects at once',
  async t => {
    const s = await setup(t, 'Kustomization')
    t.equal(s.ctl.manager, 'kustomize-controller')
    t.match(s.owner().status, {
      observedGeneration: 1,
      lastAppliedRevision: `main@sha1:${s.ctl.revision}`,
      conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded' }],
      inventory: { entries: [{ id: 'shop_web_apps_Deployment', v: 'v1' }] },
    })
    await undoThenWait(s)
    t.equal(webImage(s.f), 'nginx:2')
    const mf = (s.f.get('deployments', 'shop', 'web')?.metadata.managedFields ?? []) as ManagedFieldsEntry[]
    t.match(
      mf.find(e => e.manager === 'kustomize-controller'),
      { operation: 'Apply', fieldsV1: { 'f:spec': { 'f:template': {} } } },
    )

    const p = await setup(t, 'Kustomization', { suspend: true })
    const statusBefore = p.owner().status
    await undoThenWait(p, 3_600_000)
    t.equal(webImage(p.f), 'nginx:1', 'suspended: the undo sticks')
    t.same(p.ctl.reverts, [])
    t.same(p.owner().status, statusBefore, 'a suspended object is not reconciled: status untouched')
    await p.setOwner(sp => void (sp.suspend = false))
    await p.ctl.reconcile()
    t.equal(webImage(p.f), 'nginx:2', 'resumed: corrected at the next reconcile, without waiting for the interval')
    t.match(p.ctl.reverts, [{ manager: 'kustomize-controller', reason: 'drift' }])
    t.equal((p.owner().status as Obj).observedGeneration, 2)
  },
)

t.test(
  'Flux Kustomization: the interval is the default delay; kustomize.toolkit.fluxcd.io/reconcile: disabled opts an object out',
  async t => {
    const s = await setup(t, 'Kustomization', {}, { revertAfterMs: undefined })
    await kubectlUndo(s.f, 'shop', 'web')
    s.clock.advance(599_000)
    await s.ctl.reconcile()
    t.equal(webImage(s.f), 'nginx:1', 'not before spec.interval (10m)')
    s.clock.advance(1_000)
    await s.ctl.reconcile()
    t.equal(webImage(s.f), 'nginx:2')
    await optOuts(t, 'Kustomization', 'kustomize.toolkit.fluxcd.io/reconcile')
  },
)

/** optOuts: a label opt-out survives kubectl's undo; an annotation one survives `kubectl set image`, but not the undo. */
async function optOuts(t: Test, kind: GitOpsKind, key: string, patch: Obj = {}) {
  const label = await setup(t, kind, patch)
  await label.f.update(
    'deployments',
    'shop',
    'web',
    d => void (d.metadata.labels = { ...d.metadata.labels, [key]: 'disabled' }),
  )
  await undoThenWait(label, 3_600_000)
  t.equal(webImage(label.f), 'nginx:1', `opted out by the label ${key}`)
  t.same(label.ctl.reverts, [])
  const ann = await setup(t, kind, patch)
  await ann.f.update(
    'deployments',
    'shop',
    'web',
    d => void (d.metadata.annotations = { ...d.metadata.annotations, [key]: 'disabled' }),
  )
  await ann.f.updateTemplate('shop', 'web', setImage('nginx:hotfix'), 'kubectl')
  ann.clock.advance(3_600_000)
  await ann.ctl.reconcile()
  t.equal(webImage(ann.f), 'nginx:hotfix', `opted out by the annotation ${key}`)
  t.same(ann.ctl.reverts, [])
  // kubectl's undo replaces the Deployment's annotations with the target ReplicaSet's: an opt-out added after
  // that revision was rolled out is gone with it, and the controller corrects the undo.
  const lost = await setup(t, kind, patch)
  await lost.f.update(
    'deployments',
    'shop',
    'web',
    d => void (d.metadata.annotations = { ...d.metadata.annotations, [key]: 'disabled' }),
  )
  await undoThenWait(lost)
  t.equal(lost.f.get('deployments', 'shop', 'web')?.metadata.annotations?.[key], undefined)
  t.equal(webImage(lost.f), 'nginx:2', 'the undo dropped the annotation opt-out')
}

t.test(
  'Flux HelmRelease: drift corrected only with driftDetection.mode enabled, not suspended, not opted out',
  async t => {
    const s = await setup(t, 'HelmRelease')
    t.equal(s.ctl.manager, 'helm-controller')
    t.match(s.owner().status, {
      observedGeneration: 1,
      lastAttemptedRevision: '1.2.3',
      history: [
        { name: 'shop', namespace: 'shop', version: 1, status: 'deployed', chartName: 'shop', chartVersion: '1.2.3' },
      ],
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'InstallSucceeded',
          message: 'Helm install succeeded for release shop/shop.v1 with chart shop@1.2.3',
        },
      ],
    })
    await undoThenWait(s)
    t.equal(webImage(s.f), 'nginx:2')
    t.match(s.ctl.reverts, [{ manager: 'helm-controller', reason: 'drift' }])
    t.equal((s.owner().status as Obj).history.length, 1, 'drift correction makes no Helm release')
    for (const [what, patch] of [
      ['default (disabled)', { driftDetection: undefined }],
      ['warn', { driftDetection: { mode: 'warn' } }],
      ['suspended', { suspend: true }],
    ] as const) {
      const o = await setup(t, 'HelmRelease', patch)
      await undoThenWait(o, 3_600_000)
      t.equal(webImage(o.f), 'nginx:1', `${what}: the undo sticks`)
      t.same(o.ctl.reverts, [])
    }
    await optOuts(t, 'HelmRelease', 'helm.toolkit.fluxcd.io/driftDetection')
    const resumed = await setup(t, 'HelmRelease', { suspend: true })
    await undoThenWait(resumed)
    t.equal(webImage(resumed.f), 'nginx:1')
    await resumed.setOwner(sp => void (sp.suspend = false))
    await resumed.ctl.reconcile()
    t.equal(webImage(resumed.f), 'nginx:2', 'resumed: corrected')
  },
)

t.test(
  'a new commit (setGitTemplate) is synced with automation alone: Argo automated without selfHeal, a Helm upgrade',
  async t => {
    const a = await setup(t, 'Application', { syncPolicy: { automated: {} } })
    const old = a.ctl.revision
    const tmpl = a.ctl.gitTemplate('shop', 'web')!
    setImage('nginx:3')(tmpl)
    a.ctl.setGitTemplate('shop', 'web', tmpl)
    t.not(a.ctl.revision, old)
    t.equal(image({ metadata: {}, spec: { template: a.ctl.gitTemplate('shop', 'web') } }), 'nginx:3')
    await a.ctl.reconcile()
    t.equal(webImage(a.f), 'nginx:2', 'Git is polled: not before the delay')
    a.clock.advance(2_000)
    await a.ctl.reconcile()
    t.equal(webImage(a.f), 'nginx:3')
    t.match(a.ctl.reverts, [{ reason: 'revision', revision: a.ctl.revision }])
    t.match(a.owner().status, {
      sync: { status: 'Synced', revision: a.ctl.revision },
      history: [{ revision: old }, { revision: a.ctl.revision }],
    })
    await undoThenWait(a, 60_000)
    t.equal(webImage(a.f), 'nginx:2', 'but drift is not corrected without selfHeal')

    const h = await setup(t, 'HelmRelease', { driftDetection: undefined })
    const tm = h.ctl.gitTemplate('shop', 'web')!
    setImage('nginx:3')(tm)
    h.ctl.setGitTemplate('shop', 'web', tm)
    h.clock.advance(2_000)
    await h.ctl.reconcile()
    t.equal(webImage(h.f), 'nginx:3', 'the upgrade applies the new template without drift detection')
    t.match(h.owner().status, {
      history: [{ version: 2, status: 'deployed' }, { version: 1 }],
      conditions: [
        {
          reason: 'UpgradeSucceeded',
          message: 'Helm upgrade succeeded for release shop/shop.v2 with chart shop@1.2.3',
        },
      ],
    })
    t.match(h.ctl.reverts, [{ reason: 'revision', manager: 'helm-controller' }])
    t.throws(() => h.ctl.setGitTemplate('shop', 'other', tm), /not managed/)
  },
)

t.test('tracking: the labels and annotations each controller puts on the workloads it manages', async t => {
  const a = await setup(t, 'Application', {}, { track: true })
  t.equal(
    a.f.get('deployments', 'shop', 'web')?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
    'shop:apps/Deployment:shop/web',
    'Argo CD 3 default: annotation',
  )
  t.equal(a.f.get('deployments', 'shop', 'web')?.metadata.labels?.['app.kubernetes.io/instance'], undefined)
  await a.ctl.trackWorkloads('annotation+label')
  t.equal(a.f.get('deployments', 'shop', 'web')?.metadata.labels?.['app.kubernetes.io/instance'], 'shop')
  await undoThenWait(a)
  t.equal(
    a.f.get('deployments', 'shop', 'web')?.metadata.annotations?.['argocd.argoproj.io/tracking-id'],
    'shop:apps/Deployment:shop/web',
    'the re-apply restores what the undo replaced',
  )

  const clock = manualClock()
  const f = await fake(t, { clock })
  await f.seedDeployment('shop', web('nginx:1'))
  await f.seed('applications', 'team-a', { metadata: { name: 'shop' }, spec: OWNERS.Application.spec })
  f.gitops({
    owner: { kind: 'Application', namespace: 'team-a', name: 'shop' },
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'web' }],
    track: 'label',
  })
  t.equal(
    f.get('deployments', 'shop', 'web')?.metadata.labels?.['app.kubernetes.io/instance'],
    'team-a_shop',
    'apps outside argocd are <namespace>_<name>',
  )

  const k = await setup(t, 'Kustomization', {}, { track: true })
  t.match(k.f.get('deployments', 'shop', 'web')?.metadata.labels, {
    'kustomize.toolkit.fluxcd.io/name': 'shop',
    'kustomize.toolkit.fluxcd.io/namespace': 'shop',
  })
  const h = await setup(t, 'HelmRelease', { releaseName: 'shop-prod' }, { track: true })
  const hd = h.f.get('deployments', 'shop', 'web')?.metadata
  t.match(hd?.labels, {
    'helm.toolkit.fluxcd.io/name': 'shop',
    'helm.toolkit.fluxcd.io/namespace': 'shop',
    'app.kubernetes.io/managed-by': 'Helm',
  })
  t.match(hd?.annotations, { 'meta.helm.sh/release-name': 'shop-prod', 'meta.helm.sh/release-namespace': 'shop' })
  t.same([k.f.controllerErrors, h.f.controllerErrors], [[], []])
})

t.test('StatefulSets are re-applied too (the controller reuses its ControllerRevision)', async t => {
  const f = await fake(t, { clock: manualClock() })
  const sts = {
    metadata: { name: 'db' },
    spec: {
      replicas: 2,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'pg:1' }] } },
    },
  }
  await f.seed('statefulsets', 'shop', sts)
  await f.seed('kustomizations', 'shop', { metadata: { name: 'shop' }, spec: OWNERS.Kustomization.spec })
  const ctl = f.gitops({
    owner: { kind: 'Kustomization', namespace: 'shop', name: 'shop' },
    workloads: [{ kind: 'StatefulSet', namespace: 'shop', name: 'db' }],
    revertAfterMs: 1_000,
  })
  await f.update(
    'statefulsets',
    'shop',
    'db',
    o => void ((o.spec as Obj).template.spec.containers[0].image = 'pg:2'),
    'kubectl',
  )
  f.clock.advance(1_000)
  await ctl.reconcile()
  const s = f.get('statefulsets', 'shop', 'db')
  t.equal(image(s), 'pg:1')
  t.equal((s?.status as Obj).updateRevision, (s?.status as Obj).currentRevision)
  t.same(f.controllerErrors, [])
})

t.test('polling on the wall clock: reverted by itself after revertAfterMs; nothing after stop()', async t => {
  const f = await fake(t)
  await f.seedDeployment('shop', web('nginx:1'))
  await f.updateTemplate('shop', 'web', setImage('nginx:2'))
  await f.seed('applications', 'argocd', { metadata: { name: 'shop' }, spec: OWNERS.Application.spec })
  const ctl = f.gitops({
    owner: { kind: 'Application', namespace: 'argocd', name: 'shop' },
    workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'web' }],
    revertAfterMs: 300,
    pollMs: 25,
  })
  const t0 = Date.now()
  await kubectlUndo(f, 'shop', 'web')
  t.equal(webImage(f), 'nginx:1')
  await until(() => webImage(f) === 'nginx:2', 5_000, 10)
  t.ok(Date.now() - t0 >= 250, 'not before the delay')
  await until(async () => f.get('deployments', 'shop', 'web')?.metadata.annotations?.[REV] === '4')
  await ctl.stop()
  await ctl.stop()
  await kubectlUndo(f, 'shop', 'web')
  await new Promise(r => setTimeout(r, 500))
  t.equal(webImage(f), 'nginx:1', 'stopped: no more reverts')
  t.equal(ctl.reverts.length, 1)
  t.throws(
    () => f.gitops({ owner: { kind: 'Kustomization', namespace: 'shop', name: 'missing' }, workloads: [] }),
    /not found/,
  )
  t.throws(
    () =>
      f.gitops({
        owner: { kind: 'Application', namespace: 'argocd', name: 'shop' },
        workloads: [{ kind: 'Deployment', namespace: 'shop', name: 'missing' }],
      }),
    /not found/,
  )
  t.same(f.controllerErrors, [])
})
