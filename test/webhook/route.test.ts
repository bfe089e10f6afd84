import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { alert, payload, recorded } from './fixtures/payloads.js'
import { BEARER, metricValue, PATH, TOKEN, webhookApp, type WebhookApp } from './fixtures/server.js'

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const firingBody = () => JSON.parse(recorded('firing')) as Record<string, unknown>

/** handedOn counts the events the receiver gave the executor so far. */
const handedOn = (w: WebhookApp) => w.actions.batches.flat().length

/** stillFresh checks that a rejected request changed nothing: the same alerts are still accepted afterwards. */
async function stillFresh(t: Test, w: WebhookApp): Promise<void> {
  const before = handedOn(w)
  const res = await w.post(firingBody())
  t.equal(res.statusCode, 200, 'a valid notification afterwards is accepted')
  t.equal(res.json().data.alerts.accepted, 3, 'and none of its alerts counts as seen')
  t.equal(handedOn(w) - before, 3)
}

t.test('a real Alertmanager notification: 200 at once, the rollbacks are handed to the executor', async t => {
  const w = webhookApp(t)
  const res = await w.post(recorded('firing'))
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), {
    status: 'success',
    data: {
      message: '3 accepted',
      alerts: { accepted: 3, resolved: 0, duplicate: 0, ignored: 0, no_target: 0, deferred: 0 },
    },
  })
  t.same(
    w.actions.batches.flat().map(e => (e.kind === 'fire' ? `${e.request.ref.kind}/${e.request.ref.name}` : e.kind)),
    ['Deployment/cart', 'Deployment/checkout', 'Deployment/search'],
  )
  t.equal(await metricValue(w.registry, 'rollguard_webhook_requests_total', { status: '200' }), 1)
  t.equal(await metricValue(w.registry, 'rollguard_webhook_alerts_total', { result: 'accepted' }), 3)
  const hist = await w.registry.getSingleMetric('rollguard_webhook_request_duration_seconds')?.get()
  t.equal(
    hist?.values.find(
      v => (v as { metricName?: string }).metricName === 'rollguard_webhook_request_duration_seconds_count',
    )?.value,
    1,
  )
  const line = w.log
    .lines()
    .find(l => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('alertmanager webhook: 200'))
  t.match(
    line,
    {
      level: 30,
      msg: 'alertmanager webhook: 200 3 accepted',
      webhook: {
        status: 200,
        auth: 'bearer',
        receiver: 'all',
        groupKey: '{}/{rollguard_trigger="rollback"}:{namespace="shop"}',
        alerts: 3,
        result: { accepted: 3 },
      },
    },
    'one structured log line per request',
  )
})

t.test('replays and repeats are acknowledged and act once; the resolution cancels', async t => {
  const w = webhookApp(t)
  t.equal((await w.post(recorded('firing'))).statusCode, 200)
  for (let i = 0; i < 3; i++) {
    const again = await w.post(recorded('firing'))
    t.equal(again.statusCode, 200, `repeat ${i + 1}`)
    t.equal(again.json().data.alerts.duplicate, 3)
  }
  t.equal(handedOn(w), 3, 'nothing handed on by the repeats')
  const levels = w.log
    .lines()
    .filter(l => String(l['msg']).startsWith('alertmanager webhook: 200'))
    .map(l => l['level'])
  t.same(levels, [30, 20, 20, 20], 'a line per request; repeats with nothing new at debug')
  const resolved = await w.post(recorded('resolved'))
  t.same(resolved.json().data.alerts, { accepted: 0, resolved: 1, duplicate: 2, ignored: 0, no_target: 0, deferred: 0 })
  t.match(w.actions.batches.at(-1), [{ kind: 'resolve', request: { ref: { name: 'checkout' } } }])
  t.equal((await w.post(recorded('resolved'))).json().data.alerts.duplicate, 3, 'the resolution is not handed on twice')
  t.equal(
    (await w.post(recorded('firing'))).json().data.alerts.duplicate,
    3,
    'a late retry of the firing after the resolution does not act',
  )
  t.equal(await metricValue(w.registry, 'rollguard_webhook_alerts_total', { result: 'duplicate' }), 3 * 3 + 2 + 3 + 3)
})

