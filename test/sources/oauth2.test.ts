// OAuth2 client credentials: the token request, caching until 10 s before expiry (a clock passed in), renewal,
// the form fallback for endpoints that refuse basic auth (Go's AuthStyleAutoDetect), and token responses.
import t from 'tap'
import { OAuth2Tokens, parseToken, type TokenAnswer } from '../../src/sources/oauth2.js'

const settings = {
  clientId: 'app id',
  clientSecret: 'pa:ss',
  tokenUrl: 'https://idp/token',
  scopes: [],
  endpointParams: { grant_type: 'client_credentials', resource: 'r' },
}
const json = (body: unknown, status = 200): TokenAnswer => ({
  status,
  statusText: status === 200 ? 'OK' : 'Bad Request',
  contentType: 'application/json',
  body: JSON.stringify(body),
})

t.test('tokens are cached until 10 s before they expire', async t => {
  let now = 1_000_000
  const requests: Array<{ form: URLSearchParams; headers: Record<string, string> }> = []
  const tokens = new OAuth2Tokens(
    settings,
    async (url, form, headers) => {
      t.equal(url, 'https://idp/token')
      requests.push({ form: new URLSearchParams(form), headers })
      return json({ access_token: `t${requests.length}`, expires_in: 60 })
    },
    () => now,
  )
  const [a, b] = await Promise.all([tokens.token(), tokens.token()])
  t.equal(a, b, 'concurrent callers share one fetch')
  t.equal(requests.length, 1)
  t.equal(requests[0]?.headers['Authorization'], `Basic ${Buffer.from('app%20id:pa%3Ass').toString('base64')}`)
  t.equal(requests[0]?.form.get('scope'), null, 'no scopes, no scope parameter')
  t.equal(requests[0]?.form.get('resource'), 'r')
  now += 49_999
  t.equal((await tokens.token()).value, 't1')
  now += 1
  t.equal((await tokens.token()).value, 't2', 'renewed 10 s before expiry')
  const t2 = await tokens.token()
  tokens.invalidate(t2)
  t.equal((await tokens.token()).value, 't3', 'an invalidated token is replaced')
})

t.test('an endpoint that refuses basic auth gets the credentials in the form, and keeps getting them so', async t => {
  const seen: string[] = []
  const tokens = new OAuth2Tokens({ ...settings, scopes: ['a', 'b'] }, async (_url, form, headers) => {
    const f = new URLSearchParams(form)
    seen.push(
      headers['Authorization'] === undefined ? `form ${f.get('client_id')}:${f.get('client_secret')}` : 'header',
    )
    t.equal(f.get('scope'), 'a b')
    return headers['Authorization'] === undefined ? json({ access_token: 'x' }) : json({ error: 'invalid_client' }, 400)
  })
  t.equal((await tokens.token()).value, 'x')
  tokens.invalidate(await tokens.token())
  await tokens.token()
  t.same(seen, ['header', 'form app id:pa:ss', 'form app id:pa:ss'])
})

t.test('errors: the status and the start of the body, never the secret', async t => {
  const tokens = new OAuth2Tokens(settings, async () => json({ error: 'invalid_client' }, 401))
  const err = await tokens.token().catch((e: unknown) => e as Error)
  t.match(err, { message: 'HTTP 401 Bad Request: {"error":"invalid_client"}' })
  t.notMatch((err as Error).message, /pa:ss/)
})

t.test('parseToken', async t => {
  t.same(parseToken(json({ access_token: 'a', token_type: 'bearer', expires_in: 30 }), 1000), {
    value: 'a',
    type: 'Bearer',
    expiresAt: 31_000,
  })
  t.same(parseToken(json({ access_token: 'a', token_type: 'MAC', expires_in: '30' }), 0), {
    value: 'a',
    type: 'MAC',
    expiresAt: 30_000,
  })
  t.equal(parseToken(json({ access_token: 'a' }), 0).expiresAt, Infinity, 'no expires_in: kept until refused')
  t.same(
    parseToken(
      {
        status: 200,
        statusText: 'OK',
        contentType: 'application/x-www-form-urlencoded',
        body: 'access_token=f&expires_in=5',
      },
      0,
    ),
    { value: 'f', type: 'Bearer', expiresAt: 5000 },
  )
  t.throws(() => parseToken(json({ token_type: 'bearer' }), 0), /unexpected token response \(access_token: /)
  t.throws(() => parseToken({ ...json({}), body: '<html>' }, 0), /the token response is not JSON: <html>/)
})
