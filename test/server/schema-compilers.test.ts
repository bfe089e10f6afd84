// The HTTP server loads no JSON schema compilers (ajv, fast-json-stringify): no route declares a schema, and each
// daemon would carry ~100 modules of them. A route that declares one fails to register, saying why.
import { createRequire } from 'node:module'
import type { FastifyPluginAsync } from 'fastify'
import t from 'tap'
import { NO_ROUTE_SCHEMAS } from '../../src/server/app.js'
import { testServer } from './fixtures/server.js'

// fastify's own error serializer is precompiled and needs only fast-json-stringify's runtime (lib/serializer.js).
const COMPILERS =
  /\/node_modules\/(ajv\/|@fastify\/ajv-compiler\/|@fastify\/fast-json-stringify-compiler\/|fast-json-stringify\/index\.js$)/

/** compilersLoaded lists the schema compilers' CommonJS modules this process has loaded. */
function compilersLoaded(): string[] {
  return Object.keys(createRequire(import.meta.url).cache).filter(path => COMPILERS.test(path))
}

t.test('serving every kind of answer loads no schema compiler', async t => {
  t.same(compilersLoaded(), [], 'none before the server is built')
  const app = testServer({ reload: async () => ({ ok: false, error: 'bad rules' }) })
  t.teardown(() => app.close())
  await app.ready()
  const answers = await Promise.all([
    app.inject({ url: '/-/healthy' }),
    app.inject({ url: '/api/v1/rules' }),
    app.inject({ url: '/api/v1/alerts' }),
    app.inject({ url: '/metrics' }),
    app.inject({ url: '/no/such/path' }),
    app.inject({ url: '/api/v1/no-such-endpoint' }),
    app.inject({ method: 'DELETE', url: '/-/healthy' }),
    app.inject({ method: 'POST', url: '/-/reload', headers: { 'content-type': 'application/json' }, payload: '{"a":' }),
  ])
  t.same(
    answers.map(a => a.statusCode),
    [200, 200, 200, 200, 404, 404, 405, 403],
    'the answers: JSON, text, not found, method not allowed, refused',
  )
  t.same(compilersLoaded(), [], 'still none after the server answered')
})

t.test('a route that declares a JSON schema fails to register and says why', async t => {
  const cases: Array<[string, FastifyPluginAsync]> = [
    [
      'a body schema',
      async app => {
        app.post('/with-body-schema', { schema: { body: { type: 'object' } } }, async () => 'ok')
      },
    ],
    [
      'a response schema',
      async app => {
        app.get('/with-response-schema', { schema: { response: { 200: { type: 'string' } } } }, async () => 'ok')
      },
    ],
  ]
  for (const [what, plugin] of cases) {
    const app = testServer({ extraRoutes: [plugin] })
    t.teardown(() => app.close())
    await t.rejects(async () => app.ready(), { message: new RegExp(NO_ROUTE_SCHEMAS) }, what)
  }
  t.same(compilersLoaded(), [], 'the refusal loads no compiler either')
})
