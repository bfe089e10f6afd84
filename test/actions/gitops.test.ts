import t from 'tap'
import {
  detectOwner,
  ownerFacts,
  resumePatch,
  suspendPatch,
  SUSPENDED_ANNOTATION,
  type GitOpsOwner,
} from '../../src/actions/gitops.js'
import { GitOpsPolicy } from '../../src/actions/policy-config.js'

const settings = GitOpsPolicy.parse({})
const ref = { kind: 'Deployment', namespace: 'shop', name: 'checkout' } as const
const app: GitOpsOwner = { kind: 'Application', namespace: 'argocd', name: 'shop', via: 'x' }
const ks: GitOpsOwner = { kind: 'Kustomization', namespace: 'flux-system', name: 'apps', via: 'x' }
const hr: GitOpsOwner = { kind: 'HelmRelease', namespace: 'shop', name: 'checkout', via: 'x' }

t.test('detectOwner: Argo CD tracking annotation and label, Flux labels, opt-outs', async t => {
  t.match(detectOwner(ref, {}, { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/checkout' }, settings), {
    owner: { kind: 'Application', namespace: 'argocd', name: 'shop' },
    candidate: false,
  })
  t.match(
    detectOwner(ref, {}, { 'argocd.argoproj.io/tracking-id': 'team-a_shop:apps/Deployment:shop/checkout' }, settings),
    { owner: { namespace: 'team-a', name: 'shop' } },
    'apps in any namespace',
  )
  t.match(detectOwner(ref, { 'app.kubernetes.io/instance': 'shop' }, {}, settings), {
    owner: { kind: 'Application', name: 'shop', via: /label app.kubernetes.io\/instance/ },
    candidate: true,
  })
  const custom = GitOpsPolicy.parse({
    argocd: { namespace: 'gitops', instance_label_key: 'argocd.argoproj.io/instance' },
  })
  t.match(detectOwner(ref, { 'argocd.argoproj.io/instance': 'shop' }, {}, custom), {
    owner: { namespace: 'gitops', name: 'shop' },
  })
  t.same(detectOwner(ref, { 'app.kubernetes.io/instance': 'shop' }, {}, custom), { state: 'unmanaged' })
  const flux = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' }
  t.match(detectOwner(ref, flux, {}, settings), {
    owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'apps' },
  })
  t.match(detectOwner(ref, flux, { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' }, settings), {
    state: 'unmanaged',
    note: /reconcile: disabled/,
  })
  t.match(
    detectOwner(ref, { ...flux, 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' }, {}, settings),
    { state: 'unmanaged' },
    'as a label too',
  )
  t.match(
    detectOwner(
      ref,
      { 'helm.toolkit.fluxcd.io/name': 'checkout', 'helm.toolkit.fluxcd.io/namespace': 'shop' },
      {},
      settings,
    ),
    { owner: { kind: 'HelmRelease', namespace: 'shop', name: 'checkout' } },
  )
  t.same(detectOwner(ref, { app: 'checkout' }, {}, settings), { state: 'unmanaged' })
})

t.test('ownerFacts: who would put the template back', async t => {
  const reverts = (owner: GitOpsOwner, spec: object, labels = {}, annotations = {}) => {
    const f = ownerFacts(owner, { spec }, labels, annotations)
    return f.state === 'managed' ? f.reverts : undefined
  }
  t.equal(reverts(app, { syncPolicy: { automated: { selfHeal: true } } }), true)
  t.equal(reverts(app, { syncPolicy: { automated: { selfHeal: true, enabled: false } } }), false)
  t.equal(
    reverts(app, { syncPolicy: { automated: { prune: true } } }),
    false,
    'no selfHeal: stays until the next Git change',
  )
  t.equal(reverts(app, { syncPolicy: {} }), false)
  t.equal(reverts(ks, { interval: '10m' }), true)
  t.equal(reverts(ks, { interval: '10m', suspend: true }), false)
  t.equal(reverts(hr, { interval: '5m' }), false, 'Helm drift detection is off by default')
  t.equal(reverts(hr, { driftDetection: { mode: 'warn' } }), false)
  t.equal(reverts(hr, { driftDetection: { mode: 'enabled' } }), true)
  t.equal(
    reverts(hr, { driftDetection: { mode: 'enabled' } }, {}, { 'helm.toolkit.fluxcd.io/driftDetection': 'disabled' }),
    false,
  )
  t.match(
    ownerFacts(ks, { metadata: { annotations: { [SUSPENDED_ANNOTATION]: '{}' } }, spec: { suspend: true } }, {}, {}),
    { suspendedByRollguard: true, reverts: false },
  )
})

t.test('suspend and resume restore the exact previous setting', async t => {
  const automated = { selfHeal: true, prune: true }
  const obj = { metadata: { resourceVersion: '42' }, spec: { syncPolicy: { automated } } }
  const patch = suspendPatch(app, obj, { at: '2026-12-05T00:00:00Z', workload: 'Deployment/shop/checkout' }) as {
    metadata: { resourceVersion: string; annotations: Record<string, string> }
    spec: unknown
  }
  t.same(patch.spec, { syncPolicy: { automated: null } })
  t.equal(patch.metadata.resourceVersion, '42', 'guarded against concurrent changes')
  const suspended = {
    metadata: { resourceVersion: '43', annotations: patch.metadata.annotations },
    spec: { syncPolicy: {} },
  }
  t.match(resumePatch(app, suspended), {
    patch: {
      metadata: { resourceVersion: '43', annotations: { [SUSPENDED_ANNOTATION]: null } },
      spec: { syncPolicy: { automated } },
    },
  })
  const flux = suspendPatch(ks, { spec: {} }, { at: 'now', workload: 'w' }) as {
    metadata: { annotations: Record<string, string> }
    spec: unknown
  }
  t.same(flux.spec, { suspend: true })
  t.match(resumePatch(ks, { metadata: { annotations: flux.metadata.annotations } }), {
    patch: { spec: { suspend: null } },
    restored: 'spec.suspend: null',
  })
  const wasFalse = suspendPatch(hr, { spec: { suspend: false } }, { at: 'now', workload: 'w' }) as {
    metadata: { annotations: Record<string, string> }
  }
  t.match(resumePatch(hr, { metadata: { annotations: wasFalse.metadata.annotations } }), {
    patch: { spec: { suspend: false } },
  })
  t.match(resumePatch(ks, { metadata: {} }), {
    error: /no rollguard.io\/suspended annotation: rollguard did not suspend it/,
  })
  t.match(resumePatch(ks, { metadata: { annotations: { [SUSPENDED_ANNOTATION]: '{' } } }), { error: /not JSON/ })
})
