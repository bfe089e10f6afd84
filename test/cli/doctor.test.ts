// rollguard doctor against a real Prometheus scraping the sample service, a real Alertmanager and the fake
// Kubernetes API server: the healthy setup passes, and each broken piece is named with what to do.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../src/demo/processes.js'
import {
  doctor,
  doctorJson,
  failures,
  kube,
  NAMESPACED_RBAC,
  rbacDoc,
  rulesFile,
  stack,
  writeConfig,
} from './fixtures/doctor.js'

const SHIPPED_RULES = fileURLToPath(new URL('../../rules/rollback-triggers.yml', import.meta.url))
const s = await stack(t)

/** healthyConfig: probes for the shipped HealthCheckFailing rule, actions for shop, the Lease in rollguard-system. */
function healthyConfig(kubeconfig: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    probes: [
      { name: 'checkout-healthz', url: `${s.svc.url}/healthz`, labels: { namespace: 'shop', deployment: 'checkout' } },
    ],
    actions: { mode: 'dry-run', allow: [{ namespace: 'shop' }] },
    kubernetes: { kubeconfig, lease: { namespace: 'rollguard-system' } },
    ...extra,
  }
}

t.test(
  'the shipped rules against a healthy setup: exit 0, versions printed, target labels and permissions checked',
  async t => {
    // A cluster with Argo CD or Flux: the GitOps component's RBAC too.
    const { kubeconfig } = await kube(
      t,
      `${rbacDoc(NAMESPACED_RBAC)}---\n${readFileSync(new URL('../../deploy/components/gitops/gitops-rbac.yaml', import.meta.url), 'utf8')}`,
    )
    const config = writeConfig(t, healthyConfig(kubeconfig))
    const r = await doctor(['--config', config, '--rules', SHIPPED_RULES, '--alertmanager-url', s.am.url], {
      ROLLGUARD_PROMETHEUS_URL: s.prom.url,
    })
    t.equal(r.code, 0, r.out)
    t.same(failures(r.out), [])
    t.match(
      r.out,
      new RegExp(`\\[ ok \\] prometheus: Prometheus at ${s.prom.url} answers queries \\(version 2\\.[^)]+\\)`),
    )
    t.match(
      r.out,
      new RegExp(
        `\\[ ok \\] alertmanager: Alertmanager at ${s.am.url} answers \\(version \\d+\\.\\d+\\.\\d+, cluster disabled\\)`,
      ),
    )
    t.match(r.out, /\[ ok \] probe: probe "checkout-healthz": http:\/\/127\.0\.0\.1:\d+\/healthz answered 200/)
    for (const rule of ['HighErrorRate', 'HighLatency', 'HighMemory', 'HealthCheckFailing']) {
      t.match(
        r.out,
        new RegExp(
          `\\[ ok \\] rule-targets: rule "${rule}" \\(.*rollback-triggers\\.yml\\): its alerts name the workload to roll back \\(1 series, e\\.g\\. Deployment shop/checkout\\)`,
        ),
        rule,
      )
    }
    t.match(r.out, /\[ ok \] rule-series: rule "HighErrorRate" .*: all 2 selectors return series/, 'distinct selectors')
    t.match(
      r.out,
      /\[ ok \] rule-series: rule "HealthCheckFailing" .*: evaluated in-process; its selectors match configured probes/,
    )
    t.match(
      r.out,
      /\[ ok \] kubeconfig: credentials from .*kubeconfig\.json: context "fake", API server http:\/\/127\.0\.0\.1:\d+/,
    )
    t.match(
      r.out,
      /\[ ok \] kubernetes-api: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ answers \(v1\.33\.1-fake\)/,
    )
    t.match(r.out, /\[ ok \] kubernetes-permissions: namespace "shop": all 9 permissions rollbacks need are granted/)
    t.match(
      r.out,
      /\[ ok \] kubernetes-permissions: leader election \(Lease rollguard-system\/rollguard\): get, create and update are granted/,
    )
    t.match(r.out, /\n17 checks: 17 ok, 0 warnings, 0 failed\. Everything rollguard needs is in place\.\n$/)
    t.match(
      r.out,
      /\[ ok \] gitops-permissions: GitOps owners \(Argo CD Applications in "argocd", Flux Kustomizations and HelmReleases\): get applications.argoproj.io, get kustomizations.kustomize.toolkit.fluxcd.io, get helmreleases.helm.toolkit.fluxcd.io granted/,
    )
  },
)

