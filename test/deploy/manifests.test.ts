/**
 * The rendered manifests of every overlay: valid against the Kubernetes API schemas (kubernetes-models,
 * @kubernetes-models/prometheus-operator) with no unknown fields, consistent with each other (labels,
 * selectors, ports, names, namespaces), and hardened (Pod Security "restricted", resources, probes, replicas,
 * disruption budget). The examples in deploy/examples are checked too.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import type {
  IEndpoint,
  IPrometheusRuleSpec,
  IRule,
  IRuleGroup,
  IServiceMonitorSpec,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1'
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { DEPLOY, find, OVERLAYS, pod, render, ROOT, unknownFields, type K8sObject } from './fixtures/manifests.js'

type Validatable = { validate(): void }
const MODELS: Record<string, (o: K8sObject) => Validatable> = {
  'v1/Namespace': o => new Namespace(o as never),
  'v1/ServiceAccount': o => new ServiceAccount(o as never),
  'v1/ConfigMap': o => new ConfigMap(o as never),
  'v1/Secret': o => new Secret(o as never),
  'v1/Service': o => new Service(o as never),
  'apps/v1/Deployment': o => new Deployment(o as never),
  'policy/v1/PodDisruptionBudget': o => new PodDisruptionBudget(o as never),
  'rbac.authorization.k8s.io/v1/Role': o => new Role(o as never),
  'rbac.authorization.k8s.io/v1/RoleBinding': o => new RoleBinding(o as never),
  'rbac.authorization.k8s.io/v1/ClusterRole': o => new ClusterRole(o as never),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': o => new ClusterRoleBinding(o as never),
  'monitoring.coreos.com/v1/ServiceMonitor': o => new ServiceMonitor(o as never),
  'monitoring.coreos.com/v1/PrometheusRule': o => new PrometheusRule(o as never),
}
const CRDS = new Set(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'])
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding'])
const NAMESPACE = 'rollguard-system'
const LABELS = {
  'app.kubernetes.io/name': 'rollguard',
  'app.kubernetes.io/instance': 'rollguard',
  'app.kubernetes.io/part-of': 'rollguard',
}
const SELECTOR = { 'app.kubernetes.io/name': 'rollguard', 'app.kubernetes.io/instance': 'rollguard' }
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

// The prometheus-operator fields the manifests may use; `satisfies` makes tsc check each one exists in the CRD's
// type, and the test below fails on any other key (the schemas accept unknown fields, the API server drops them).
const SERVICE_MONITOR_SPEC = ['selector', 'endpoints'] as const satisfies ReadonlyArray<keyof IServiceMonitorSpec>
const ENDPOINT = ['port', 'path', 'interval', 'honorLabels'] as const satisfies ReadonlyArray<keyof IEndpoint>
const PROMETHEUS_RULE_SPEC = ['groups'] as const satisfies ReadonlyArray<keyof IPrometheusRuleSpec>
const RULE_GROUP = ['name', 'rules'] as const satisfies ReadonlyArray<keyof IRuleGroup>
const RULE = ['alert', 'expr', 'for', 'labels', 'annotations'] as const satisfies ReadonlyArray<keyof IRule>

const rendered = new Map(OVERLAYS.map(o => [o, render(o)]))
const gvk = (o: K8sObject): string => `${o.apiVersion}/${o.kind}`
const subset = (small: Record<string, string> | undefined, big: Record<string, string> | undefined): boolean =>
  Object.entries(small ?? {}).every(([k, v]) => big?.[k] === v)

/** quantity parses the Kubernetes quantities the manifests use (m, Ki/Mi/Gi) into base units. */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(q)
  if (m === null) throw new Error(`unsupported quantity ${q}`)
  const scale: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }
  return Number(m[1]) * (m[2] === undefined ? 1 : (scale[m[2]] as number))
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap(f => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : []
  })
}

const exampleSecret = parse(readFileSync(join(DEPLOY, 'examples', 'credentials-secret.yaml'), 'utf8')) as K8sObject

