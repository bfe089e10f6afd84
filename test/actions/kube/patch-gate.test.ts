import t, { type Test } from 'tap'
import { undoDeployment } from '../../../src/actions/kube/deployment-undo.js'
import { deploymentManifest, harness, ref, setImage, writes } from './fixtures/harness.js'

const WEB = ref('Deployment', 'shop', 'web')

async function twoRevisions(t: Test) {
  const h = await harness('shop')
  t.teardown(h.close)
  await h.fake.seedDeployment('shop', deploymentManifest('web', 'nginx:1'))
  await setImage(h.fake, 'shop', 'web', 'nginx:2')
  h.fake.log.length = 0
  return h
}

t.test('beforePatch sees the exact plan right before the PATCH and may veto it', async (t) => {
  const h = await twoRevisions(t)
  const seen: number[] = []
  const vetoed = await undoDeployment(h.clients.apps, WEB, {
    dryRun: false,
    beforePatch: (plan) => {
      seen.push(plan.toRevision)
      return 'this replica lost leadership'
    },
  })
  t.same(seen, [1])
  t.match(vetoed, { kind: 'skipped', reason: 'declined', message: 'deployment.apps/web -n shop: rollback patch not sent: this replica lost leadership' })
  t.same(writes(h.fake.log), [], 'nothing sent')

  const approved = await undoDeployment(h.clients.apps, WEB, { dryRun: false, beforePatch: async () => true as const })
  t.match(approved, { kind: 'rolled-back', toRevision: 1 })
})

t.test('a throwing gate is a failure, never a patch', async (t) => {
  const h = await twoRevisions(t)
  const r = await undoDeployment(h.clients.apps, WEB, {
    dryRun: false,
    beforePatch: () => {
      throw new Error('boom')
    },
  })
  t.match(r, { kind: 'error', reason: 'unavailable', message: /the patch gate failed: boom/ })
  t.same(writes(h.fake.log), [])
})

t.test('after a 409 the gate runs again for the re-planned patch', async (t) => {
  const h = await twoRevisions(t)
  h.fake.inject({ kind: 'bumpAfterGet', resource: 'deployments', namespace: 'shop', name: 'web' })
  const versions: (string | undefined)[] = []
  const r = await undoDeployment(h.clients.apps, WEB, {
    dryRun: false,
    onConflict: () => true,
    beforePatch: (plan) => {
      versions.push(plan.resourceVersion)
      return true
    },
  })
  t.match(r, { kind: 'rolled-back' })
  t.equal(versions.length, 2)
  t.not(versions[0], versions[1], 'the second plan is from the fresh read')
})