t.test('alerts matching nothing are acknowledged, ignored and counted', async t => {
  const w = webhookApp(t, { webhook: { auth: { bearer_token_file: '/x' }, matchers: ['severity="page"'] } })
  const res = await w.post(recorded('firing'))
  t.equal(res.statusCode, 200)
  t.equal(res.json().data.alerts.ignored, 3)
  t.equal(handedOn(w), 0)
  t.equal(await metricValue(w.registry, 'rollguard_webhook_alerts_total', { result: 'ignored' }), 3)
})

t.test('max_alerts truncation is reported and counted', async t => {
  const w = webhookApp(t)
  const res = await w.post(recorded('truncated'))
  t.equal(res.statusCode, 200)
  t.match(res.json().data.message, /2 accepted; 1 alerts were left out by Alertmanager \(max_alerts\)/)
  t.equal(await metricValue(w.registry, 'rollguard_webhook_truncated_alerts_total'), 1)
})

t.test('authentication: 401 with WWW-Authenticate for missing or wrong credentials, nothing done', async t => {
  const w = webhookApp(t, {
    webhook: { auth: { bearer_token_file: '/t', basic_auth: { username: 'am', password_file: '/p' } } },
    credentials: { bearerToken: TOKEN, basic: { username: 'am', password: 'pw' } },
  })
  const cases: Array<[string, string | undefined]> = [
    ['missing', undefined],
    ['empty', ''],
    ['wrong token', 'Bearer nope'],
    ['token with a different case', `Bearer ${TOKEN.toUpperCase()}`],
    ['wrong password', basic('am', 'nope')],
    ['wrong user', basic('root', 'pw')],
    ['unknown scheme', `Token ${TOKEN}`],
  ]
  for (const [name, authorization] of cases) {
    const res = await w.post(firingBody(), { authorization })
    t.equal(res.statusCode, 401, name)
    t.same(
      res.headers['www-authenticate'],
      ['Bearer realm="rollguard"', 'Basic realm="rollguard", charset="UTF-8"'],
      `${name}: challenges`,
    )
    t.match(res.json(), { status: 'error', errorType: 'bad_data', error: /^unauthorized/ })
  }
  t.equal(handedOn(w), 0)
  t.equal(await metricValue(w.registry, 'rollguard_webhook_requests_total', { status: '401' }), cases.length)
  t.equal((await w.post(recorded('firing'), { authorization: basic('am', 'pw') })).statusCode, 200, 'basic auth')
  t.equal((await w.post(recorded('resolved'), { authorization: BEARER })).statusCode, 200, 'bearer token')
  const logged = w.log.text()
  t.notMatch(logged, TOKEN, 'the token is never logged')
  t.notMatch(logged, Buffer.from('am:pw').toString('base64'), 'nor the basic credentials')
  t.match(
    w.log.lines().find(l => (l['webhook'] as { status?: number } | undefined)?.status === 401),
    { level: 40, webhook: { auth: 'missing' } },
  )
})

t.test('authentication is checked before anything else is looked at', async t => {
  const w = webhookApp(t)
  const res = await w.post('not json', { authorization: undefined, 'content-type': 'text/plain' })
  t.equal(res.statusCode, 401, 'not 415 or 400: an unauthenticated client learns nothing')
  const huge = await w.post('x'.repeat(2 * 1024 * 1024), { authorization: 'Bearer wrong' })
  t.equal(huge.statusCode, 401, 'not 413: the body of an unauthenticated request is not read')
})

t.test('insecure_no_auth accepts requests without credentials', async t => {
  const w = webhookApp(t, { webhook: { insecure_no_auth: true } })
  t.equal((await w.post(recorded('firing'), { authorization: undefined })).statusCode, 200)
})

