/**
 * What the manifests put into the pod: the rules and dashboards are the repository's (no drift, and the sync
 * script finds and fixes drift), rollguard's own config loader and `rollguard check` accept the config exactly
 * as the kubelet mounts it, the config agrees with the manifests (ports, Service URL, Lease, RBAC namespaces,
 * credential files), and the PrometheusRule's alerts parse, select rollguard's job, and behave as intended
 * (`promtool test rules`, where promtool is installed).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import t, { type Test } from 'tap'
import { parse, stringify } from 'yaml'
import { parseRunArgs } from '../../src/cli/args.js'
import { runCheck } from '../../src/cli/check.js'
import { loadConfig } from '../../src/config/load.js'
import { checkPromQL, unquote } from '../../src/rules/promql.js'
import { loadRuleFiles, parseRuleFile } from '../../src/rules/load.js'
import { DEPLOY, find, mountPod, pod, rebaseArgs, render, ROOT, type K8sObject } from './fixtures/manifests.js'

interface SyncChange {
  path: string
  content: string | undefined
}
interface SyncScript {
  plan(root?: string): SyncChange[]
  apply(root?: string): SyncChange[]
}
const sync = (await import(pathToFileURL(join(ROOT, 'scripts', 'sync-deploy.mjs')).href)) as SyncScript

const namespaced = render('overlays/namespaced')
const monitoring = render('overlays/prometheus-operator')
const exampleSecret = parse(readFileSync(join(DEPLOY, 'examples', 'credentials-secret.yaml'), 'utf8')) as K8sObject
const filesOf = (dir: string, suffix: string): Map<string, string> =>
  new Map(
    readdirSync(join(ROOT, dir))
      .filter(f => f.endsWith(suffix))
      .sort()
      .map(f => [f, readFileSync(join(ROOT, dir, f), 'utf8')]),
  )

interface Rule {
  alert: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
const prometheusRule = find(monitoring, 'PrometheusRule') as K8sObject & {
  spec: { groups: Array<{ name: string; rules: Rule[] }> }
}
const alerts = prometheusRule.spec.groups.flatMap(g => g.rules)

/** The pod's file system under a temp dir, and `rollguard run`'s flags from the container args, with paths under it. */
function podFlags(
  t: Test,
  secrets: K8sObject[] = [],
): {
  flags: Map<string, string[]>
  root: string
  rebase: (p: string) => string
  container: ReturnType<typeof pod>['container']
} {
  const root = t.testdir({})
  const { container, rebase } = mountPod(namespaced, root, secrets)
  const args = container.args ?? []
  t.equal(args[0], 'run', 'the container runs `rollguard run`')
  const flags = parseRunArgs(rebaseArgs(args.slice(1), rebase)).flags
  return { flags, root, rebase, container }
}

t.test("the rules and dashboards in deploy/ are the repository's (npm run deploy:sync)", async t => {
  t.same(
    sync.plan().map(c => c.path),
    [],
    'nothing to sync',
  )
  const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'sync-deploy.mjs'), '--check'], { encoding: 'utf8' })
  t.same([check.status, check.stdout], [0, ''], 'node scripts/sync-deploy.mjs --check agrees')
  const data = (name: string, objs: K8sObject[]): Record<string, string> =>
    objs.find(o => o.kind === 'ConfigMap' && o.metadata.name.replace(/-[2456789bcdfghkmt]{10}$/, '') === name)
      ?.data as Record<string, string>
  t.strictSame(
    data('rollguard-rules', namespaced),
    Object.fromEntries(filesOf('rules', '.yml')),
    'the rules ConfigMap holds rules/*.yml byte for byte',
  )
  t.strictSame(
    data('rollguard-dashboards', monitoring),
    Object.fromEntries(filesOf('dashboards', '.json')),
    'the dashboards ConfigMap holds dashboards/*.json byte for byte',
  )
})