t.test(
  'rules: a metric that does not exist and a label no series has fail; series that may appear later warn',
  async t => {
    const rules = rulesFile(t, [
      { alert: 'Typo', expr: 'sum(rate(http_requests_totl[1m])) > 0' },
      { alert: 'LabelTypo', expr: 'sum(rate(http_requests_total{cod="500"}[1m])) > 0' },
      { alert: 'RareCode', expr: 'sum(rate(http_requests_total{code="599"}[1m])) > 0' },
      { alert: 'Absent', expr: 'absent(up{job="nothing-scrapes-this"})' },
      {
        alert: 'Rejected',
        expr: 'sum(rate(http_requests_total[1m])) / on (nope) group_left sum by (code) (rate(http_requests_total[1m])) > 0',
      },
    ])
    const r = await doctor(['--prometheus-url', s.prom.url, '--rules', rules, '--alertmanager-url', s.am.url])
    t.equal(r.code, 1, r.out)
    t.match(failures(r.out), [
      /^\[FAIL\] rule-series: rule "Typo" \(\S+rules\.yml\): no series for http_requests_totl, neither now nor in the last 1m: Prometheus has no metric http_requests_totl; the rule can never fire$/,
      /^\[FAIL\] rule-series: rule "LabelTypo" .*: no series for http_requests_total\{cod="500"\}, neither now nor in the last 1m: no series of http_requests_total has the label cod, so cod="500" never matches; the rule can never fire$/,
      /^\[FAIL\] rule-query: rule "Rejected" .*: Prometheus rejects its expression: .*/,
    ])
    t.match(
      r.out,
      /\[FAIL\] rule-series: rule "Typo" .*\n +fix: check that Prometheus scrapes http_requests_totl \(its \/targets page\), or correct the metric name\n/,
    )
    t.match(
      r.out,
      /\[warn\] rule-series: rule "RareCode" .*: no series for http_requests_total\{code="599"\}, neither now nor in the last 1m: http_requests_total has series, but none match\n +fix: nothing to do if they appear only when something goes wrong/,
    )
    t.match(r.out, /\[ ok \] rule-series: rule "Absent" .*: reads no series/, 'absent() wants no series')
    t.notMatch(r.out, /rule-targets/, 'no actions: no trigger checks')
  },
)

/** byDeployment is the shipped rules' per-Deployment request rate of a selector. */
function byDeployment(selector: string): string {
  return `sum by (namespace, deployment) (label_replace(rate(${selector}[1m]), "deployment", "$1", "pod", "(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}"))`
}

t.test('a rollback trigger whose alerts name no workload fails; on() decides which labels survive', async t => {
  const { kubeconfig } = await kube(t, rbacDoc(NAMESPACED_RBAC))
  const trigger = { severity: 'critical', rollguard_trigger: 'rollback' }
  const rules = rulesFile(t, [
    { alert: 'ByNamespace', expr: 'sum by (namespace) (rate(http_requests_total[1m])) > 1000', labels: trigger },
    {
      alert: 'OnDropsPod',
      expr: 'rate(http_requests_total{code="599"}[1m]) / on (namespace) group_left sum by (namespace) (rate(http_requests_total[1m])) > 0.5',
      labels: trigger,
    },
    // No 599 responses: the ratio is empty, so its right side shows the labels, as on (namespace) leaves them.
    {
      alert: 'OnKeepsNamespace',
      expr: `${byDeployment('http_requests_total{code="599"}')} / on (namespace) ${byDeployment('http_requests_total')} > 0.5`,
      labels: trigger,
    },
    {
      alert: 'StaticLabel',
      expr: 'sum by (namespace) (rate(http_requests_total[1m])) > 1000',
      labels: { ...trigger, deployment: 'checkout' },
    },
    { alert: 'NotATrigger', expr: 'sum(rate(http_requests_total[1m])) > 1000' },
  ])
  const config = writeConfig(t, healthyConfig(kubeconfig, { probes: [] }))
  const r = await doctor([
    '--config',
    config,
    '--prometheus-url',
    s.prom.url,
    '--rules',
    rules,
    '--alertmanager-url',
    s.am.url,
  ])
  t.equal(r.code, 1, r.out)
  t.match(failures(r.out), [
    /^\[FAIL\] rule-targets: rule "ByNamespace" .*: a rollback trigger, but its alerts would name no workload to roll back: the alert names no workload: it needs a "namespace" label and one of "deployment", "statefulset", "daemonset" \(e\.g\. \{namespace="shop", rollguard_trigger="rollback", severity="critical"\}\)$/,
    /^\[FAIL\] rule-targets: rule "OnKeepsNamespace" .*: a rollback trigger, but its alerts would name no workload to roll back: .* \(e\.g\. \{namespace="shop", rollguard_trigger="rollback", severity="critical"\}\)$/,
  ])
  t.match(
    r.out,
    /\[ ok \] rule-targets: rule "StaticLabel" .*: its alerts name the workload to roll back \(1 series, e\.g\. Deployment shop\/checkout\)/,
    'a rule label names it',
  )
  t.match(
    r.out,
    /\[warn\] rule-targets: rule "OnDropsPod" .*: a rollback trigger, but its expression without the threshold returns no series now/,
    'group_left: no operand shows the labels',
  )
  t.notMatch(r.out, /rule-targets: rule "NotATrigger"/)
})

