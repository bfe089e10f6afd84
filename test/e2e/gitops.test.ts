// GitOps-aware rollbacks, end to end: real Prometheus and Alertmanager, the shipped rules (durations scaled down),
// the fake cluster serving Argo CD Applications and Flux Kustomizations, and a simulated controller that re-applies
// the Git template unless suspended. What an on-call engineer would do: not fight the controller (refuse), or
// pause it and roll back so the rollback sticks (suspend), and never call a reverted rollback verified.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { runGitOps } from '../../src/cli/gitops.js'
import { amAlerts } from '../../src/demo/stack.js'
import {
  actingRollguard,
  alertmanager,
  type Teardown,
  defaultRulesFast,
  eventually,
  eventsOn,
  image,
  prometheus,
  rollbackPatches,
  services,
  shopCluster,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'
import { authorizeFromRbac, type FakeKube } from '../fixtures/kube/index.js'
import { NAMESPACED_RBAC, rbacDoc, SA } from '../cli/fixtures/doctor.js'

const CHECKOUT = { kind: 'Deployment' as const, namespace: 'shop', name: 'checkout' }
const SELF_HEAL = { selfHeal: true, prune: true }

async function argoApp(fake: FakeKube, automated: object | undefined) {
  await fake.seed('applications', 'argocd', {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'shop' },
    spec: {
      project: 'default',
      source: { repoURL: 'https://git.example/shop.git', path: 'shop', targetRevision: 'main' },
      destination: { namespace: 'shop', server: 'https://kubernetes.default.svc' },
      syncPolicy: automated === undefined ? {} : { automated },
    },
  })
}

async function fluxKustomization(fake: FakeKube) {
  await fake.seed('kustomizations', 'flux-system', {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'shop' },
    spec: { interval: '1m', path: './shop', prune: true, sourceRef: { kind: 'GitRepository', name: 'shop' } },
  })
}

