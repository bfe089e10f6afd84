// Leases (coordination.k8s.io/v1: MicroTime decoding, unconditional-update rule, create-on-update) and
// Events (core/v1 and events.k8s.io/v1 sharing one storage, each with its own validation).
import t from 'tap'
import {
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  V1MicroTime,
  type EventsV1Event,
  type V1Lease,
} from '@kubernetes/client-node'
import { failure, fake, kc } from '../fixtures/kube/testing.js'

const lease = (holder: string, extra: Partial<NonNullable<V1Lease['spec']>> = {}): V1Lease => ({
  metadata: { name: 'rollguard', namespace: 'sys' },
  spec: {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: new V1MicroTime(),
    renewTime: new V1MicroTime(),
    leaseTransitions: 0,
    ...extra,
  },
})

t.test('lease create, read back (MicroTime strings), AlreadyExists, stale update, unconditional update', async t => {
  const f = await fake(t)
  const coord = kc(f, 'sys').makeApiClient(CoordinationV1Api)
  const made = await coord.createNamespacedLease({ namespace: 'sys', body: lease('a') })
  t.equal(made.spec?.holderIdentity, 'a')
  const raw = f.log.at(-1)?.body as { spec: { renewTime: string } }
  t.match(raw.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'V1MicroTime sends six fractional digits')
  const read = await coord.readNamespacedLease({ name: 'rollguard', namespace: 'sys' })
  t.type(read.spec?.renewTime, 'string', 'MicroTime fields come back as strings')
  t.equal(read.metadata?.generation, undefined, 'leases have no generation')
  const dup = await failure(coord.createNamespacedLease({ namespace: 'sys', body: lease('b') }))
  t.same(
    [dup.code, dup.status.reason, dup.status.message],
    [409, 'AlreadyExists', 'leases.coordination.k8s.io "rollguard" already exists'],
  )
  const renewed = await coord.replaceNamespacedLease({
    name: 'rollguard',
    namespace: 'sys',
    body: { ...read, spec: { ...read.spec, renewTime: new V1MicroTime() } },
  })
  t.ok(Number(renewed.metadata?.resourceVersion) > Number(read.metadata?.resourceVersion))
  const stale = await failure(
    coord.replaceNamespacedLease({
      name: 'rollguard',
      namespace: 'sys',
      body: { ...read, spec: { ...read.spec, holderIdentity: 'b' } },
    }),
  )
  t.same([stale.code, stale.status.reason], [409, 'Conflict'])
  t.equal(
    stale.status.message,
    'Operation cannot be fulfilled on leases.coordination.k8s.io "rollguard": the object has been modified; please apply your changes to the latest version and try again',
  )
  const noRv = await failure(
    coord.replaceNamespacedLease({
      name: 'rollguard',
      namespace: 'sys',
      body: { ...lease('c'), metadata: { name: 'rollguard' } },
    }),
  )
  t.equal(noRv.code, 422)
  t.equal(
    noRv.status.message,
    'leases.coordination.k8s.io "rollguard" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
  )
  t.match(noRv.status.details, {
    kind: 'leases',
    group: 'coordination.k8s.io',
    causes: [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion' }],
  })
})

t.test('lease PUT on a missing lease creates it (201); validation 422', async t => {
  const f = await fake(t)
  const coord = kc(f, 'sys').makeApiClient(CoordinationV1Api)
  const body = { ...lease('a'), metadata: { name: 'fresh', namespace: 'sys' } }
  const put = await coord.replaceNamespacedLeaseWithHttpInfo({ name: 'fresh', namespace: 'sys', body })
  t.equal(put.httpStatusCode, 201)
  const zero = await failure(
    coord.createNamespacedLease({
      namespace: 'sys',
      body: { ...lease('a', { leaseDurationSeconds: 0, leaseTransitions: -1 }), metadata: { name: 'z' } },
    }),
  )
  t.equal(zero.code, 422)
  t.equal(
    zero.status.message,
    'Lease.coordination.k8s.io "z" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]',
  )
  t.equal(zero.status.details.causes.length, 2)
})

t.test('MicroTime: a plain Date (3 fractional digits) is a 400 with the decoder text', async t => {
  const f = await fake(t)
  const coord = kc(f, 'sys').makeApiClient(CoordinationV1Api)
  const when = new Date('2026-11-26T08:29:50.103Z')
  const e = await failure(
    coord.createNamespacedLease({ namespace: 'sys', body: lease('a', { renewTime: when as V1MicroTime }) }),
  )
  t.equal(e.code, 400)
  t.same(e.status, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message:
      'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-11-26T08:29:50.103Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".103Z" as ".000000"',
    reason: 'BadRequest',
    code: 400,
  })
  t.equal(f.list('leases', 'sys').length, 0)
})