t.test('missing RBAC: each missing permission named with its namespace; globs are checked cluster-wide', async t => {
  const restricted = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: rollguard, namespace: shop }
rules:
  - apiGroups: [apps]
    resources: [deployments, statefulsets, daemonsets]
    verbs: [get]
  - apiGroups: [apps]
    resources: [replicasets, controllerrevisions]
    verbs: [list]
`
  const { fake, kubeconfig } = await kube(t, restricted)
  const config = writeConfig(
    t,
    healthyConfig(kubeconfig, { actions: { allow: [{ namespace: 'shop' }, { namespace: 'team-*' }] } }),
  )
  const r = await doctor([
    '--config',
    config,
    '--prometheus-url',
    s.prom.url,
    '--rules',
    SHIPPED_RULES,
    '--alertmanager-url',
    s.am.url,
  ])
  t.equal(r.code, 1, r.out)
  t.same(failures(r.out), [
    '[FAIL] kubernetes-permissions: namespace "shop": missing patch deployments.apps, patch statefulsets.apps, patch daemonsets.apps, create events.events.k8s.io',
    '[FAIL] kubernetes-permissions: leader election (Lease rollguard-system/rollguard): missing get leases.coordination.k8s.io/rollguard, create leases.coordination.k8s.io, update leases.coordination.k8s.io/rollguard in namespace "rollguard-system"',
  ])
  t.match(
    r.out,
    /\n +fix: grant them with the per-namespace Role of docs\/rbac\.md \(a dry-run rollback needs patch too\); check with kubectl auth can-i patch deployments\.apps -n shop --as <rollguard's user>\n/,
  )
  t.match(
    r.out,
    /\[warn\] kubernetes-permissions: all namespaces \(checked cluster-wide for namespace "team-\*" in actions\.allow\): not granted cluster-wide: get deployments\.apps, patch deployments\.apps/,
  )
  const reviews = fake.log.filter(e => e.resource === 'selfsubjectaccessreviews')
  t.match(
    r.out,
    /\[warn\] gitops-permissions: .*missing get applications.argoproj.io, get kustomizations.kustomize.toolkit.fluxcd.io, get helmreleases.helm.toolkit.fluxcd.io: workloads they apply will be refused/,
  )
  t.equal(reviews.length, 9 + 9 + 3 + 3, 'one review per permission and place (GitOps owners: 3)')
  t.same(
    fake.log.filter(e => e.method !== 'GET' && e.resource !== 'selfsubjectaccessreviews'),
    [],
    'doctor changes nothing in the cluster',
  )
})

t.test(
  "--sharding without actions: kubeconfig, API and the member Leases' permissions, nothing of actions",
  async t => {
    const shardingRbac = readFileSync(
      new URL('../../deploy/components/sharding/sharding-rbac.yaml', import.meta.url),
      'utf8',
    )
    const args = (kubeconfig: string) => [
      '--config',
      writeConfig(t, { kubernetes: { kubeconfig } }),
      '--sharding',
      '--prometheus-url',
      s.prom.url,
      '--alertmanager-url',
      s.am.url,
    ]
    const granted = await kube(t, shardingRbac)
    const r = await doctor(args(granted.kubeconfig))
    t.equal(r.code, 0, r.out)
    t.match(r.out, /\[ ok \] kubeconfig: credentials from .*kubeconfig\.json: context "fake"/)
    t.match(r.out, /\[ ok \] kubernetes-api: the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ answers/)
    t.match(
      r.out,
      /\[ ok \] sharding-permissions: sharding \(member Leases rollguard-member-\* in namespace "rollguard-system"\): create, get, update and list on leases\.coordination\.k8s\.io are granted\n/,
    )
    t.notMatch(r.out, /kubernetes-permissions|gitops-permissions|rule-targets/, 'no actions: none of their checks')

    // The Role without list: the replica could hold its Lease but never see the others.
    const denied = await kube(
      t,
      shardingRbac.replace('verbs: ["create", "get", "update", "list"]', 'verbs: ["create", "get", "update"]'),
    )
    const d = await doctor(args(denied.kubeconfig))
    t.equal(d.code, 1, d.out)
    t.same(failures(d.out), [
      '[FAIL] sharding-permissions: sharding (member Leases rollguard-member-* in namespace "rollguard-system"): missing list leases.coordination.k8s.io',
    ])
    t.match(
      d.out,
      /\n +fix: .*grant them with the Role of deploy\/components\/sharding \(docs\/rbac\.md, "Sharding"\); check with kubectl auth can-i list leases\.coordination\.k8s\.io -n rollguard-system --as <rollguard's user>\n/,
    )
    t.same(
      denied.fake.log.filter(e => e.method !== 'GET' && e.resource !== 'selfsubjectaccessreviews'),
      [],
      'doctor changes nothing in the cluster',
    )
  },
)

t.test('a probe rule without probes fails', async t => {
  const rules = rulesFile(t, [{ alert: 'HealthCheckFailing', expr: 'rollguard_probe_success == 0', for: '5m' }])
  const r = await doctor(['--prometheus-url', s.prom.url, '--rules', rules, '--alertmanager-url', s.am.url])
  t.equal(r.code, 1, r.out)
  t.same(failures(r.out), [
    '[FAIL] probe-rules: rule "HealthCheckFailing" (' +
      rules +
      ") watches rollguard's own health probes (rollguard_probe_success) but none are configured in `probes:`",
  ])
  t.match(
    r.out,
    /\n +fix: add the health endpoints to probes: in the config file \(README, Configuration\), or remove the rule\n/,
  )
})

t.test('unreachable Prometheus and Alertmanager: one clear line each, no rule checks without Prometheus', async t => {
  const closed = await freePort()
  const r = await doctor([
    '--prometheus-url',
    `http://127.0.0.1:${closed}`,
    '--alertmanager-url',
    `http://127.0.0.1:${closed}`,
    '--rules',
    SHIPPED_RULES,
  ])
  t.equal(r.code, 1, r.out)
  t.same(failures(r.out), [
    `[FAIL] prometheus: Prometheus at http://127.0.0.1:${closed} is unreachable: connect ECONNREFUSED 127.0.0.1:${closed}`,
    `[FAIL] probe-rules: rule "HealthCheckFailing" (rules/rollback-triggers.yml) watches rollguard's own health probes (rollguard_probe_success) but none are configured in \`probes:\``,
    `[FAIL] alertmanager: Alertmanager at http://127.0.0.1:${closed} is unreachable: connect ECONNREFUSED 127.0.0.1:${closed}`,
  ])
  t.notMatch(r.out, /rule-series: rule "HighErrorRate"/, 'nothing asked of a Prometheus that does not answer')
  t.match(r.out, /fix: check prometheus\.url \(--prometheus-url, ROLLGUARD_PROMETHEUS_URL\) and that Prometheus runs/)
})

