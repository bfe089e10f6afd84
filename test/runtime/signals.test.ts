import { getEventListeners } from 'node:events'
import t from 'tap'
import { linkSignals } from '../../src/runtime/signals.js'

t.test('a linked signal aborts with the reason of the first source that aborts', async t => {
  const a = new AbortController()
  const b = new AbortController()
  const linked = linkSignals([a.signal, b.signal])
  t.notOk(linked.signal.aborted)
  b.abort(new Error('b first'))
  a.abort(new Error('a later'))
  t.ok(linked.signal.aborted)
  t.equal((linked.signal.reason as Error).message, 'b first')
  t.equal(getEventListeners(a.signal, 'abort').length, 0, 'detached from the other source once aborted')
})

t.test('a source already aborted aborts the linked signal at once', async t => {
  const done = AbortSignal.abort('gone')
  const linked = linkSignals([new AbortController().signal, done])
  t.ok(linked.signal.aborted)
  t.equal(linked.signal.reason, 'gone')
  linked.dispose()
})

t.test('dispose leaves nothing on a long-lived source, however many operations it outlives', async t => {
  const stop = new AbortController()
  for (let i = 0; i < 1000; i++) {
    const linked = linkSignals([stop.signal, AbortSignal.timeout(60_000)])
    linked.dispose()
  }
  t.equal(getEventListeners(stop.signal, 'abort').length, 0)
  const last = linkSignals([stop.signal])
  last.dispose()
  stop.abort()
  t.notOk(last.signal.aborted, 'a disposed signal no longer follows its sources')
})
