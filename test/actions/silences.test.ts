// Silences as a veto: parsing and matching a recorded Alertmanager 0.25 response, the matcher semantics checked
// against a real Alertmanager's own silencing, and the adapter against real Alertmanagers and a local HTTP server.
import t from 'tap'
import { getEventListeners } from 'node:events'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { matches, matcherFromSilence } from '../../src/actions/matchers.js'
import { silenceBlocker } from '../../src/actions/policy.js'
import {
  alertmanagerLabels,
  AlertmanagerSilences,
  combineAnswers,
  matchSilences,
  parseSilences,
  type AlertmanagerAccess,
  type Silence,
  type SilenceCheckResult,
} from '../../src/actions/silences.js'
import type { AlertInfo } from '../../src/actions/trigger.js'
import { amAlerts, amCreateSilence, amExpireSilence, amPostAlerts } from '../../src/demo/stack.js'
import { toPostableAlert } from '../../src/notifier/alertmanager.js'
import { alertmanager, logSink } from '../fixtures/e2e.js'

const RECORDED = readFileSync(new URL('./fixtures/alertmanager-0.25-silences.json', import.meta.url), 'utf8')
const AT = Date.parse('2026-11-26T14:30:00Z') // while the recorded active silences are active
const MIN = 60_000
const skip = { on_error: 'skip' as const, recheck_interval: MIN }

const trigger = (labels: Record<string, string>, origin?: 'rules'): AlertInfo => ({
  name: labels['alertname'] ?? 'HighErrorRate',
  labels: { alertname: 'HighErrorRate', rollguard_trigger: 'rollback', ...labels },
  fingerprint: `fp-${JSON.stringify(labels)}`,
  startsAt: AT - MIN,
  origin,
})

t.test('parseSilences reads a real Alertmanager 0.25 GET /api/v2/silences response', async t => {
  const silences = await parseSilences(RECORDED)
  t.same(
    silences.map(s => [s.createdBy, s.state]),
    [
      ['bob', 'active'],
      ['alice', 'active'],
      ['dave', 'pending'],
      ['carol', 'expired'],
    ],
  )
  t.same(silences[1], {
    id: '577cc33c-0802-4a37-a02f-2405ae1a5d37',
    state: 'active',
    status: { state: 'active' },
    matchers: [
      { isEqual: true, isRegex: false, name: 'namespace', value: 'shop' },
      { isEqual: true, isRegex: false, name: 'alertname', value: 'HighErrorRate' },
    ],
    startsAt: Date.parse('2026-11-26T14:12:51.492Z'),
    endsAt: Date.parse('2026-11-26T16:12:51.466Z'),
    createdBy: 'alice',
    comment: 'planned migration of shop, no automatic rollbacks',
  })
  t.same(await parseSilences('[]'), [])
})

t.test('parseSilences rejects what is not a silences list, naming the field', async t => {
  await t.rejects(parseSilences('<html>bad gateway</html>'), {
    message: /^the response is not JSON: <html>bad gateway<\/html>$/,
  })
  await t.rejects(parseSilences('{"silences":[]}'), { message: /^unexpected silences response at top level: / })
  await t.rejects(
    parseSilences(
      '[{"id":"x","status":{"state":"active"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z","createdBy":"a","comment":""}]',
    ),
    { message: /^unexpected silences response at 0\.matchers: / },
  )
  await t.rejects(
    parseSilences(
      '[{"id":"x","status":{"state":"active"},"matchers":[],"startsAt":"soon","endsAt":"2026-01-01T01:00:00Z","createdBy":"a","comment":""}]',
    ),
    { message: /^unexpected silences response at 0\.startsAt: not a time: "soon"$/ },
  )
})

