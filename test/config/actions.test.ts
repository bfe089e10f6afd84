import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runUsage } from '../../src/cli/args.js'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { tempDir } from '../fixtures/e2e.js'

const flags = (o: Record<string, string | string[]>) =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))
const PROM = { 'prometheus-url': 'http://127.0.0.1:9090' }

async function problems(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n')
    throw err
  }
  throw new Error('expected a ConfigError')
}

function file(t: Test, yaml: string): string {
  const dir = tempDir(t)
  const path = join(dir, 'rollguard.yml')
  writeFileSync(path, yaml)
  return path
}

t.test('without an actions section or flag, actions are off; kubernetes has defaults', async t => {
  const c = await loadConfig({ flags: flags(PROM), env: {}, cwd: '/w' })
  t.equal(c.doc.actions, undefined)
  t.same(c.doc.kubernetes, {
    in_cluster: 'auto',
    request_timeout: 10_000,
    max_response_bytes: 16 * 1024 * 1024,
    lease: { enabled: true, name: 'rollguard', lease_duration: 15_000, renew_deadline: 10_000, retry_period: 2_000 },
  })
})

t.test('--actions-mode / ROLLGUARD_ACTIONS_MODE enable actions with the safe defaults', async t => {
  const c = await loadConfig({ flags: flags({ ...PROM, 'actions-mode': 'execute' }), env: {}, cwd: '/w' })
  t.match(c.doc.actions, {
    mode: 'execute',
    allow: [],
    post_deploy_window: 3_600_000,
    cooldown: 1_800_000,
    max_rollbacks_per_workload: { count: 3, window: 86_400_000 },
    global_brake: { count: 5, window: 3_600_000 },
    freeze: false,
    trigger: { label: 'rollguard_trigger', value: 'rollback' },
    targets: { namespace: 'namespace', deployment: 'deployment', statefulset: 'statefulset', daemonset: 'daemonset' },
    verify_timeout: 600_000,
  })
  const env = await loadConfig({ flags: flags(PROM), env: { ROLLGUARD_ACTIONS_MODE: 'dry-run' }, cwd: '/w' })
  t.equal(env.doc.actions?.mode, 'dry-run')
  t.match(
    await problems(loadConfig({ flags: flags({ ...PROM, 'actions-mode': 'yes' }), env: {}, cwd: '/w' })),
    /^--actions-mode: .*"dry-run"\|"execute"/,
  )
})

t.test('the config file: actions and kubernetes sections; a bare `actions:` means dry-run with defaults', async t => {
  const path = file(
    t,
    [
      'prometheus: { url: "http://p:9090" }',
      'actions:',
      '  allow: [{ namespace: shop }]',
      '  trigger: { label: action, value: undo }',
      '  targets: { deployment: app }',
      '  verify_timeout: 5m',
      'kubernetes:',
      '  kubeconfig: kube/config',
      '  context: prod',
      '  in_cluster: false',
      '  lease: { namespace: rollguard-system, lease_duration: 30s, renew_deadline: 20s, retry_period: 5s, identity: pod-1 }',
    ].join('\n'),
  )
  const c = await loadConfig({ flags: flags({ config: path }), env: {}, cwd: '/elsewhere' })
  t.match(c.doc.actions, {
    mode: 'dry-run',
    allow: [{ namespace: 'shop' }],
    trigger: { label: 'action', value: 'undo' },
    targets: { deployment: 'app', namespace: 'namespace' },
    verify_timeout: 300_000,
  })
  t.match(c.doc.kubernetes, {
    kubeconfig: join(path, '../kube/config'),
    context: 'prod',
    in_cluster: false,
    lease: { namespace: 'rollguard-system', lease_duration: 30_000, identity: 'pod-1' },
  })
  const flagged = await loadConfig({
    flags: flags({ config: path, kubeconfig: 'mine', 'kube-context': 'dev' }),
    env: {},
    cwd: '/w',
  })
  t.equal(flagged.doc.kubernetes.kubeconfig, '/w/mine', 'a flag path is relative to the working directory')
  t.equal(flagged.doc.kubernetes.context, 'dev')
  t.equal(flagged.doc.actions?.mode, 'dry-run', 'the kube flags do not enable anything by themselves')

  const bare = await loadConfig({
    flags: flags({ config: file(t, 'prometheus: { url: "http://p:9090" }\nactions:\n') }),
    env: {},
    cwd: '/w',
  })
  t.equal(bare.doc.actions?.mode, 'dry-run')
  t.same(bare.doc.actions?.allow, [])
})

t.test('bad actions and kubernetes settings name the key and the reason', async t => {
  const path = file(
    t,
    [
      'prometheus: { url: "http://p:9090" }',
      'actions:',
      '  mode: now',
      '  targets: { deployment: "bad-label" }',
      '  verify_timeout: 0s',
      '  bogus: 1',
      'kubernetes:',
      '  in_cluster: true',
      '  kubeconfig: /k',
      '  lease: { lease_duration: 10s, renew_deadline: 10s, retry_period: 9s, name: "Bad_Name" }',
    ].join('\n'),
  )
  const text = await problems(loadConfig({ flags: flags({ config: path }), env: {}, cwd: '/w' }))
  t.match(text, /rollguard\.yml:3:9: actions\.mode: /)
  t.match(text, /actions\.targets\.deployment: must be a valid label name/)
  t.match(text, /actions\.verify_timeout: must be greater than 0/)
  t.match(text, /rollguard\.yml:6:3: actions\.bogus: Unrecognized key/)
  t.match(text, /kubernetes\.lease\.name: must be a DNS subdomain/)
  t.match(text, /kubernetes\.lease\.renew_deadline: must be less than lease_duration/)
  t.match(text, /kubernetes\.lease\.renew_deadline: must be greater than 1\.2 × retry_period/)
  t.match(
    await problems(
      loadConfig({
        flags: flags({
          config: file(t, 'prometheus: { url: "http://p:9090" }\nkubernetes: { in_cluster: true, kubeconfig: /k }\n'),
        }),
        env: {},
        cwd: '/w',
      }),
    ),
    /kubernetes\.in_cluster: in_cluster: true and kubeconfig are mutually exclusive/,
  )
  t.match(
    await problems(
      loadConfig({
        flags: flags({
          config: file(
            t,
            'prometheus: { url: "http://p:9090" }\nkubernetes: { lease: { lease_duration: 500ms, renew_deadline: 400ms, retry_period: 100ms } }\n',
          ),
        }),
        env: {},
        cwd: '/w',
      }),
    ),
    /lease_duration: must be at least 1s/,
  )
})

t.test('rollguard run --help lists the new flags from the option table', async t => {
  const help = runUsage()
  t.match(help, /--actions-mode VALUE {2}\(ROLLGUARD_ACTIONS_MODE; config: actions\.mode\)/)
  t.match(help, /--kubeconfig VALUE {2}\(ROLLGUARD_KUBECONFIG; config: kubernetes\.kubeconfig\)/)
  t.match(help, /--kube-context VALUE {2}\(ROLLGUARD_KUBE_CONTEXT; config: kubernetes\.context\)/)
})
