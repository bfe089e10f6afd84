import { createHash } from 'node:crypto'
import t from 'tap'
import { pino } from 'pino'
import { Counter, Gauge, Registry } from 'prom-client'
import type { GroupState } from '../../src/engine/group.js'
import { group, literal, MIN, rule, sample, SEC } from '../fixtures/engine.js'
import { evaluated, T0, testServer } from './fixtures/server.js'

/** fixtureGroups: a firing and a pending rule, a failing rule, a quiet rule, in three groups over two files. */
async function fixtureGroups(): Promise<GroupState[]> {
  const answer = (expr: string) => {
    if (expr === 'up == 0') return [sample({ __name__: 'up', instance: 'i1', job: 'node' }, 0)]
    if (expr === 'latency > 1') return [sample({ job: 'web' }, 1.5)]
    if (expr === 'bad(') throw new Error('bad_data: 1:5: parse error: unclosed left parenthesis')
    return []
  }
  const availability = group(
    [
      rule({
        name: 'InstanceDown',
        expr: 'up == 0',
        labels: { severity: literal('page') },
        annotations: { summary: literal('{{ $labels.instance }} down', d => `${d.labels.instance} down`) },
      }),
      rule({
        name: 'SlowRequests',
        expr: 'latency > 1',
        forMs: 5 * MIN,
        labels: { severity: literal('ticket'), team: literal('web') },
      }),
    ],
    { file: 'a.yml', name: 'availability', intervalMs: 30 * SEC, limit: 5 },
  )
  const errors = group([rule({ name: 'Broken', expr: 'bad(' })], { file: 'b.yml', name: 'errors' })
  const zeta = group([rule({ name: 'Quiet', expr: 'vector(0) > 1' })], { file: 'a.yml', name: 'zeta' })
  const slots = [T0, T0 + 30 * SEC]
  // Deliberately unsorted: the API sorts by file, then name.
  return [
    await evaluated(errors, slots, answer),
    await evaluated(zeta, slots, answer),
    await evaluated(availability, slots, answer),
  ]
}

const token = (file: string, name: string) => createHash('sha1').update(`${file};${name}`).digest('hex')

t.test('health and readiness, with aliases and HEAD', async t => {
  let ready = false
  const app = testServer({ isReady: () => ready })
  t.teardown(() => app.close())
  for (const url of ['/-/healthy', '/healthz', '/livez']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.body, 'rollguard is Healthy.\n')
    t.match(res.headers['content-type'], /^text\/plain/)
    const head = await app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200)
    t.equal(head.body, '')
  }
  for (const url of ['/-/ready', '/readyz']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 503, url)
    t.equal(res.body, 'rollguard is not ready.\n')
    t.equal((await app.inject({ method: 'HEAD', url })).statusCode, 503)
  }
  ready = true
  const res = await app.inject({ url: '/-/ready' })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'rollguard is Ready.\n')
})

t.test('GET /metrics serves the registry with its content type', async t => {
  const registry = new Registry()
  new Counter({ name: 'rollguard_test_total', help: 'test counter', registers: [registry] }).inc(3)
  const app = testServer({ registry })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], registry.contentType)
  t.match(res.body, /^rollguard_test_total 3$/m)
})

t.test(
  'GET /metrics over a socket: written in chunks as the scraper reads, the same text as Registry.metrics()',
  async t => {
    const registry = new Registry()
    const gauge = new Gauge({
      name: 'rollguard_test_series',
      help: 'many series',
      labelNames: ['rule_group'],
      registers: [registry],
    })
    for (let i = 0; i < 5000; i++) gauge.set({ rule_group: `/etc/rollguard/rules.yml;team-${i}` }, i)
    const app = testServer({ registry })
    t.teardown(() => app.close())
    const address = await app.listen({ host: '127.0.0.1', port: 0 })
    const res = await fetch(`${address}/metrics`, { signal: AbortSignal.timeout(10_000) })
    t.equal(res.status, 200)
    t.equal(res.headers.get('content-type'), registry.contentType)
    t.equal(res.headers.get('transfer-encoding'), 'chunked', 'no Content-Length: the text is never whole in memory')
    t.equal(await res.text(), await registry.metrics())
  },
)

