import t from 'tap'
import bcrypt from 'bcryptjs'
import { BasicAuthVerifier, parseBasicAuth } from '../../src/server/basic-auth.js'
import { ALICE } from '../fixtures/tls.js'

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`

/** counting wraps bcrypt's compare and counts its calls. */
function counting() {
  const calls: string[] = []
  const compare = (password: string, hash: string) => {
    calls.push(password)
    return bcrypt.compare(password, hash)
  }
  return { calls, compare }
}

t.test("Go's Request.BasicAuth parsing", async t => {
  t.same(parseBasicAuth(basic('alice', 'a:b')), { user: 'alice', password: 'a:b' }, 'the first colon splits')
  t.same(parseBasicAuth(`bAsIc ${Buffer.from('u:').toString('base64')}`), { user: 'u', password: '' })
  t.equal(parseBasicAuth(undefined), undefined)
  t.equal(parseBasicAuth('Bearer abc'), undefined)
  t.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined)
  t.equal(parseBasicAuth('Basic !!!'), undefined, 'not base64')
})

t.test("exporter-toolkit's user: right, wrong and unknown", async t => {
  const { calls, compare } = counting()
  const auth = new BasicAuthVerifier({ [ALICE.username]: ALICE.bcrypt }, { compare })
  t.ok(auth.enabled)
  t.equal(await auth.verify(basic(ALICE.username, ALICE.password)), 'ok')
  t.equal(await auth.verify(basic(ALICE.username, 'wrong')), 'denied')
  t.equal(await auth.verify(basic('mallory', ALICE.password)), 'denied', "another user with alice's password")
  t.equal(await auth.verify(undefined), 'denied')
  t.equal(calls.length, 3, 'an unknown user costs a comparison too')
  t.equal(await auth.verify(basic(ALICE.username, ALICE.password)), 'ok')
  t.equal(await auth.verify(basic(ALICE.username, 'wrong')), 'denied')
  t.equal(calls.length, 3, 'verdicts are cached: no second comparison')
  t.equal(await auth.verify(basic(ALICE.username, ALICE.password + 'x'.repeat(72))), 'denied', 'over 72 bytes')
})

t.test('no users: disabled', async t => {
  t.notOk(new BasicAuthVerifier({}).enabled)
})

t.test('failures do not evict successes; the caches are bounded', async t => {
  const { calls, compare } = counting()
  const hash = bcrypt.hashSync('pw', 4)
  const auth = new BasicAuthVerifier({ u: hash }, { compare, cacheSize: 2 })
  t.equal(await auth.verify(basic('u', 'pw')), 'ok')
  for (const wrong of ['a', 'b', 'c']) t.equal(await auth.verify(basic('u', wrong)), 'denied')
  t.equal(calls.length, 4)
  t.equal(await auth.verify(basic('u', 'pw')), 'ok')
  t.equal(calls.length, 4, 'the success is still cached')
  t.equal(await auth.verify(basic('u', 'a')), 'denied')
  t.equal(calls.length, 5, 'the oldest failure was forgotten (bound 2): compared again')
})

t.test('one comparison at a time, a bounded queue behind it', async t => {
  const hash = bcrypt.hashSync('pw', 4)
  const releases: Array<() => void> = []
  let running = 0
  let most = 0
  const compare = async (password: string, h: string) => {
    running++
    most = Math.max(most, running)
    await new Promise<void>(resolve => releases.push(resolve))
    running--
    return bcrypt.compare(password, h)
  }
  const auth = new BasicAuthVerifier({ u: hash }, { compare, maxWaiting: 2 })
  const first = auth.verify(basic('u', 'p1'))
  const second = auth.verify(basic('u', 'p2'))
  // Let both reach the queue (the dummy hash is only for unknown users, so no await happens before it).
  await new Promise(resolve => setImmediate(resolve))
  t.equal(await auth.verify(basic('u', 'p3')), 'busy', 'a third one waiting would exceed the bound')
  for (let i = 0; i < 2; i++) {
    while (releases.length === 0) await new Promise(resolve => setImmediate(resolve))
    releases.shift()?.()
  }
  t.same(await Promise.all([first, second]), ['denied', 'denied'])
  t.equal(most, 1, 'never two comparisons at once')
})