const ev = (extra: Partial<EventsV1Event> = {}): EventsV1Event => ({
  metadata: { name: `web.${Date.now().toString(16)}`, namespace: 'ns' },
  eventTime: new V1MicroTime(),
  reportingController: 'rollguard.io/rollguard',
  reportingInstance: 'rollguard-0',
  action: 'Rollback',
  reason: 'RolledBack',
  type: 'Normal',
  note: 'rolled back deployment/web from revision 2 to revision 1',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'ns', uid: 'u' },
  ...extra,
})

t.test('events.k8s.io/v1: create, list, visible through core/v1 with converted field names', async t => {
  const f = await fake(t)
  const events = kc(f, 'ns').makeApiClient(EventsV1Api)
  const core = kc(f, 'ns').makeApiClient(CoreV1Api)
  const made = await events.createNamespacedEvent({ namespace: 'ns', body: ev() })
  t.equal(made.note, 'rolled back deployment/web from revision 2 to revision 1')
  t.equal((await events.listNamespacedEvent({ namespace: 'ns' })).items.length, 1)
  const viaCore = (
    await core.listNamespacedEvent({ namespace: 'ns', fieldSelector: 'involvedObject.name=web,reason=RolledBack' })
  ).items
  t.equal(viaCore.length, 1)
  t.equal(viaCore[0]?.message, made.note)
  t.equal(viaCore[0]?.reportingComponent, 'rollguard.io/rollguard')
  t.equal(viaCore[0]?.involvedObject.kind, 'Deployment')
  const byRegarding = await events.listNamespacedEvent({ namespace: 'ns', fieldSelector: 'regarding.kind=Deployment' })
  t.equal(byRegarding.items.length, 1)
  t.equal(f.list('events', 'ns').length, 1)
})

t.test('events.k8s.io/v1 validation (422) and core/v1 legacy rules', async t => {
  const f = await fake(t)
  const events = kc(f, 'ns').makeApiClient(EventsV1Api)
  const core = kc(f, 'ns').makeApiClient(CoreV1Api)
  const bad = await failure(
    events.createNamespacedEvent({ namespace: 'ns', body: ev({ type: 'Info', reportingController: '', action: '' }) }),
  )
  t.equal(bad.code, 422)
  t.match(bad.status.message, /^Event.events.k8s.io "web\.[0-9a-f]+" is invalid: \[/)
  const fields = (bad.status.details.causes as { field: string }[]).map(c => c.field)
  t.ok(fields.includes('reportingController') && fields.includes('action') && fields.includes('type'), fields.join(','))
  const plainDate = await failure(
    events.createNamespacedEvent({
      namespace: 'ns',
      body: ev({ eventTime: new Date('2026-01-01T00:00:00Z') as V1MicroTime }),
    }),
  )
  t.equal(plainDate.code, 400)
  const mismatch = await failure(
    core.createNamespacedEvent({
      namespace: 'ns',
      body: {
        metadata: { name: 'x' },
        involvedObject: { kind: 'Deployment', name: 'web', namespace: 'other' },
        reason: 'R',
        message: 'm',
        type: 'Normal',
      },
    }),
  )
  t.equal(
    mismatch.status.message,
    'Event "x" is invalid: involvedObject.namespace: Invalid value: "other": does not match event.namespace',
  )
  const legacy = await core.createNamespacedEvent({
    namespace: 'ns',
    body: {
      metadata: { generateName: 'web.' },
      involvedObject: { kind: 'Deployment', name: 'web', namespace: 'ns' },
      reason: 'R',
      message: 'm',
      type: 'Warning',
      firstTimestamp: new Date(),
      count: 1,
    },
  })
  t.match(legacy.metadata?.name, /^web\.[a-z0-9]{5}$/, 'generateName')
})
