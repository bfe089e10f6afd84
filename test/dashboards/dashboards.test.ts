/**
 * Lints dashboards/*.json the way grafana/dashboard-linter does (template-datasource, panel-datasource,
 * template-job/instance, target-job/instance, target-promql, target-rate-interval, panel-title-description,
 * panel-units, uneditable, template-on-time-change-reload), with exclusions from dashboards/.lint, and checks
 * what the linter cannot: the JSON is the generator's output, every metric exists in rollguard's registry or in
 * the documented source metrics, and the deploy-watch thresholds match rules/rollback-triggers.yml.
 * Whether every panel returns data from a real Prometheus is test/e2e/dashboards-data.test.ts's job.
 */
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { SyntaxNode } from '@lezer/common'
import { parser } from '@prometheus-io/lezer-promql'
import t from 'tap'
import YAML from 'yaml'
import { checkPromQL, metricNames, unquote } from '../../src/rules/promql.js'
import { ProbeStore } from '../../src/sources/probe-store.js'
import { createActionMetrics } from '../../src/telemetry/action-metrics.js'
import { createEngineMetrics, createRegistry } from '../../src/telemetry/metrics.js'
import { createNotifierMetrics } from '../../src/telemetry/notifier-metrics.js'
import { createWebhookMetrics } from '../../src/telemetry/webhook-metrics.js'
import { registerProbeMetrics } from '../../src/telemetry/probe-metrics.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const DIR = join(ROOT, 'dashboards')
const SCHEMA_VERSION = 39
const DS = { type: 'prometheus', uid: '${datasource}' }

/** Series rollguard does not export, read by the default rules and Deploy watch; dashboards/README.md documents them. */
const SOURCE_METRICS = [
  'http_requests_total',
  'http_request_duration_seconds_bucket',
  'http_request_duration_seconds_count',
  'container_memory_working_set_bytes',
  'kube_pod_container_resource_limits',
  'kube_pod_owner',
  'kube_pod_container_status_restarts_total',
  'kube_pod_container_status_last_terminated_reason',
  'kube_deployment_spec_replicas',
  'kube_deployment_status_replicas_available',
  'kube_deployment_status_replicas_updated',
  'kube_deployment_status_observed_generation',
  'kube_replicaset_created',
  'kube_replicaset_owner',
  'kube_replicaset_spec_replicas',
]

// Units the dashboards may use (a subset of Grafana's valueFormats, as listed by dashboard-linter's panel-units-rule).
const UNITS = new Set([
  'none',
  'short',
  'percent',
  'percentunit',
  'bytes',
  'decbytes',
  's',
  'ms',
  'ops',
  'reqps',
  'cps',
  'dateTimeAsIso',
  'dateTimeFromNow',
  'dtdurations',
  'bool',
  'bool_yes_no',
  'bool_on_off',
])

// Sample values for Grafana's variables: durations for the range ones, label values for the dashboard's own.
const GLOBALS: Record<string, string> = { __rate_interval: '13m37s', __interval: '1m', __range: '3h' }
// cluster is its "All" value, `.*`, which also matches series without a cluster label (a single-cluster Prometheus).
const SAMPLES: Record<string, string> = {
  cluster: '.*',
  job: 'rollguard',
  instance: '10.0.0.7:9099',
  namespace: 'shop',
  deployment: 'checkout',
}
const RANGE_FUNCTIONS = new Set(['rate', 'irate', 'increase'])

// ---------------------------------------------------------------------------------------------------------
// Dashboard model (only what the checks read)

interface Datasource {
  type?: string
  uid?: string
}
interface Target {
  datasource?: Datasource
  expr?: string
  refId?: string
}
interface Panel {
  id?: number
  type: string
  title?: string
  description?: string
  datasource?: Datasource
  gridPos?: { h: number; w: number; x: number; y: number }
  targets?: Target[]
  panels?: Panel[]
  fieldConfig?: {
    defaults?: {
      unit?: string
      thresholds?: { steps: Array<{ color: string; value: number | null }> }
      custom?: { thresholdsStyle?: { mode: string } }
    }
  }
}
interface Variable {
  name: string
  type: string
  label?: string
  query?: string | { query: string }
  datasource?: Datasource
  multi?: boolean
  includeAll?: boolean
  allValue?: string
  refresh?: number
}
interface Annotation {
  datasource?: Datasource
  expr?: string
  name: string
  builtIn?: number
  textFormat?: string
  useValueForTime?: boolean
}
interface Dashboard {
  id?: number | null
  uid: string
  title: string
  tags?: string[]
  editable?: boolean
  schemaVersion: number
  description?: string
  panels: Panel[]
  templating: { list: Variable[] }
  annotations?: { list: Annotation[] }
}

/** Query is one PromQL expression of a dashboard and where it comes from. */
interface Query {
  where: string
  panel?: string
  expr: string
}

const files = readdirSync(DIR)
  .filter(f => f.endsWith('.json'))
  .sort()
const texts = new Map(files.map(f => [f, readFileSync(join(DIR, f), 'utf8')]))
const dashboards = new Map<string, Dashboard>()
for (const [f, text] of texts) {
  try {
    dashboards.set(f, JSON.parse(text) as Dashboard)
  } catch {
    // reported by the "valid JSON" test
  }
}

function leafPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap(p => (p.type === 'row' ? (p.panels ?? []) : [p]))
}

function variableQuery(v: Variable): string | undefined {
  return typeof v.query === 'string' ? v.query : v.query?.query
}