t.test('every object validates against its Kubernetes schema and has no unknown fields', async t => {
  for (const [overlay, objs] of rendered) {
    for (const o of [...objs, exampleSecret]) {
      const name = `${overlay}: ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`
      const model = MODELS[gvk(o)]
      if (model === undefined) {
        t.fail(`${name}: no schema for ${gvk(o)}`)
        continue
      }
      t.doesNotThrow(() => model(o).validate(), `${name} is valid`)
      if (!CRDS.has(gvk(o))) t.same(unknownFields(o), [], `${name}: no unknown fields`)
    }
  }
  // The validators are live: a wrong type and a typo are caught.
  const objs = rendered.get('overlays/namespaced') ?? []
  const broken = structuredClone(find(objs, 'Deployment'))
  ;(broken.spec as { replicas: unknown }).replicas = '2'
  t.throws(() => new Deployment(broken as never).validate(), /replicas/)
  const typo = structuredClone(find(objs, 'Deployment'))
  const c = (typo.spec as any).template.spec.containers[0]
  c.securityContext.readOnlyRootFileSystem = c.securityContext.readOnlyRootFilesystem
  delete c.securityContext.readOnlyRootFilesystem
  t.same(unknownFields(typo), ['Deployment.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem'])
})

t.test('ServiceMonitor and PrometheusRule use only fields of their CRDs', async t => {
  const objs = rendered.get('overlays/prometheus-operator') ?? []
  const keys = (o: unknown): string[] => Object.keys(o as object)
  const sm = find(objs, 'ServiceMonitor') as K8sObject & { spec: { endpoints: object[] } }
  t.same(keys(sm).sort(), ['apiVersion', 'kind', 'metadata', 'spec'])
  t.same(
    keys(sm.spec).filter(k => !(SERVICE_MONITOR_SPEC as readonly string[]).includes(k)),
    [],
    'ServiceMonitor spec',
  )
  for (const e of sm.spec.endpoints)
    t.same(
      keys(e).filter(k => !(ENDPOINT as readonly string[]).includes(k)),
      [],
      'endpoint',
    )
  const pr = find(objs, 'PrometheusRule') as K8sObject & { spec: { groups: Array<{ rules: object[] }> } }
  t.same(keys(pr).sort(), ['apiVersion', 'kind', 'metadata', 'spec'])
  t.same(
    keys(pr.spec).filter(k => !(PROMETHEUS_RULE_SPEC as readonly string[]).includes(k)),
    [],
    'PrometheusRule spec',
  )
  for (const g of pr.spec.groups) {
    t.same(
      keys(g).filter(k => !(RULE_GROUP as readonly string[]).includes(k)),
      [],
      'rule group',
    )
    for (const r of g.rules)
      t.same(
        keys(r).filter(k => !(RULE as readonly string[]).includes(k)),
        [],
        'rule',
      )
  }
})

t.test('the overlays: what each one installs', async t => {
  const ids = (overlay: string): string[] =>
    render(overlay)
      .map(
        o =>
          `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name.replace(/-[2456789bcdfghkmt]{10}$/, '-<hash>')}`,
      )
      .sort()
  const base = [
    'ConfigMap/rollguard-system/rollguard-config-<hash>',
    'ConfigMap/rollguard-system/rollguard-rules-<hash>',
    'Deployment/rollguard-system/rollguard',
    'Namespace//rollguard-system',
    'PodDisruptionBudget/rollguard-system/rollguard',
    'Role/rollguard-system/rollguard-leader-election',
    'RoleBinding/rollguard-system/rollguard-leader-election',
    'Service/rollguard-system/rollguard',
    'ServiceAccount/rollguard-system/rollguard',
  ]
  t.same(ids('base'), base)
  t.same(ids('overlays/namespaced'), [...base, 'Role/shop/rollguard', 'RoleBinding/shop/rollguard'].sort())
  t.same(ids('overlays/cluster-wide'), [...base, 'ClusterRole//rollguard', 'ClusterRoleBinding//rollguard'].sort())
  t.same(
    ids('overlays/prometheus-operator'),
    [
      ...ids('overlays/namespaced'),
      'ConfigMap/rollguard-system/rollguard-dashboards',
      'PrometheusRule/rollguard-system/rollguard',
      'ServiceMonitor/rollguard-system/rollguard',
    ].sort(),
  )
})

