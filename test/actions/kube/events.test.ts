import t from 'tap'
import {
  buildEvent,
  DEFAULT_REPORTER_CONTROLLER,
  recordEvent,
  truncateBytes,
} from '../../../src/actions/kube/events.js'
import { withRaw } from '../../../src/actions/kube/raw.js'
import { harness, ref, writes } from '../../fixtures/cluster-harness.js'

const NS = 'shop'
const WEB = { ...ref('Deployment', NS, 'web'), uid: 'abc-123' }
const REPORTER = { reportingController: DEFAULT_REPORTER_CONTROLLER, reportingInstance: 'rollguard-0' }

t.test('recordEvent creates an events.k8s.io/v1 Event with a MicroTime eventTime', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const at = new Date('2026-03-04T05:06:07.891Z')
  const r = await recordEvent(
    h.clients.events,
    WEB,
    { type: 'Normal', reason: 'RolledBack', action: 'Rollback', note: 'rolled back from 2 to 1' },
    REPORTER,
    { at },
  )
  t.match(r, { kind: 'recorded', name: /^web\.[0-9a-f]+$/ })
  const post = writes(h.fake.log)[0]
  t.equal(post?.path, `/apis/events.k8s.io/v1/namespaces/${NS}/events`)
  t.equal(
    (post?.body as { eventTime: string }).eventTime,
    '2026-03-04T05:06:07.891000Z',
    'six fractional digits on the wire',
  )
  const list = await withRaw<{ items: Record<string, unknown>[] }>(o =>
    h.clients.events.listNamespacedEvent({ namespace: NS }, o),
  )
  t.match(list.items[0], {
    eventTime: '2026-03-04T05:06:07.891000Z',
    reason: 'RolledBack',
    action: 'Rollback',
    type: 'Normal',
    reportingController: 'rollguard.io/rollguard',
    reportingInstance: 'rollguard-0',
    regarding: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: NS, uid: 'abc-123' },
  })
  const second = await recordEvent(
    h.clients.events,
    WEB,
    { type: 'Warning', reason: 'RollbackFailed', action: 'Rollback', note: 'x' },
    REPORTER,
    { at },
  )
  t.equal(second.kind, 'recorded', 'same instant, distinct name')
  t.not(second.kind === 'recorded' && second.name, r.kind === 'recorded' && r.name)
})

t.test('the server really rejects a plain Date (so the MicroTime test means something)', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  const body = {
    ...buildEvent(WEB, { type: 'Normal', reason: 'R', action: 'A', note: 'n' }, REPORTER),
    eventTime: new Date(),
  }
  await t.rejects(h.clients.events.createNamespacedEvent({ namespace: NS, body: body as never }), { code: 400 })
})

t.test('limits: note to 1024 bytes without splitting characters, reason/action/instance to 128', async t => {
  const long = 'é'.repeat(600)
  const ev = buildEvent(
    WEB,
    { type: 'Warning', reason: 'R'.repeat(200), action: 'A'.repeat(129), note: long },
    { ...REPORTER, reportingInstance: 'i'.repeat(300) },
  )
  t.equal(Buffer.byteLength(ev.note ?? ''), 1024)
  t.equal(ev.note, 'é'.repeat(512))
  t.equal(ev.reason?.length, 128)
  t.equal(ev.action?.length, 128)
  t.equal(ev.reportingInstance?.length, 128)
  t.equal(truncateBytes('a€b', 3), 'a', 'a 3-byte character that does not fit is dropped whole')
  t.equal(truncateBytes('short', 10), 'short')
  const h = await harness(NS)
  t.teardown(h.close)
  const r = await recordEvent(
    h.clients.events,
    WEB,
    { type: 'Warning', reason: 'RollbackFailed', action: 'Rollback', note: long },
    REPORTER,
  )
  t.equal(r.kind, 'recorded', 'the API server accepts the truncated event')
})

t.test('failures are returned, never thrown', async t => {
  const h = await harness(NS)
  h.fake.authorize = req => req.resource !== 'events'
  const spec = { type: 'Normal', reason: 'RolledBack', action: 'Rollback', note: 'n' } as const
  t.match(await recordEvent(h.clients.events, WEB, spec, REPORTER), {
    kind: 'error',
    reason: 'forbidden',
    status: 403,
    message: /^deployment\.apps\/web -n shop: recording event RolledBack: events\.events\.k8s\.io is forbidden/,
  })
  t.match(
    await recordEvent(h.clients.events, WEB, spec, { ...REPORTER, reportingController: 'not a qualified name!' }),
    { kind: 'error' },
  )
  await h.close()
  t.match(await recordEvent(h.clients.events, WEB, spec, REPORTER), { kind: 'error', reason: 'unavailable' })
})