t.test('GET /metrics: a collector that fails answers 500 before any metric is written', async t => {
  const registry = new Registry()
  new Counter({ name: 'rollguard_test_total', help: 'test counter', registers: [registry] }).inc()
  new Gauge({
    name: 'rollguard_broken',
    help: 'fails to collect',
    registers: [registry],
    collect() {
      throw new Error('collector failed')
    },
  })
  const app = testServer({ registry })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, /rollguard_test_total/)
})

const LIFECYCLE = { lifecycleEnabled: () => true, externalURL: () => 'http://rollguard.example:9099/' }

t.test(
  '/-/reload without --web.enable-lifecycle: 403 "Lifecycle API is not enabled.", as Prometheus; GET is 405',
  async t => {
    let calls = 0
    const app = testServer({
      reload: async () => {
        calls++
        return { ok: true }
      },
    })
    t.teardown(() => app.close())
    for (const method of ['POST', 'PUT'] as const) {
      const res = await app.inject({ method, url: '/-/reload' })
      t.equal(res.statusCode, 403, method)
      t.equal(res.body, 'Lifecycle API is not enabled.\n')
    }
    const get = await app.inject({ url: '/-/reload' })
    t.equal(get.statusCode, 405)
    t.equal(calls, 0, 'nothing reloaded')
  },
)

t.test(
  '/-/reload with --web.enable-lifecycle: POST and PUT reload, failure is 500 with the error, GET is 405',
  async t => {
    let result: { ok: true } | { ok: false; error: string } = { ok: true }
    let calls = 0
    const app = testServer({
      ...LIFECYCLE,
      reload: async () => {
        calls++
        return result
      },
    })
    t.teardown(() => app.close())
    for (const method of ['POST', 'PUT'] as const) {
      const res = await app.inject({ method, url: '/-/reload' })
      t.equal(res.statusCode, 200, `${method} with no body and no content type (curl -X ${method})`)
      t.equal(res.body, '')
    }
    const json = await app.inject({
      method: 'POST',
      url: '/-/reload',
      payload: '{}',
      headers: { 'content-type': 'application/json' },
    })
    t.equal(
      json.statusCode,
      200,
      'a body a web page cannot send cross-site without a preflight is accepted and ignored',
    )
    const own = await app.inject({
      method: 'POST',
      url: '/-/reload',
      headers: { origin: 'http://rollguard.example:9099', 'sec-fetch-site': 'same-origin' },
    })
    t.equal(own.statusCode, 200, "a browser on rollguard's own origin")
    t.equal(calls, 4)

    result = { ok: false, error: 'rules/a.yml:3:5: unknown field "alrt"' }
    const failed = await app.inject({ method: 'POST', url: '/-/reload' })
    t.equal(failed.statusCode, 500)
    t.equal(failed.body, 'failed to reload config: rules/a.yml:3:5: unknown field "alrt"\n')

    const get = await app.inject({ url: '/-/reload' })
    t.equal(get.statusCode, 405)
    t.equal(get.body, 'This endpoint requires a POST request.\n')
    t.equal(calls, 5, 'GET does not reload')
  },
)

