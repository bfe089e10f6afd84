// The silences check's bounds: an answer past alertmanager.max_response_bytes (plain or a gzip bomb) is a failed
// check naming the limit and the setting, read no further than the limit; a big valid list (thousands of
// silences) is parsed and checked without holding the event loop for more than 100 ms.
import t from 'tap'
import { AlertmanagerSilences, type AlertmanagerAccess } from '../../src/actions/silences.js'
import type { AlertInfo } from '../../src/actions/trigger.js'
import { gzipBomb, MiB, serve, stream, type Streamed, type Teardown } from '../fixtures/big-answers.js'
import { describeHold, holdWhile } from '../fixtures/event-loop.js'

const AT = Date.parse('2026-11-26T14:30:00Z')
const alert: AlertInfo = {
  name: 'HighErrorRate',
  labels: { alertname: 'HighErrorRate', rollguard_trigger: 'rollback', namespace: 'shop', deployment: 'checkout' },
  fingerprint: 'fp',
  startsAt: AT - 60_000,
  origin: undefined,
}
const fresh = { fresh: true, required: false }

function check(t: Teardown, access: AlertmanagerAccess) {
  const checker = new AlertmanagerSilences({ access: () => access, externalLabels: () => ({}), now: () => AT })
  t.teardown(() => checker.close())
  return checker.check(alert, fresh)
}

t.test('50 MB of silences, or a gzip bomb, is a failed check at 8 MiB and the answer is read no further', async t => {
  const bomb = gzipBomb(50 * MiB)
  let streamed: Promise<Streamed> | undefined
  const { url } = await serve(t, (req, res) => {
    if (req.url === '/gzip/api/v2/silences')
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(bomb)
    else streamed = stream(res.writeHead(200, { 'Content-Type': 'application/json' }), 50 * MiB)
  })
  const message =
    'response exceeds 8388608 bytes (8 MiB); raise alertmanager.max_response_bytes to accept larger answers'
  t.same(await check(t, { urls: [url], timeoutMs: 20_000 }), { state: 'unknown', error: `${url}: ${message}` })
  const sent = (await streamed) as Streamed
  t.ok(
    sent.closedEarly && sent.written < 8 * MiB + 16 * MiB,
    `the server stopped after ${sent.written} bytes, not 50 MiB`,
  )
  t.same(await check(t, { urls: [`${url}/gzip`], timeoutMs: 20_000 }), {
    state: 'unknown',
    error: `${url}/gzip: ${message}`,
  })
  t.same(await check(t, { urls: [url], timeoutMs: 20_000, maxResponseBytes: 4096 }), {
    state: 'unknown',
    error: `${url}: response exceeds 4096 bytes (4 KiB); raise alertmanager.max_response_bytes to accept larger answers`,
  })
})

t.test(
  '7 MB of silences (17,000) are parsed and checked without holding the event loop for more than 100 ms',
  async t => {
    const COUNT = 17_000
    const LAST = COUNT - 1
    const silences = Array.from({ length: COUNT }, (_, i) => ({
      id: `4b1f3c6e-0000-4000-8000-${String(i).padStart(12, '0')}`,
      status: { state: i === LAST ? 'active' : 'expired' },
      updatedAt: '2026-11-26T14:00:00.000Z',
      matchers: [
        { name: 'alertname', value: 'HighErrorRate', isRegex: false, isEqual: true },
        { name: 'deployment', value: i === LAST ? 'checkout' : `svc-${i}`, isRegex: false, isEqual: true },
      ],
      startsAt: '2026-11-26T14:00:00.000Z',
      endsAt: '2026-11-26T16:00:00.000Z',
      createdBy: 'deploy-bot',
      comment: `deploy ${i} of svc-${i} (ticket OPS-${i})`,
    }))
    const body = Buffer.from(JSON.stringify(silences))
    t.ok(body.length > 6 * MiB && body.length < 8 * MiB, `${body.length} bytes`)
    const { url } = await serve(t, (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(body))
    let state: unknown
    const hold = await holdWhile(async () => {
      state = await check(t, { urls: [url], timeoutMs: 20_000 })
    })
    t.match(state, { state: 'silenced', id: silences[LAST]?.id })
    t.ok(hold.cpuMs < 100, describeHold(hold))
  },
)
