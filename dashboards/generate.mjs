#!/usr/bin/env node
// Generates the Grafana dashboards in this directory: `node dashboards/generate.mjs` rewrites
// deploy-watch.json and rollguard-overview.json. Edit this file, not the JSON: test/dashboards checks that
// the committed JSON equals this script's output and lints both dashboards (see README.md).
//
// Plain Node (no dependencies, no build step) so it runs anywhere the package is installed.

import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SCHEMA_VERSION = 39

const DS = { type: 'prometheus', uid: '${datasource}' }

// The default rollback triggers of rules/rollback-triggers.yml and their thresholds (a test keeps them in step).
export const TRIGGERS = {
  HighErrorRate: 0.1,
  HighLatency: 5,
  HighMemory: 0.9,
  HealthCheckFailing: 0,
}
const TRIGGER_NAMES = Object.keys(TRIGGERS).join('|')
// HighErrorRate and HighLatency fire only while the Deployment serves at least this many requests per second
// (the rules' `and on (namespace, deployment) … >= 1`; the same test keeps it in step).
export const MIN_REQUESTS_PER_SECOND = 1

// ---------------------------------------------------------------------------------------------------------
// Building blocks

/** uid derives a stable dashboard uid from the file name, like kubernetes-mixin's std.md5('<file>.json'). */
export function uid(file) {
  return createHash('md5').update(file).digest('hex')
}

function datasourceVariable() {
  return {
    current: {},
    hide: 0,
    includeAll: false,
    label: 'Data source',
    multi: false,
    name: 'datasource',
    options: [],
    query: 'prometheus',
    refresh: 1,
    regex: '',
    type: 'datasource',
  }
}

/**
 * queryVariable is a label_values() variable; multi-value ones match everything with `.+` when "All" is picked.
 * `allValue` overrides that (`.*` also matches series without the label).
 */