t.test(
  '/-/reload with --web.enable-lifecycle: what a web page of another site could send is 403, body unread',
  async t => {
    let calls = 0
    let enabled = true
    const app = testServer({
      ...LIFECYCLE,
      lifecycleEnabled: () => enabled,
      bodyLimitBytes: 16,
      reload: async () => {
        calls++
        return { ok: true }
      },
    })
    t.teardown(() => app.close())
    const refused: Array<[string, Record<string, string>, string, RegExp]> = [
      [
        'a form post (curl -d)',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'x=1',
        /any web page can send Content-Type application\/x-www-form-urlencoded/,
      ],
      ['a multipart form', { 'content-type': 'multipart/form-data; boundary=b' }, '--b--', /multipart\/form-data/],
      [
        'a text/plain fetch, any case, with parameters',
        { 'content-type': 'Text/Plain; charset=UTF-8' },
        'x',
        /text\/plain/,
      ],
      [
        'a body beyond the limit is refused before it is read',
        { 'content-type': 'text/plain' },
        'x'.repeat(100),
        /text\/plain/,
      ],
      [
        'a foreign Origin',
        { origin: 'http://evil.example' },
        '',
        /Origin http:\/\/evil\.example is not rollguard's own \(http:\/\/rollguard\.example:9099\)/,
      ],
      ['an opaque Origin (sandboxed frame, file://)', { origin: 'null' }, '', /Origin null/],
      [
        'another port of the same host',
        { origin: 'http://rollguard.example:8080' },
        '',
        /Origin http:\/\/rollguard\.example:8080/,
      ],
      ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, '', /cross-site \(Sec-Fetch-Site\)/],
      [
        'Sec-Fetch-Site same-site (another origin of the same site)',
        { 'sec-fetch-site': 'same-site' },
        '',
        /same-site/,
      ],
    ]
    for (const [what, headers, payload, reason] of refused) {
      for (const method of ['POST', 'PUT'] as const) {
        const res = await app.inject({ method, url: '/-/reload', headers, ...(payload === '' ? {} : { payload }) })
        t.equal(res.statusCode, 403, `${method}: ${what}`)
        t.match(res.body, reason)
        t.match(
          res.body,
          /Send the request without a body, as `curl -X POST http:\/\/rollguard\.example:9099\/-\/reload` does\.\n$/,
        )
      }
    }
    t.equal(calls, 0, 'nothing reloaded')
    t.equal((await app.inject({ method: 'POST', url: '/-/reload' })).statusCode, 200)
    enabled = false
    t.equal(
      (await app.inject({ method: 'POST', url: '/-/reload' })).statusCode,
      403,
      'the switch is read per request (a reload can turn it off)',
    )
  },
)

t.test('/-/reload: a rejected reload is a generic 500; bodies beyond the limit are 413', async t => {
  const app = testServer({
    ...LIFECYCLE,
    bodyLimitBytes: 16,
    reload: async () => {
      throw new Error('secret internal detail')
    },
  })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/-/reload' })
  t.equal(res.statusCode, 500)
  t.equal(res.body, 'Internal Server Error\n')
  const big = await app.inject({
    method: 'POST',
    url: '/-/reload',
    payload: 'x'.repeat(100),
    headers: { 'content-type': 'application/octet-stream' },
  })
  t.equal(big.statusCode, 413)
})

