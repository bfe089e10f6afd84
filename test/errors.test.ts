import t from 'tap'
import { abortText, errorText } from '../src/errors.js'

t.test('errorText is the message of anything thrown', async t => {
  t.equal(errorText(new TypeError('bad type')), 'bad type', 'an Error: its message')
  t.equal(errorText(new Error('outer', { cause: new Error('inner') })), 'outer', 'the cause stays out of the text')
  t.equal(errorText({ message: 'error-like', code: 'E' }), 'error-like', 'an object with a message: the message')
  t.equal(errorText('plain text'), 'plain text', 'a string: itself')
  t.equal(errorText(42), '42')
  t.equal(errorText(undefined), 'undefined')
  t.equal(errorText({ message: 7 }), '[object Object]', 'a message that is not text is not used')
})

t.test('abortText says why a signal was aborted', async t => {
  const withError = new AbortController()
  withError.abort(new Error('leadership lost'))
  t.equal(abortText(withError.signal), 'leadership lost', 'an Error reason: its message')
  const withText = new AbortController()
  withText.abort('shutting down')
  t.equal(abortText(withText.signal), 'shutting down', 'a text reason: the text')
  const bare = new AbortController()
  bare.abort()
  t.equal(abortText(bare.signal), 'This operation was aborted', "no reason: the platform's AbortError")
  t.equal(abortText(new AbortController().signal), 'aborted', 'not aborted (no reason at all): "aborted"')
})
