// The rollguard child-process fixture: starts the built daemon, waits for /-/ready, SIGKILL ends it at once.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { freePort } from '../../src/demo/processes.js'
import { startRollguardProcess } from '../fixtures/rollguard-process.js'

t.test(
  'startRollguardProcess: ready with a trivial rule and an unreachable Prometheus; SIGKILL ends it at once',
  async t => {
    const dir = t.testdir()
    const rules = join(dir, 'rules.yml')
    writeFileSync(rules, 'groups:\n  - name: g\n    rules:\n      - alert: Always\n        expr: vector(1) > 0\n')
    const closed = await freePort() // nothing listens there
    const rg = await startRollguardProcess(t, {
      args: ['--rules', rules, '--prometheus-url', `http://127.0.0.1:${closed}`, '--eval-interval', '1s'],
    })
    const ready = await fetch(`${rg.url}/-/ready`)
    t.equal(ready.status, 200, await ready.text())
    t.ok(rg.pid > 0)
    t.not(rg.log(), '', 'its output is captured')
    const start = Date.now()
    rg.kill('SIGKILL')
    t.same(await rg.exited, { code: null, signal: 'SIGKILL' })
    t.ok(Date.now() - start < 2000, 'exited at once')
    await t.rejects(fetch(`${rg.url}/-/ready`), 'nothing listens any more')
    rg.kill('SIGKILL') // a no-op once exited
    await rg.stop()
  },
)