t.test(
  '--output json: the overall status and every check with name, status, message and (when not ok) hint',
  async t => {
    const closed = await freePort()
    const { code, report } = await doctorJson([
      '--prometheus-url',
      s.prom.url,
      '--alertmanager-url',
      `http://127.0.0.1:${closed}`,
    ])
    t.equal(code, 1)
    t.equal(report.status, 'fail')
    t.match(report.checks, [
      { name: 'config', status: 'ok', message: /^configuration from flags and environment: 0 rule file/ },
      {
        name: 'rule-files',
        status: 'warn',
        message: 'no rule files configured: nothing will be evaluated',
        hint: String,
      },
      { name: 'prometheus', status: 'ok', message: String },
      { name: 'alertmanager', status: 'fail', message: /is unreachable/, hint: String },
    ])
    t.equal(report.checks.length, 4)
    for (const c of report.checks) {
      t.same(Object.keys(c), c.status === 'ok' ? ['name', 'status', 'message'] : ['name', 'status', 'message', 'hint'])
    }
    const healthy = await doctorJson([
      '--prometheus-url',
      s.prom.url,
      '--alertmanager-url',
      s.am.url,
      '--rules',
      rulesFile(t, [{ alert: 'A', expr: 'up == 0' }]),
    ])
    t.equal(healthy.code, 0)
    t.equal(healthy.report.status, 'ok')
  },
)

t.test('usage: --help, bad --output, unknown flags, stray arguments; bad configuration is a failed check', async t => {
  const help = await doctor(['--help'])
  t.equal(help.code, 0)
  t.match(help.out, /^Usage: rollguard doctor \[-o text\|json\] \[flags of rollguard run\]\n/)
  t.match(
    help.out,
    /Exit status: 0 no check failed \(warnings allowed\); 1 a check failed \(an invalid or unreadable configuration or\nrule file is a failed check\); 2 usage error \(unknown flag, missing value\)\.\n$/,
  )
  for (const args of [['--output', 'yaml'], ['--nope'], ['stray'], ['-o']]) {
    const r = await doctor(args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.err, /^rollguard doctor: .*\nTry 'rollguard doctor --help'\.\n$/)
  }
  const bad = await doctor(['--eval-interval', '5x'])
  t.equal(bad.code, 1)
  t.same(failures(bad.out), [
    '[FAIL] config: prometheus.url (--prometheus-url, ROLLGUARD_PROMETHEUS_URL): is required',
    '[FAIL] config: --eval-interval: unknown unit "x" in duration "5x"',
  ])
})