t.test('bad input: the right status, a reason, and nothing changes', async t => {
  const w = webhookApp(t)
  const cases: Array<[string, string | Buffer, Record<string, string | undefined>, number, RegExp]> = [
    ['malformed JSON', '{"version":"4", alerts: [', {}, 400, /^the body is not valid JSON: /],
    ['empty body', '', {}, 400, /not valid JSON/],
    [
      'JSON but not an object',
      '[1,2,3]',
      {},
      400,
      /^not an Alertmanager webhook payload: the payload: must be a JSON object/,
    ],
    ['wrong version', JSON.stringify(payload([alert()], { version: '3' })), {}, 400, /version: must be "4"/],
    [
      'a label of the wrong type',
      JSON.stringify(payload([alert(), { ...alert(), labels: { a: 1 } }])),
      {},
      400,
      /alerts\[1\]\.labels\.a: must be a string/,
    ],
    [
      'a missing fingerprint',
      JSON.stringify(payload([{ ...alert(), fingerprint: undefined }])),
      {},
      400,
      /alerts\[0\]\.fingerprint/,
    ],
    [
      'text/plain',
      recorded('firing'),
      { 'content-type': 'text/plain' },
      415,
      /^unsupported content type "text\/plain"/,
    ],
    [
      'form',
      recorded('firing'),
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      /unsupported content type/,
    ],
    ['no content type', recorded('firing'), { 'content-type': undefined }, 415, /unsupported content type ""/],
    ['json-like', recorded('firing'), { 'content-type': 'application/jsonx' }, 415, /unsupported content type/],
  ]
  for (const [name, body, headers, status, message] of cases) {
    const res = await w.post(body, headers)
    t.equal(res.statusCode, status, name)
    const json = res.json() as { status: string; errorType: string; error: string }
    t.equal(json.status, 'error', `${name}: JSON error envelope`)
    t.equal(json.errorType, 'bad_data')
    t.match(json.error, message, `${name}: the reason`)
  }
  t.equal(handedOn(w), 0)
  t.equal(
    (await w.post(recorded('firing'), { 'content-type': 'application/json; charset=utf-8' })).statusCode,
    200,
    'a charset parameter is fine',
  )
})

t.test('oversized bodies: 413, with or without Content-Length, and nothing changes', async t => {
  const w = webhookApp(t, { webhook: { auth: { bearer_token_file: '/t' }, max_body_bytes: 4096 } })
  const big = JSON.stringify(payload(Array.from({ length: 40 }, (_, i) => alert({ deployment: `d${i}` }))))
  t.ok(big.length > 4096)
  const res = await w.post(big)
  t.equal(res.statusCode, 413)
  t.match(res.json(), { status: 'error', error: 'request body is larger than webhook.max_body_bytes (4096 bytes)' })
  const chunked = await w.app.inject({
    method: 'POST',
    url: PATH,
    headers: { 'content-type': 'application/json', authorization: BEARER, 'transfer-encoding': 'chunked' },
    payload: Readable.from([big.slice(0, 3000), big.slice(3000)]),
  })
  t.equal(chunked.statusCode, 413, 'a streamed body is cut off at the limit')
  t.equal(await metricValue(w.registry, 'rollguard_webhook_requests_total', { status: '413' }), 2)
  await stillFresh(t, w)
})

t.test('rate limit per source: 429 with Retry-After, then admitted again', async t => {
  const w = webhookApp(t, { webhook: { auth: { bearer_token_file: '/t' }, rate_limit: { per_second: 1, burst: 2 } } })
  t.equal((await w.post(recorded('firing'))).statusCode, 200)
  t.equal((await w.post(recorded('firing'))).statusCode, 200)
  const limited = await w.post(recorded('resolved'))
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '1')
  t.match(limited.json(), { status: 'error', error: /^too many requests from 127\.0\.0\.1; retry after 1s/ })
  t.equal(
    (await w.post(recorded('resolved'), { authorization: undefined })).statusCode,
    429,
    'before authentication: floods never reach the hashing',
  )
  const other = await w.app.inject({
    method: 'POST',
    url: PATH,
    remoteAddress: '10.1.2.3',
    headers: { 'content-type': 'application/json', authorization: BEARER },
    payload: recorded('resolved'),
  })
  t.equal(other.statusCode, 200, 'another source has its own bucket')
  w.clock += 1000
  const admitted = await w.post(recorded('resolved'))
  t.equal(admitted.statusCode, 200, 'a token after a second')
  t.equal(
    admitted.json().data.alerts.duplicate,
    3,
    'the 429 changed nothing: the resolution was already handed on by the other source',
  )
  t.notOk(
    w.log.lines().some(l => (l['webhook'] as { status?: number } | undefined)?.status === 429 && l['level'] !== 20),
    'rate-limited requests are logged at debug only',
  )
})

t.test(
  'a follower answers 503 and closes the connection, so Alertmanager retries and may reach the leader',
  async t => {
    const w = webhookApp(t)
    w.actions.leader = false
    const res = await w.post(recorded('firing'))
    t.equal(res.statusCode, 503)
    t.equal(res.headers['connection'], 'close')
    t.match(res.json(), { status: 'error', errorType: 'internal', error: /not the leader/ })
    t.equal(handedOn(w), 0)
    t.equal(await metricValue(w.registry, 'rollguard_webhook_alerts_total', { result: 'deferred' }), 3)
    const unrelated = await w.post(payload([alert({ labels: { alertname: 'DiskFull' } })]))
    t.equal(unrelated.statusCode, 200, 'a notification without rollback triggers needs no leader')
    w.actions.leader = true
    t.equal(
      (await w.post(recorded('firing'))).json().data.alerts.accepted,
      3,
      'nothing was remembered by the 503: the leader acts',
    )
  },
)

