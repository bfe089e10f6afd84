// bcrypt is loaded only when the web config has basic_auth_users: a daemon without them never loads it (memory at
// idle), and one whose web config gains users on a change loads it at the first request and checks the password.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { eventually, tempDir } from '../fixtures/e2e.js'
import { moduleTrace } from '../fixtures/module-trace.js'
import { startRollguardProcess } from '../fixtures/rollguard-process.js'
import { ALICE } from '../fixtures/tls.js'

const BCRYPT = /\/node_modules\/bcryptjs\//

t.test('bcryptjs loads with the first basic_auth_users, not before', async t => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'rules.yml'), 'groups: []\n')
  const web = join(dir, 'web.yml')
  writeFileSync(web, stringify({ http_server_config: { headers: { 'X-Frame-Options': 'deny' } } }))
  const trace = moduleTrace(dir)
  const rollguard = await startRollguardProcess(t, {
    args: ['--rules', join(dir, 'rules.yml'), '--prometheus-url', 'http://127.0.0.1:9', '--web.config.file', web],
    env: trace.env,
  })
  const ready = `${rollguard.url}/-/ready`
  t.equal((await fetch(ready)).status, 200)
  t.ok(
    trace.loaded().some(url => url.endsWith('/dist/server/basic-auth.js')),
    'the trace records the verifier module',
  )
  t.notOk(
    trace.loaded().some(url => BCRYPT.test(url)),
    'no basic_auth_users: bcryptjs not loaded',
  )

  writeFileSync(web, stringify({ basic_auth_users: { [ALICE.username]: ALICE.bcrypt } }))
  await eventually('the changed web config in force', async () => (await fetch(ready)).status === 401, 20_000)
  const basic = (password: string) => ({
    authorization: `Basic ${Buffer.from(`${ALICE.username}:${password}`).toString('base64')}`,
  })
  t.equal((await fetch(ready, { headers: basic('wrong') })).status, 401, 'a wrong password is refused')
  t.equal((await fetch(ready, { headers: basic(ALICE.password) })).status, 200, 'the right one lets the request in')
  t.ok(
    trace.loaded().some(url => BCRYPT.test(url)),
    'bcryptjs loaded once users exist',
  )
})