t.test('the sync script finds every kind of drift and fixes it', async t => {
  const root = t.testdir({})
  for (const dir of ['rules', 'dashboards', 'deploy/base', 'deploy/components/prometheus-operator'])
    cpSync(join(ROOT, dir), join(root, dir), { recursive: true })
  t.same(sync.plan(root), [], 'a faithful copy is in sync')
  const rule = readdirSync(join(root, 'rules')).find(f => f.endsWith('.yml')) as string
  writeFileSync(join(root, 'rules', rule), `${readFileSync(join(root, 'rules', rule), 'utf8')}# edited\n`)
  writeFileSync(join(root, 'dashboards', 'new.json'), '{}\n')
  writeFileSync(join(root, 'deploy/base/rules', 'stale.yml'), 'groups: []\n')
  const script = (...args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'sync-deploy.mjs'), '--root', root, ...args], {
      encoding: 'utf8',
    })
  const check = script('--check')
  t.equal(check.status, 1, '--check exits 1 on drift')
  t.match(check.stdout, /out of date: deploy\/base\/rules\/rollback-triggers\.yml\n/)
  t.same(
    sync
      .plan(root)
      .map(c => [c.path, c.content === undefined ? 'delete' : 'write'])
      .sort(),
    [
      ['deploy/base/rules/rollback-triggers.yml', 'write'],
      ['deploy/base/rules/stale.yml', 'delete'],
      ['deploy/components/prometheus-operator/dashboards/new.json', 'write'],
      ['deploy/components/prometheus-operator/kustomization.yaml', 'write'],
    ].sort(),
  )
  const write = script()
  t.equal(write.status, 0)
  t.match(write.stdout, /removed deploy\/base\/rules\/stale\.yml\n/)
  t.same(sync.plan(root), [], 'in sync after the script wrote')
  t.same(sync.apply(root), [], 'nothing left to apply')
  t.equal(script('--check').status, 0, '--check exits 0 when in sync')
  t.equal(
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'sync-deploy.mjs'), '--root']).status,
    2,
    '--root without a directory is a usage error',
  )
  const k = parse(readFileSync(join(root, 'deploy/components/prometheus-operator/kustomization.yaml'), 'utf8')) as {
    configMapGenerator: Array<{ name: string; files: string[] }>
  }
  const dashboards = [...filesOf('dashboards', '.json').keys(), 'new.json'].sort().map(f => `dashboards/${f}`)
  t.same(
    k.configMapGenerator.find(g => g.name === 'rollguard-dashboards')?.files,
    dashboards,
    'the generator lists the new dashboard',
  )
  t.match(
    readFileSync(join(root, 'deploy/components/prometheus-operator/kustomization.yaml'), 'utf8'),
    /# Copies of the repository's dashboards/,
    'comments survive',
  )
})

t.test("the config loads with rollguard's loader, and `rollguard check` passes, in the pod as mounted", async t => {
  const { flags, rebase } = podFlags(t)
  const config = await loadConfig({ flags, env: {}, cwd: rebase('/app') })
  const doc = config.doc
  t.equal(doc.actions?.mode, 'dry-run', 'actions start in dry-run')
  t.ok((doc.actions?.allow.length ?? 0) > 0, 'with an allow list example')
  t.equal(doc.kubernetes.lease.enabled, true, 'leader election is on (two replicas)')
  t.equal(config.prometheusAuth, undefined, 'no credentials without the optional Secret')
  const rules = await loadRuleFiles(doc.rules.files)
  t.same(rules.errors, [])
  const shipped = [...filesOf('rules', '.yml').keys()]
  t.same(
    rules.files.map(f => relative(rebase('/etc/rollguard/rules'), f.file)),
    shipped,
    'rules.files finds the mounted rules',
  )
  let out = ''
  const code = await runCheck(
    ['--config', flags.get('config')?.at(-1) as string],
    { stdout: s => void (out += s), stderr: s => void (out += s) },
    { env: {} },
  )
  t.equal(code, 0, out)
  const count = [...filesOf('rules', '.yml').values()].reduce((n, text) => n + parseRuleFile('x', text).ruleCount, 0)
  t.match(out, `SUCCESS: ${count} rules found`)
})