t.test('labels, namespaces and selectors agree', async t => {
  for (const [overlay, objs] of rendered) {
    for (const o of objs) {
      const name = `${overlay}: ${o.kind} ${o.metadata.name}`
      t.ok(subset(LABELS, o.metadata.labels), `${name} has the app.kubernetes.io labels`)
      if (CLUSTER_SCOPED.has(o.kind)) t.equal(o.metadata.namespace, undefined, `${name} is cluster-scoped`)
      else t.ok(o.metadata.namespace !== undefined, `${name} names its namespace`)
      // Only the per-namespace workload Role(Binding)s live outside rollguard's namespace.
      if (o.metadata.namespace !== undefined && o.metadata.namespace !== NAMESPACE)
        t.ok(
          ['Role', 'RoleBinding'].includes(o.kind) && o.metadata.name === 'rollguard',
          `${name} in ${o.metadata.namespace}`,
        )
    }
    const { deployment } = pod(objs)
    const spec = deployment.spec as {
      selector: { matchLabels: Record<string, string> }
      template: { metadata: { labels: Record<string, string> }; spec: any }
    }
    const podLabels = spec.template.metadata.labels
    t.same(
      spec.selector.matchLabels,
      SELECTOR,
      `${overlay}: the Deployment selects by name and instance (immutable, so nothing that changes)`,
    )
    t.ok(
      subset(LABELS, podLabels) && subset(spec.selector.matchLabels, podLabels),
      `${overlay}: the pods carry the labels and match the selector`,
    )
    const svc = find(objs, 'Service', 'rollguard') as K8sObject & { spec: { selector: Record<string, string> } }
    t.same(svc.spec.selector, SELECTOR, `${overlay}: the Service selects the pods`)
    const pdb = find(objs, 'PodDisruptionBudget', 'rollguard') as K8sObject & {
      spec: { selector: { matchLabels: Record<string, string> } }
    }
    t.same(pdb.spec.selector.matchLabels, SELECTOR, `${overlay}: the PDB selects the pods`)
    const anti =
      spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
    t.same(anti.labelSelector.matchLabels, SELECTOR, `${overlay}: anti-affinity is against its own pods`)
    t.equal(anti.topologyKey, 'kubernetes.io/hostname')
    for (const c of spec.template.spec.topologySpreadConstraints)
      t.same(c.labelSelector.matchLabels, SELECTOR, `${overlay}: spread over its own pods`)
    t.equal(
      spec.template.spec.serviceAccountName,
      find(objs, 'ServiceAccount').metadata.name,
      `${overlay}: runs as the ServiceAccount`,
    )
  }
})

t.test('the pod meets Pod Security "restricted" and is hardened beyond it', async t => {
  for (const [overlay, objs] of rendered) {
    const { spec, container } = pod(objs)
    const podSc = spec.securityContext as Record<string, any>
    const sc = container.securityContext as Record<string, any>
    t.equal(podSc.runAsNonRoot, true, `${overlay}: pod runAsNonRoot`)
    t.equal(podSc.runAsUser, 65532, `${overlay}: runAsUser matches the image's USER`)
    t.equal(podSc.runAsGroup, 65532)
    t.same(podSc.seccompProfile, { type: 'RuntimeDefault' }, `${overlay}: pod seccomp RuntimeDefault`)
    t.equal(sc.allowPrivilegeEscalation, false, `${overlay}: no privilege escalation`)
    t.equal(sc.readOnlyRootFilesystem, true, `${overlay}: read-only root file system`)
    t.equal(sc.runAsNonRoot, true)
    t.same(sc.capabilities, { drop: ['ALL'] }, `${overlay}: all capabilities dropped, none added`)
    t.same(sc.seccompProfile, { type: 'RuntimeDefault' })
    t.notOk(sc.privileged, 'not privileged')
    const s = spec as unknown as Record<string, unknown>
    for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) t.notOk(s[host], `${overlay}: no ${host}`)
    t.same(
      (spec.volumes ?? []).filter(v => !('configMap' in v || 'secret' in v || 'emptyDir' in v)),
      [],
      `${overlay}: only ConfigMap, Secret and emptyDir volumes`,
    )
    t.equal(
      spec.automountServiceAccountToken,
      true,
      `${overlay}: the token is mounted (the rollback executor and the Lease need it)`,
    )
    for (const m of container.volumeMounts ?? [])
      t.equal(m.readOnly, true, `${overlay}: ${m.mountPath} is mounted read-only`)
    const ns = find(objs, 'Namespace', NAMESPACE)
    t.equal(
      ns.metadata.labels?.['pod-security.kubernetes.io/enforce'],
      'restricted',
      `${overlay}: the namespace enforces restricted`,
    )
  }
})

