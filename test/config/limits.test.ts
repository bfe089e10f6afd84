// The response-size settings (docs/limits.md): defaults, the Prometheus flag and environment variable, the file
// keys, and their bounds.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config/load.js'

const MiB = 1024 * 1024
const flags = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, [v]]))
const PROM = { 'prometheus-url': 'http://127.0.0.1:9090' }

t.test('defaults: Prometheus 32 MiB, Alertmanager 8 MiB, Kubernetes 16 MiB', async t => {
  const { doc } = await loadConfig({ flags: flags(PROM), env: {}, cwd: '/w' })
  t.equal(doc.prometheus.max_response_bytes, 32 * MiB)
  t.equal(doc.alertmanager.max_response_bytes, 8 * MiB)
  t.equal(doc.kubernetes.max_response_bytes, 16 * MiB)
})

t.test('--prometheus-max-response-bytes, ROLLGUARD_PROMETHEUS_MAX_RESPONSE_BYTES and the file keys', async t => {
  const dir = t.testdir()
  const file = join(dir, 'rollguard.yml')
  writeFileSync(
    file,
    'prometheus: { url: "http://p:9090", max_response_bytes: 1048576 }\nalertmanager: { max_response_bytes: 2097152 }\nkubernetes: { max_response_bytes: 4194304 }\n',
  )
  const fromFile = (await loadConfig({ flags: flags({ config: file }), env: {}, cwd: '/w' })).doc
  t.same(
    [
      fromFile.prometheus.max_response_bytes,
      fromFile.alertmanager.max_response_bytes,
      fromFile.kubernetes.max_response_bytes,
    ],
    [MiB, 2 * MiB, 4 * MiB],
  )
  const fromEnv = await loadConfig({
    flags: flags({ config: file }),
    env: { ROLLGUARD_PROMETHEUS_MAX_RESPONSE_BYTES: '67108864' },
    cwd: '/w',
  })
  t.equal(fromEnv.doc.prometheus.max_response_bytes, 64 * MiB)
  const fromFlag = await loadConfig({
    flags: flags({ config: file, 'prometheus-max-response-bytes': '100000' }),
    env: { ROLLGUARD_PROMETHEUS_MAX_RESPONSE_BYTES: '67108864' },
    cwd: '/w',
  })
  t.equal(fromFlag.doc.prometheus.max_response_bytes, 100_000)
})

t.test('limits are whole bytes from 1 KiB to 512 MiB', async t => {
  for (const bad of ['1000', '536870913', '1MiB']) {
    const err = await loadConfig({
      flags: flags({ ...PROM, 'prometheus-max-response-bytes': bad }),
      env: {},
      cwd: '/w',
    }).catch((e: unknown) => e)
    t.ok(err instanceof ConfigError, bad)
    t.match((err as ConfigError).problems[0], /^--prometheus-max-response-bytes: /, bad)
  }
})
