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

t.test('without actions and webhook, neither they nor the Kubernetes client are loaded', async t => {
  const loaded = await loadedModules(t, 'log:\n  level: warn\n')
  t.ok(
    loaded.some(url => url.endsWith('/dist/daemon.js')),
    'the trace records the daemon',
  )
  t.notOk(
    loaded.some(url => ACTIONS.test(url)),
    'no actions',
  )
  t.notOk(
    loaded.some(url => WEBHOOK.test(url)),
    'no webhook',
  )
  t.notOk(
    loaded.some(url => KUBERNETES_CLIENT.test(url)),
    'no Kubernetes client',
  )
})

t.test('a webhook section loads the webhook, still without the Kubernetes client', async t => {
  const loaded = await loadedModules(t, 'webhook:\n  insecure_no_auth: true\n')
  t.ok(
    loaded.some(url => WEBHOOK.test(url)),
    'the webhook',
  )
  t.notOk(
    loaded.some(url => ACTIONS.test(url)),
    'no actions',
  )
  t.notOk(
    loaded.some(url => KUBERNETES_CLIENT.test(url)),
    'no Kubernetes client',
  )
})