t.test('resources, probes, ports, replicas, rollout and disruption budget', async t => {
  for (const [overlay, objs] of rendered) {
    const { deployment, container } = pod(objs)
    const spec = deployment.spec as {
      replicas: number
      strategy: { rollingUpdate: { maxUnavailable: number; maxSurge: number } }
    }
    const r = container.resources ?? {}
    for (const k of ['cpu', 'memory']) t.ok(r.requests?.[k] !== undefined, `${overlay}: requests.${k}`)
    t.ok(r.limits?.memory !== undefined, `${overlay}: a memory limit`)
    t.ok(
      quantity(r.requests?.memory ?? '0') <= quantity(r.limits?.memory ?? '0'),
      `${overlay}: memory request <= limit`,
    )
    t.ok(
      quantity(r.requests?.memory ?? '0') >= 96 * 2 ** 20,
      `${overlay}: the memory request covers the ~100 MiB rollguard uses`,
    )
    const web = container.ports?.find(p => p.name === 'web')
    t.equal(web?.containerPort, 9099, `${overlay}: container port web = 9099 (web.listen_address default)`)
    t.match(
      container.livenessProbe,
      { httpGet: { path: '/-/healthy', port: 'web' } },
      `${overlay}: liveness on /-/healthy`,
    )
    t.match(
      container.readinessProbe,
      { httpGet: { path: '/-/ready', port: 'web' } },
      `${overlay}: readiness on /-/ready`,
    )
    const liveFor = (container.livenessProbe?.periodSeconds ?? 10) * (container.livenessProbe?.failureThreshold ?? 3)
    t.ok(liveFor >= 30, `${overlay}: liveness tolerates a busy event loop for ${liveFor}s before a restart`)
    t.equal(spec.replicas, 2, `${overlay}: two replicas (leader election decides which acts)`)
    t.same(
      spec.strategy.rollingUpdate,
      { maxSurge: 1, maxUnavailable: 0 },
      `${overlay}: a new replica is ready before an old one stops`,
    )
    const pdb = find(objs, 'PodDisruptionBudget') as K8sObject & { spec: { minAvailable: number } }
    t.equal(pdb.spec.minAvailable, 1, `${overlay}: PDB minAvailable 1`)
    t.ok(pdb.spec.minAvailable < spec.replicas, `${overlay}: the PDB never blocks a drain for good`)
    t.equal(
      container.image,
      `rollguard:${VERSION}`,
      `${overlay}: the image tag is the package version (${VERSION}), never latest`,
    )
    const svc = find(objs, 'Service') as K8sObject & {
      spec: { ports: Array<{ name: string; port: number; targetPort: string }> }
    }
    t.same(
      svc.spec.ports.map(p => [p.name, p.port, p.targetPort]),
      [['web', 9099, 'web']],
      `${overlay}: Service port web → container port web`,
    )
  }
})

t.test(
  'credentials: only from the optional Secret the user creates, never in a ConfigMap or the kustomizations',
  async t => {
    for (const [overlay, objs] of rendered) {
      const { spec } = pod(objs)
      t.same(
        objs.filter(o => o.kind === 'Secret'),
        [],
        `${overlay}: renders no Secret`,
      )
      const secretVolumes = (spec.volumes ?? []).filter(v => v.secret !== undefined)
      t.same(
        secretVolumes.map(v => [v.secret?.secretName, v.secret?.optional, v.secret?.defaultMode]),
        [['rollguard-credentials', true, 0o440]],
        `${overlay}: one optional Secret volume, mode 0440`,
      )
      t.equal(
        (spec.securityContext as { fsGroup?: number }).fsGroup,
        65532,
        `${overlay}: fsGroup makes the 0440 files readable to rollguard`,
      )
      for (const cm of objs.filter(o => o.kind === 'ConfigMap')) {
        for (const key of Object.keys(cm.data as object))
          t.notMatch(key, /token|password|secret|credential/i, `${overlay}: ConfigMap ${cm.metadata.name} key ${key}`)
      }
    }
    t.equal(exampleSecret.metadata.name, 'rollguard-credentials', 'the example Secret is the one the Deployment mounts')
    t.equal(exampleSecret.metadata.namespace, NAMESPACE)
    for (const v of Object.values(exampleSecret.stringData as Record<string, string>))
      t.match(v, /^REPLACE-WITH-/, 'the example holds placeholders only')
    // No kustomization under deploy/ pulls in the examples.
    for (const file of yamlFiles(DEPLOY).filter(f => /kustomization\.ya?ml$/.test(f))) {
      const k = parse(readFileSync(file, 'utf8')) as { resources?: string[]; components?: string[] }
      for (const r of [...(k.resources ?? []), ...(k.components ?? [])]) {
        t.notOk(
          relative(join(DEPLOY, 'examples'), resolve(file, '..', r)).match(/^[^.]/),
          `${relative(ROOT, file)}: ${r} is not an example`,
        )
      }
    }
  },
)