/** queries lists every PromQL expression: panel targets, annotations, and the selectors of query variables. */
function queries(d: Dashboard): Query[] {
  const out: Query[] = []
  for (const p of leafPanels(d)) {
    for (const tg of p.targets ?? [])
      if (tg.expr !== undefined)
        out.push({ where: `panel "${p.title}" target ${tg.refId}`, panel: p.title, expr: tg.expr })
  }
  for (const a of d.annotations?.list ?? [])
    if (a.expr !== undefined) out.push({ where: `annotation "${a.name}"`, expr: a.expr })
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue
    const q = variableQuery(v) ?? ''
    const lv = /^label_values\(\s*(.+?)\s*,\s*[a-zA-Z_]\w*\s*\)$/s.exec(q)
    const qr = /^query_result\((.+)\)$/s.exec(q)
    const expr = lv?.[1] ?? qr?.[1]
    if (expr !== undefined) out.push({ where: `variable $${v.name}`, expr })
  }
  return out
}

const VARIABLE_REF = /\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g

function referencedVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE_REF)].map(m => m[1] ?? m[2] ?? m[3] ?? '')
}

/** expand replaces Grafana variables by values; names not in values are left as they are. */
function expand(expr: string, values: Record<string, string>): string {
  return expr.replace(VARIABLE_REF, (all, a?: string, b?: string, c?: string) => values[a ?? b ?? c ?? ''] ?? all)
}

interface Selector {
  name: string | undefined
  matchers: Array<{ label: string; op: string; value: string }>
}

/** selectors lists the vector selectors of expr (parsed with lezer) with their label matchers. */
function selectors(expr: string): Selector[] {
  const out: Selector[] = []
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.name !== 'VectorSelector') return
      const node = ref.node
      const ident = node.getChild('Identifier')
      const matchers: Selector['matchers'] = []
      for (
        let m: SyntaxNode | null = node.getChild('LabelMatchers')?.firstChild ?? null;
        m !== null;
        m = m.nextSibling
      ) {
        if (m.name !== 'UnquotedLabelMatcher') continue
        const label = m.getChild('LabelName')
        const op = m.getChild('MatchOp')
        const value = m.getChild('StringLiteral')
        if (label === null || op === null || value === null) continue
        matchers.push({
          label: expr.slice(label.from, label.to),
          op: expr.slice(op.from, op.to),
          value: unquote(expr.slice(value.from, value.to)),
        })
      }
      out.push({ name: ident === null ? undefined : expr.slice(ident.from, ident.to), matchers })
      return false
    },
  })
  return out
}

/** rangeFunctionWindows lists the range of every matrix selector passed directly to rate/irate/increase. */
function rangeFunctionWindows(expr: string): Array<{ fn: string; range: string }> {
  const out: Array<{ fn: string; range: string }> = []
  parser.parse(expr).iterate({
    enter(ref) {
      if (ref.name !== 'FunctionCall') return
      const ident = ref.node.getChild('FunctionIdentifier')
      const fn = ident === null ? '' : expr.slice(ident.from, ident.to)
      if (!RANGE_FUNCTIONS.has(fn)) return
      const arg = ref.node.getChild('FunctionCallBody')?.getChild('MatrixSelector')
      const range = arg?.getChild('DurationExpr')
      out.push({
        fn,
        range: range === null || range === undefined ? '(not a matrix selector)' : expr.slice(range.from, range.to),
      })
    },
  })
  return out
}

// dashboards/.lint: dashboard-linter's exclusions, applied here the same way (an entry matches on dashboard
// title and, for panel and target rules, the panel title).
interface LintEntry {
  dashboard?: string
  panel?: string
}
interface LintFile {
  exclusions?: Record<string, { reason?: string; entries?: LintEntry[] } | null>
}
const lint = YAML.parse(readFileSync(join(DIR, '.lint'), 'utf8')) as LintFile

function excluded(rule: string, d: Dashboard, panel?: string): boolean {
  const exclusions = lint.exclusions ?? {}
  if (!(rule in exclusions)) return false
  const entries = exclusions[rule]?.entries ?? []
  if (entries.length === 0) return true
  return entries.some(e => e.dashboard === d.title && (panel === undefined || e.panel === panel))
}

async function exportedMetricNames(): Promise<Set<string>> {
  const registry = createRegistry('0.0.0-test')
  createEngineMetrics(registry)
  createNotifierMetrics(registry)
  createActionMetrics(registry)
  createWebhookMetrics(registry)
  registerProbeMetrics(registry, new ProbeStore(), ['namespace', 'deployment'])
  const names = new Set<string>()
  for (const metric of await registry.getMetricsAsJSON()) {
    const type = metric.type as unknown as string
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s)
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(metric.name + s)
    else names.add(metric.name)
  }
  return names
}

// ---------------------------------------------------------------------------------------------------------

t.test('the dashboards exist and are valid JSON', async t => {
  t.same(files, ['deploy-watch.json', 'rollguard-overview.json'])
  for (const [f, text] of texts) {
    t.doesNotThrow(() => JSON.parse(text), `${f} parses`)
    t.ok(text.endsWith('}\n') && text.startsWith('{\n  "'), `${f} is indented with 2 spaces and ends with a newline`)
  }
})

