import t from 'tap'
import { parsePayload, type WebhookPayload } from '../../src/webhook/payload.js'
import { alert, payload, recorded } from './fixtures/payloads.js'

function ok(body: unknown): WebhookPayload {
  const r = parsePayload(body)
  if (!r.ok) throw new Error(`expected a valid payload, got: ${r.error}`)
  return r.payload
}

function error(body: unknown): string {
  const r = parsePayload(body)
  if (r.ok) throw new Error('expected the payload to be rejected')
  return r.error
}

t.test('a firing notification recorded from Alertmanager 0.25', async t => {
  const p = ok(JSON.parse(recorded('firing')))
  t.equal(p.receiver, 'all')
  t.equal(p.status, 'firing')
  t.equal(p.groupKey, '{}/{rollguard_trigger="rollback"}:{namespace="shop"}')
  t.equal(p.truncatedAlerts, 0)
  t.equal(p.alerts.length, 3)
  const checkout = p.alerts.find(a => a.labels['deployment'] === 'checkout')
  t.same(checkout?.labels, {
    alertname: 'HighErrorRate',
    deployment: 'checkout',
    instance: 'checkout:8080',
    job: 'sample',
    namespace: 'shop',
    rollguard_trigger: 'rollback',
    severity: 'critical',
  })
  t.equal(checkout?.status, 'firing')
  t.match(checkout?.fingerprint, /^[0-9a-f]{16}$/)
  t.equal(checkout?.startsAt, Date.parse('2026-11-26T13:57:14.562Z'))
  t.equal(checkout?.endsAt, Date.parse('0001-01-01T00:00:00Z'), "Go's zero time for a firing alert")
  t.same(checkout?.annotations, { summary: 'HighErrorRate on shop/checkout' })
})

t.test('a notification with one alert resolved, and one truncated by max_alerts', async t => {
  const resolved = ok(JSON.parse(recorded('resolved')))
  const r = resolved.alerts.find(a => a.status === 'resolved')
  t.equal(r?.labels['deployment'], 'checkout')
  t.equal(r?.endsAt, Date.parse('2026-11-26T13:58:14.743Z'))
  t.equal(resolved.status, 'firing', 'the group still has firing alerts')
  const truncated = ok(JSON.parse(recorded('truncated')))
  t.equal(truncated.alerts.length, 2)
  t.equal(truncated.truncatedAlerts, 1)
})

t.test('lenient about fields rollguard does not need', async t => {
  const base = payload([alert()])
  const older = { ...base }
  delete older['truncatedAlerts']
  t.equal(ok(older).truncatedAlerts, 0, 'truncatedAlerts absent (Alertmanager < 0.21)')
  const newer = payload([{ ...alert(), silencedBy: [], extra: { nested: true } }], {
    notification_reason: 'repeat interval elapsed',
    routeLabels: { team: 'shop' },
    somethingFromTheFuture: [1, 2, 3],
  })
  t.equal(ok(newer).alerts.length, 1, 'notification_reason, routeLabels and unknown fields are ignored')
  const minimal = {
    version: '4',
    alerts: [{ status: 'firing', labels: { alertname: 'X' }, startsAt: '2026-01-01T00:00:00Z', fingerprint: 'abc' }],
  }
  t.match(
    ok(minimal),
    { receiver: '', groupKey: '', alerts: [{ annotations: {}, endsAt: undefined }] },
    'only what rollguard acts on is required',
  )
  const nulls = payload([{ ...alert(), annotations: null, endsAt: null }], { receiver: null, groupKey: null })
  t.match(ok(nulls), { receiver: '', alerts: [{ annotations: {}, endsAt: undefined }] }, 'null optional fields')
  t.same(ok(payload([])).alerts, [], 'no alerts')
})

t.test('times: RFC 3339 with nanoseconds and offsets', async t => {
  t.equal(
    ok(payload([alert({ startsAt: '2026-01-01T10:05:00.123456789Z' })])).alerts[0]?.startsAt,
    Date.parse('2026-01-01T10:05:00.123Z'),
  )
  t.equal(
    ok(payload([alert({ startsAt: '2026-01-01T12:05:00+02:00' })])).alerts[0]?.startsAt,
    Date.parse('2026-01-01T10:05:00Z'),
  )
  for (const bad of [
    '2026-01-01 10:05:00Z',
    '2026-01-01T10:05:00',
    '1767261900',
    'yesterday',
    '2026-13-01T10:05:00Z',
  ]) {
    t.match(error(payload([alert({ startsAt: bad })])), /^alerts\[0\]\.startsAt: must be an RFC 3339 time/, bad)
  }
})