const spec = (o: unknown) => (o as { spec?: Record<string, unknown> } | undefined)?.spec
const annotations = (o: unknown) =>
  (o as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations ?? {}

t.test('GitOps-managed workloads', async t => {
  const am = await alertmanager(t)

  // Each scenario: checkout's revision 2 (shop/checkout:2, also what Git says) fails after it was deployed.
  const scene = async (t: Teardown, run: string, actions: Record<string, unknown>) => {
    const dir = tempDir(t)
    const [checkout] = await services(t, ['checkout'])
    if (!checkout) throw new Error('service did not start')
    const prom = await prometheus(t, [checkout])
    const fake = await shopCluster(t, ['checkout'])
    return {
      dir,
      checkout,
      fake,
      start: async () => {
        checkout.setFault({ errorRatio: 0.5 })
        return actingRollguard(t, {
          fake,
          prometheusUrl: prom.url,
          alertmanagerUrl: am.url,
          run,
          rules: defaultRulesFast(dir),
          actions,
        })
      },
    }
  }

  await t.test(
    'Argo CD with selfHeal, mode refuse: no PATCH, gitops_managed, a Warning event and the alert saying what to do',
    async t => {
      const s = await scene(t, 'gitops-refuse', {})
      await argoApp(s.fake, SELF_HEAL)
      const argo = s.fake.gitops({
        owner: { kind: 'Application', namespace: 'argocd', name: 'shop' },
        workloads: [CHECKOUT],
        track: 'annotation',
        pollMs: 100,
      })
      await argo.trackWorkloads('annotation')
      const r = await s.start()
      const refused = await r.decided('gitops_refused', 'gitops_managed')
      t.match(
        refused.message,
        /applied by Argo CD Application argocd\/shop \(annotation argocd.argoproj.io\/tracking-id: shop:apps\/Deployment:shop\/checkout; automated sync with selfHeal.*\): a rollback would be reverted; revert the bad commit in Git, or suspend Application argocd\/shop/,
      )
      t.equal(rollbackPatches(s.fake).length, 0, 'no rollback PATCH')
      t.equal(image(s.fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:2')
      await eventually('the Warning event', async () =>
        eventsOn(s.fake, 'checkout').find(e => e.reason === 'RollbackRefusedGitOps' && e.type === 'Warning'),
      )
      const [alert] = await eventually('RollbackRefusedGitOps in Alertmanager', async () => {
        const found = await amAlerts(am.url, { matchers: { alertname: 'RollbackRefusedGitOps', workload: 'checkout' } })
        return found.length > 0 ? found : undefined
      })
      t.match(alert, {
        labels: { severity: 'critical', namespace: 'shop' },
        annotations: { description: /revert the bad commit in Git/ },
      })
    },
  )

  await t.test(
    'Argo CD with selfHeal, mode suspend: automated sync removed, the rollback sticks, gitops resume restores it exactly',
    async t => {
      const s = await scene(t, 'gitops-suspend', { gitops: { mode: 'suspend' } })
      // Least privilege: the namespaced RBAC of docs/rbac.md plus deploy/components/gitops, nothing else.
      s.fake.authorize = authorizeFromRbac(
        `${rbacDoc(NAMESPACED_RBAC)}---\n${readFileSync(new URL('../../deploy/components/gitops/gitops-rbac.yaml', import.meta.url), 'utf8')}`,
        SA,
      )
      await argoApp(s.fake, SELF_HEAL)
      const argo = s.fake.gitops({
        owner: { kind: 'Application', namespace: 'argocd', name: 'shop' },
        workloads: [CHECKOUT],
        pollMs: 100,
      })
      await argo.trackWorkloads('annotation')
      const r = await s.start()
      const suspended = await r.decided('gitops_suspended')
      t.match(
        suspended.message,
        /suspended Argo CD Application argocd\/shop \(automated sync removed.*rollguard gitops resume Application\/shop -n argocd/,
      )
      await r.decided('verified')
      const app = s.fake.get('applications', 'argocd', 'shop')
      t.same((spec(app)?.['syncPolicy'] as Record<string, unknown>)['automated'], undefined, 'automated sync removed')
      t.match(JSON.parse(annotations(app)['rollguard.io/suspended'] ?? '{}'), {
        workload: 'Deployment/shop/checkout',
        previous: SELF_HEAL,
      })
      await sleep(2_000)
      t.equal(image(s.fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1', 'the rollback sticks')
      t.same(argo.reverts, [], 'the controller did not revert it')
      const suspendPatch = s.fake.log.find(e => e.method === 'PATCH' && e.resource === 'applications')
      t.equal(suspendPatch?.contentType, 'application/merge-patch+json')

      const out: string[] = []
      const err: string[] = []
      const kubeconfig = writeKubeconfig(s.dir, s.fake)
      const code = await runGitOps(
        ['resume', 'application/shop', '-n', 'argocd', '--kubeconfig', kubeconfig],
        { stdout: x => void out.push(x), stderr: x => void err.push(x) },
        { env: {} },
      )
      t.equal(code, 0, err.join(''))
      t.match(
        out.join(''),
        /application.argoproj.io\/shop resumed: spec.syncPolicy.automated: \{"selfHeal":true,"prune":true\}/,
      )
      const resumed = s.fake.get('applications', 'argocd', 'shop')
      t.same(
        (spec(resumed)?.['syncPolicy'] as Record<string, unknown>)['automated'],
        SELF_HEAL,
        'the exact previous sync policy',
      )
      t.equal(annotations(resumed)['rollguard.io/suspended'], undefined)
      t.equal(
        await runGitOps(
          ['resume', 'application/shop', '-n', 'argocd', '--kubeconfig', kubeconfig],
          { stdout: () => undefined, stderr: x => void err.push(x) },
          { env: {} },
        ),
        1,
        'nothing left to resume',
      )
      t.match(err.join(''), /no rollguard.io\/suspended annotation/)
      t.same(
        s.fake.log.filter(e => e.status === 403).map(e => `${e.verb} ${e.resource}`),
        [],
        'nothing was forbidden',
      )
    },
  )

  await t.test('Flux Kustomization, mode suspend: suspended, the rollback sticks', async t => {
    const s = await scene(t, 'gitops-flux', { gitops: { mode: 'suspend' } })
    await fluxKustomization(s.fake)
    const flux = s.fake.gitops({
      owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'shop' },
      workloads: [CHECKOUT],
      revertAfterMs: 500,
      pollMs: 100,
    })
    await flux.trackWorkloads()
    const r = await s.start()
    await r.decided('verified')
    t.equal(spec(s.fake.get('kustomizations', 'flux-system', 'shop'))?.['suspend'], true)
    await sleep(2_000)
    t.equal(image(s.fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:1', 'the rollback sticks')
    t.same(flux.reverts, [])
  })

  await t.test('kustomize.toolkit.fluxcd.io/reconcile: disabled: acted on as unmanaged', async t => {
    const s = await scene(t, 'gitops-disabled', {})
    await fluxKustomization(s.fake)
    const flux = s.fake.gitops({
      owner: { kind: 'Kustomization', namespace: 'flux-system', name: 'shop' },
      workloads: [CHECKOUT],
      revertAfterMs: 500,
      pollMs: 100,
    })
    await flux.trackWorkloads()
    // A label: kubectl's undo replaces the Deployment's annotations with the restored ReplicaSet's (Flux also reads
    // the opt-out from the manifest in Git, which the simulation does not have).
    await label(s.fake, 'kustomize.toolkit.fluxcd.io/reconcile', 'disabled')
    const r = await s.start()
    const rolled = await r.decided('rolled_back')
    t.match(
      rolled.message,
      /kustomize.toolkit.fluxcd.io\/reconcile: disabled, so Flux neither applies nor corrects checkout/,
    )
    await r.decided('verified')
    await sleep(1_500)
    t.same(flux.reverts, [], 'Flux leaves the object alone')
  })

  await t.test(
    'mode ignore with a reverting controller: the revert is detected and reported, not announced as verified',
    async t => {
      const s = await scene(t, 'gitops-ignore', { gitops: { mode: 'ignore', revert_window: '3s' } })
      await argoApp(s.fake, SELF_HEAL)
      const argo = s.fake.gitops({
        owner: { kind: 'Application', namespace: 'argocd', name: 'shop' },
        workloads: [CHECKOUT],
        revertAfterMs: 500,
        pollMs: 100,
      })
      await argo.trackWorkloads('annotation')
      const r = await s.start()
      const rolled = await r.decided('rolled_back')
      t.match(rolled.message, /although Argo CD Application argocd\/shop would revert it/)
      const reverted = await r.decided('reverted')
      t.match(
        reverted.message,
        /the rollback did not stick: revision 3 \(the restored template\) was replaced by argocd-controller by revision 4/,
      )
      t.ok(argo.reverts.length >= 1, 'the controller re-applied Git')
      t.equal(image(s.fake.get('deployments', 'shop', 'checkout')), 'shop/checkout:2')
      t.notOk(
        r.decisions().some(d => d.kind === 'verified'),
        'never verified',
      )
      await eventually('RollbackReverted in Alertmanager', async () => {
        const found = await amAlerts(am.url, { matchers: { alertname: 'RollbackReverted', workload: 'checkout' } })
        return found.length > 0 ? found : undefined
      })
    },
  )
})

// A label set by a human with kubectl (merge patch), before rollguard starts.
async function label(fake: FakeKube, key: string, value: string): Promise<void> {
  const res = await fetch(`${fake.url}/apis/apps/v1/namespaces/shop/deployments/checkout`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/merge-patch+json', Authorization: 'Bearer fake-token' },
    body: JSON.stringify({ metadata: { labels: { [key]: value } } }),
  })
  if (!res.ok) throw new Error(`label: HTTP ${res.status} ${await res.text()}`)
}
