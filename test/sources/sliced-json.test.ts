// parseJsonSliced is JSON.parse in slices: same values, same rejections (tiny pieces walk every path on small
// documents), and a 20 MB answer parsed without holding the event loop for more than 100 ms.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { parseJsonSliced, PIECE_BYTES, Slices } from '../../src/sources/sliced-json.js'
import { matrixAnswer, MiB, vectorAnswer } from '../fixtures/big-answers.js'
import { describeHold, holdWhile } from '../fixtures/event-loop.js'

type Outcome = { ok: true; value: unknown } | { ok: false }

function native(text: string): Outcome {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

async function sliced(text: string, pieceBytes: number): Promise<Outcome> {
  try {
    return { ok: true, value: await parseJsonSliced(Buffer.from(text), new Slices(), pieceBytes) }
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err
    return { ok: false }
  }
}

t.test('the same value as JSON.parse, whatever the piece size', async t => {
  await fc.assert(
    fc.asyncProperty(
      fc.jsonValue(),
      fc.integer({ min: 1, max: 64 }),
      fc.boolean(),
      async (value, pieceBytes, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined) ?? 'null'
        t.same(await sliced(text, pieceBytes), native(text))
      },
    ),
    { numRuns: 1000 },
  )
})

t.test('the same rejections as JSON.parse: broken documents, one character changed', async t => {
  const broken = [
    '',
    ' ',
    '[',
    ']',
    '[1,]',
    '[,1]',
    '[1 2]',
    '{"a":1,}',
    '{"a" 1}',
    '{"a":}',
    '{a:1}',
    '{"a":1]',
    '[1}',
    '[1]x',
    '[1] [2]',
    '["unterminated]',
    '[tru]',
    '[1.]',
    '[01]',
    '["\\x"]',
    '{"a":[1,2}',
    '[{"a":1},{"b":2]]',
    '[{}{}]',
    '["a"\t"b"]',
    '[1,,2]',
  ]
  for (const text of broken) {
    for (const pieceBytes of [1, 3, 8])
      t.same(await sliced(text, pieceBytes), { ok: false }, `${JSON.stringify(text)}, pieces of ${pieceBytes}`)
  }
  // Mutations of valid documents: whatever JSON.parse says of them, parseJsonSliced says too.
  await fc.assert(
    fc.asyncProperty(
      fc.jsonValue().map(v => JSON.stringify(v) ?? 'null'),
      fc.nat(),
      fc.constantFrom('', ',', ':', '[', ']', '{', '}', '"', '\\', ' ', '1', 'x', '-'),
      fc.integer({ min: 1, max: 16 }),
      async (text, at, insert, pieceBytes) => {
        const i = text.length === 0 ? 0 : at % text.length
        for (const mutated of [
          text.slice(0, i) + insert + text.slice(i),
          text.slice(0, i) + insert + text.slice(i + 1),
        ]) {
          const expected = native(mutated)
          const got = await sliced(mutated, pieceBytes)
          if (got.ok !== expected.ok || (got.ok && expected.ok && !isDeepStrictEqual(got.value, expected.value))) {
            t.fail(
              `${JSON.stringify(mutated)} with pieces of ${pieceBytes}: JSON.parse ${expected.ok ? 'accepts' : 'rejects'}, sliced ${got.ok ? 'accepts' : 'rejects'}`,
            )
          }
        }
      },
    ),
    { numRuns: 2000 },
  )
  t.pass('no mutation told them apart')
})

t.test('__proto__ is an own property, as with JSON.parse; big strings and deep nesting', async t => {
  const text = `{"__proto__":{"polluted":true},"a":[${'"x",'.repeat(50)}"y"]}`
  const value = (await parseJsonSliced(Buffer.from(text), new Slices(), 4)) as Record<string, unknown>
  t.equal(Object.getPrototypeOf(value), Object.prototype)
  t.same(Object.keys(value), ['__proto__', 'a'])
  t.equal(({} as Record<string, unknown>)['polluted'], undefined)
  const big = JSON.stringify({ s: 'é'.repeat(PIECE_BYTES), nested: [[[[{ a: [1, 2, { b: 'c' }] }]]]] })
  t.same(await parseJsonSliced(Buffer.from(big)), JSON.parse(big))
})

// 50 ms of the reader's own CPU in one turn (GC pauses excluded, test/fixtures/event-loop.ts): it takes ~16 ms,
// JSON.parse of the same answers 80–110 ms, so the bound tells slicing from not slicing.
t.test('20 MB answers parse without holding the event loop for more than 50 ms', async t => {
  for (const [what, { body }] of [
    ['vector', vectorAnswer(20 * MiB)],
    ['matrix', matrixAnswer(20 * MiB)],
  ] as const) {
    const whole = await holdWhile(async () => JSON.parse(body.toString('utf8')))
    let value: unknown
    const hold = await holdWhile(async () => {
      value = await parseJsonSliced(body)
    })
    t.ok(hold.cpuMs < 50, `${what}: ${describeHold(hold)} (JSON.parse: ${describeHold(whole)})`)
    t.ok(isDeepStrictEqual(value, JSON.parse(body.toString('utf8'))), `${what}: the same value as JSON.parse`)
  }
})