t.test('the committed JSON is the output of dashboards/generate.mjs', async t => {
  const generator = (await import(pathToFileURL(join(DIR, 'generate.mjs')).href)) as {
    render(): Record<string, string>
  }
  const rendered = generator.render()
  t.same(Object.keys(rendered).sort(), files, 'the generator writes exactly the committed files')
  for (const [f, text] of Object.entries(rendered)) {
    t.ok(texts.get(f) === text, `${f} is up to date (run: node dashboards/generate.mjs)`)
  }
})

t.test('dashboard conventions: uid, id, schemaVersion, tags, editable', async t => {
  const uids = new Set<string>()
  const titles = new Set<string>()
  for (const [f, d] of dashboards) {
    t.equal(d.uid, createHash('md5').update(f).digest('hex'), `${f}: uid is md5 of the file name`)
    t.match(d.uid, /^[0-9a-f]{16,40}$/, `${f}: uid is 16-40 hex characters`)
    t.notOk(uids.has(d.uid), `${f}: uid is unique`)
    uids.add(d.uid)
    t.notOk(titles.has(d.title), `${f}: title is unique`)
    titles.add(d.title)
    t.ok(d.id === undefined || d.id === null, `${f}: no id`)
    t.equal(d.schemaVersion, SCHEMA_VERSION, `${f}: schemaVersion`)
    t.ok(Array.isArray(d.tags) && d.tags.includes('rollguard'), `${f}: tagged rollguard`)
    t.equal(d.editable, false, `${f}: editable is false (uneditable-rule)`)
    t.ok((d.description ?? '') !== '', `${f}: has a description`)
  }
})

t.test(
  'templating: one datasource variable, used by every query variable; cluster/job/instance/namespace/deployment',
  async t => {
    const required: Record<string, string[]> = {
      'deploy-watch.json': ['datasource', 'cluster', 'job', 'namespace', 'deployment'],
      'rollguard-overview.json': ['datasource', 'job', 'instance'],
    }
    for (const [f, d] of dashboards) {
      const vars = d.templating.list
      const ds = vars.filter(v => v.type === 'datasource')
      t.equal(ds.length, 1, `${f}: exactly one datasource variable (template-datasource-rule)`)
      t.match(ds[0], { name: 'datasource', label: 'Data source', query: 'prometheus' }, `${f}: datasource variable`)
      t.same(
        vars.map(v => v.name),
        required[f],
        `${f}: variables`,
      )
      for (const v of vars.filter(v => v.type === 'query')) {
        t.same(v.datasource, DS, `${f}: $${v.name} uses the datasource variable`)
        t.equal(v.refresh, 2, `${f}: $${v.name} refreshes on time range change (template-on-time-change-reload-rule)`)
      }
      for (const name of ['job', 'instance']) {
        const v = vars.find(v => v.name === name)
        if (v === undefined) {
          t.ok(excluded(`template-${name}-rule`, d), `${f}: no $${name} variable needs a .lint exclusion`)
          continue
        }
        // template-job-rule / template-instance-rule
        t.match(
          v,
          {
            type: 'query',
            label: name[0]?.toUpperCase() + name.slice(1),
            multi: true,
            includeAll: true,
            allValue: '.+',
          },
          `${f}: $${name}`,
        )
      }
    }
  },
)

t.test('panels: datasource, title, description, unit, ids, grid', async t => {
  for (const [f, d] of dashboards) {
    const ids = new Set<number>()
    for (const p of d.panels.flatMap(p => [p, ...(p.panels ?? [])])) {
      t.ok(typeof p.id === 'number' && !ids.has(p.id), `${f}: panel "${p.title}" has a unique id`)
      ids.add(p.id ?? -1)
      const g = p.gridPos
      t.ok(
        g !== undefined && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0,
        `${f}: panel "${p.title}" fits the 24-column grid`,
      )
    }
    for (const p of leafPanels(d)) {
      const name = `${f}: panel "${p.title}"`
      t.ok(
        (p.title ?? '') !== '' && (p.description ?? '').length >= 20,
        `${name} has a title and a description (panel-title-description-rule)`,
      )
      t.same(p.datasource, DS, `${name} uses the datasource variable (panel-datasource-rule)`)
      t.ok((p.targets ?? []).length > 0, `${name} has targets`)
      for (const tg of p.targets ?? [])
        t.same(tg.datasource, DS, `${name} target ${tg.refId} uses the datasource variable`)
      const unit = p.fieldConfig?.defaults?.unit
      t.ok(unit !== undefined && UNITS.has(unit), `${name} has a valid unit (panel-units-rule): ${unit}`)
    }
    for (const a of d.annotations?.list ?? []) {
      if (a.builtIn === 1) continue
      t.same(a.datasource, DS, `${f}: annotation "${a.name}" uses the datasource variable`)
    }
  }
})

t.test('PromQL: every query parses once variables are substituted (target-promql-rule)', async t => {
  for (const [f, d] of dashboards) {
    for (const q of queries(d)) {
      const expr = expand(q.expr, { ...GLOBALS, ...SAMPLES })
      t.same(referencedVariables(expr), [], `${f} ${q.where}: only known variables`)
      t.same(checkPromQL(expr), { ok: true }, `${f} ${q.where} parses`)
    }
  }
})

t.test('PromQL: rate(), irate() and increase() use $__rate_interval (target-rate-interval-rule)', async t => {
  let checked = 0
  for (const [f, d] of dashboards) {
    for (const q of queries(d)) {
      for (const w of rangeFunctionWindows(expand(q.expr, GLOBALS))) {
        checked++
        t.equal(w.range, GLOBALS['__rate_interval'], `${f} ${q.where}: ${w.fn}() window`)
      }
    }
  }
  t.ok(checked > 20, `checked ${checked} rate windows`)
})

