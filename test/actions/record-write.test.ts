import t from 'tap'
import { decodeRollbackRecord, encodeRollbackRecord, ROLLBACK_ANNOTATION } from '../../src/actions/record.js'
import { updateRecord } from '../../src/actions/record-write.js'
import { deploymentManifest, harness } from '../fixtures/cluster-harness.js'

const AT = Date.parse('2026-12-05T10:00:00Z')
const REF = { kind: 'Deployment' as const, namespace: 'shop', name: 'checkout' }
const RECORD = { at: AT, fromRevision: 2, toRevision: 1, generation: 3, alert: 'HighErrorRate', history: [AT] }
const annotation = (o: unknown) =>
  (o as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations?.[
    ROLLBACK_ANNOTATION
  ]
const merges = (log: ReadonlyArray<{ method: string; contentType?: string }>) =>
  log.filter(e => e.method === 'PATCH' && e.contentType === 'application/merge-patch+json').length

t.test('updateRecord: read, change, write guarded by the resourceVersion; retried on a conflict', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  const manifest = deploymentManifest('checkout', 'nginx:1')
  await h.fake.seedDeployment('shop', {
    ...manifest,
    metadata: { ...manifest.metadata, annotations: { [ROLLBACK_ANNOTATION]: encodeRollbackRecord(RECORD) } },
  })
  const signal = AbortSignal.timeout(10_000)
  h.fake.inject({ kind: 'status', code: 409, match: { verb: 'patch', resource: 'deployments' } })
  const seen: number[] = []
  const result = await updateRecord(h.clients.apps, REF, signal, rec => {
    seen.push(rec.at)
    return { ...rec, verified: AT + 20_000 }
  })
  t.equal(result, undefined, 'written')
  t.same(seen, [AT, AT], 'read again after the conflict')
  t.equal(decodeRollbackRecord(annotation(h.fake.get('deployments', 'shop', 'checkout')))?.verified, AT + 20_000)

  h.fake.log.length = 0
  t.equal(await updateRecord(h.clients.apps, REF, signal, () => undefined), undefined, 'nothing to change')
  t.equal(merges(h.fake.log), 0, 'and nothing written')

  h.fake.inject({ kind: 'status', code: 500, match: { verb: 'patch', resource: 'deployments' }, times: 3 })
  const failed = await updateRecord(h.clients.apps, REF, signal, rec => ({ ...rec, verified: AT }))
  t.type(failed, 'string', 'three failures: why, for the caller to report')
  t.equal(decodeRollbackRecord(annotation(h.fake.get('deployments', 'shop', 'checkout')))?.verified, AT + 20_000)
})

t.test('updateRecord: a workload without a record, or a missing one, is left alone', async t => {
  const h = await harness('shop')
  t.teardown(h.close)
  await h.fake.seedDeployment('shop', deploymentManifest('checkout', 'nginx:1'))
  const signal = AbortSignal.timeout(10_000)
  t.equal(await updateRecord(h.clients.apps, REF, signal, rec => rec), undefined)
  t.equal(merges(h.fake.log), 0)
  const missing = await updateRecord(h.clients.apps, { ...REF, name: 'gone' }, signal, rec => rec)
  t.type(missing, 'string', 'not found, reported')
})