t.test("the dashboards ConfigMap is for Grafana's sidecar and fits client-side apply", async t => {
  const objs = rendered.get('overlays/prometheus-operator') ?? []
  const cm = find(objs, 'ConfigMap', 'rollguard-dashboards')
  t.equal(cm.metadata.labels?.grafana_dashboard, '1', 'grafana_dashboard: "1" (a string, as label values are)')
  // `kubectl apply` (client side) stores the whole object in an annotation limited to 262144 bytes.
  const size = Object.values(cm.data as Record<string, string>).reduce((n, v) => n + Buffer.byteLength(v), 0)
  t.ok(size < 200_000, `the dashboards (${size} bytes) leave room under the 256 KiB last-applied-configuration limit`)
})

t.test('YAML under deploy/ reads the same in every parser: no folded scalar with more-indented lines', async t => {
  // go-yaml (kustomize, kubectl) and the yaml package disagree on the line breaks around more-indented lines in
  // `>` scalars; a PromQL expression written that way differs between what was tested and what is applied.
  for (const file of yamlFiles(DEPLOY)) {
    const lines = readFileSync(file, 'utf8').split('\n')
    lines.forEach((line, i) => {
      const m = /^(\s*)(?:- )?[\w.-]+:\s*>[-+]?\s*$/.exec(line)
      if (m === null) return
      const body: string[] = []
      for (
        let j = i + 1;
        j < lines.length &&
        (lines[j] === '' ||
          (/^\s/.test(lines[j] as string) && (lines[j] as string).search(/\S/) > (m[1] as string).length));
        j++
      )
        body.push(lines[j] as string)
      const indents = body.filter(l => l.trim() !== '').map(l => l.search(/\S/))
      t.ok(
        indents.every(n => n === indents[0]),
        `${relative(ROOT, file)}:${i + 1}: folded scalar without more-indented lines`,
      )
    })
  }
})

t.test('deploy/examples/alertmanager-receiver.yaml routes triggers to the webhook', async t => {
  const text = readFileSync(join(DEPLOY, 'examples', 'alertmanager-receiver.yaml'), 'utf8')
  const am = parse(text) as {
    route: { routes: Array<{ receiver: string; matchers: string[]; continue?: boolean }> }
    receivers: Array<{
      name: string
      webhook_configs?: Array<{
        url: string
        send_resolved: boolean
        max_alerts: number
        http_config: { authorization: { type?: string; credentials?: string; credentials_file?: string } }
      }>
    }>
  }
  const svc = find(rendered.get('overlays/namespaced') ?? [], 'Service') as K8sObject & {
    spec: { ports: Array<{ port: number }> }
  }
  const hooks = am.receivers.flatMap(r => r.webhook_configs ?? [])
  t.equal(hooks.length, 1)
  const hook = hooks[0]
  const url = new URL(hook?.url ?? '')
  t.equal(url.hostname, `${svc.metadata.name}.${svc.metadata.namespace}.svc`, 'the Service of the manifests')
  t.equal(Number(url.port), svc.spec.ports[0]?.port)
  t.equal(url.pathname, '/api/v1/webhook/alertmanager')
  t.equal(hook?.send_resolved, true)
  t.equal(hook?.max_alerts, 0, 'no truncation')
  t.equal(hook?.http_config.authorization.credentials, undefined, 'no inline credential')
  t.match(hook?.http_config.authorization.credentials_file, /^\/etc\/alertmanager\/secrets\//)
  const route = am.route.routes.find(r => r.receiver === 'rollguard')
  t.same(route?.matchers, ['rollguard_trigger="rollback"'], 'routes what the default rules mark as triggers')
  // Where the webhook receiver exists, its default path is the one in the example.
  const webhookConfig = join(ROOT, 'src', 'webhook', 'config.ts')
  const source =
    statSync(webhookConfig, { throwIfNoEntry: false }) === undefined ? undefined : readFileSync(webhookConfig, 'utf8')
  if (source !== undefined) t.match(source, `DEFAULT_WEBHOOK_PATH = '${url.pathname}'`, "the webhook's default path")
  t.equal(parseAllDocuments(text).length, 1)
})

const noAmtool =
  spawnSync('amtool', ['--version']).error !== undefined &&
  'amtool is not installed (scripts/install-system-deps.sh installs it)'

t.test("deploy/examples/alertmanager-receiver.yaml passes Alertmanager's own check", { skip: noAmtool }, async t => {
  const out = execFileSync('amtool', ['check-config', join(DEPLOY, 'examples', 'alertmanager-receiver.yaml')], {
    encoding: 'utf8',
  })
  t.match(out, /SUCCESS/, 'amtool check-config accepts it')
})