t.test('PromQL: job and instance matchers (target-job-rule, target-instance-rule)', async t => {
  for (const [f, d] of dashboards) {
    const defined = new Set(d.templating.list.map(v => v.name))
    for (const q of queries(d)) {
      if (q.panel === undefined) continue // the linter checks panel targets only; rollguard series are checked below
      for (const name of ['job', 'instance']) {
        if (excluded(`target-${name}-rule`, d, q.panel)) continue
        for (const s of selectors(expand(q.expr, GLOBALS))) {
          t.ok(
            s.matchers.some(m => m.label === name && m.op === '=~' && m.value === `$${name}`),
            `${f} ${q.where}: ${s.name} has ${name}=~"$${name}"`,
          )
        }
      }
    }
    // Everywhere, rollguard's own series are narrowed to the selected rollguard job (and instance, if any).
    for (const q of queries(d)) {
      for (const s of selectors(expand(q.expr, GLOBALS))) {
        if (s.name === undefined || !s.name.startsWith('rollguard_') || q.where.startsWith('variable')) continue
        for (const name of ['job', 'instance'].filter(n => defined.has(n))) {
          t.ok(
            s.matchers.some(m => m.label === name && m.op === '=~' && m.value === `$${name}`),
            `${f} ${q.where}: ${s.name} has ${name}=~"$${name}"`,
          )
        }
      }
    }
  }
})

t.test(
  'deploy watch: the cluster variable and matcher on every selector and join (kubernetes-mixin convention)',
  async t => {
    const d = dashboards.get('deploy-watch.json')
    if (d === undefined) return t.fail('deploy-watch.json')
    const cluster = d.templating.list.find(v => v.name === 'cluster')
    // "All" = `.*` also matches series without the label, so a single-cluster Prometheus needs none.
    t.match(
      cluster,
      { type: 'query', label: 'Cluster', multi: false, includeAll: true, allValue: '.*' },
      '$cluster: optional, All = .*',
    )
    t.match(
      variableQuery(cluster ?? { name: '', type: '' }),
      /^label_values\(\w+, cluster\)$/,
      '$cluster: the values of the cluster label',
    )
    let joins = 0
    for (const q of queries(d)) {
      if (q.where === 'variable $cluster') continue
      for (const s of selectors(expand(q.expr, GLOBALS))) {
        t.ok(
          s.matchers.some(m => m.label === 'cluster' && m.op === '=~' && m.value === '$cluster'),
          `${q.where}: ${s.name} has cluster=~"$cluster"`,
        )
      }
      for (const m of q.expr.matchAll(/\bon \(([^)]*)\)/g)) {
        joins++
        t.equal(m[1]?.split(',')[0]?.trim(), 'cluster', `${q.where}: joins on cluster first: on (${m[1]})`)
      }
    }
    t.ok(joins >= 10, `checked ${joins} joins`)
  },
)

t.test('variables: every variable is used, every used variable is defined', async t => {
  for (const [f, d] of dashboards) {
    const text = texts.get(f) ?? ''
    const defined = new Set(d.templating.list.map(v => v.name))
    const used = new Set(referencedVariables(text))
    for (const name of defined) t.ok(used.has(name), `${f}: $${name} is used`)
    for (const name of used) t.ok(defined.has(name) || name in GLOBALS, `${f}: $${name} is defined`)
  }
})

t.test("metrics: every metric is exported by rollguard's registry or a documented source metric", async t => {
  const exported = await exportedMetricNames()
  for (const name of SOURCE_METRICS) t.notOk(exported.has(name), `${name} is a source metric, not rollguard's`)
  const readme = readFileSync(join(DIR, 'README.md'), 'utf8')
  for (const name of SOURCE_METRICS)
    t.ok(readme.includes('`' + name + '`'), `dashboards/README.md documents the source metric ${name}`)
  const used = new Set<string>()
  for (const [f, d] of dashboards) {
    for (const q of queries(d)) {
      const names = metricNames(expand(q.expr, { ...GLOBALS, ...SAMPLES }))
      t.ok(names.length > 0, `${f} ${q.where} selects a metric`)
      for (const name of names) {
        used.add(name)
        t.ok(exported.has(name) || SOURCE_METRICS.includes(name), `${f} ${q.where}: ${name} exists`)
      }
    }
  }
  for (const name of SOURCE_METRICS) t.ok(used.has(name), `source metric ${name} is used (else drop it from the list)`)
})

t.test('metrics check catches a metric rollguard does not export', async t => {
  const exported = await exportedMetricNames()
  t.ok(exported.has('rollguard_rule_evaluation_duration_seconds_bucket'), 'histogram buckets count')
  t.notOk(exported.has('rollguard_rule_evaluation_duration_seconds'), 'a histogram has no bare series')
  t.notOk(exported.has('rollguard_rule_evaluations'), 'a counter without _total does not exist')
  t.same(metricNames('sum(rate(rollguard_webhook_requestz_total{job=~"rollguard"}[5m]))'), [
    'rollguard_webhook_requestz_total',
  ])
  t.notOk(exported.has('rollguard_webhook_requestz_total'), 'a misspelt metric does not exist')
  t.ok(exported.has('rollguard_webhook_requests_total'), 'the webhook metrics are registered')
})

