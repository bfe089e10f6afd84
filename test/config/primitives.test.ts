import t from 'tap'
import { z } from 'zod'
import { checkedBy, Duration, parsedBy } from '../../src/config/primitives.js'

const even = (s: string): number => {
  const n = Number(s)
  if (!Number.isInteger(n) || n % 2 !== 0) throw new Error(`${JSON.stringify(s)} is not an even number`)
  return n
}

t.test("parsedBy: the parser's value, or an issue at the field with the parser's message", async t => {
  const schema = z.object({ n: z.string().transform(parsedBy(even)) })
  t.same(schema.parse({ n: '4' }), { n: 4 })
  const failed = schema.safeParse({ n: '3' })
  t.same(
    failed.error?.issues.map(i => ({ path: i.path, message: i.message })),
    [{ path: ['n'], message: '"3" is not an even number' }],
  )
})

t.test('checkedBy: the field keeps its text; a parse error is an issue', async t => {
  const schema = z.object({ n: z.string().superRefine(checkedBy(even)) })
  t.same(schema.parse({ n: '4' }), { n: '4' })
  t.same(
    schema.safeParse({ n: 'x' }).error?.issues.map(i => i.message),
    ['"x" is not an even number'],
  )
})

t.test('Duration reads a Prometheus duration as milliseconds and names a bad one', async t => {
  t.equal(Duration.parse('1m30s'), 90_000)
  t.equal(Duration.safeParse('soon').error?.issues.length, 1)
})
