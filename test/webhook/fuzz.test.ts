// Generated bodies and headers through the real route (app.inject): the server never crashes, never answers 500,
// and only answers with the documented statuses; a valid notification still works afterwards.
import fc from 'fast-check'
import t from 'tap'
import { alert, payload, recorded } from './fixtures/payloads.js'
import { BEARER, TOKEN, webhookApp, type WebhookApp } from './fixtures/server.js'

const MAX_BODY = 4096

/** A value that is sometimes right for a field and sometimes any JSON at all. */
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 1, arbitrary: fc.jsonValue() },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )

const labelSet = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'alertname',
      'namespace',
      'deployment',
      'statefulset',
      'daemonset',
      'rollguard_trigger',
      '__proto__',
      'constructor',
    ),
    fc.string(),
  ),
  fc.oneof(fc.string(), fc.constantFrom('rollback', 'shop', 'checkout')),
  { maxKeys: 8 },
)
const time = fc.oneof(
  fc
    .date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z') })
    .map(d => d.toISOString()),
  fc.string(),
)

const fuzzedAlert = fc.record(
  {
    status: maybe(fc.constantFrom('firing', 'resolved')),
    labels: maybe(labelSet),
    annotations: maybe(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })),
    startsAt: maybe(time),
    endsAt: maybe(time),
    fingerprint: maybe(fc.stringMatching(/^[0-9a-f]{1,20}$/)),
    generatorURL: maybe(fc.webUrl()),
  },
  { requiredKeys: [] },
)

const fuzzedPayload = fc.record(
  {
    version: maybe(fc.constant('4')),
    status: maybe(fc.constantFrom('firing', 'resolved')),
    receiver: maybe(fc.string()),
    groupKey: maybe(fc.string()),
    truncatedAlerts: maybe(fc.nat()),
    alerts: maybe(fc.array(fuzzedAlert, { maxLength: 12 })),
    notification_reason: maybe(fc.string()),
  },
  { requiredKeys: [] },
)

const STATUSES_FOR_BODIES = [200, 400, 413, 503]

async function send(w: WebhookApp, body: string, headers: Record<string, string> = {}) {
  return w.app.inject({
    method: 'POST',
    url: '/api/v1/webhook/alertmanager',
    payload: body,
    headers: { 'content-type': 'application/json', authorization: BEARER, ...headers },
  })
}

function checkBody(res: Awaited<ReturnType<typeof send>>, statuses: readonly number[]): boolean {
  if (!statuses.includes(res.statusCode))
    throw new Error(`undocumented status ${res.statusCode}: ${res.body.slice(0, 300)}`)
  const json = JSON.parse(res.body) as { status: string; data?: { alerts: Record<string, number> }; error?: string }
  if (res.statusCode === 200) return json.status === 'success' && json.data !== undefined
  return json.status === 'error' && typeof json.error === 'string' && json.error.length > 0
}

t.test('generated payloads: 200, 400, 413 or 503, never anything else', async t => {
  const w = webhookApp(t, {
    webhook: {
      auth: { bearer_token_file: '/t' },
      max_body_bytes: MAX_BODY,
      rate_limit: { per_second: 1e9, burst: 1e9 },
    },
  })
  let seen = { ok: 0, bad: 0, big: 0 }
  await fc.assert(
    fc.asyncProperty(fuzzedPayload, fc.boolean(), async (body, leader) => {
      w.actions.leader = leader
      const res = await send(w, JSON.stringify(body))
      seen = {
        ok: seen.ok + (res.statusCode === 200 ? 1 : 0),
        bad: seen.bad + (res.statusCode === 400 ? 1 : 0),
        big: seen.big + (res.statusCode === 413 ? 1 : 0),
      }
      return checkBody(res, STATUSES_FOR_BODIES)
    }),
    { numRuns: 2000 },
  )
  // Random bodies rarely hit every kind of answer in one run; the fuzzing is about "never anything else".
  t.ok(seen.ok + seen.bad + seen.big > 0, `answers exercised: ${JSON.stringify(seen)}`)
  w.actions.leader = true
  t.equal((await send(w, recorded('firing'))).statusCode, 200, 'still serving')
  t.equal((await send(w, '{"version":')).statusCode, 400, 'a broken body: 400')
  t.equal(
    (await send(w, JSON.stringify({ ...(JSON.parse(recorded('firing')) as object), receiver: 'x'.repeat(MAX_BODY) })))
      .statusCode,
    413,
    'too large: 413',
  )
})

t.test('any JSON value and any text as the body: 400 or 413 (or 200 by luck), never a crash', async t => {
  const w = webhookApp(t, {
    webhook: {
      auth: { bearer_token_file: '/t' },
      max_body_bytes: MAX_BODY,
      rate_limit: { per_second: 1e9, burst: 1e9 },
    },
  })
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.jsonValue().map(v => JSON.stringify(v) ?? 'null'),
        fc.string({ maxLength: 5000 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
      ),
      async text => {
        const res = await send(w, text)
        return checkBody(res, [200, 400, 413])
      },
    ),
    { numRuns: 1500 },
  )
  t.equal((await send(w, recorded('firing'))).statusCode, 200, 'still serving')
})

t.test('generated headers: 401 without the right credentials, 415 without JSON, never a crash', async t => {
  const w = webhookApp(t, {
    webhook: { auth: { bearer_token_file: '/t' }, rate_limit: { per_second: 1e9, burst: 1e9 } },
  })
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map(c => String.fromCharCode(c)),
    maxLength: 80,
  })
  const authorization = fc.oneof(
    printable,
    printable.map(s => `Bearer ${s}`),
    printable.map(s => `Basic ${Buffer.from(s).toString('base64')}`),
    fc.constant(BEARER),
  )
  const contentType = fc.oneof(
    printable,
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'APPLICATION/JSON'),
  )
  const body = JSON.stringify(payload([alert()]))
  await fc.assert(
    fc.asyncProperty(authorization, contentType, async (auth, type) => {
      const res = await send(w, body, { authorization: auth, 'content-type': type })
      if (auth === BEARER) return checkBody(res, [200, 400, 415])
      // Only a header that still carries the token (e.g. "Bearer  <token>") may get past authentication.
      return res.statusCode === 401 ? checkBody(res, [401]) : auth.includes(TOKEN) && checkBody(res, [200, 400, 415])
    }),
    { numRuns: 1000 },
  )
  t.equal((await send(w, recorded('firing'))).statusCode, 200, 'still serving')
})