t.test('empty label values are absent labels, as in Prometheus', async t => {
  const p = ok(payload([alert({ labels: { alertname: 'X', deployment: '', namespace: 'shop' } })]))
  t.same(p.alerts[0]?.labels, { alertname: 'X', namespace: 'shop' })
  t.match(error(payload([alert({ labels: { alertname: '' } })])), /alerts\[0\]\.labels: must not be empty/)
})

t.test('a "__proto__" label is an ordinary label and cannot change prototypes', async t => {
  const body = JSON.parse(
    JSON.stringify(payload([alert()])).replace('"alertname":', '"__proto__":"polluted","alertname":'),
  ) as unknown
  const labels = ok(body).alerts[0]?.labels ?? {}
  t.equal(Object.getPrototypeOf(labels), Object.prototype)
  t.ok(Object.hasOwn(labels, '__proto__'))
  t.equal(({} as Record<string, unknown>)['polluted'], undefined)
})

t.test('strict about what it needs, naming the field', async t => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an object', [], /^the payload: must be a JSON object, got an array/],
    ['null', null, /^the payload: must be a JSON object, got null/],
    ['no version', { alerts: [] }, /^version: must be "4".*got nothing/],
    ['version 3', payload([], { version: '3' }), /^version: must be "4".*got "3"/],
    ['version as a number', payload([], { version: 4 }), /^version: .*got 4/],
    ['alerts missing', { version: '4' }, /^alerts: must be an array, got nothing/],
    ['alerts an object', payload([], { alerts: {} }), /^alerts: must be an array, got an object/],
    [
      'truncatedAlerts negative',
      payload([], { truncatedAlerts: -1 }),
      /^truncatedAlerts: must be a non-negative integer/,
    ],
    ['truncatedAlerts a string', payload([], { truncatedAlerts: '1' }), /^truncatedAlerts: /],
    ['status unknown', payload([], { status: 'pending' }), /^status: must be "firing" or "resolved", got "pending"/],
    ['receiver a number', payload([], { receiver: 1 }), /^receiver: must be a string/],
    [
      'alert not an object',
      payload(['x' as unknown as Record<string, unknown>]),
      /^alerts\[0\]: must be a JSON object, got "x"/,
    ],
    ['alert status', payload([{ ...alert(), status: 'active' }]), /^alerts\[0\]\.status: /],
    [
      'labels missing',
      payload([{ ...alert(), labels: undefined }]),
      /^alerts\[0\]\.labels: must be a JSON object, got nothing/,
    ],
    [
      'label value a number',
      payload([alert(), { ...alert(), labels: { alertname: 'X', replicas: 3 } }]),
      /^alerts\[1\]\.labels\.replicas: must be a string, got 3/,
    ],
    [
      'annotation value an object',
      payload([{ ...alert(), annotations: { a: {} } }]),
      /^alerts\[0\]\.annotations\.a: must be a string, got an object/,
    ],
    [
      'fingerprint missing',
      payload([{ ...alert(), fingerprint: undefined }]),
      /^alerts\[0\]\.fingerprint: .*got nothing/,
    ],
    ['fingerprint not hex', payload([{ ...alert(), fingerprint: 'zz; DROP' }]), /^alerts\[0\]\.fingerprint: /],
    ['fingerprint too long', payload([{ ...alert(), fingerprint: 'a'.repeat(65) }]), /^alerts\[0\]\.fingerprint: /],
    ['startsAt missing', payload([{ ...alert(), startsAt: undefined }]), /^alerts\[0\]\.startsAt: /],
    ['endsAt garbage', payload([{ ...alert(), endsAt: 5 }]), /^alerts\[0\]\.endsAt: .*got 5/],
  ]
  for (const [name, body, expected] of cases) t.match(error(body), expected, name)
})

t.test('error messages quote at most a short prefix of hostile values', async t => {
  const message = error(payload([], { version: 'x'.repeat(10_000) }))
  t.ok(message.length < 200, `${message.length} characters`)
  t.match(message, /\.\.\.$/)
})
