import t from 'tap'
import { triggerKey as alertKey } from '../../src/actions/record.js'
import { isRepeat, SeenAlerts } from '../../src/webhook/seen.js'

t.test('alertKey: fingerprint and the instant the alert went firing', async t => {
  const at = Date.parse('2026-01-01T10:05:00.123456789Z')
  t.equal(alertKey({ fingerprint: '0eb7e035b87e7c63', startsAt: at }), '0eb7e035b87e7c63@2026-01-01T10:05:00.123Z')
  t.equal(
    alertKey({ fingerprint: 'a', startsAt: at }),
    alertKey({ fingerprint: 'a', startsAt: Date.parse('2026-01-01T12:05:00.123+02:00') }),
    'the same instant in another zone',
  )
  t.not(
    alertKey({ fingerprint: 'a', startsAt: at }),
    alertKey({ fingerprint: 'a', startsAt: at + 1 }),
    'a new firing of the same alert',
  )
  t.not(alertKey({ fingerprint: 'a', startsAt: at }), alertKey({ fingerprint: 'b', startsAt: at }), 'another alert')
})

t.test('isRepeat: firings per leadership term, resolutions for good', async t => {
  t.equal(isRepeat(undefined, 'firing', 0), false)
  t.equal(isRepeat(undefined, 'resolved', 0), false)
  t.equal(isRepeat({ state: 'firing', term: 1 }, 'firing', 1), true, 'the same firing again')
  t.equal(
    isRepeat({ state: 'firing', term: 1 }, 'firing', 2),
    false,
    'handed on in an earlier leadership term: decided again',
  )
  t.equal(isRepeat({ state: 'firing', term: 1 }, 'resolved', 1), false, 'the resolution is news')
  t.equal(isRepeat({ state: 'resolved', term: 1 }, 'resolved', 1), true)
  t.equal(
    isRepeat({ state: 'resolved', term: 1 }, 'firing', 1),
    true,
    'a late retry of the firing after the resolution',
  )
  t.equal(isRepeat({ state: 'resolved', term: 1 }, 'firing', 5), true)
})

t.test('SeenAlerts: bounded, the least recently seen key goes first', async t => {
  const seen = new SeenAlerts(3)
  seen.set('a', { state: 'firing', term: 0 })
  seen.set('b', { state: 'firing', term: 0 })
  seen.set('c', { state: 'firing', term: 0 })
  t.same(seen.get('a'), { state: 'firing', term: 0 }, 'a is seen again, so b is now the oldest')
  seen.set('d', { state: 'firing', term: 0 })
  t.equal(seen.size, 3)
  t.equal(seen.get('b'), undefined, 'b was evicted')
  t.ok(seen.get('a') && seen.get('c') && seen.get('d'))
  seen.set('c', { state: 'resolved', term: 0 })
  t.same(seen.get('c'), { state: 'resolved', term: 0 }, 'an update replaces the entry')
  t.equal(seen.size, 3)
  t.throws(() => new SeenAlerts(0), /positive integer/)
})

t.test('delete forgets one key', async t => {
  const seen = new SeenAlerts(4)
  seen.set('a', { state: 'firing', term: 1 })
  seen.set('b', { state: 'firing', term: 1 })
  seen.delete('a')
  seen.delete('missing')
  t.equal(seen.get('a'), undefined)
  t.ok(seen.get('b'))
  t.equal(seen.size, 1)
})
