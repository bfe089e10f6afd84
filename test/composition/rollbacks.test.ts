// The rollback components' modules load only with their sections: a daemon without `actions` never loads the
// Kubernetes client or the actions, one without `webhook` none of the webhook's intake (issue: memory at idle).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { tempDir } from '../fixtures/e2e.js'
import { moduleTrace } from '../fixtures/module-trace.js'
import { startRollguardProcess } from '../fixtures/rollguard-process.js'

const ACTIONS = /\/dist\/actions\/service\.js$/
const WEBHOOK = /\/dist\/webhook\/component\.js$/
const KUBERNETES_CLIENT = /\/node_modules\/@kubernetes\/client-node\//

async function loadedModules(t: Test, config: string): Promise<string[]> {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'rules.yml'), 'groups: []\n')
  writeFileSync(join(dir, 'rollguard.yml'), config)
  const trace = moduleTrace(dir)
  const args = ['--config', join(dir, 'rollguard.yml'), '--rules', join(dir, 'rules.yml')]
  args.push('--prometheus-url', 'http://127.0.0.1:9', '--alertmanager-url', 'http://127.0.0.1:9')
  await startRollguardProcess(t, { args, env: trace.env })
  return trace.loaded()
}

const CASES = [
  { name: 'no webhook section: no webhook', config: 'log:\n  level: warn\n', webhook: false },
  { name: 'a webhook section: the webhook', config: 'webhook:\n  insecure_no_auth: true\n', webhook: true },
]

for (const c of CASES) {
  t.test(`${c.name}; no actions section: neither the actions nor the Kubernetes client`, async t => {
    const loaded = await loadedModules(t, c.config)
    const has = (module: RegExp) => loaded.some(url => module.test(url))
    t.ok(has(/\/dist\/daemon\.js$/), 'the trace records the daemon')
    t.equal(has(WEBHOOK), c.webhook, c.webhook ? 'the webhook' : 'no webhook')
    t.notOk(has(ACTIONS), 'no actions')
    t.notOk(has(KUBERNETES_CLIENT), 'no Kubernetes client')
  })
}