t.test('GET /api/v1/rules: exact Prometheus shape, groups sorted by file then name', async t => {
  const groups = await fixtureGroups()
  const app = testServer({ groups: () => groups })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/api/v1/rules' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body), ['status', 'data'])
  t.same(Object.keys(body.data), ['groups'], 'no groupNextToken without pagination')
  t.same(
    body.data.groups.map((g: { file: string; name: string }) => `${g.file}/${g.name}`),
    ['a.yml/availability', 'a.yml/zeta', 'b.yml/errors'],
  )
  t.same(body.data.groups[0], {
    name: 'availability',
    file: 'a.yml',
    rules: [
      {
        state: 'firing',
        name: 'InstanceDown',
        query: 'up == 0',
        duration: 0,
        keepFiringFor: 0,
        labels: { severity: 'page' },
        annotations: { summary: '{{ $labels.instance }} down' },
        alerts: [
          {
            labels: { alertname: 'InstanceDown', instance: 'i1', job: 'node', severity: 'page' },
            annotations: { summary: 'i1 down' },
            state: 'firing',
            activeAt: '2026-01-01T00:00:00Z',
            value: '0e+00',
          },
        ],
        health: 'ok',
        evaluationTime: 0.005,
        lastEvaluation: '2026-01-01T00:00:30Z',
        type: 'alerting',
      },
      {
        state: 'pending',
        name: 'SlowRequests',
        query: 'latency > 1',
        duration: 300,
        keepFiringFor: 0,
        labels: { severity: 'ticket', team: 'web' },
        annotations: {},
        alerts: [
          {
            labels: { alertname: 'SlowRequests', job: 'web', severity: 'ticket', team: 'web' },
            annotations: {},
            state: 'pending',
            activeAt: '2026-01-01T00:00:00Z',
            value: '1.5e+00',
          },
        ],
        health: 'ok',
        evaluationTime: 0.005,
        lastEvaluation: '2026-01-01T00:00:30Z',
        type: 'alerting',
      },
    ],
    interval: 30,
    limit: 5,
    evaluationTime: 0.025,
    lastEvaluation: '2026-01-01T00:00:30Z',
  })
  t.equal(body.data.groups[1].rules[0].state, 'inactive')
  t.same(body.data.groups[1].rules[0].alerts, [])
  const broken = body.data.groups[2].rules[0]
  t.same(
    [broken.state, broken.health, broken.lastError],
    ['inactive', 'err', 'bad_data: 1:5: parse error: unclosed left parenthesis'],
  )
  t.notOk('lastError' in body.data.groups[0].rules[0], 'lastError omitted when empty')
  t.match(
    res.body,
    /^\{"status":"success","data":\{"groups":\[\{"name":"availability","file":"a.yml","rules":\[\{"state":"firing","name":/,
  )
})

t.test('GET /api/v1/rules filters', async t => {
  const groups = await fixtureGroups()
  const app = testServer({ groups: () => groups })
  t.teardown(() => app.close())
  const names = async (query: string) => {
    const res = await app.inject({ url: `/api/v1/rules?${query}` })
    t.equal(res.statusCode, 200, query)
    const data = res.json().data as { groups: Array<{ name: string; rules: Array<{ name: string }> }> }
    return data.groups.map(g => `${g.name}:${g.rules.map(r => r.name).join(',')}`)
  }
  const all = ['availability:InstanceDown,SlowRequests', 'zeta:Quiet', 'errors:Broken']
  t.same(await names('type=alert'), all)
  t.same(await names('type=ALERT'), all)
  t.same(await names('type=record'), [], 'no recording rules: every group is omitted')
  t.same(await names('rule_name[]=Quiet&rule_name[]=SlowRequests'), ['availability:SlowRequests', 'zeta:Quiet'])
  t.same(await names('rule_group[]=errors&rule_group[]=zeta'), ['zeta:Quiet', 'errors:Broken'])
  t.same(await names('file[]=b.yml'), ['errors:Broken'])
  t.same(await names('file[]=a.yml&rule_name[]=Broken'), [])
  t.same(await names('match[]={severity="page"}'), ['availability:InstanceDown'])
  t.same(await names('match[]={severity=~"t.*"}&match[]={severity="page"}'), ['availability:InstanceDown,SlowRequests'])
  t.same(await names('match[]={team="web",severity!="page"}'), ['availability:SlowRequests'])
  t.same(await names(`match[]=${encodeURIComponent('{severity=~"page|ticket"}')}&rule_name[]=InstanceDown`), [
    'availability:InstanceDown',
  ])

  const excluded = (await app.inject({ url: '/api/v1/rules?exclude_alerts=true' })).json()
  t.equal(excluded.data.groups[0].rules[0].alerts, null, 'exclude_alerts: alerts is null, as Go marshals a nil slice')
  t.equal(excluded.data.groups[0].rules[0].state, 'firing')
  const included = (await app.inject({ url: '/api/v1/rules?exclude_alerts=False' })).json()
  t.equal(included.data.groups[0].rules[0].alerts.length, 1)
})

t.test('GET /api/v1/rules rejects bad parameters with the Prometheus error envelope', async t => {
  const groups = await fixtureGroups()
  const app = testServer({ groups: () => groups })
  t.teardown(() => app.close())
  const cases: Array<[string, string]> = [
    ['type=recording', 'invalid parameter "type": not supported value "recording"'],
    [
      'exclude_alerts=yes',
      'invalid parameter "exclude_alerts": error converting exclude_alerts: strconv.ParseBool: parsing "yes": invalid syntax',
    ],
    ['match[]={severity=""}', 'match[] must contain at least one non-empty matcher'],
    ['match[]={}', 'match[] must contain at least one non-empty matcher'],
    ['match[]={severity="page"', '1:17: parse error: unexpected end of input inside braces'],
    [
      'group_next_token=abc',
      'invalid parameter "group_next_token": group_limit needs to be present in order to paginate over the groups',
    ],
    ['group_limit=0', 'invalid parameter "group_limit": group_limit needs to be greater than 0'],
    ['group_limit=-2', 'invalid parameter "group_limit": group_limit needs to be greater than 0'],
    [
      'group_limit=ten',
      'invalid parameter "group_limit": group_limit needs to be a valid number: strconv.ParseInt: parsing "ten": invalid syntax',
    ],
    [
      'group_limit=9999999999',
      'invalid parameter "group_limit": group_limit needs to be a valid number: strconv.ParseInt: parsing "9999999999": value out of range',
    ],
    [
      'group_limit=1&group_next_token=abc',
      `invalid parameter "group_next_token": invalid group_next_token 'abc'. were rule groups changed?`,
    ],
  ]
  for (const [query, error] of cases) {
    const res = await app.inject({
      url: `/api/v1/rules?${query.replace(/[{}"=~]/g, c => (c === '=' ? c : encodeURIComponent(c)))}`,
    })
    t.equal(res.statusCode, 400, query)
    t.same(res.json(), { status: 'error', errorType: 'bad_data', error }, query)
  }
})

t.test('GET /api/v1/rules pagination follows Prometheus: token names the first group of the next page', async t => {
  const groups = await fixtureGroups()
  const app = testServer({ groups: () => groups })
  t.teardown(() => app.close())
  const page = async (query: string) => (await app.inject({ url: `/api/v1/rules?${query}` })).json().data
  const p1 = await page('group_limit=2')
  t.same(
    p1.groups.map((g: { name: string }) => g.name),
    ['availability', 'zeta'],
  )
  t.equal(p1.groupNextToken, token('b.yml', 'errors'))
  const p2 = await page(`group_limit=2&group_next_token=${p1.groupNextToken}`)
  t.same(
    p2.groups.map((g: { name: string }) => g.name),
    ['errors'],
  )
  t.notOk('groupNextToken' in p2, 'last page has no token')
  t.notOk('groupNextToken' in (await page('group_limit=3')), 'exactly full page: no token')

  const filtered = await page('group_limit=1&rule_name[]=Broken&rule_name[]=InstanceDown')
  t.same(
    filtered.groups.map((g: { name: string }) => g.name),
    ['availability'],
  )
  t.equal(filtered.groupNextToken, token('b.yml', 'errors'), 'groups emptied by filters do not count')
  t.same((await page('group_next_token=&group_limit=1')).groups.length, 1, 'empty token is no token')
})

t.test('GET /api/v1/alerts lists pending and firing alerts only', async t => {
  const groups = await fixtureGroups()
  const app = testServer({ groups: () => groups })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/api/v1/alerts' })
  t.equal(res.statusCode, 200)
  t.equal(
    res.body,
    '{"status":"success","data":{"alerts":[' +
      '{"labels":{"alertname":"InstanceDown","instance":"i1","job":"node","severity":"page"},' +
      '"annotations":{"summary":"i1 down"},"state":"firing","activeAt":"2026-01-01T00:00:00Z","value":"0e+00"},' +
      '{"labels":{"alertname":"SlowRequests","job":"web","severity":"ticket","team":"web"},' +
      '"annotations":{},"state":"pending","activeAt":"2026-01-01T00:00:00Z","value":"1.5e+00"}]}}',
  )
  const empty = testServer()
  t.teardown(() => empty.close())
  t.same((await empty.inject({ url: '/api/v1/alerts' })).json(), { status: 'success', data: { alerts: [] } })
})

t.test('GET /api/v1/status/buildinfo', async t => {
  const app = testServer({ version: '1.2.3' })
  t.teardown(() => app.close())
  t.same((await app.inject({ url: '/api/v1/status/buildinfo' })).json(), {
    status: 'success',
    data: { version: '1.2.3' },
  })
})

t.test('404 and 405: JSON envelope under /api/, Go-style text elsewhere', async t => {
  const app = testServer()
  t.teardown(() => app.close())
  const api = await app.inject({ url: '/api/v1/query' })
  t.equal(api.statusCode, 404)
  t.same(api.json(), { status: 'error', errorType: 'not_found', error: 'not found' })
  const text = await app.inject({ url: '/nope?x=1' })
  t.equal(text.statusCode, 404)
  t.equal(text.body, '404 page not found\n')
  t.equal((await app.inject({ url: '/' })).statusCode, 404, 'the root path is left free')

  const post = await app.inject({ method: 'POST', url: '/api/v1/rules?type=alert' })
  t.equal(post.statusCode, 405)
  t.equal(post.headers.allow, 'GET, HEAD')
  t.same(post.json(), { status: 'error', errorType: 'bad_data', error: 'Method Not Allowed' })
  const del = await app.inject({ method: 'DELETE', url: '/-/healthy' })
  t.equal(del.statusCode, 405)
  t.equal(del.body, 'Method Not Allowed\n')
})

t.test('extraRoutes are registered; thrown errors: 4xx detail, generic 5xx, envelope under /api/', async t => {
  const app = testServer({
    extraRoutes: [
      async app => {
        app.get('/', async () => 'status page')
        app.get('/boom', async () => {
          throw new Error('database password is hunter2')
        })
        app.get('/api/v1/boom', async () => {
          throw new Error('internal detail')
        })
        app.get('/thrown-string', async () => {
          throw 'not an Error'
        })
        app.get('/teapot', async () => {
          throw Object.assign(new Error('short and stout'), { statusCode: 418 })
        })
      },
    ],
  })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/' })).body, 'status page')
  const boom = await app.inject({ url: '/boom' })
  t.equal(boom.statusCode, 500)
  t.equal(boom.body, 'Internal Server Error\n')
  const apiBoom = await app.inject({ url: '/api/v1/boom' })
  t.equal(apiBoom.statusCode, 500)
  t.same(apiBoom.json(), { status: 'error', errorType: 'internal', error: 'Internal Server Error' })
  const str = await app.inject({ url: '/thrown-string' })
  t.equal(str.statusCode, 500)
  t.equal(str.body, 'Internal Server Error\n')
  const teapot = await app.inject({ url: '/teapot' })
  t.equal(teapot.statusCode, 418)
  t.equal(teapot.body, 'short and stout\n')
})

t.test('per-request log lines only at debug level; 5xx errors are always logged', async t => {
  const run = async (level: string) => {
    const lines: Array<{ msg: string; level: number }> = []
    const logger = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s)) })
    const app = testServer({
      logger,
      extraRoutes: [async app => void app.get('/boom', async () => Promise.reject(new Error('x')))],
    })
    await app.inject({ url: '/-/healthy' })
    await app.inject({ url: '/boom' })
    await app.close()
    return lines.map(l => l.msg)
  }
  const info = await run('info')
  t.notOk(info.includes('incoming request'))
  t.ok(info.includes('request failed'))
  const debug = await run('debug')
  t.ok(debug.includes('incoming request'))
  t.ok(debug.includes('request completed'))
})