function queryVariable({ name, label, query, multi = false, includeAll = multi, allValue = multi ? '.+' : undefined, regex = '', description }) {
  return {
    current: {},
    datasource: DS,
    definition: query,
    description,
    hide: 0,
    includeAll,
    label,
    multi,
    name,
    options: [],
    query: { qryType: 1, query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2,
    regex,
    skipUrlSync: false,
    sort: 1,
    type: 'query',
    ...(allValue === undefined ? {} : { allValue }),
  }
}

function target(expr, legendFormat, extra = {}) {
  return { datasource: DS, editorMode: 'code', expr, legendFormat, range: true, ...extra }
}

function withRefIds(targets) {
  return targets.map((t, i) => ({ ...t, refId: String.fromCharCode(65 + i) }))
}

const LEGEND = { calcs: [], displayMode: 'list', placement: 'bottom', showLegend: true }
const TOOLTIP = { mode: 'multi', sort: 'desc' }

/**
 * thresholdSteps draws one threshold: `over` (the default) turns red at `value` and above; `under` is red
 * below `value` (a probe is healthy at 1).
 */
function thresholdSteps(value, direction = 'over') {
  const steps = direction === 'over'
    ? [{ color: 'green', value: null }, { color: 'red', value }]
    : [{ color: 'red', value: null }, { color: 'green', value }]
  return { mode: 'absolute', steps }
}

const NO_THRESHOLDS = { mode: 'absolute', steps: [{ color: 'green', value: null }] }

function valueMappings(entries) {
  const options = {}
  entries.forEach(([value, text, color], index) => { options[String(value)] = { color, index, text } })
  return [{ options, type: 'value' }]
}

function timeseries({ title, description, unit, targets, threshold, min, max, softMax, decimals, bars = false, stack = false, mappings = [] }) {
  return {
    datasource: DS,
    description,
    fieldConfig: {
      defaults: {
        color: { mode: 'palette-classic' },
        custom: {
          axisSoftMax: softMax,
          axisSoftMin: 0,
          drawStyle: bars ? 'bars' : 'line',
          fillOpacity: bars ? 80 : 10,
          lineWidth: 1,
          showPoints: 'never',
          spanNulls: false,
          stacking: { group: 'A', mode: stack ? 'normal' : 'none' },
          thresholdsStyle: { mode: threshold === undefined ? 'off' : 'dashed+area' },
        },
        decimals,
        mappings,
        max,
        min,
        thresholds: threshold ?? NO_THRESHOLDS,
        unit,
      },
      overrides: [],
    },
    options: { legend: LEGEND, tooltip: TOOLTIP },
    targets: withRefIds(targets),
    title,
    type: 'timeseries',
  }
}

function stat({ title, description, unit, targets, thresholds = NO_THRESHOLDS, mappings = [], colorMode = 'value' }) {
  return {
    datasource: DS,
    description,
    fieldConfig: { defaults: { color: { mode: 'thresholds' }, mappings, thresholds, unit }, overrides: [] },
    options: {
      colorMode,
      graphMode: 'none',
      justifyMode: 'auto',
      orientation: 'auto',
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      textMode: 'auto',
    },
    targets: withRefIds(targets),
    title,
    type: 'stat',
  }
}

function stateTimeline({ title, description, targets, mappings }) {
  return {
    datasource: DS,
    description,
    fieldConfig: {
      defaults: {
        color: { mode: 'thresholds' },
        custom: { fillOpacity: 80, lineWidth: 0 },
        mappings,
        thresholds: NO_THRESHOLDS,
        unit: 'none',
      },
      overrides: [],
    },
    options: {
      alignValue: 'left',
      legend: { displayMode: 'list', placement: 'bottom', showLegend: false },
      mergeValues: true,
      rowHeight: 0.8,
      showValue: 'auto',
      tooltip: { mode: 'single', sort: 'none' },
    },
    targets: withRefIds(targets),
    title,
    type: 'state-timeline',
  }
}

function table({ title, description, targets, exclude }) {
  return {
    datasource: DS,
    description,
    fieldConfig: { defaults: { custom: { align: 'auto' }, mappings: [], thresholds: NO_THRESHOLDS, unit: 'none' }, overrides: [] },
    options: { cellHeight: 'sm', showHeader: true },
    targets: withRefIds(targets.map((t) => ({ ...t, format: 'table', instant: true, range: false }))),
    title,
    transformations: [{ id: 'organize', options: { excludeByName: Object.fromEntries(exclude.map((n) => [n, true])) } }],
    type: 'table',
  }
}

/** layout places panels left to right on Grafana's 24-column grid, wrapping lines, and numbers them. */
function layout(items) {
  const panels = []
  let x = 0
  let y = 0
  let lineHeight = 0
  const newline = () => { y += lineHeight; x = 0; lineHeight = 0 }
  for (const item of items) {
    if (item.row !== undefined) {
      if (x > 0) newline()
      panels.push({ collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, id: panels.length + 1, panels: [], title: item.row, type: 'row' })
      y += 1
      continue
    }
    const { w, h, panel } = item
    if (x + w > 24) newline()
    panels.push({ ...panel, gridPos: { h, w, x, y }, id: panels.length + 1 })
    x += w
    lineHeight = Math.max(lineHeight, h)
  }
  return panels
}

const row = (title) => ({ row: title })
const at = (w, h, panel) => ({ w, h, panel })

/**
 * newIncrements is non-empty while a counter went up within the last $__rate_interval. rollguard creates a
 * labelled counter series on its first increment (value 1), which changes()/increase() cannot see, so a
 * series that exists now but did not one window ago counts as an increment too.
 */
function newIncrements(selector) {
  return `changes(${selector}[$__rate_interval]) > 0\nor\n(${selector} unless (${selector} offset $__rate_interval))`
}

/**
 * rollbackAnnotations draws rollguard_rollbacks_total's increments. With `workload` (a selector on its
 * workload_namespace, kind and workload labels) only that workload's rollbacks; without, every workload's, named
 * in the text.
 */
function rollbackAnnotations(job, workload) {
  const by = workload === undefined ? 'reason, workload_namespace, kind, workload' : 'reason'
  const annotation = (name, result, iconColor, titleFormat) => ({
    datasource: DS,
    enable: true,
    expr: `sum by (${by}) (\n${indent(newIncrements(`rollguard_rollbacks_total{${job}, result="${result}"${workload === undefined ? '' : ', ' + workload}}`))}\n)`,
    hide: false,
    iconColor,
    name,
    step: '1m',
    tagKeys: 'reason',
    textFormat: workload === undefined ? 'reason: {{reason}}; workload: {{kind}} {{workload_namespace}}/{{workload}}' : 'reason: {{reason}}',
    titleFormat,
    useValueForTime: false,
  })
  return [
    annotation('Rollbacks', 'attempted', 'red', 'rollguard rolled back a workload'),
    annotation('Rollbacks verified', 'succeeded', 'green', 'rollguard rollback verified'),
    annotation('Rollbacks failed', 'failed', 'purple', 'rollguard rollback failed'),
    annotation('Dry-run rollbacks', 'dry_run', 'blue', 'rollguard would have rolled back a workload (dry run)'),
  ]
}

function indent(text, by = '  ') {
  return text.split('\n').map((l) => by + l).join('\n')
}

function dashboard({ file, title, description, tags, variables, panels, annotations }) {
  return {
    annotations,
    description,
    editable: false,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [
      { asDropdown: false, icon: 'external link', includeVars: false, keepTime: true, tags: ['rollguard'], targetBlank: false, title: 'rollguard dashboards', type: 'dashboards' },
    ],
    panels,
    refresh: '1m',
    schemaVersion: SCHEMA_VERSION,
    tags,
    templating: { list: variables },
    time: { from: 'now-3h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    title,
    uid: uid(file),
    version: 1,
    weekStart: '',
  }
}

// ---------------------------------------------------------------------------------------------------------
// Deploy watch: one Deployment after a deploy: its trigger signals against their thresholds, the rollout, and
// the new revision against the old one.

// Every selector of the dashboard carries cluster=~"$cluster" and every join is `on (cluster, …)`, like
// kubernetes-mixin's. "All" is `.*`, which also matches series without a cluster label: a single-cluster
// Prometheus needs no such label.
const CLUSTER = 'cluster=~"$cluster"'
const NS = `${CLUSTER}, namespace="$namespace"`
// The rules derive `deployment` from the pod name (<deployment>-<pod-template-hash>-<suffix>); selecting the
// pods of one Deployment by the same pattern gives the rule's series without the label_replace.
const PODS = 'pod=~"$deployment-[a-z0-9]{5,10}-[a-z0-9]{5}"'
const APP = `${NS}, ${PODS}`
// kube-state-metrics' Deployment series.
const DEPLOYMENT = `${NS}, deployment="$deployment"`
// rollguard's own series.
const JOB = `${CLUSTER}, job=~"$job"`
// rollguard_rollbacks_total of this Deployment (its workload labels; see src/telemetry/action-metrics.ts).
const ROLLBACKS_OF_DEPLOYMENT = 'workload_namespace="$namespace", kind="Deployment", workload="$deployment"'

// A service that never answered 5xx has no 5xx series: count that as 0 rather than show no data.
const ERROR_RATIO = [
  `(sum(rate(http_requests_total{${APP}, code=~"5.."}[$__rate_interval])) or vector(0))`,
  '/',
  `sum(rate(http_requests_total{${APP}}[$__rate_interval]))`,
].join('\n')

const latency = (q) => `histogram_quantile(${q},\n  sum by (le) (rate(http_request_duration_seconds_bucket{${APP}}[$__rate_interval]))\n)`

// The request rate the rules' minimum-evidence floor compares, as 0/1 (a rate needs no fixed window).
const floor = (metric) => `(sum(rate(${metric}{${APP}}[$__rate_interval])) >= bool ${MIN_REQUESTS_PER_SECOND})`

const MEMORY_RATIO = [
  `container_memory_working_set_bytes{${APP}, container!="", container!="POD"}`,
  '  / on (cluster, namespace, pod, container)',
  `kube_pod_container_resource_limits{${APP}, resource="memory"}`,
].join('\n')

// Probe series carry the probed workload's `namespace`. A Prometheus scraping rollguard without honor_labels
// (the ServiceMonitor default) renames it to `exported_namespace`, because the target has a `namespace`
// label of its own (rollguard's); the second branch finds the series then.
const PROBE_SUCCESS = [
  `rollguard_probe_success{${JOB}, namespace="$namespace", exported_namespace="", deployment="$deployment"}`,
  'or',
  `rollguard_probe_success{${JOB}, exported_namespace="$namespace", deployment="$deployment"}`,
].join('\n')

// Before/after: each pod's series joined to its ReplicaSet, the rolling-update counterpart of Flagger's primary
// and canary. A Deployment's ReplicaSet is <deployment>-<pod-template-hash>, one per revision;
// kube_pod_owner{owner_kind="ReplicaSet"} names every pod's. (kube_pod_labels carries label_pod_template_hash only
// where kube-state-metrics allowlists it; kube_pod_owner needs no flag.) max by drops kube-state-metrics' own
// labels (uid, job, instance) and duplicate scrapes.
const POD_REPLICASET = `max by (cluster, namespace, pod, owner_name) (\n  kube_pod_owner{${NS}, owner_kind="ReplicaSet", owner_name=~"$deployment-[a-z0-9]{5,10}"}\n)`

/** byRevision sums per-pod series (with cluster, namespace and pod labels) per ReplicaSet (`owner_name`). */
const byRevision = (perPod, by = '') => `sum by (owner_name${by}) (\n${indent(perPod)}\n  * on (cluster, namespace, pod) group_left (owner_name)\n${indent(POD_REPLICASET)}\n)`

const requestsByRevision = (extra = '') => byRevision(`rate(http_requests_total{${APP}${extra}}[$__rate_interval])`)

// Restarts per rate window; those after which the container's last termination was an OOM kill.
const RESTARTS = `increase(kube_pod_container_status_restarts_total{${APP}}[$__rate_interval])`
const OOM_KILLED = `max by (cluster, namespace, pod, container) (\n  kube_pod_container_status_last_terminated_reason{${APP}, reason="OOMKilled"}\n) == 1`

const replicas = (metric) => `sum(max by (cluster) (${metric}{${DEPLOYMENT}}))`

// The ReplicaSets the Deployment owns (kube_replicaset_owner), one row per ReplicaSet.
const OWNED_REPLICASETS = `max by (cluster, namespace, replicaset) (\n  kube_replicaset_owner{${NS}, owner_kind="Deployment", owner_name="$deployment"}\n)`
const ownedReplicaSets = (metric) => `max by (cluster, namespace, replicaset) (${metric}{${NS}})\n  * on (cluster, namespace, replicaset) group_left ()\n${indent(OWNED_REPLICASETS)}`

/**
 * deployAnnotations mark the Deployment's rollouts from kube-state-metrics: a new ReplicaSet is a new pod template
 * (a deploy), drawn at its creation time; a new observed generation is any spec change the controller acted on
 * (deploys, undos to an older ReplicaSet, scaling).
 */
function deployAnnotations() {
  return [
    {
      datasource: DS,
      enable: true,
      expr: `max by (replicaset) (\n${indent(ownedReplicaSets('kube_replicaset_created'))}\n) * 1000`,
      hide: false,
      iconColor: 'orange',
      name: 'Deploys (new ReplicaSet)',
      step: '1m',
      tagKeys: 'replicaset',
      textFormat: 'ReplicaSet {{replicaset}} created',
      titleFormat: 'Deploy: new revision',
      useValueForTime: true,
    },
    {
      datasource: DS,
      enable: true,
      expr: `max by (deployment) (\n  changes(kube_deployment_status_observed_generation{${DEPLOYMENT}}[$__rate_interval])\n) > 0`,
      hide: false,
      iconColor: 'yellow',
      name: 'Deployment spec changes',
      step: '1m',
      tagKeys: 'deployment',
      textFormat: 'the Deployment controller observed a new generation: a deploy, an undo or a scaling',
      titleFormat: 'Deployment spec changed',
      useValueForTime: false,
    },
  ]
}

const RULE_WINDOW_NOTE = 'The rule uses fixed 1m rate windows; this panel uses $__rate_interval, so short spikes look smoother when zoomed out.'
const REVISION_NOTE = 'Each line is one ReplicaSet (<deployment>-<pod-template-hash>, one per revision): the pods\' series joined to their ReplicaSet through kube-state-metrics\' kube_pod_owner{owner_kind="ReplicaSet"}, on the pod label of the service\'s series. During a rolling update the old and the new revision serve side by side, like primary and canary.'

function deployWatch() {
  const file = 'deploy-watch.json'
  const triggerStates = valueMappings([[0, 'ok', 'green'], [1, 'breached', 'red']])
  const alertStates = valueMappings([[0, 'inactive', 'green'], [1, 'pending', 'yellow'], [2, 'firing', 'red']])
  const alertSelector = (state) => `rollguard_alerts{${JOB}, alertname=~"${TRIGGER_NAMES}", state="${state}"}`
  const panels = layout([
    row('Rollout of $namespace/$deployment'),
    at(8, 7, timeseries({
      title: 'Request rate',
      description: 'Requests per second served by the pods of $namespace/$deployment, by status code (rate of http_requests_total), stacked: the total is the height. A drop to zero after a deploy means the new pods take no traffic; the error ratio below is relative to this.',
      unit: 'reqps',
      targets: [target(`sum by (code) (rate(http_requests_total{${APP}}[$__rate_interval]))`, '{{code}}')],
      min: 0,
      stack: true,
    })),
    at(8, 7, timeseries({
      title: 'Replicas: available vs desired',
      description: 'The Deployment\'s desired replicas (kube_deployment_spec_replicas), those available for at least minReadySeconds (kube_deployment_status_replicas_available) and those of the current revision (kube_deployment_status_replicas_updated), from kube-state-metrics. During a rollout updated climbs to desired; available staying below desired means pods of the new revision do not become ready.',
      unit: 'short',
      targets: [
        target(replicas('kube_deployment_spec_replicas'), 'desired'),
        target(replicas('kube_deployment_status_replicas_available'), 'available'),
        target(replicas('kube_deployment_status_replicas_updated'), 'updated (current revision)'),
      ],
      min: 0,
      decimals: 0,
    })),
    at(8, 7, timeseries({
      title: 'Restarts and OOM kills',
      description: 'Container restarts per rate window of the pods of $namespace/$deployment (increase of kube-state-metrics\' kube_pod_container_status_restarts_total), and the restarts after which the container\'s last termination reason is OOMKilled (kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}): out of memory at its limit, see the HighMemory panel. Crash-looping pods of a new revision show here before the error ratio moves.',
      unit: 'short',
      targets: [
        target(`sum by (pod) (\n${indent(RESTARTS)}\n)`, '{{pod}} restarts'),
        target(`sum by (pod) (\n${indent(RESTARTS)}\n  * on (cluster, namespace, pod, container) group_left ()\n${indent(`(\n${indent(OOM_KILLED)}\n)`)}\n)`, '{{pod}} OOM killed'),
      ],
      min: 0,
      decimals: 0,
      bars: true,
    })),
    row('Trigger signals of $namespace/$deployment'),
    at(12, 8, timeseries({
      title: 'Error ratio (HighErrorRate)',
      description: `Share of the Deployment's requests answered with 5xx: sum of rate(http_requests_total{code=~"5.."}) over all requests, for the pods of $namespace/$deployment (0 while no request failed; no line without traffic). The dashed line is the HighErrorRate threshold (10%); the alert fires after 2 minutes above it. ${RULE_WINDOW_NOTE}`,
      unit: 'percentunit',
      targets: [target(ERROR_RATIO, '5xx ratio')],
      threshold: thresholdSteps(TRIGGERS.HighErrorRate),
      softMax: 0.2,
      min: 0,
    })),
    at(12, 8, timeseries({
      title: 'p95 latency (HighLatency)',
      description: `95th percentile response time of $namespace/$deployment from http_request_duration_seconds_bucket, with the median for comparison. The dashed line is the HighLatency threshold (5s on p95); the alert fires after 2 minutes above it. ${RULE_WINDOW_NOTE}`,
      unit: 's',
      targets: [target(latency(0.95), 'p95'), target(latency(0.5), 'p50')],
      threshold: thresholdSteps(TRIGGERS.HighLatency),
      softMax: 6,
      min: 0,
    })),
    at(12, 8, timeseries({
      title: 'Memory working set / limit (HighMemory)',
      description: 'Working set of each container (cAdvisor container_memory_working_set_bytes) divided by its memory limit (kube-state-metrics kube_pod_container_resource_limits{resource="memory"}), the highest pod per container. The OOM killer acts on the working set. The dashed line is the HighMemory threshold (90%); the alert fires after 5 minutes above it. Containers without a memory limit have no line.',
      unit: 'percentunit',
      targets: [target(`max by (container) (\n${indent(MEMORY_RATIO)}\n)`, '{{container}}')],
      threshold: thresholdSteps(TRIGGERS.HighMemory),
      softMax: 1,
      min: 0,
    })),
    at(12, 8, timeseries({
      title: 'Health probe success (HealthCheckFailing)',
      description: "rollguard's own health probes labelled with this namespace and deployment (config `probes:` with `labels: {namespace, deployment}`): 1 when the last probe succeeded, 0 when it failed (unexpected status, timeout, refused). HealthCheckFailing fires after 5 minutes at 0. No line means no probe is configured for the Deployment, or its result is stale. Needs Prometheus to scrape rollguard's /metrics; without honor_labels the probe's namespace label is stored as exported_namespace, which this query also accepts.",
      unit: 'none',
      targets: [target(`min by (probe) (\n${indent(PROBE_SUCCESS)}\n)`, '{{probe}}')],
      threshold: thresholdSteps(1, 'under'),
      min: 0,
      max: 1,
      decimals: 0,
      mappings: valueMappings([[0, 'failing', 'red'], [1, 'ok', 'green']]),
    })),
    row('Before and after: by revision (ReplicaSet) of $namespace/$deployment'),
    at(6, 8, timeseries({
      title: 'Replicas per revision',
      description: 'Replicas the rollout gives each ReplicaSet of $namespace/$deployment (kube_replicaset_spec_replicas of the ReplicaSets whose kube_replicaset_owner is the Deployment), those with at least one: a rolling update moves replicas from the old revision to the new one; a rollback moves them back.',
      unit: 'short',
      targets: [target(`sum by (replicaset) (\n${indent(ownedReplicaSets('kube_replicaset_spec_replicas'))}\n) > 0`, '{{replicaset}}')],
      min: 0,
      decimals: 0,
    })),
    at(6, 8, timeseries({
      title: 'Request rate by revision',
      description: `Requests per second served by the pods of each revision (rate of http_requests_total). ${REVISION_NOTE}`,
      unit: 'reqps',
      targets: [target(requestsByRevision(), '{{owner_name}}')],
      min: 0,
    })),
    at(6, 8, timeseries({
      title: 'Error ratio by revision',
      description: `Share of each revision's requests answered with 5xx (0 while a revision served no 5xx). A new revision failing while the old one is fine points at the deploy. The dashed line is the HighErrorRate threshold (10%), which the rule applies to the whole Deployment. ${REVISION_NOTE}`,
      unit: 'percentunit',
      targets: [target(`(\n${indent(requestsByRevision(', code=~"5.."'))}\n  or\n  0 * ${requestsByRevision().split('\n').join('\n  ')}\n)\n/\n${requestsByRevision()}`, '{{owner_name}}')],
      threshold: thresholdSteps(TRIGGERS.HighErrorRate),
      softMax: 0.2,
      min: 0,
    })),
    at(6, 8, timeseries({
      title: 'p95 latency by revision',
      description: `95th percentile response time of each revision's pods (http_request_duration_seconds_bucket). The dashed line is the HighLatency threshold (5s), which the rule applies to the whole Deployment. ${REVISION_NOTE}`,
      unit: 's',
      targets: [target(`histogram_quantile(0.95,\n${indent(byRevision(`rate(http_request_duration_seconds_bucket{${APP}}[$__rate_interval])`, ', le'))}\n)`, '{{owner_name}}')],
      threshold: thresholdSteps(TRIGGERS.HighLatency),
      softMax: 6,
      min: 0,
    })),
    row('Alert state'),
    at(24, 6, stateTimeline({
      title: 'Trigger conditions of $namespace/$deployment',
      description: 'Whether each trigger expression is above its threshold right now, computed here from the same series as the rules (rules/rollback-triggers.yml), for this Deployment only. Error ratio and latency count as breached only while the Deployment serves at least ' + MIN_REQUESTS_PER_SECOND + ' request/s, the rules\' minimum evidence. A breached condition makes the rule\'s alert pending; it fires (and may roll back) once it stays breached for the rule\'s `for` (2m for error ratio and latency, 5m for memory and health). rollguard does not write ALERTS series, so this is the per-Deployment view; the panels below show rollguard\'s own alert state per rule.',
      targets: [
        target(`(\n  (\n${indent(indent(ERROR_RATIO))}\n  ) > bool ${TRIGGERS.HighErrorRate}\n)\n*\n${floor('http_requests_total')}`, `HighErrorRate: 5xx ratio > 10% at ≥ ${MIN_REQUESTS_PER_SECOND} req/s`),
        target(`(\n${indent(latency(0.95))} > bool ${TRIGGERS.HighLatency}\n)\n*\n${floor('http_request_duration_seconds_count')}`, `HighLatency: p95 > 5s at ≥ ${MIN_REQUESTS_PER_SECOND} req/s`),
        target(`max(\n${indent(MEMORY_RATIO)}\n) > bool ${TRIGGERS.HighMemory}`, 'HighMemory: memory > 90% of limit'),
        target(`min(\n${indent(PROBE_SUCCESS)}\n) == bool ${TRIGGERS.HealthCheckFailing}`, 'HealthCheckFailing: probe failing'),
      ],
      mappings: triggerStates,
    })),
    at(12, 7, stateTimeline({
      title: 'rollguard alert state per trigger rule (all deployments)',
      description: "The worst state of each trigger rule's alerts as rollguard reports it (rollguard_alerts on /metrics): firing if any alert of the rule fires, else pending if any is pending. rollguard_alerts counts alerts per rule and state, not per Deployment: a firing HighErrorRate here may be another Deployment's. Use the trigger conditions above, rollguard's status page or /api/v1/alerts, or Alertmanager to see which Deployment an alert is about.",
      targets: [
        target(`max by (alertname) (\n    2 * (${alertSelector('firing')} > bool 0)\n  or\n    (${alertSelector('pending')} > bool 0)\n)`, '{{alertname}}'),
      ],
      mappings: alertStates,
    })),
    at(12, 7, timeseries({
      title: 'Pending and firing alerts per trigger rule (all deployments)',
      description: 'How many alerts of each trigger rule are pending or firing in rollguard (rollguard_alerts), over all Deployments. With several rollguard replicas every replica evaluates the rules; the panel takes the highest count of any replica.',
      unit: 'short',
      targets: [
        target(`sum by (alertname, state) (\n  max by (rule_group, alertname, state) (rollguard_alerts{${JOB}, alertname=~"${TRIGGER_NAMES}", state=~"pending|firing"})\n)`, '{{alertname}} {{state}}'),
      ],
      min: 0,
      decimals: 0,
    })),
  ])
  return dashboard({
    file,
    title: 'rollguard / Deploy watch',
    description: "One Deployment after a deploy: request rate, replicas, restarts and OOM kills; the rollback trigger signals (error ratio, p95 latency, memory against the limit, health probe) against the thresholds of rules/rollback-triggers.yml; the old and the new revision side by side; rollguard's alert state; deploys and this Deployment's rollbacks as annotations.",
    tags: ['rollguard', 'kubernetes', 'deployments'],
    variables: [
      datasourceVariable(),
      queryVariable({
        name: 'cluster',
        label: 'Cluster',
        query: 'label_values(kube_deployment_spec_replicas, cluster)',
        includeAll: true,
        allValue: '.*',
        description: 'The cluster label of multi-cluster setups (clusters with kube-state-metrics). All (the default) matches every series, those without a cluster label included, so a single Prometheus without the label needs nothing.',
      }),
      queryVariable({
        name: 'job',
        label: 'Job',
        query: `label_values(rollguard_build_info{${CLUSTER}}, job)`,
        multi: true,
        description: "The Prometheus job that scrapes rollguard; filters rollguard's own series (probes, alerts, rollbacks).",
      }),
      queryVariable({
        name: 'namespace',
        label: 'Namespace',
        query: `label_values(http_requests_total{${CLUSTER}}, namespace)`,
        description: 'Namespaces with instrumented HTTP services (http_requests_total).',
      }),
      queryVariable({
        name: 'deployment',
        label: 'Deployment',
        query: `label_values(http_requests_total{${NS}}, pod)`,
        regex: '/^(.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$/',
        description: 'Deployments of the namespace, derived from pod names (<deployment>-<pod-template-hash>-<suffix>) like the rules do.',
      }),
    ],
    panels,
    annotations: { list: [...deployAnnotations(), ...rollbackAnnotations(JOB, ROLLBACKS_OF_DEPLOYMENT)] },
  })
}

// ---------------------------------------------------------------------------------------------------------
// rollguard overview: the watcher's own health.

const SEL = 'job=~"$job", instance=~"$instance"'
const m = (name, extra = '') => `${name}{${SEL}${extra === '' ? '' : ', ' + extra}}`
const rate = (name, extra = '') => `rate(${m(name, extra)}[$__rate_interval])`
const increase = (name, extra = '') => `increase(${m(name, extra)}[$__rate_interval])`
const quantile = (q, name, by = '') => `histogram_quantile(${q}, sum by (${by === '' ? 'le' : by + ', le'}) (${rate(name + '_bucket')}))`

function overview() {
  const file = 'rollguard-overview.json'
  const okFailed = valueMappings([[0, 'failed', 'red'], [1, 'ok', 'green']])
  const panels = layout([
    row('Status'),
    at(8, 5, table({
      title: 'Build info',
      description: 'rollguard and Node.js versions of each scraped replica (rollguard_build_info).',
      targets: [target(`max by (instance, version, nodejs_version) (${m('rollguard_build_info')})`, '')],
      exclude: ['Time', 'Value'],
    })),
    at(4, 5, stat({
      title: 'Leaders',
      description: 'Replicas that currently hold the leader Lease (sum of rollguard_leader). Exactly 1 with automatic rollbacks enabled: 0 means no replica acts on triggers. No data when `actions:` is not configured (nothing to lead).',
      unit: 'none',
      targets: [target(`sum(${m('rollguard_leader')})`, 'leaders')],
      thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }, { color: 'red', value: 2 }] },
    })),
    at(4, 5, stat({
      title: 'Config reload',
      description: 'Whether the last configuration and rules reload succeeded on every replica (min of rollguard_config_last_reload_successful). After a failed reload rollguard keeps running the previous configuration.',
      unit: 'none',
      targets: [target(`min(${m('rollguard_config_last_reload_successful')})`, 'last reload')],
      thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] },
      mappings: okFailed,
      colorMode: 'background',
    })),
    at(4, 5, stat({
      title: 'Last successful reload',
      description: 'Time of the oldest last successful configuration reload among the replicas (rollguard_config_last_reload_success_timestamp_seconds).',
      unit: 'dateTimeFromNow',
      targets: [target(`min(${m('rollguard_config_last_reload_success_timestamp_seconds')}) * 1000`, 'last success')],
    })),
    at(4, 5, stat({
      title: 'Firing alerts',
      description: 'Alerts firing in rollguard now, over all rule groups (rollguard_alerts{state="firing"}; the highest count of any replica).',
      unit: 'short',
      targets: [target(`sum(max by (rule_group, alertname) (${m('rollguard_alerts', 'state="firing"')})) or vector(0)`, 'firing')],
      thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 1 }] },
    })),

    row('Rule evaluation'),
    at(8, 8, timeseries({
      title: 'Evaluations per group',
      description: 'Rule evaluations per second by rule group (rollguard_rule_evaluations_total); a group of n rules evaluated every interval does n/interval evaluations per second.',
      unit: 'ops',
      targets: [target(`sum by (rule_group) (${rate('rollguard_rule_evaluations_total')})`, '{{rule_group}}')],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Evaluation failures per group',
      description: 'Failed rule evaluations per second by rule group (rollguard_rule_evaluation_failures_total): query errors from Prometheus, duplicate label sets, limits. A failing rule keeps its alerts in their last state; check the log or the status page for the error.',
      unit: 'ops',
      targets: [target(`sum by (rule_group) (${rate('rollguard_rule_evaluation_failures_total')})`, '{{rule_group}}')],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Query errors: evaluation failure ratio',
      description: 'Share of rule evaluations that failed, by rule group (failures / evaluations). Nearly all failures are queries that Prometheus rejected or could not answer (down, timeout, bad query); anything above 0 means rollguard is partly blind.',
      unit: 'percentunit',
      targets: [target(`sum by (rule_group) (${rate('rollguard_rule_evaluation_failures_total')})\n/\nsum by (rule_group) (${rate('rollguard_rule_evaluations_total')})`, '{{rule_group}}')],
      min: 0,
      softMax: 0.1,
    })),
    at(8, 8, timeseries({
      title: 'Evaluation duration',
      description: 'Duration of single rule evaluations, query included (rollguard_rule_evaluation_duration_seconds), and of whole group iterations (rollguard_rule_group_duration_seconds): p50 and p99 over all groups.',
      unit: 's',
      targets: [
        target(quantile(0.99, 'rollguard_rule_evaluation_duration_seconds'), 'rule p99'),
        target(quantile(0.5, 'rollguard_rule_evaluation_duration_seconds'), 'rule p50'),
        target(quantile(0.99, 'rollguard_rule_group_duration_seconds'), 'group p99'),
        target(quantile(0.5, 'rollguard_rule_group_duration_seconds'), 'group p50'),
      ],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Last group duration vs interval',
      description: 'Duration of the last iteration of each group (rollguard_rule_group_last_duration_seconds) next to its evaluation interval (rollguard_rule_group_interval_seconds, dashed). A group whose duration reaches its interval misses iterations.',
      unit: 's',
      targets: [
        target(`max by (rule_group) (${m('rollguard_rule_group_last_duration_seconds')})`, '{{rule_group}}'),
        target(`max by (rule_group) (${m('rollguard_rule_group_interval_seconds')})`, '{{rule_group}} interval'),
      ],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Missed iterations per group',
      description: 'Group iterations skipped because the previous one was still running (rollguard_rule_group_iterations_missed_total), per rate window. Missed iterations delay alerts and rollbacks: reduce the group, raise its interval, or speed up Prometheus.',
      unit: 'short',
      targets: [target(`sum by (rule_group) (${increase('rollguard_rule_group_iterations_missed_total')})`, '{{rule_group}}')],
      min: 0,
      bars: true,
    })),
    at(8, 8, timeseries({
      title: 'Time since last evaluation per group',
      description: 'Seconds since the slot time of the last iteration of each group (time() - rollguard_rule_group_last_evaluation_timestamp_seconds). It stays below the group interval while evaluation keeps up; a line that keeps growing is a stuck group.',
      unit: 's',
      targets: [target(`time() - max by (rule_group) (${m('rollguard_rule_group_last_evaluation_timestamp_seconds')})`, '{{rule_group}}')],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Rules and samples per group',
      description: 'Rules in each group (rollguard_rule_group_rules) and the samples its last iteration returned (rollguard_rule_group_last_evaluation_samples). A trigger group that suddenly returns 0 samples may have lost its source series.',
      unit: 'short',
      targets: [
        target(`max by (rule_group) (${m('rollguard_rule_group_rules')})`, '{{rule_group}} rules'),
        target(`max by (rule_group) (${m('rollguard_rule_group_last_evaluation_samples')})`, '{{rule_group}} samples'),
      ],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Alerts by state',
      description: 'Alerts in rollguard by state over all rules (rollguard_alerts): pending, firing, and inactive (resolved, kept for a while to send resolved notifications). With several replicas, the highest count of any replica.',
      unit: 'short',
      targets: [target(`sum by (state) (max by (rule_group, alertname, state) (${m('rollguard_alerts')}))`, '{{state}}')],
      min: 0,
      decimals: 0,
    })),

    row('Notifications'),
    at(8, 8, timeseries({
      title: 'Alerts sent per Alertmanager',
      description: 'Alerts sent per second to each Alertmanager, including those in failed requests (rollguard_notifications_sent_total).',
      unit: 'ops',
      targets: [target(`sum by (alertmanager) (${rate('rollguard_notifications_sent_total')})`, '{{alertmanager}}')],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Failed and dropped alerts per Alertmanager',
      description: 'Alerts per second affected by send errors (rollguard_notifications_errors_total) and dropped because the queue was full or the request failed (rollguard_notifications_dropped_total); there are no retries, the next resend (rules.resend_delay) sends firing alerts again.',
      unit: 'ops',
      targets: [
        target(`sum by (alertmanager) (${rate('rollguard_notifications_errors_total')})`, '{{alertmanager}} failed'),
        target(`sum by (alertmanager) (${rate('rollguard_notifications_dropped_total')})`, '{{alertmanager}} dropped'),
      ],
      min: 0,
    })),
    at(8, 8, timeseries({
      title: 'Notification error ratio per Alertmanager',
      description: 'Share of sent alerts affected by errors, per Alertmanager (errors / sent).',
      unit: 'percentunit',
      targets: [target(`sum by (alertmanager) (${rate('rollguard_notifications_errors_total')})\n/\nsum by (alertmanager) (${rate('rollguard_notifications_sent_total')})`, '{{alertmanager}}')],
      min: 0,
      softMax: 0.1,
    })),
    at(12, 8, timeseries({
      title: 'Notification queue length',
      description: 'Alerts waiting in each Alertmanager queue (rollguard_notifications_queue_length) against the queue capacity (rollguard_notifications_queue_capacity); alerts beyond the capacity are dropped.',
      unit: 'short',
      targets: [
        target(`max by (alertmanager) (${m('rollguard_notifications_queue_length')})`, '{{alertmanager}}'),
        target(`max(${m('rollguard_notifications_queue_capacity')})`, 'capacity'),
      ],
      min: 0,
    })),
    at(12, 8, timeseries({
      title: 'Notification latency per Alertmanager',
      description: 'p99 and p50 duration of requests sending alerts to each Alertmanager (rollguard_notifications_latency_seconds).',
      unit: 's',
      targets: [
        target(quantile(0.99, 'rollguard_notifications_latency_seconds', 'alertmanager'), '{{alertmanager}} p99'),
        target(quantile(0.5, 'rollguard_notifications_latency_seconds', 'alertmanager'), '{{alertmanager}} p50'),
      ],
      min: 0,
    })),

    row('Rollbacks'),
    at(12, 8, timeseries({
      title: 'Rollback decisions by outcome and reason',
      description: 'Decisions about rollback triggers per rate window, by decision (rollback, dry_run, skip, ignore, error) and reason (rollguard_rollback_decisions_total). Followers record triggers as skip/not_leader. The first decision of a new decision/reason pair after a restart creates its series and is not counted by increase().',
      unit: 'short',
      targets: [target(`sum by (decision, reason) (${increase('rollguard_rollback_decisions_total')})`, '{{decision}}: {{reason}}')],
      min: 0,
      bars: true,
      stack: true,
    })),
    at(12, 8, timeseries({
      title: 'Rollbacks by result',
      description: 'Automatic rollbacks per rate window by result (rollguard_rollbacks_total): attempted = patch sent, succeeded/failed = verified outcome, skipped, dry_run. The rollback annotations mark each one and name the workload (the metric\'s workload_namespace, kind and workload labels, set for workloads that match actions.allow); the status page, the audit log and Kubernetes Events have the details.',
      unit: 'short',
      targets: [target(`sum by (result) (${increase('rollguard_rollbacks_total')})`, '{{result}}')],
      min: 0,
      bars: true,
      stack: true,
    })),
    at(8, 7, timeseries({
      title: 'Rollback duration',
      description: 'Time from the trigger alert going firing to the rollback patch being stored (rollguard_rollback_duration_seconds): p50 and p99. It starts when the alert fires, so the rule\'s `for` is not included: this is rollguard\'s reaction time.',
      unit: 's',
      targets: [
        target(quantile(0.99, 'rollguard_rollback_duration_seconds'), 'p99'),
        target(quantile(0.5, 'rollguard_rollback_duration_seconds'), 'p50'),
      ],
      min: 0,
    })),
    at(8, 7, timeseries({
      title: 'Global brake',
      description: 'Automatic rollbacks across all workloads inside actions.global_brake.window as the leader counts them (rollguard_global_brake_rollbacks, the highest over the replicas: its own, those recorded on the workloads it read, and those the previous leader kept on the Lease) against actions.global_brake.count (rollguard_global_brake_limit). At the limit no workload is rolled back automatically until rollbacks age out of the window.',
      unit: 'short',
      decimals: 0,
      targets: [
        target(`max(${m('rollguard_global_brake_rollbacks')})`, 'rollbacks in the window'),
        target(`max(${m('rollguard_global_brake_limit')})`, 'limit'),
      ],
      min: 0,
    })),
    at(8, 7, stateTimeline({
      title: 'Leader per replica',
      description: 'Which replica holds the leader Lease and may act (rollguard_leader: 1 leader, 0 follower). Followers evaluate rules and send alerts but never roll back.',
      targets: [target(`max by (instance) (${m('rollguard_leader')})`, '{{instance}}')],
      mappings: valueMappings([[0, 'follower', 'blue'], [1, 'leader', 'green']]),
    })),

    row('Alertmanager webhook and silences'),
    at(8, 8, timeseries({
      title: 'Webhook requests by status',
      description: 'Requests to the Alertmanager webhook receiver (POST /api/v1/webhook/alertmanager) per second by HTTP status (rollguard_webhook_requests_total): 200 accepted, 400 malformed, 401/403 credentials, 413 too large, 429 rate limited, 503 not acting right now (Alertmanager retries).',
      unit: 'reqps',
      targets: [target(`sum by (status) (${rate('rollguard_webhook_requests_total')})`, '{{status}}')],
      min: 0,
      stack: true,
    })),
    at(8, 8, timeseries({
      title: 'Webhook alerts by result',
      description: 'Alerts received through the webhook per rate window by what happened to them (rollguard_webhook_alerts_total): fire/resolve requests handed to the rollback executor, repeats of an alert already handled, alerts no matcher selects, and alerts naming no workload.',
      unit: 'short',
      targets: [target(`sum by (result) (${increase('rollguard_webhook_alerts_total')})`, '{{result}}')],
      min: 0,
      bars: true,
      stack: true,
    })),
    at(8, 8, timeseries({
      title: 'Silence checks before rollbacks',
      description: 'Questions to Alertmanager (GET /api/v2/silences) before a rollback, by answer (rollguard_silence_checks_total): silenced = an active silence matched and vetoed the rollback, none = no silence matched, error = no Alertmanager answered (then actions.silences.on_error decides).',
      unit: 'short',
      targets: [target(`sum by (result) (${increase('rollguard_silence_checks_total')})`, '{{result}}')],
      min: 0,
      bars: true,
      stack: true,
    })),

    row('Configuration and process'),
    at(6, 8, timeseries({
      title: 'Config reloads by result',
      description: 'Configuration and rules reloads per rate window by result (rollguard_config_reloads_total{result="success|failure"}), triggered by SIGHUP or POST /-/reload.',
      unit: 'short',
      targets: [target(`sum by (result) (${increase('rollguard_config_reloads_total')})`, '{{result}}')],
      min: 0,
      bars: true,
    })),
    at(6, 8, timeseries({
      title: 'CPU',
      description: 'CPU time per second of each replica (rollguard_process_cpu_seconds_total; 100% = one core).',
      unit: 'percentunit',
      targets: [target(`sum by (instance) (${rate('rollguard_process_cpu_seconds_total')})`, '{{instance}}')],
      min: 0,
    })),
    at(6, 8, timeseries({
      title: 'Resident memory',
      description: 'Resident memory of each replica (rollguard_process_resident_memory_bytes).',
      unit: 'bytes',
      targets: [target(`max by (instance) (${m('rollguard_process_resident_memory_bytes')})`, '{{instance}}')],
      min: 0,
    })),
    at(6, 8, timeseries({
      title: 'Event loop lag',
      description: 'p99 event loop lag of each replica (rollguard_nodejs_eventloop_lag_p99_seconds); a lagging event loop delays evaluations, probes and notifications.',
      unit: 's',
      targets: [target(`max by (instance) (${m('rollguard_nodejs_eventloop_lag_p99_seconds')})`, '{{instance}}')],
      min: 0,
    })),
  ])
  return dashboard({
    file,
    title: 'rollguard / Overview',
    description: "rollguard's own health: rule evaluation, notifications to Alertmanager, rollback decisions, leader election, configuration reloads and the process.",
    tags: ['rollguard'],
    variables: [
      datasourceVariable(),
      queryVariable({ name: 'job', label: 'Job', query: 'label_values(rollguard_build_info, job)', multi: true, description: 'The Prometheus job that scrapes rollguard.' }),
      queryVariable({ name: 'instance', label: 'Instance', query: 'label_values(rollguard_build_info{job=~"$job"}, instance)', multi: true, description: 'rollguard replicas.' }),
    ],
    panels,
    annotations: { list: rollbackAnnotations(SEL) },
  })
}

// ---------------------------------------------------------------------------------------------------------
// Output

/** sortKeys orders object keys alphabetically (as Grafana exports them) so output is stable; drops undefined. */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const out = {}
  for (const key of Object.keys(value).sort()) if (value[key] !== undefined) out[key] = sortKeys(value[key])
  return out
}

/** render returns every dashboard file's content, keyed by file name. */
export function render() {
  return {
    'deploy-watch.json': JSON.stringify(sortKeys(deployWatch()), null, 2) + '\n',
    'rollguard-overview.json': JSON.stringify(sortKeys(overview()), null, 2) + '\n',
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = dirname(fileURLToPath(import.meta.url))
  for (const [file, text] of Object.entries(render())) {
    writeFileSync(join(dir, file), text)
    console.log(`wrote dashboards/${file}`)
  }
}
