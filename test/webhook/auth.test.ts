import t from 'tap'
import { authenticator, noAuthentication, parseAuthorization } from '../../src/webhook/auth.js'

const basicHeader = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`

t.test('bearer token: right, wrong, missing, other scheme', async t => {
  const auth = authenticator({ bearerToken: 's3cret-token' })
  t.same(auth.challenges, ['Bearer realm="rollguard"'])
  t.same(auth.check('Bearer s3cret-token'), { ok: true, method: 'bearer' })
  t.same(auth.check('bearer s3cret-token'), { ok: true, method: 'bearer' }, 'the scheme is case-insensitive')
  t.same(auth.check('Bearer s3cret-token  '), { ok: true, method: 'bearer' }, 'trailing spaces')
  t.same(auth.check('Bearer s3cret-tokeN'), { ok: false, reason: 'invalid' })
  t.same(auth.check('Bearer s3cret'), { ok: false, reason: 'invalid' }, 'a prefix of the token')
  t.same(auth.check('Bearer s3cret-token-and-more'), { ok: false, reason: 'invalid' }, 'the token plus more')
  t.same(auth.check(undefined), { ok: false, reason: 'missing' })
  t.same(auth.check(''), { ok: false, reason: 'missing' })
  t.same(auth.check('Bearer'), { ok: false, reason: 'malformed' })
  t.same(auth.check('Bearer a b'), { ok: false, reason: 'malformed' })
  t.same(auth.check('s3cret-token'), { ok: false, reason: 'malformed' }, 'no scheme')
  t.same(
    auth.check(basicHeader('u', 's3cret-token')),
    { ok: false, reason: 'unsupported_scheme' },
    'basic auth is not configured',
  )
  t.same(auth.check('Digest abc'), { ok: false, reason: 'malformed' })
})

t.test('basic auth: right, wrong user, wrong password, missing, other scheme', async t => {
  const auth = authenticator({ basic: { username: 'alertmanager', password: 'pa:ss wörd' } })
  t.same(auth.challenges, ['Basic realm="rollguard", charset="UTF-8"'])
  t.same(
    auth.check(basicHeader('alertmanager', 'pa:ss wörd')),
    { ok: true, method: 'basic' },
    'a colon and UTF-8 in the password',
  )
  t.same(auth.check(basicHeader('alertmanager', 'pa:ss word')), { ok: false, reason: 'invalid' })
  t.same(auth.check(basicHeader('prometheus', 'pa:ss wörd')), { ok: false, reason: 'invalid' })
  t.same(auth.check(basicHeader('', '')), { ok: false, reason: 'invalid' })
  t.same(auth.check(undefined), { ok: false, reason: 'missing' })
  t.same(auth.check('Basic !!!'), { ok: false, reason: 'malformed' }, 'not base64')
  t.same(auth.check(`Basic ${Buffer.from('no-colon').toString('base64')}`), { ok: false, reason: 'malformed' })
  t.same(auth.check('Bearer pa:ss'), { ok: false, reason: 'unsupported_scheme' }, 'bearer is not configured')
})

t.test('both configured: either credential is accepted, each checked on its own', async t => {
  const auth = authenticator({ bearerToken: 'tok', basic: { username: 'am', password: 'pw' } })
  t.same(auth.challenges, ['Bearer realm="rollguard"', 'Basic realm="rollguard", charset="UTF-8"'])
  t.same(auth.check('Bearer tok'), { ok: true, method: 'bearer' })
  t.same(auth.check(basicHeader('am', 'pw')), { ok: true, method: 'basic' })
  t.same(auth.check('Bearer pw'), { ok: false, reason: 'invalid' }, 'the password is not a token')
  t.same(auth.check(basicHeader('am', 'tok')), { ok: false, reason: 'invalid' }, 'the token is not a password')
  t.same(auth.check(undefined), { ok: false, reason: 'missing' })
})

t.test('no credentials is a programming error; insecure mode accepts everything', async t => {
  t.throws(() => authenticator({}), /needs a bearer token or basic auth/)
  const open = noAuthentication()
  t.same(open.challenges, [])
  t.same(open.check(undefined), { ok: true, method: 'none' })
  t.same(open.check('Bearer whatever'), { ok: true, method: 'none' })
})

t.test('parseAuthorization', async t => {
  t.same(parseAuthorization('Bearer abc.def-ghi_='), { scheme: 'bearer', token: 'abc.def-ghi_=' })
  t.same(parseAuthorization(basicHeader('a', 'b:c')), { scheme: 'basic', username: 'a', password: 'b:c' })
  t.equal(parseAuthorization('Basic'), undefined)
  t.equal(parseAuthorization(' Bearer x'), undefined, 'leading space')
})