t.test('matchSilences: only active silences whose matchers all match', async t => {
  const silences = await parseSilences(RECORDED)
  const id = (labels: Record<string, string>, now = AT) => {
    const m = matchSilences(silences, labels, now)
    return m.kind === 'silenced' ? m.silence.createdBy : m.kind
  }
  const checkout = { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'checkout', severity: 'critical' }
  t.equal(
    id(checkout),
    'bob',
    'the first matching silence (deployment=~"check.*", severity!="info", team!~"payments|billing")',
  )
  t.equal(
    id({ ...checkout, team: 'payments' }),
    'alice',
    'team!~ fails for bob; alice silences namespace shop + HighErrorRate',
  )
  t.equal(id({ ...checkout, severity: 'info' }), 'alice', 'severity!="info" fails for bob')
  t.equal(
    id({ ...checkout, deployment: 'checkout-v2' }),
    'bob',
    'regex check.* matches checkout-v2 (anchored at both ends, .* at the end)',
  )
  t.equal(
    id({ ...checkout, deployment: 'precheckout', alertname: 'HighLatency' }),
    'none',
    'anchored: precheckout is not check.*',
  )
  t.equal(
    id({ alertname: 'HighLatency', namespace: 'shop', deployment: 'cart' }),
    'none',
    "carol's cart silence is expired",
  )
  t.equal(
    id({ alertname: 'HighErrorRate', namespace: 'db', statefulset: 'pg' }),
    'none',
    "dave's db silence is pending",
  )
  t.equal(
    id({ alertname: 'HighErrorRate', namespace: 'db' }, Date.parse('2026-11-26T16:00:00Z')),
    'none',
    'still pending by its state, even inside its time range',
  )
  const aliceEnds = Date.parse('2026-11-26T16:12:51.466Z')
  const shopOnly = { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'cart' }
  t.equal(id(shopOnly, aliceEnds - 1), 'alice')
  t.equal(id(shopOnly, aliceEnds), 'none', 'state "active" but past endsAt (a stale answer) does not count')
  t.equal(id(shopOnly, Date.parse('2026-11-26T14:12:51.491Z')), 'none', 'before startsAt does not count')
})

const silence = (over: Partial<Silence>): Silence => ({
  id: 'id',
  state: 'active',
  matchers: [],
  startsAt: AT - MIN,
  endsAt: AT + MIN,
  createdBy: 'alice',
  comment: '',
  ...over,
})

t.test(
  'matchSilences: isEqual absent (Alertmanager < 0.22) means equal; an unusable regex is an error unless another silence matches',
  async t => {
    const old = silence({ id: 'old', matchers: [{ name: 'deployment', value: 'checkout', isRegex: false }] })
    t.match(matchSilences([old], { deployment: 'checkout' }, AT), { kind: 'silenced', silence: { id: 'old' } })
    t.same(matchSilences([old], { deployment: 'cart' }, AT), { kind: 'none' })
    const lookahead = silence({
      id: 'odd',
      matchers: [{ name: 'deployment', value: '(?=check)checkout', isRegex: true }],
    })
    t.match(matchSilences([lookahead], { deployment: 'checkout' }, AT), {
      kind: 'error',
      error:
        /^cannot evaluate silence odd: silence matcher deployment=~"\(\?=check\)checkout": invalid regular expression .*lookahead/,
    })
    t.match(matchSilences([lookahead, old], { deployment: 'checkout' }, AT), {
      kind: 'silenced',
      silence: { id: 'old' },
    })
    t.same(
      matchSilences([silence({ state: 'expired', matchers: lookahead.matchers })], { deployment: 'checkout' }, AT),
      { kind: 'none' },
      'inactive silences are not evaluated',
    )
  },
)

t.test('combineAnswers: a silence on any Alertmanager vetoes; one answer is enough; no answer is unknown', async t => {
  const s = silence({
    id: 's1',
    endsAt: AT + MIN,
    comment: 'c',
    matchers: [
      { name: 'a', value: '1', isRegex: false },
      { name: 'b', value: '2', isRegex: false, isEqual: false },
      { name: 'c', value: 'x"y', isRegex: true, isEqual: true },
      { name: 'd', value: '.+', isRegex: true, isEqual: false },
    ],
  })
  const down = { alertmanager: 'http://am-0/', match: { kind: 'error', error: 'connect ECONNREFUSED' } as const }
  const none = { alertmanager: 'http://am-1/', match: { kind: 'none' } as const }
  const silenced = { alertmanager: 'http://am-2/', match: { kind: 'silenced', silence: s } as const }
  t.same(combineAnswers([down, silenced]), {
    state: 'silenced',
    id: 's1',
    createdBy: 'alice',
    comment: 'c',
    endsAt: AT + MIN,
    matchers: ['a="1"', 'b!="2"', 'c=~"x\\"y"', 'd!~".+"'],
    alertmanager: 'http://am-2/',
  })
  t.match(
    combineAnswers([none, silenced]),
    { state: 'silenced' },
    'another Alertmanager that has not got the silence yet does not overrule it',
  )
  t.same(combineAnswers([down, none]), { state: 'none' })
  t.same(
    combineAnswers([down, { ...down, alertmanager: 'http://am-1/', match: { kind: 'error', error: 'HTTP 503' } }]),
    {
      state: 'unknown',
      error: 'http://am-0/: connect ECONNREFUSED; http://am-1/: HTTP 503',
    },
  )
  t.same(combineAnswers([]), { state: 'unknown', error: 'no Alertmanager to ask' })
})

