// `rollguard run` as a process: SIGHUP reloads config and rules whatever the lifecycle setting, while POST /-/reload
// is refused unless --web.enable-lifecycle is given (as in Prometheus). Every wait is bounded.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../../src/demo/processes.js'
import { eventually, getJson, tempDir } from '../fixtures/e2e.js'
import { startRollguardProcess } from '../fixtures/rollguard-process.js'

interface RulesBody {
  data: { groups: Array<{ rules: Array<{ name: string }> }> }
}

const rulesText = (alert: string) => `groups:
  - name: signals
    rules:
      - alert: ${alert}
        expr: vector(1) > 0
`

t.test('SIGHUP reloads the rules; POST /-/reload is 403 without --web.enable-lifecycle', async t => {
  const dir = tempDir(t)
  const rules = join(dir, 'rules.yml')
  writeFileSync(rules, rulesText('BeforeReload'))
  // No Prometheus is needed: a failed evaluation still makes the daemon ready.
  const unreachable = `http://127.0.0.1:${await freePort()}`
  const rg = await startRollguardProcess(t, {
    args: ['--prometheus-url', unreachable, '--rules', rules, '--eval-interval', '1s'],
  })
  const names = async () =>
    (await getJson<RulesBody>(`${rg.url}/api/v1/rules`)).data.groups.flatMap(g => g.rules.map(r => r.name))
  t.same(await names(), ['BeforeReload'])

  writeFileSync(rules, rulesText('AfterHttpReload'))
  const res = await fetch(`${rg.url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(5_000) })
  t.equal(res.status, 403)
  t.equal(await res.text(), 'Lifecycle API is not enabled.\n')
  t.same(await names(), ['BeforeReload'], 'nothing reloaded')

  writeFileSync(rules, rulesText('AfterSighup'))
  rg.kill('SIGHUP')
  const reloaded = await eventually(
    'the rules reloaded by SIGHUP',
    async () => {
      const now = await names()
      return now[0] === 'AfterSighup' ? now : undefined
    },
    15_000,
    100,
  )
  t.same(reloaded, ['AfterSighup'])
  t.match(rg.log(), /configuration and rules reloaded/)
})