t.test('the lint helpers find what they should', async t => {
  t.same(rangeFunctionWindows('rate(a[5m]) + increase(b[13m37s]) + rate(c[5m:1m])'), [
    { fn: 'rate', range: '5m' },
    { fn: 'increase', range: '13m37s' },
    { fn: 'rate', range: '(not a matrix selector)' },
  ])
  t.same(selectors('a{job=~"$job", x="1"} / on (x) b'), [
    {
      name: 'a',
      matchers: [
        { label: 'job', op: '=~', value: '$job' },
        { label: 'x', op: '=', value: '1' },
      ],
    },
    { name: 'b', matchers: [] },
  ])
  t.same(referencedVariables('x{a="$a", b="${b}", c="[[c]]", d="${d:regex}"}[$__rate_interval]'), [
    'a',
    'b',
    'c',
    'd',
    '__rate_interval',
  ])
  t.equal(expand('x{a="$a"}[$__rate_interval] $unknown', { a: 'A', __rate_interval: '1m' }), 'x{a="A"}[1m] $unknown')
})

t.test('.lint: every exclusion has a reason and names existing dashboards and panels', async t => {
  const byTitle = new Map([...dashboards.values()].map(d => [d.title, d]))
  for (const [rule, ex] of Object.entries(lint.exclusions ?? {})) {
    t.ok((ex?.reason ?? '') !== '', `${rule}: has a reason`)
    for (const e of ex?.entries ?? []) {
      const d = byTitle.get(e.dashboard ?? '')
      t.ok(d !== undefined, `${rule}: dashboard "${e.dashboard}" exists`)
      if (d !== undefined && e.panel !== undefined)
        t.ok(
          leafPanels(d).some(p => p.title === e.panel),
          `${rule}: panel "${e.panel}" exists`,
        )
    }
  }
})

t.test('deploy watch follows rules/rollback-triggers.yml: alert names and thresholds', async t => {
  const d = dashboards.get('deploy-watch.json')
  if (d === undefined) return t.fail('deploy-watch.json')
  interface RuleFile {
    groups: Array<{ rules: Array<{ alert?: string; expr: string }> }>
  }
  const rules = (
    YAML.parse(readFileSync(join(ROOT, 'rules', 'rollback-triggers.yml'), 'utf8')) as RuleFile
  ).groups.flatMap(g => g.rules)
  // `<condition> and on (namespace, deployment) <request rate> >= <floor>`: the minimum-evidence floor of
  // HighErrorRate and HighLatency comes after the condition.
  const thresholds = new Map<string, { op: string; value: number }>()
  const floors = new Map<string, number>()
  for (const r of rules) {
    const [condition = '', floor] = r.expr.trim().split(/\s+and on \(namespace, deployment\)\s+/)
    const m = /(>|==)\s*([0-9.]+)\s*$/.exec(condition)
    if (r.alert !== undefined && m !== null) thresholds.set(r.alert, { op: m[1] ?? '', value: Number(m[2]) })
    const f = floor === undefined ? null : />=\s*([0-9.]+)\s*$/.exec(floor)
    if (r.alert !== undefined && f !== null) floors.set(r.alert, Number(f[1]))
  }
  t.same([...thresholds.keys()].sort(), ['HealthCheckFailing', 'HighErrorRate', 'HighLatency', 'HighMemory'])

  // Alert-state panels select exactly the trigger rules.
  for (const q of queries(d)) {
    for (const s of selectors(q.expr).filter(s => s.name === 'rollguard_alerts')) {
      const names = s.matchers
        .find(m => m.label === 'alertname')
        ?.value.split('|')
        .sort()
      t.same(names, [...thresholds.keys()].sort(), `${q.where}: alertname matcher lists the trigger rules`)
    }
  }

  // Each signal panel draws its rule's threshold as a dashed line; a probe is healthy at 1 (the rule fires at == 0).
  const panels = leafPanels(d)
  for (const [alert, { op, value }] of thresholds) {
    const p = panels.find(p => p.title?.endsWith(`(${alert})`))
    if (p === undefined) {
      t.fail(`a panel for ${alert}`)
      continue
    }
    const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? []
    const drawn = op === '==' ? { color: 'green', value: value + 1 } : { color: 'red', value }
    t.same(steps.slice(1), [drawn], `${p.title}: threshold step`)
    t.match(p.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode, /^dashed/, `${p.title}: threshold drawn dashed`)
  }

  // The per-deployment trigger conditions compare with the rules' operators and values, and apply the same
  // request-rate floor.
  t.same([...floors.keys()].sort(), ['HighErrorRate', 'HighLatency'], 'the rules with a request-rate floor')
  const conditions = panels.find(p => p.title?.startsWith('Trigger conditions'))
  const targets = (conditions?.targets ?? []) as Array<Target & { legendFormat?: string }>
  for (const [alert, { op, value }] of thresholds) {
    const e = targets.find(tg => tg.legendFormat?.startsWith(`${alert}:`))?.expr ?? ''
    const floor = floors.get(alert)
    if (floor === undefined)
      t.ok(e.endsWith(`${op} bool ${value}`), `trigger conditions compare ${alert} with ${op} ${value}`)
    else {
      t.ok(e.includes(`) ${op} bool ${value}\n`), `trigger conditions compare ${alert} with ${op} ${value}`)
      t.ok(
        e.endsWith(`[$__rate_interval])) >= bool ${floor})`),
        `trigger conditions of ${alert} apply the floor of ${floor} request/s`,
      )
    }
  }
})