t.test(
  'alertmanagerLabels: a rule alert gains the external labels exactly as the notifier adds them; a webhook alert is as received',
  async t => {
    const external = { cluster: 'eu-1', replica: '', env: 'prod' }
    const cases: Array<Record<string, string>> = [
      { deployment: 'checkout' },
      { deployment: 'checkout', cluster: 'us-2' },
      { deployment: 'checkout', env: '' },
    ]
    for (const labels of cases) {
      const alert = trigger(labels, 'rules')
      const posted = toPostableAlert(
        { labels: alert.labels, annotations: {}, startsAt: 0, endsAt: 0, generatorURL: '' },
        external,
      ).labels
      t.same(alertmanagerLabels(alert, external), posted, JSON.stringify(labels))
    }
    t.same(alertmanagerLabels(trigger({ deployment: 'checkout' }, 'rules'), external), {
      alertname: 'HighErrorRate',
      rollguard_trigger: 'rollback',
      deployment: 'checkout',
      cluster: 'eu-1',
      env: 'prod',
    })
    const fromWebhook = trigger({ deployment: 'checkout' })
    t.equal(alertmanagerLabels(fromWebhook, external), fromWebhook.labels)
  },
)

// Alertmanager itself decides which alerts its silences silence; matches() must decide the same.
t.test('matcher semantics agree with a real Alertmanager silencing alerts', async t => {
  const am = await alertmanager(t)
  const cases: Array<{ matcher: { value: string; isRegex: boolean; isEqual: boolean }; value: string | undefined }> = []
  const regexes = [
    'check.*',
    'check',
    'a.c',
    '(?i)checkout',
    '(?s)a.c',
    'a\\-b',
    'a{',
    'a{2}',
    '[[:alpha:]]+',
    '[]a]',
    '\\s',
    '\\Qa.b\\E',
    'x|y',
    '\\pL+',
    '\\p{Greek}+',
    '\\x{1F600}',
    '[^a]',
    '.+',
    '',
  ]
  const values = [
    undefined,
    '',
    'checkout',
    'CheckOut',
    'check',
    'a\rc',
    'a\nc',
    'abc',
    'a-b',
    'a{',
    'aa',
    'abcXYZ',
    ']',
    '\u00a0',
    ' ',
    'a.b',
    'axb',
    'x',
    'xy',
    'äβ',
    'αβ',
    '😀',
    'b',
  ]
  for (const value of regexes) {
    for (const v of values) {
      cases.push({ matcher: { value, isRegex: true, isEqual: true }, value: v })
      cases.push({ matcher: { value, isRegex: true, isEqual: false }, value: v })
    }
  }
  for (const v of values) {
    cases.push({ matcher: { value: 'checkout', isRegex: false, isEqual: true }, value: v })
    cases.push({ matcher: { value: '', isRegex: false, isEqual: false }, value: v })
  }
  // One silence per case; `case` pins each silence to its own alert (and keeps Alertmanager's "must not match everything" rule happy).
  const now = Date.now()
  await Promise.all(
    cases.map(async (c, i) => {
      const body = {
        matchers: [
          { name: 'case', value: String(i), isRegex: false, isEqual: true },
          { name: 'v', ...c.matcher },
        ],
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 3_600_000).toISOString(),
        createdBy: 'test',
        comment: '',
      }
      const res = await fetch(`${am.url}/api/v2/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      if (!res.ok) throw new Error(`silence ${JSON.stringify(c.matcher)}: ${res.status} ${await res.text()}`)
    }),
  )
  await amPostAlerts(
    am.url,
    cases.map((c, i) => ({
      labels: { alertname: 'Differential', case: String(i), ...(c.value === undefined ? {} : { v: c.value }) },
    })),
  )
  const alerts = await amAlerts(am.url, { matchers: { alertname: 'Differential' } })
  t.equal(alerts.length, cases.length, 'every alert arrived')
  const disagreements = alerts.flatMap(a => {
    const c = cases[Number(a.labels['case'])] as (typeof cases)[number]
    const ours = matches(matcherFromSilence({ name: 'v', ...c.matcher }), c.value === undefined ? {} : { v: c.value })
    const theirs = a.status.silencedBy.length > 0
    return ours === theirs
      ? []
      : [
          `v${c.matcher.isRegex ? (c.matcher.isEqual ? '=~' : '!~') : c.matcher.isEqual ? '=' : '!='}${JSON.stringify(c.matcher.value)} on ${JSON.stringify(c.value)}: Alertmanager ${theirs}, rollguard ${ours}`,
        ]
  })
  t.same(disagreements, [], `${cases.length} cases`)
  const silenced = alerts.filter(a => a.status.silencedBy.length > 0).length
  t.ok(
    silenced > 100 && silenced < cases.length - 100,
    `both outcomes are well represented (${silenced} of ${cases.length} silenced)`,
  )
})

t.test('the adapter against real Alertmanagers', async t => {
  const [am, am2] = await Promise.all([alertmanager(t), alertmanager(t)])
  const down = await closedPort()
  const results: SilenceCheckResult[] = []
  const log = logSink()
  const checker = (urls: string[], external: Record<string, string> = {}) => {
    const c = new AlertmanagerSilences({
      access: () => ({ urls, timeoutMs: 5_000 }),
      externalLabels: () => external,
      onCheck: r => void results.push(r),
      logger: log.logger,
    })
    t.teardown(() => c.close())
    return c
  }
  const fresh = { fresh: true, required: false }
  const alert = trigger({ namespace: 'shop', deployment: 'checkout' }, 'rules')

  await t.test(
    'an active silence matching the alert (with the external labels Alertmanager sees) vetoes; expiring it lifts the veto',
    async t => {
      const c = checker([am.url], { run: 'silences-test' })
      t.same(await c.check(alert, fresh), { state: 'none' })
      const id = await amCreateSilence(
        am.url,
        { deployment: 'checkout', run: 'silences-test' },
        3_600_000,
        'migration',
        'alice',
      )
      const state = await c.check(alert, fresh)
      t.match(state, { state: 'silenced', id, createdBy: 'alice', comment: 'migration', alertmanager: am.url })
      t.same(state?.state === 'silenced' && [...state.matchers].sort(), [
        'deployment="checkout"',
        'run="silences-test"',
      ])
      t.ok(state?.state === 'silenced' && state.endsAt > Date.now() + 3_500_000)
      t.same(
        await c.check(trigger({ namespace: 'shop', deployment: 'checkout' }), fresh),
        { state: 'none' },
        'a webhook alert lacking the run label is not silenced',
      )
      await amExpireSilence(am.url, id)
      t.same(await c.check(alert, fresh), { state: 'none' }, 'expired')
    },
  )

  await t.test('a pending silence (future startsAt) does not veto', async t => {
    const now = Date.now()
    const res = await fetch(`${am.url}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: [{ name: 'deployment', value: 'checkout', isRegex: false, isEqual: true }],
        startsAt: new Date(now + 3_600_000).toISOString(),
        endsAt: new Date(now + 7_200_000).toISOString(),
        createdBy: 'dave',
        comment: 'later',
      }),
    })
    t.equal(res.status, 200)
    t.same(await checker([am.url]).check(alert, fresh), { state: 'none' })
  })

  await t.test('Alertmanager down: unknown, which on_error decides', async t => {
    const state = await checker([down]).check(alert, fresh)
    t.match(state, { state: 'unknown', error: new RegExp(`^${escape(down)}/?: .*ECONNREFUSED`) })
    t.equal(silenceBlocker(state, skip), 'silence_check_failed', 'default on_error: skip does not act')
    t.equal(silenceBlocker(state, { ...skip, on_error: 'act' }), undefined, 'on_error: act acts')
    t.match(
      log.lines().find(l => l.msg === 'Alertmanager silences could not be checked'),
      { level: 40, alert: 'HighErrorRate', err: /ECONNREFUSED/ },
      'a warning names the problem',
    )
  })

  await t.test('two Alertmanagers, one down: the other one answers', async t => {
    t.same(await checker([down, am2.url]).check(alert, fresh), { state: 'none' })
    const id = await amCreateSilence(am2.url, { deployment: 'checkout' }, 3_600_000, 'only on am2', 'erin')
    t.match(await checker([down, am.url, am2.url]).check(alert, fresh), {
      state: 'silenced',
      id,
      alertmanager: am2.url,
    })
  })

  t.same(
    [
      results.filter(r => r === 'silenced').length,
      results.filter(r => r === 'none').length,
      results.filter(r => r === 'error').length,
    ],
    [2, 5, 1],
    'every check is counted by its answer',
  )
})

