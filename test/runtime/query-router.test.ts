import t from 'tap'
import { createQueryRouter } from '../../src/runtime/query-router.js'
import { ProbeStore } from '../../src/sources/probe-store.js'

/** recordingRouter is a router whose Prometheus answers nothing and records the expressions sent to it. */
function recordingRouter(maxClassified?: number): {
  query: ReturnType<typeof createQueryRouter>
  remote: string[]
} {
  const remote: string[] = []
  const prometheus = async (expr: string) => {
    remote.push(expr)
    return { samples: [], warnings: [] }
  }
  return { query: createQueryRouter(() => prometheus, new ProbeStore(), maxClassified), remote }
}

t.test(
  'the router sends Prometheus expressions out and answers probe expressions locally, also past its bound',
  async t => {
    // A bound of 2 classifications with 3 probe expressions in turn: the memory is cleared again and again.
    // Prometheus expressions are never classified (their text cannot name a probe metric).
    const { query, remote } = recordingRouter(2)
    const probes = ['rollguard_probe_success == 0', 'rollguard_probe_duration_seconds > 1', 'rollguard_probe_success']
    for (let i = 0; i < 4; i++) {
      for (const expr of ['up == 0', ...probes, 'rate(errors[5m]) > 1']) {
        const result = await query(expr, 0)
        t.same(result.samples, [], expr)
      }
    }
    t.same(
      remote,
      Array.from({ length: 4 }, () => ['up == 0', 'rate(errors[5m]) > 1']).flat(),
      'only the Prometheus expressions went out',
    )
    await t.rejects(query('rollguard_probe_success + up', 0), /mixes/, 'a mixed expression fails every time')
    await t.rejects(query('rollguard_probe_success + up', 0), /mixes/)
  },
)

t.test('a probe metric spelt with an escape is answered locally too', async t => {
  const { query, remote } = recordingRouter()
  const escaped = String.raw`{__name__="rollguard\x5fprobe_success"} == 0`
  t.same((await query(escaped, 0)).samples, [])
  t.same((await query('up == 0', 0)).samples, [])
  t.same(remote, ['up == 0'], 'only the Prometheus expression went out')
})