t.test(
  'rollbacks are drawn as annotations from rollguard_rollbacks_total: per workload on Deploy watch, naming it on the overview',
  async t => {
    for (const [f, d] of dashboards) {
      const list = (d.annotations?.list ?? []).filter(a =>
        selectors(a.expr ?? '').some(s => s.name === 'rollguard_rollbacks_total'),
      )
      const results = list.flatMap(a =>
        selectors(expand(a.expr ?? '', GLOBALS)).flatMap(s =>
          s.matchers.filter(m => m.label === 'result').map(m => m.value),
        ),
      )
      t.same(
        [...new Set(results)].sort(),
        ['attempted', 'dry_run', 'failed', 'succeeded'],
        `${f}: one annotation per rollback result`,
      )
      for (const a of list) {
        if (f === 'deploy-watch.json') {
          for (const s of selectors(expand(a.expr ?? '', GLOBALS))) {
            const workload = Object.fromEntries(
              s.matchers
                .filter(m => ['workload_namespace', 'kind', 'workload'].includes(m.label))
                .map(m => [m.label, `${m.op}${m.value}`]),
            )
            t.same(
              workload,
              { workload_namespace: '=$namespace', kind: '=Deployment', workload: '=$deployment' },
              `${f} annotation "${a.name}": this Deployment's rollbacks only`,
            )
          }
        } else {
          t.match(
            a.expr,
            /^sum by \(reason, workload_namespace, kind, workload\)/,
            `${f} annotation "${a.name}": per workload`,
          )
          t.match(
            a.textFormat,
            /\{\{kind\}\} \{\{workload_namespace\}\}\/\{\{workload\}\}/,
            `${f} annotation "${a.name}": names the workload`,
          )
        }
      }
    }
  },
)

t.test('deploy watch: deploy markers from kube-state-metrics', async t => {
  const d = dashboards.get('deploy-watch.json')
  const list = d?.annotations?.list ?? []
  const created = list.find(a => a.name === 'Deploys (new ReplicaSet)')
  t.same(
    metricNames(created?.expr ?? ''),
    ['kube_replicaset_created', 'kube_replicaset_owner'],
    'new ReplicaSets of the Deployment',
  )
  t.equal(created?.useValueForTime, true, 'drawn at the creation time (the value, in ms)')
  const generation = list.find(a => a.name === 'Deployment spec changes')
  t.same(metricNames(generation?.expr ?? ''), ['kube_deployment_status_observed_generation'])
})