t.test('the config agrees with the manifests', async t => {
  const { flags, rebase, container } = podFlags(t)
  const doc = (await loadConfig({ flags, env: {}, cwd: rebase('/app') })).doc
  const svc = find(namespaced, 'Service') as K8sObject & { spec: { ports: Array<{ port: number }> } }
  t.equal(
    Number(doc.web.listen_address.split(':').at(-1)),
    container.ports?.find(p => p.name === 'web')?.containerPort,
    'listens on the container port',
  )
  t.equal(
    doc.web.external_url,
    `http://${svc.metadata.name}.${svc.metadata.namespace}.svc:${svc.spec.ports[0]?.port}`,
    'external_url is the Service',
  )
  const leader = find(namespaced, 'Role', 'rollguard-leader-election') as K8sObject & {
    rules: Array<{ resourceNames?: string[] }>
  }
  t.same(
    leader.rules.flatMap(r => r.resourceNames ?? []),
    [doc.kubernetes.lease.name],
    "the leader-election Role names the config's Lease",
  )
  t.equal(
    doc.kubernetes.lease.namespace ?? pod(namespaced).deployment.metadata.namespace,
    leader.metadata.namespace,
    "the Lease is in the Role's namespace (default: the pod's)",
  )
  const roleNamespaces = namespaced
    .filter(o => o.kind === 'Role' && o.metadata.name === 'rollguard')
    .map(o => o.metadata.namespace)
    .sort()
  t.same(
    (doc.actions?.allow ?? []).map(a => a.namespace).sort(),
    roleNamespaces,
    'every namespace in actions.allow has the workload Role, and no other',
  )
  const ams = doc.alertmanager.urls
  t.equal(new Set(ams).size, ams.length)
  t.ok(
    ams.length >= 2 && ams.every(u => /^http:\/\/[a-z0-9-]+-\d+\./.test(u)),
    'every Alertmanager pod by name, not one load-balanced Service',
  )
  t.same(doc.global.external_labels, {}, 'no per-replica external label (Alertmanager deduplicates the replicas)')
})

t.test('credential files named in rollguard.yml come from the Secret', async t => {
  const text = readFileSync(join(DEPLOY, 'base', 'rollguard.yml'), 'utf8')
  const named = [...text.matchAll(/^\s*#\s*bearer_token_file:\s*(\S+)/gm)].map(m => m[1] as string)
  t.ok(named.length >= 2, `rollguard.yml shows where the credentials go: ${named.join(', ')}`)
  const { spec, container } = pod(namespaced)
  const volume = spec.volumes?.find(v => v.secret?.secretName === exampleSecret.metadata.name)
  const mount = container.volumeMounts?.find(m => m.name === volume?.name)
  const keys = Object.keys(exampleSecret.stringData as object)
  for (const file of named)
    t.ok(
      mount !== undefined && keys.some(k => file === `${mount.mountPath}/${k}`),
      `${file} is a key of the Secret under its mount`,
    )
  // With the example Secret mounted, the files load as credentials.
  const { flags, rebase } = podFlags(t, [exampleSecret])
  const [prometheusFile, alertmanagerFile] = named
  flags.set('prometheus-bearer-token-file', [rebase(prometheusFile as string)])
  flags.set('alertmanager-bearer-token-file', [rebase(alertmanagerFile as string)])
  const config = await loadConfig({ flags, env: {}, cwd: rebase('/app') })
  const tokens = exampleSecret.stringData as Record<string, string>
  t.same(config.prometheusAuth, { type: 'bearer', token: tokens['prometheus-token'] })
  t.same(config.alertmanagerAuth, { type: 'bearer', token: tokens['alertmanager-token'] })
})

// ---------------------------------------------------------------------------------------------------------
// PrometheusRule

interface Selector {
  name: string | undefined
  matchers: Map<string, string>
}

function selectors(expr: string): Selector[] {
  const out: Selector[] = []
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return
      const ident = ref.node.getChild('Identifier')
      const matchers = new Map<string, string>()
      for (
        let m: SyntaxNode | null = ref.node.getChild('LabelMatchers')?.firstChild ?? null;
        m !== null;
        m = m.nextSibling
      ) {
        const label = m.getChild('LabelName')
        const op = m.getChild('MatchOp')
        const value = m.getChild('StringLiteral')
        if (label !== null && op !== null && value !== null)
          matchers.set(
            `${expr.slice(label.from, label.to)}${expr.slice(op.from, op.to)}`,
            unquote(expr.slice(value.from, value.to)),
          )
      }
      out.push({ name: ident === null ? undefined : expr.slice(ident.from, ident.to), matchers })
      return false
    },
  })
  return out
}