t.test('a trigger naming no workload is recorded (once) without needing the leader', async t => {
  const w = webhookApp(t)
  w.actions.leader = false
  const body = payload([alert({ labels: { alertname: 'X', rollguard_trigger: 'rollback', namespace: 'shop' } })])
  const res = await w.post(body)
  t.equal(res.statusCode, 200)
  t.equal(res.json().data.alerts.no_target, 1)
  t.match(w.actions.batches, [[{ kind: 'ignored', reason: 'no_target' }]])
  t.equal((await w.post(body)).json().data.alerts.duplicate, 1)
  t.equal(w.actions.batches.length, 1, 'recorded once')
})

t.test('retry-worthy states answer 503: actions not configured, switched off by a reload', async t => {
  const w = webhookApp(t)
  w.configured = false
  const none = await w.post(recorded('firing'))
  t.equal(none.statusCode, 503)
  t.match(none.json().error, /actions are not configured/)
  t.equal((await w.post(payload([alert({ labels: { alertname: 'X' } })]))).statusCode, 200, 'nothing to act on: 200')
  w.configured = true
  w.actions.on = false
  const off = await w.post(recorded('firing'))
  t.equal(off.statusCode, 503)
  t.match(off.json().error, /switched off/)
  w.actions.on = true
  t.equal((await w.post(recorded('firing'))).json().data.alerts.accepted, 3)
})

t.test('a new leadership term decides again on firings handed on before', async t => {
  const w = webhookApp(t)
  await w.post(recorded('firing'))
  w.actions.term++
  t.equal((await w.post(recorded('firing'))).json().data.alerts.accepted, 3)
  t.equal(handedOn(w), 6)
})

t.test('disabled by a reload: 404; other methods: 405', async t => {
  const w = webhookApp(t)
  const get = await w.app.inject({ method: 'GET', url: PATH })
  t.equal(get.statusCode, 405)
  t.equal(get.headers['allow'], 'POST')
  w.receiver.update(undefined)
  const res = await w.post(recorded('firing'))
  t.equal(res.statusCode, 404)
  t.match(res.json().error, /webhook is disabled/)
  t.equal(handedOn(w), 0)
})

t.test('a custom path', async t => {
  const w = webhookApp(t, { webhook: { auth: { bearer_token_file: '/t' }, path: '/hooks/am' } })
  const res = await w.app.inject({
    method: 'POST',
    url: '/hooks/am',
    headers: { 'content-type': 'application/json', authorization: BEARER },
    payload: recorded('firing'),
  })
  t.equal(res.statusCode, 200)
  t.equal((await w.app.inject({ method: 'POST', url: PATH, payload: recorded('firing') })).statusCode, 404)
})

t.test('an unexpected failure is a 500 (Alertmanager retries) and is logged', async t => {
  const w = webhookApp(t)
  w.actions.handleEvents = () => {
    throw new Error('boom')
  }
  const res = await w.post(recorded('firing'))
  t.equal(res.statusCode, 500)
  t.match(res.json(), { status: 'error', errorType: 'internal', error: /internal error/ })
  t.ok(w.log.lines().some(l => l['level'] === 50 && (l['err'] as { message?: string } | undefined)?.message === 'boom'))
})

t.test('a trigger held back by a silence is decided again on the next notification', async t => {
  const w = webhookApp(t)
  t.equal((await w.post(recorded('firing'))).json().data.alerts.accepted, 3)
  t.equal((await w.post(recorded('firing'))).json().data.alerts.duplicate, 3, 'a repeat is acknowledged, not handed on')
  // The executor skipped the first alert because a silence matched: the receiver forgets it, the others stay seen.
  const first = w.actions.batches[0]?.[0]
  if (first?.kind !== 'fire') throw new Error('expected a fire event')
  w.receiver.reconsider(first.request.alert.fingerprint, first.request.alert.startsAt)
  const next = await w.post(recorded('firing'))
  t.same(
    [next.json().data.alerts.accepted, next.json().data.alerts.duplicate],
    [1, 2],
    'the silenced one is news again',
  )
  t.same(w.actions.batches.at(-1), [first], 'and handed on again')
})