t.test('Grafana provisioning files', async t => {
  const ds = YAML.parse(readFileSync(join(DIR, 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8')) as {
    apiVersion: number
    datasources: Array<{ name: string; type: string; access: string; url: string }>
  }
  t.equal(ds.apiVersion, 1)
  t.match(ds.datasources, [{ type: 'prometheus', access: 'proxy', url: /^https?:\/\// }])
  const dash = YAML.parse(readFileSync(join(DIR, 'provisioning', 'dashboards', 'rollguard.yaml'), 'utf8')) as {
    apiVersion: number
    providers: Array<{ name: string; type: string; options: { path: string } }>
  }
  t.equal(dash.apiVersion, 1)
  t.match(dash.providers, [{ name: 'rollguard', type: 'file', options: { path: /^\// } }])
})

// Prometheus's own parser and engine, where installed (Debian's prometheus package, scripts/install-system-deps.sh).
const hasPromtool = spawnSync('promtool', ['--version']).error === undefined
const PROMTOOL_VALUES = { ...SAMPLES, __rate_interval: '1m', __interval: '1m', __range: '3h' }

t.test('promtool parses every query', { skip: hasPromtool ? false : 'promtool is not installed' }, async t => {
  const rules = [...dashboards.values()]
    .flatMap(d => queries(d))
    .map((q, i) => ({ record: `dashboard:query:${i}`, expr: expand(q.expr, PROMTOOL_VALUES) }))
  const dir = t.testdir({ 'queries.yml': YAML.stringify({ groups: [{ name: 'dashboards', rules }] }) })
  const run = spawnSync('promtool', ['check', 'rules', join(dir, 'queries.yml')], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stdout + run.stderr)
})

t.test(
  'promtool: the rollback annotation sees the first and later increments of this Deployment only; probes are found with or without honor_labels',
  { skip: hasPromtool ? false : 'promtool is not installed' },
  async t => {
    const d = dashboards.get('deploy-watch.json')
    if (d === undefined) return t.fail('deploy-watch.json')
    const annotation = d.annotations?.list.find(a => a.name === 'Rollbacks')?.expr
    const probe = leafPanels(d).find(p => p.title?.endsWith('(HealthCheckFailing)'))?.targets?.[0]?.expr
    if (annotation === undefined || probe === undefined) return t.fail('annotation and probe queries')
    const at = (evalTime: string, samples: Array<{ labels: string; value: number }>, expr: string) => ({
      expr: expand(expr, PROMTOOL_VALUES),
      eval_time: evalTime,
      exp_samples: samples,
    })
    const tests = {
      rule_files: [],
      evaluation_interval: '15s',
      tests: [
        {
          interval: '15s',
          input_series: [
            // No series for 5m, then created by the first rollback (1) and incremented at 10m (2).
            {
              series:
                'rollguard_rollbacks_total{job="rollguard", result="attempted", reason="rollback", workload_namespace="shop", kind="Deployment", workload="checkout"}',
              values: '_x19 1x19 2x20',
            },
            {
              series:
                'rollguard_rollbacks_total{job="rollguard", result="dry_run", reason="dry_run", workload_namespace="shop", kind="Deployment", workload="checkout"}',
              values: '0x60',
            },
            // Other workloads' rollbacks at the same times: not on this Deployment's view.
            {
              series:
                'rollguard_rollbacks_total{job="rollguard", result="attempted", reason="rollback", workload_namespace="shop", kind="Deployment", workload="cart"}',
              values: '_x19 1x19 2x20',
            },
            {
              series:
                'rollguard_rollbacks_total{job="rollguard", result="attempted", reason="rollback", workload_namespace="shop", kind="StatefulSet", workload="checkout"}',
              values: '_x19 1x19 2x20',
            },
            {
              series:
                'rollguard_rollbacks_total{job="rollguard", result="attempted", reason="rollback", workload_namespace="", kind="", workload=""}',
              values: '_x19 1x19 2x20',
            },
            // Scraped without honor_labels: the probe's namespace is exported_namespace.
            {
              series:
                'rollguard_probe_success{job="rollguard", namespace="monitoring", exported_namespace="shop", deployment="checkout", probe="a"}',
              values: '1x60',
            },
            // Scraped with honor_labels: true.
            {
              series: 'rollguard_probe_success{job="rollguard", namespace="shop", deployment="checkout", probe="b"}',
              values: '1x10 0x50',
            },
            // Another namespace's deployment of the same name, and rollguard's namespace equal to the selected one.
            {
              series:
                'rollguard_probe_success{job="rollguard", namespace="shop", exported_namespace="other", deployment="checkout", probe="c"}',
              values: '0x60',
            },
          ],
          promql_expr_test: [
            at('4m', [], annotation),
            at('5m30s', [{ labels: '{reason="rollback"}', value: 1 }], annotation),
            at('8m', [], annotation),
            at('10m30s', [{ labels: '{reason="rollback"}', value: 1 }], annotation),
            at('13m', [], annotation),
            at(
              '10m',
              [
                { labels: '{probe="a"}', value: 1 },
                { labels: '{probe="b"}', value: 0 },
              ],
              probe,
            ),
          ],
        },
      ],
    }
    const dir = t.testdir({ 'annotations.test.yml': YAML.stringify(tests) })
    const run = spawnSync('promtool', ['test', 'rules', join(dir, 'annotations.test.yml')], { encoding: 'utf8' })
    t.equal(run.status, 0, run.stdout + run.stderr)
  },
)

t.test(
  'promtool: before/after by revision, restarts and OOM kills, replicas per revision and deploy markers on synthetic series',
  { skip: hasPromtool ? false : 'promtool is not installed' },
  async t => {
    const d = dashboards.get('deploy-watch.json')
    if (d === undefined) return t.fail('deploy-watch.json')
    const panel = (title: string, i = 0) => leafPanels(d).find(p => p.title === title)?.targets?.[i]?.expr ?? ''
    const annotation = (name: string) => d.annotations?.list.find(a => a.name === name)?.expr ?? ''
    const at = (evalTime: string, samples: Array<{ labels: string; value: number }>, expr: string) => ({
      expr: expand(expr, PROMTOOL_VALUES),
      eval_time: evalTime,
      exp_samples: samples,
    })
    const rounded = (expr: string) => `round(\n${expr}\n, 0.001)`
    const OLD = 'checkout-6d4b8c9f7'
    const NEW = 'checkout-7f9c6d5b8'
    const owner = (pod: string, rs: string, extra = '') =>
      `kube_pod_owner{job="kube-state-metrics", namespace="shop", pod="${pod}", uid="u-${pod}", owner_kind="ReplicaSet", owner_name="${rs}", owner_is_controller="true"${extra}}`
    const ksm = (labels: string) => `{job="kube-state-metrics", namespace="shop", ${labels}}`
    const tests = {
      rule_files: [],
      evaluation_interval: '15s',
      tests: [
        {
          interval: '15s',
          input_series: [
            // The old revision serves 10 requests/s without errors; the new one 10/s, half of them 5xx. No cluster label.
            {
              series: `http_requests_total{job="app", namespace="shop", pod="${OLD}-x2b4q", code="200"}`,
              values: '0+150x60',
            },
            {
              series: `http_requests_total{job="app", namespace="shop", pod="${NEW}-k8m2p", code="200"}`,
              values: '0+75x60',
            },
            {
              series: `http_requests_total{job="app", namespace="shop", pod="${NEW}-k8m2p", code="500"}`,
              values: '0+75x60',
            },
            // Another Deployment whose name starts the same, and a pod of this Deployment kube-state-metrics does not know.
            {
              series:
                'http_requests_total{job="app", namespace="shop", pod="checkout-canary-5d8f7c6b9-abcde", code="200"}',
              values: '0+150x60',
            },
            {
              series: `http_requests_total{job="app", namespace="shop", pod="${NEW}-zzzzz", code="500"}`,
              values: '0+150x60',
            },
            { series: owner(`${OLD}-x2b4q`, OLD), values: '1x60' },
            { series: owner(`${NEW}-k8m2p`, NEW), values: '1x60' },
            // A second kube-state-metrics scrape of the same pod (another instance): counted once.
            { series: owner(`${NEW}-k8m2p`, NEW, ', instance="ksm-b"'), values: '1x60' },
            { series: owner('checkout-canary-5d8f7c6b9-abcde', 'checkout-canary-5d8f7c6b9'), values: '1x60' },
            // The new pod's container restarts at 5m15s after an OOM kill; the old one's after an error.
            {
              series: `kube_pod_container_status_restarts_total${ksm(`pod="${NEW}-k8m2p", uid="u1", container="checkout"`)}`,
              values: '0x20 1x40',
            },
            {
              series: `kube_pod_container_status_last_terminated_reason${ksm(`pod="${NEW}-k8m2p", uid="u1", container="checkout", reason="OOMKilled"`)}`,
              values: '_x20 1x40',
            },
            {
              series: `kube_pod_container_status_restarts_total${ksm(`pod="${OLD}-x2b4q", uid="u2", container="checkout"`)}`,
              values: '0x20 1x40',
            },
            {
              series: `kube_pod_container_status_last_terminated_reason${ksm(`pod="${OLD}-x2b4q", uid="u2", container="checkout", reason="Error"`)}`,
              values: '_x20 1x40',
            },
            // ReplicaSets: the new one created at 100s (epoch), scaled up; the old one scaled down; another Deployment's.
            { series: `kube_replicaset_created${ksm(`replicaset="${OLD}"`)}`, values: '50x60' },
            { series: `kube_replicaset_created${ksm(`replicaset="${NEW}"`)}`, values: '100x60' },
            { series: `kube_replicaset_created${ksm('replicaset="cart-5b6c7d8f9"')}`, values: '200x60' },
            {
              series: `kube_replicaset_owner${ksm(`replicaset="${OLD}", owner_kind="Deployment", owner_name="checkout", owner_is_controller="true"`)}`,
              values: '1x60',
            },
            {
              series: `kube_replicaset_owner${ksm(`replicaset="${NEW}", owner_kind="Deployment", owner_name="checkout", owner_is_controller="true"`)}`,
              values: '1x60',
            },
            {
              series: `kube_replicaset_owner${ksm('replicaset="cart-5b6c7d8f9", owner_kind="Deployment", owner_name="cart", owner_is_controller="true"')}`,
              values: '1x60',
            },
            { series: `kube_replicaset_spec_replicas${ksm(`replicaset="${OLD}"`)}`, values: '2x20 0x40' },
            { series: `kube_replicaset_spec_replicas${ksm(`replicaset="${NEW}"`)}`, values: '0x10 2x50' },
            { series: `kube_replicaset_spec_replicas${ksm('replicaset="cart-5b6c7d8f9"')}`, values: '3x60' },
            // The controller observes generation 2 at 5m15s.
            {
              series: `kube_deployment_status_observed_generation${ksm('deployment="checkout"')}`,
              values: '1x20 2x40',
            },
          ],
          promql_expr_test: [
            at(
              '10m',
              [
                { labels: `{owner_name="${OLD}"}`, value: 10 },
                { labels: `{owner_name="${NEW}"}`, value: 10 },
              ],
              rounded(panel('Request rate by revision')),
            ),
            at(
              '10m',
              [
                { labels: `{owner_name="${OLD}"}`, value: 0 },
                { labels: `{owner_name="${NEW}"}`, value: 0.5 },
              ],
              rounded(panel('Error ratio by revision')),
            ),
            at(
              '10m',
              [
                { labels: `{owner_name="${OLD}"}`, value: 10 },
                { labels: `{owner_name="${NEW}"}`, value: 10 },
              ],
              rounded(panel('Request rate by revision').replace(/kube_pod_owner\{/, 'kube_pod_owner{cluster=~".*", ')),
            ),
            at(
              '5m30s',
              [
                { labels: `{pod="${NEW}-k8m2p"}`, value: 1 },
                { labels: `{pod="${OLD}-x2b4q"}`, value: 1 },
              ],
              `(\n${panel('Restarts and OOM kills', 0)}\n) > bool 0`,
            ),
            at(
              '5m30s',
              [{ labels: `{pod="${NEW}-k8m2p"}`, value: 1 }],
              `(\n${panel('Restarts and OOM kills', 1)}\n) > bool 0`,
            ),
            at('8m', [{ labels: `{pod="${NEW}-k8m2p"}`, value: 0 }], panel('Restarts and OOM kills', 1)),
            at('1m', [{ labels: `{replicaset="${OLD}"}`, value: 2 }], panel('Replicas per revision')),
            at(
              '4m',
              [
                { labels: `{replicaset="${OLD}"}`, value: 2 },
                { labels: `{replicaset="${NEW}"}`, value: 2 },
              ],
              panel('Replicas per revision'),
            ),
            at('6m', [{ labels: `{replicaset="${NEW}"}`, value: 2 }], panel('Replicas per revision')),
            at(
              '6m',
              [
                { labels: `{replicaset="${OLD}"}`, value: 50_000 },
                { labels: `{replicaset="${NEW}"}`, value: 100_000 },
              ],
              annotation('Deploys (new ReplicaSet)'),
            ),
            at('5m', [], annotation('Deployment spec changes')),
            at('5m30s', [{ labels: '{deployment="checkout"}', value: 1 }], annotation('Deployment spec changes')),
          ],
        },
      ],
    }
    const dir = t.testdir({ 'revisions.test.yml': YAML.stringify(tests) })
    const run = spawnSync('promtool', ['test', 'rules', join(dir, 'revisions.test.yml')], { encoding: 'utf8' })
    t.equal(run.status, 0, run.stdout + run.stderr)
  },
)