t.test("the PrometheusRule: rollguard's rule loader accepts it, and every alert is complete", async t => {
  const file = parseRuleFile('prometheusrule.yaml', stringify({ groups: prometheusRule.spec.groups }))
  t.same(
    file.errors,
    [],
    'valid Prometheus rule groups (PromQL parsed with the Prometheus grammar, templates compiled)',
  )
  t.same(file.warnings, [])
  t.equal(new Set(alerts.map(a => a.alert)).size, alerts.length, 'alert names are unique')
  // The job Prometheus gives rollguard's targets: the ServiceMonitor sets no jobLabel, so it is the Service's name.
  const sm = find(monitoring, 'ServiceMonitor') as K8sObject & { spec: { jobLabel?: string } }
  t.equal(sm.spec.jobLabel, undefined)
  const job = find(monitoring, 'Service').metadata.name
  for (const a of alerts) {
    t.match(a.alert, /^Rollguard[A-Z]\w+$/, `${a.alert}: named after rollguard`)
    t.same(checkPromQL(a.expr), { ok: true }, `${a.alert}: the expression parses`)
    t.ok(['critical', 'warning'].includes(a.labels?.severity ?? ''), `${a.alert}: severity critical or warning`)
    t.ok(
      (a.annotations?.summary ?? '') !== '' && (a.annotations?.description ?? '').length > 40,
      `${a.alert}: summary and description`,
    )
    const sel = selectors(a.expr)
    t.ok(sel.length > 0, `${a.alert}: selects series`)
    for (const s of sel) t.equal(s.matchers.get('job='), job, `${a.alert}: ${s.name} is narrowed to job="${job}"`)
  }
})

t.test('every alert of the PrometheusRule has a promtool unit test in which it fires', async t => {
  const tests = parse(readFileSync(join(import.meta.dirname, 'fixtures', 'prometheusrule.promtool.yml'), 'utf8')) as {
    tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>
  }
  const tested = new Set(
    tests.tests.flatMap(x => x.alert_rule_test.filter(a => a.exp_alerts.length > 0).map(a => a.alertname)),
  )
  t.same(
    alerts.map(a => a.alert).filter(a => !tested.has(a)),
    [],
  )
})

const noPromtool =
  spawnSync('promtool', ['--version']).error !== undefined &&
  'promtool is not installed (scripts/install-system-deps.sh installs it)'

t.test(
  'the PrometheusRule in Prometheus: promtool check rules and promtool test rules',
  { skip: noPromtool },
  async t => {
    const dir = t.testdir({})
    writeFileSync(join(dir, 'rollguard-alerts-full.yml'), stringify({ groups: prometheusRule.spec.groups }))
    t.match(
      execFileSync('promtool', ['check', 'rules', join(dir, 'rollguard-alerts-full.yml')], { encoding: 'utf8' }),
      `SUCCESS: ${alerts.length} rules found`,
    )
    // Without annotations: promtool compares them exactly, and their templates are checked above.
    const bare = prometheusRule.spec.groups.map(g => ({ ...g, rules: g.rules.map(({ annotations: _, ...r }) => r) }))
    writeFileSync(join(dir, 'rollguard-alerts.yml'), stringify({ groups: bare }))
    cpSync(
      join(import.meta.dirname, 'fixtures', 'prometheusrule.promtool.yml'),
      join(dir, 'prometheusrule.promtool.yml'),
    )
    const r = spawnSync('promtool', ['test', 'rules', 'prometheusrule.promtool.yml'], { cwd: dir, encoding: 'utf8' })
    t.equal(r.status, 0, `promtool test rules:\n${r.stdout}${r.stderr}`)
    t.match(r.stdout, /SUCCESS/)
  },
)