interface Received {
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
}

/** serve runs a local HTTP server answering with `answer` and recording every request. */
async function serve(
  t: { teardown(fn: () => unknown): void },
  answer: (res: http.ServerResponse, n: number) => void,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = []
  const server = http.createServer((req, res) => {
    received.push({ url: req.url ?? '', headers: req.headers })
    answer(res, received.length)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise(resolve => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

const json = (body: unknown) => (res: http.ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
const ACTIVE = [
  {
    id: 'a1',
    status: { state: 'active' },
    updatedAt: '2026-11-26T14:00:00Z',
    matchers: [{ name: 'deployment', value: 'checkout', isRegex: false, isEqual: true }],
    startsAt: '2026-11-26T14:00:00Z',
    endsAt: '2026-11-26T15:00:00Z',
    createdBy: 'a',
    comment: '',
  },
]

t.test('the adapter over HTTP: path prefix, credentials, errors, timeouts', async t => {
  const alert = trigger({ namespace: 'shop', deployment: 'checkout' })
  const fresh = { fresh: true, required: false }
  const check = (access: AlertmanagerAccess) =>
    new AlertmanagerSilences({ access: () => access, externalLabels: () => ({}), now: () => AT }).check(alert, fresh)

  const ok = await serve(t, json(ACTIVE))
  t.match(
    await check({
      urls: [`${ok.url}/prefix/`],
      timeoutMs: 5_000,
      auth: { type: 'bearer', token: 's3cret' },
      headers: { 'X-Scope-OrgID': 'team-a', Authorization: 'ignored' },
    }),
    { state: 'silenced', id: 'a1' },
  )
  t.match(ok.received[0], {
    url: '/prefix/api/v2/silences',
    headers: {
      authorization: 'Bearer s3cret',
      'x-scope-orgid': 'team-a',
      accept: 'application/json',
      'user-agent': 'rollguard',
    },
  })
  await check({ urls: [ok.url], timeoutMs: 5_000, auth: { type: 'basic', username: 'u', password: 'p' } })
  t.equal(ok.received[1]?.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`)

  const failing = await serve(t, res => res.writeHead(503, 'Service Unavailable').end('overloaded\n'))
  t.same(
    await check({ urls: [`http://user:pw@${failing.url.slice('http://'.length)}`], timeoutMs: 5_000 }),
    {
      state: 'unknown',
      error: `${failing.url}/: HTTP 503 Service Unavailable: overloaded`,
    },
    'the URL is reported without its credentials',
  )

  const garbage = await serve(t, res => res.writeHead(200).end('not json'))
  t.same(await check({ urls: [garbage.url], timeoutMs: 5_000 }), {
    state: 'unknown',
    error: `${garbage.url}: the response is not JSON: not json`,
  })

  const silent = await serve(t, () => undefined)
  t.same(await check({ urls: [silent.url], timeoutMs: 200 }), {
    state: 'unknown',
    error: `${silent.url}: no response within 200ms`,
  })

  const redirect = await serve(t, res => res.writeHead(302, { location: '/elsewhere' }).end())
  t.match(
    await check({ urls: [redirect.url], timeoutMs: 5_000, followRedirects: false }),
    { state: 'unknown', error: /HTTP 302/ },
    'follow_redirects: false answers with the redirect',
  )
  t.match(
    await check({ urls: [redirect.url], timeoutMs: 5_000 }),
    { state: 'unknown', error: /Alertmanager at .*: stopped after 10 redirects/ },
    'followed by default (as Prometheus), at most 10',
  )
})

t.test('the adapter: cached answers only when allowed, no Alertmanager, aborts', async t => {
  const alert = trigger({ namespace: 'shop', deployment: 'checkout' })
  let now = AT
  const server = await serve(t, (res, n) => (n === 3 ? res.writeHead(500).end('boom') : json(ACTIVE)(res)))
  let access: AlertmanagerAccess = { urls: [server.url], timeoutMs: 5_000 }
  const c = new AlertmanagerSilences({
    access: () => access,
    externalLabels: () => ({}),
    now: () => now,
    cacheMs: 1_000,
  })
  t.teardown(() => c.close())
  const cached = { fresh: false, required: false }

  t.match(await c.check(alert, cached), { state: 'silenced' })
  now += 999
  t.match(await c.check(alert, cached), { state: 'silenced' })
  t.equal(server.received.length, 1, 'a non-fresh check within cacheMs reuses the answer')
  t.match(await c.check(alert, { fresh: true, required: false }), { state: 'silenced' })
  t.equal(server.received.length, 2, 'a fresh check always asks')
  now += 1_000
  t.match(await c.check(alert, cached), { state: 'unknown', error: /HTTP 500/ })
  t.match(await c.check(alert, cached), { state: 'silenced' }, 'a failed answer is not cached')
  t.equal(server.received.length, 4)
  access = { ...access, headers: { 'X-Changed': '1' } }
  await c.check(alert, cached)
  t.equal(server.received.length, 5, 'changed access (a reload) drops the cache')

  const ending = await serve(t, json([{ ...ACTIVE[0], endsAt: new Date(AT + 500).toISOString() }]))
  access = { urls: [ending.url], timeoutMs: 5_000 }
  now = AT
  t.match(await c.check(alert, cached), { state: 'silenced' })
  now = AT + 500
  t.same(
    await c.check(alert, cached),
    { state: 'none' },
    'a cached answer is matched at the time of use: the silence has ended since',
  )
  t.equal(ending.received.length, 1)

  access = { urls: [], timeoutMs: 5_000 }
  t.equal(await c.check(alert, cached), undefined, 'nothing to ask, not required: not checked')
  t.same(await c.check(alert, { fresh: false, required: true }), {
    state: 'unknown',
    error: 'actions.silences.enabled is true but no Alertmanager is configured (alertmanager.urls)',
  })

  const silent = await serve(t, () => undefined)
  access = { urls: [silent.url], timeoutMs: 30_000 }
  const leadership = new AbortController()
  const pending = c.check(alert, { fresh: true, required: false, signal: leadership.signal })
  await until(() => silent.received.length === 1)
  leadership.abort(new Error('lost the lease'))
  t.same(await pending, { state: 'unknown', error: 'not checked: lost the lease' }, 'an abort answers at once')
  t.same(
    await c.check(alert, { fresh: false, required: false, signal: leadership.signal }),
    { state: 'unknown', error: 'not checked: lost the lease' },
    'already aborted',
  )
  const steady = new AbortController()
  access = { urls: [server.url], timeoutMs: 5_000 }
  for (let i = 0; i < 20; i++) await c.check(alert, { fresh: true, required: false, signal: steady.signal })
  t.equal(
    getEventListeners(steady.signal, 'abort').length,
    0,
    'checks under one long-lived signal (the leadership) leave no listeners behind',
  )
})

async function closedPort(): Promise<string> {
  const server = http.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

async function until(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !fn(); i++) await new Promise(r => setTimeout(r, 10))
}
