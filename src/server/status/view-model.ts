/**
 * The status page's model: everything the page shows, computed from the rule groups, the series history and
 * the actions' decisions at one instant. Pure (every input is an argument), so the page is tested without a server.
 */

import type { TargetLabels, TriggerSelector } from '../../actions/actions-config.js'
import type { AuditKind, DecisionRecord } from '../../actions/audit.js'
import type { BrakeCount } from '../../telemetry/action-metrics.js'
import { describeWorkload, type WorkloadRef } from '../../actions/workload-ref.js'
import { isTrigger, targetOf } from '../../actions/trigger.js'
import { activeAlerts, ruleState } from '../../engine/alerting.js'
import { humanize } from '../../engine/format.js'
import type { NoData } from '../../nodata/detector.js'
import type { RuleDataStatus } from '../../nodata/watch.js'
import type { Labels, RuleHealth, RuleState } from '../../engine/types.js'
import { sortGroups } from '../prom-json.js'
import type { Frame, RuleHistory } from './history.js'
import { parseThreshold, type Threshold } from './threshold.js'
import type { AlertSnapshot, GroupSnapshot, RuleSnapshot } from '../../engine/snapshot.js'

/** DEFAULT_TARGETS and DEFAULT_TRIGGER are the actions' defaults, used when actions are not configured. */
export const DEFAULT_TARGETS: TargetLabels = {
  namespace: 'namespace',
  deployment: 'deployment',
  statefulset: 'statefulset',
  daemonset: 'daemonset',
}
export const DEFAULT_TRIGGER: TriggerSelector = { label: 'rollguard_trigger', value: 'rollback' }

/** Bounds on what one page shows (the rest is counted and named as hidden). */
export const LIMITS = { alerts: 100, workloads: 20, seriesPerWorkload: 8, decisions: 25 } as const

/** BrakeStatus is the global brake as this replica counts it (BrakeCount), with the window it counts in. */
export interface BrakeStatus extends BrakeCount {
  readonly windowMs: number
}

/** ActionsStatus is what the page shows about automatic rollbacks; undefined when they are not configured. */
export interface ActionsStatus {
  readonly mode: 'dry-run' | 'execute'
  readonly leader: boolean
  /** brake: the global brake's count (only the leader's counts toward decisions); absent: not shown. */
  readonly brake?: BrakeStatus | undefined
  readonly decisions: readonly DecisionRecord[]
  readonly trigger: TriggerSelector
  readonly targets: TargetLabels
}

/** ReloadStatus is the last configuration reload's outcome (lastSuccessAt: Unix ms, 0 = unknown). */
export interface ReloadStatus {
  readonly ok: boolean
  readonly lastSuccessAt: number
}

/** StatusInput is everything the model is computed from. */
export interface StatusInput {
  readonly now: number
  readonly version: string
  readonly groups: readonly GroupSnapshot[]
  readonly history: (group: GroupSnapshot, rule: RuleSnapshot) => RuleHistory | undefined
  readonly windowMs: number
  /** bucketMs is the history's frame spacing at least (evaluations closer than this share a frame). */
  readonly bucketMs: number
  readonly refreshSeconds: number
  readonly actions: ActionsStatus | undefined
  readonly reload?: ReloadStatus | undefined
  /** kubernetesLink is a URL template for a workload ({namespace}, {name}, {kind}, {resource}); no link without it. */
  readonly kubernetesLink?: string | undefined
  /** ruleData gives a rule's data status (no-data verdict, probes not configured); without it every rule counts as seeing data. */
  readonly ruleData?: ((group: GroupSnapshot, rule: RuleSnapshot) => RuleDataStatus | undefined) | undefined
}

export interface Point {
  readonly t: number
  readonly v: number
}

/** Band marks a time range where the series had no value: below the threshold / no data, or a failed evaluation. */
export interface Band {
  readonly from: number
  readonly to: number
  readonly kind: 'absent' | 'error'
}

/** Marker is a rollback of the workload (or a dry-run one) at time t. */
export interface Marker {
  readonly t: number
  readonly text: string
}

/** Timeline is one series over the window: value runs (a gap between runs is a band or "not evaluated"), and rollbacks. */
export interface Timeline {
  readonly from: number
  readonly to: number
  readonly segments: readonly (readonly Point[])[]
  readonly bands: readonly Band[]
  readonly threshold: Threshold | undefined
  readonly markers: readonly Marker[]
}

export type SeriesState = 'firing' | 'pending' | 'resolved' | 'none'

export interface SeriesPanel {
  readonly rule: string
  readonly labels: readonly (readonly [string, string])[]
  readonly state: SeriesState
  /** last is the latest value within the window, formatted; undefined when none. */
  readonly last: string | undefined
  readonly threshold: string | undefined
  readonly trigger: boolean
  readonly timeline: Timeline
}

export interface WorkloadPanel {
  readonly ref: WorkloadRef
  readonly firing: number
  readonly pending: number
  readonly series: readonly SeriesPanel[]
  readonly seriesHidden: number
}

export interface AlertRow {
  readonly name: string
  readonly state: 'firing' | 'pending'
  readonly value: string
  readonly threshold: string | undefined
  readonly activeAt: number
  readonly firedAt: number
  readonly workload: string | undefined
  readonly labels: readonly (readonly [string, string])[]
  readonly summary: string | undefined
  readonly trigger: boolean
}

export type Tone = 'good' | 'bad' | 'warn' | 'info' | 'action'

export interface DecisionRow {
  readonly at: number
  readonly kind: AuditKind
  readonly headline: string
  readonly tone: Tone
  readonly reason: string
  readonly message: string
  readonly mode: 'dry-run' | 'execute'
  readonly trigger: string
  readonly workload: string | undefined
  readonly kubectl: string | undefined
  readonly link: string | undefined
}

export interface RuleRow {
  readonly name: string
  readonly state: RuleState
  readonly health: RuleHealth
  readonly lastError: string
  readonly lastEvaluation: number
  readonly threshold: string | undefined
  readonly firing: number
  readonly pending: number
  /** noData is set while none of the rule's selectors matches a series: the rule cannot fire. */
  readonly noData: NoData | undefined
  /** probesMissing: the rule reads rollguard_probe_* series, but no health probe is configured. */
  readonly probesMissing: boolean
}

export interface GroupRow {
  readonly name: string
  readonly file: string
  readonly intervalMs: number
  readonly lastEvaluation: number
  readonly evaluationMs: number
  readonly rules: readonly RuleRow[]
}

/** StatusModel is what the page renders. */
export interface StatusModel {
  readonly now: number
  readonly version: string
  readonly refreshSeconds: number
  readonly windowMs: number
  /** since is where the timelines start: the window's start, or the first evaluation when the daemon is younger than the window. */
  readonly since: number
  readonly actions:
    | { readonly mode: 'dry-run' | 'execute'; readonly leader: boolean; readonly brake: BrakeStatus | undefined }
    | undefined
  readonly reload: ReloadStatus | undefined
  readonly summary: {
    readonly firing: number
    readonly pending: number
    readonly rules: number
    readonly failing: number
    readonly noData: number
  }
  readonly alerts: readonly AlertRow[]
  readonly alertsHidden: number
  readonly workloads: readonly WorkloadPanel[]
  readonly workloadsHidden: number
  /** decisions is undefined when automatic rollbacks are not configured. */
  readonly decisions: readonly DecisionRow[] | undefined
  readonly decisionsHidden: number
  readonly groups: readonly GroupRow[]
}

/** buildStatusModel computes the page's model. */
export function buildStatusModel(input: StatusInput): StatusModel {
  const groups = sortGroups(input.groups)
  const targets = input.actions?.targets ?? DEFAULT_TARGETS
  const trigger = input.actions?.trigger ?? DEFAULT_TRIGGER
  const allAlerts = groups.flatMap(g =>
    g.rules.flatMap(r => activeAlerts(r.state).map(a => alertRow(r, a, targets, trigger))),
  )
  allAlerts.sort(
    (a, b) => stateRank(a.state) - stateRank(b.state) || b.activeAt - a.activeAt || compare(a.name, b.name),
  )
  const since = timelineStart(input, groups)
  const workloads = workloadPanels(input, groups, targets, trigger, since)
  const decisions = input.actions?.decisions ?? []
  const groupRows = groups.map(g => groupRow(g, input.ruleData))
  const rules = groupRows.flatMap(g => g.rules)
  return {
    now: input.now,
    version: input.version,
    refreshSeconds: input.refreshSeconds,
    windowMs: input.windowMs,
    since,
    actions:
      input.actions === undefined
        ? undefined
        : { mode: input.actions.mode, leader: input.actions.leader, brake: input.actions.brake },
    reload: input.reload,
    summary: {
      firing: allAlerts.filter(a => a.state === 'firing').length,
      pending: allAlerts.filter(a => a.state === 'pending').length,
      rules: rules.length,
      failing: rules.filter(r => r.health === 'err').length,
      noData: rules.filter(r => r.noData !== undefined).length,
    },
    alerts: allAlerts.slice(0, LIMITS.alerts),
    alertsHidden: Math.max(0, allAlerts.length - LIMITS.alerts),
    workloads: workloads.slice(0, LIMITS.workloads),
    workloadsHidden: Math.max(0, workloads.length - LIMITS.workloads),
    decisions:
      input.actions === undefined
        ? undefined
        : [...decisions]
            .reverse()
            .slice(0, LIMITS.decisions)
            .map(d => decisionRow(d, input.kubernetesLink)),
    decisionsHidden: Math.max(0, decisions.length - LIMITS.decisions),
    groups: groupRows,
  }
}

function alertRow(rule: RuleSnapshot, alert: AlertSnapshot, targets: TargetLabels, trigger: TriggerSelector): AlertRow {
  const ref = workloadOf(alert.labels, targets)
  const threshold = parseThreshold(rule.spec.expr)
  return {
    name: rule.spec.name,
    state: alert.state === 'firing' ? 'firing' : 'pending',
    value: formatValue(alert.value),
    threshold: threshold === undefined ? undefined : formatThreshold(threshold),
    activeAt: alert.activeAt,
    firedAt: alert.firedAt,
    workload: ref === undefined ? undefined : describeWorkload(ref),
    labels: shownLabels(alert.labels, hiddenLabelNames(targets, trigger, [])),
    summary: alert.annotations['summary'],
    trigger: isTrigger(alert.labels, trigger),
  }
}

interface SeriesEntry {
  readonly panel: SeriesPanel
  readonly ref: WorkloadRef
}

/**
 * timelineStart is now - windowMs, or the first frame kept when rollguard has been evaluating for less than the
 * window (by more than the history's resolution). Every timeline shares this one time axis.
 */
function timelineStart(input: StatusInput, groups: readonly GroupSnapshot[]): number {
  const first = Math.min(input.now, ...groups.flatMap(g => g.rules.map(r => input.history(g, r)?.firstAt ?? Infinity)))
  return first > input.now - input.windowMs + 2 * input.bucketMs ? first : input.now - input.windowMs
}

function workloadPanels(
  input: StatusInput,
  groups: readonly GroupSnapshot[],
  targets: TargetLabels,
  trigger: TriggerSelector,
  since: number,
): WorkloadPanel[] {
  const byWorkload = new Map<string, { ref: WorkloadRef; series: SeriesPanel[] }>()
  for (const group of groups) {
    for (const rule of group.rules) {
      for (const { panel, ref } of seriesOf(input, group, rule, targets, trigger, since)) {
        const key = describeWorkload(ref)
        let entry = byWorkload.get(key)
        if (entry === undefined) byWorkload.set(key, (entry = { ref, series: [] }))
        entry.series.push(panel)
      }
    }
  }
  const panels = [...byWorkload.values()].map(({ ref, series: unmarked }): WorkloadPanel => {
    const markers = rollbackMarkers(input.actions?.decisions ?? [], ref, since, input.now)
    const series = unmarked.map(s => (markers.length === 0 ? s : { ...s, timeline: { ...s.timeline, markers } }))
    series.sort(
      (a, b) =>
        seriesRank(a.state) - seriesRank(b.state) ||
        compare(a.rule, b.rule) ||
        compare(JSON.stringify(a.labels), JSON.stringify(b.labels)),
    )
    return {
      ref,
      firing: series.filter(s => s.state === 'firing').length,
      pending: series.filter(s => s.state === 'pending').length,
      series: series.slice(0, LIMITS.seriesPerWorkload),
      seriesHidden: Math.max(0, series.length - LIMITS.seriesPerWorkload),
    }
  })
  return panels.sort(
    (a, b) => b.firing - a.firing || b.pending - a.pending || compare(describeWorkload(a.ref), describeWorkload(b.ref)),
  )
}

/** rollbackMarkers are the workload's rollbacks (executed or dry-run) within [from, now]. */
function rollbackMarkers(decisions: readonly DecisionRecord[], ref: WorkloadRef, from: number, now: number): Marker[] {
  const name = describeWorkload(ref)
  return decisions
    .filter(
      d =>
        (d.kind === 'rolled_back' || d.kind === 'dry_run') &&
        d.workload !== undefined &&
        describeWorkload(d.workload) === name &&
        d.at >= from &&
        d.at <= now,
    )
    .map(d => ({ t: d.at, text: d.kind === 'rolled_back' ? 'rollback' : 'dry-run rollback' }))
}

/** seriesOf lists the rule's series that name a workload and have a value in the window or an active alert. */
function seriesOf(
  input: StatusInput,
  group: GroupSnapshot,
  rule: RuleSnapshot,
  targets: TargetLabels,
  trigger: TriggerSelector,
  since: number,
): SeriesEntry[] {
  const history = input.history(group, rule)
  const alerts = new Map([...rule.state.active.values()].map(a => [a.fingerprint, a]))
  const fingerprints = new Set([...(history?.labels.keys() ?? []), ...activeAlerts(rule.state).map(a => a.fingerprint)])
  const threshold = parseThreshold(rule.spec.expr)
  const stepMs = Math.max(group.intervalMs, input.bucketMs)
  const hidden = hiddenLabelNames(targets, trigger, Object.keys(rule.spec.labels))
  const out: SeriesEntry[] = []
  for (const fp of fingerprints) {
    const alert = alerts.get(fp)
    const labels = alert?.labels ?? history?.labels.get(fp)
    const ref = labels === undefined ? undefined : workloadOf(labels, targets)
    if (labels === undefined || ref === undefined) continue
    const timeline = buildTimeline(history?.frames ?? [], fp, since, input.now, stepMs, threshold)
    const last = timeline.segments.at(-1)?.at(-1)
    const live = alert !== undefined && alert.resolvedAt === 0
    if (last === undefined && !live) continue
    out.push({
      ref,
      panel: {
        rule: rule.spec.name,
        labels: shownLabels(labels, hidden),
        state: alert === undefined ? 'none' : alert.state === 'inactive' ? 'resolved' : alert.state,
        last: live ? formatValue(alert.value) : last === undefined ? undefined : formatValue(last.v),
        threshold: threshold === undefined ? undefined : formatThreshold(threshold),
        trigger: isTrigger(labels, trigger),
        timeline,
      },
    })
  }
  return out
}

/**
 * buildTimeline turns a rule's frames into one series' timeline over (from, now]. A frame covers the time until
 * the next frame, at most 2 steps (longer gaps are "not evaluated": no band, no line); a value is drawn as a
 * step over its frame's time, a missing value as a band.
 */
export function buildTimeline(
  frames: readonly Frame[],
  fp: string,
  from: number,
  now: number,
  stepMs: number,
  threshold: Threshold | undefined,
): Timeline {
  const runs: { start: number; end: number; v: number }[][] = []
  const bands: Band[] = []
  let runEnd = Number.NaN
  frames.forEach((frame, i) => {
    const next = frames[i + 1]
    const end = Math.min(next?.t ?? now, frame.t + 2 * stepMs, now)
    if (end <= from || frame.t > now) return
    const start = Math.max(frame.t, from)
    const v = frame.values.get(fp)
    if (v !== undefined && Number.isFinite(v)) {
      const step = { start, end, v }
      if (runEnd === frame.t && runs.length > 0) (runs[runs.length - 1] as (typeof step)[]).push(step)
      else runs.push([step])
      runEnd = end
      return
    }
    runEnd = Number.NaN
    const kind = v === undefined && frame.error ? 'error' : 'absent'
    const prev = bands[bands.length - 1]
    if (prev !== undefined && prev.kind === kind && prev.to === start) bands[bands.length - 1] = { ...prev, to: end }
    else bands.push({ from: start, to: end, kind })
  })
  // A run is drawn through the middle of each frame's time, from the run's start to its end, so that the line
  // and the bands tile the axis.
  const segments = runs.map(run => {
    const first = run[0] as (typeof run)[number]
    const last = run[run.length - 1] as (typeof run)[number]
    return [
      { t: first.start, v: first.v },
      ...run.map(f => ({ t: (f.start + f.end) / 2, v: f.v })),
      { t: last.end, v: last.v },
    ]
  })
  return { from, to: now, segments, bands, threshold, markers: [] }
}

function groupRow(group: GroupSnapshot, ruleData: StatusInput['ruleData']): GroupRow {
  return {
    name: group.spec.name,
    file: group.spec.file,
    intervalMs: group.intervalMs,
    lastEvaluation: group.lastEvaluation,
    evaluationMs: group.evaluationDurationMs,
    rules: group.rules.map((rule): RuleRow => {
      const alerts = activeAlerts(rule.state)
      const threshold = parseThreshold(rule.spec.expr)
      const data = ruleData?.(group, rule)
      return {
        name: rule.spec.name,
        state: ruleState(rule.state),
        health: rule.state.health,
        lastError: rule.state.lastError,
        lastEvaluation: rule.state.lastEvaluation,
        threshold: threshold === undefined ? undefined : formatThreshold(threshold),
        firing: alerts.filter(a => a.state === 'firing').length,
        pending: alerts.filter(a => a.state === 'pending').length,
        noData: data?.noData,
        probesMissing: data?.probesMissing ?? false,
      }
    }),
  }
}

const HEADLINES: Record<AuditKind, readonly [string, Tone]> = {
  ignored: ['ignored: names no workload', 'info'],
  not_leader: ['skipped: not the leader', 'info'],
  cancelled: ['cancelled', 'info'],
  read_failed: ['failed: could not read the workload', 'bad'],
  skipped: ['skipped', 'warn'],
  brake: ['skipped: global brake engaged', 'warn'],
  dry_run: ['dry-run: would roll back', 'info'],
  dry_run_failed: ['dry-run failed', 'bad'],
  rolled_back: ['rolled back', 'action'],
  patch_failed: ['rollback failed', 'bad'],
  verified: ['rollback verified', 'good'],
  verify_failed: ['rollback did not complete', 'bad'],
  verify_aborted: ['verification stopped', 'info'],
  held: ['held: several workloads failing together', 'bad'],
  retrying: ['retrying after a transient failure', 'warn'],
  ineffective: ['rollback did not help: the trigger still fires', 'bad'],
  gitops_refused: ['refused: its GitOps controller would revert a rollback', 'bad'],
  gitops_suspended: ['GitOps reconciliation suspended for the rollback', 'warn'],
  reverted: ['rollback reverted: it did not stick', 'bad'],
}

function decisionRow(d: DecisionRecord, linkTemplate: string | undefined): DecisionRow {
  const [headline, tone] = HEADLINES[d.kind]
  const revisions =
    d.fromRevision !== undefined && d.toRevision !== undefined ? ` (revision ${d.fromRevision} → ${d.toRevision})` : ''
  const w = d.workload
  return {
    at: d.at,
    kind: d.kind,
    headline: headline + (['dry_run', 'rolled_back', 'verified'].includes(d.kind) ? revisions : ''),
    tone,
    reason: d.reason,
    message: d.message,
    mode: d.mode,
    trigger: d.alert.name,
    workload: w === undefined ? undefined : describeWorkload(w),
    kubectl:
      w === undefined ? undefined : `kubectl -n ${w.namespace} rollout history ${w.kind.toLowerCase()}/${w.name}`,
    link: w === undefined ? undefined : workloadLink(linkTemplate, w),
  }
}

/** workloadLink fills a URL template for the workload; undefined without a template or when the result is not http(s). */
export function workloadLink(template: string | undefined, w: WorkloadRef): string | undefined {
  if (template === undefined) return undefined
  const fields: Record<string, string> = {
    namespace: w.namespace,
    name: w.name,
    kind: w.kind.toLowerCase(),
    resource: `${w.kind.toLowerCase()}s`,
  }
  const url = template.replace(/\{(namespace|name|kind|resource)\}/g, (_m, k: string) =>
    encodeURIComponent(fields[k] as string),
  )
  return /^https?:\/\//i.test(url) ? url : undefined
}

function workloadOf(labels: Labels, targets: TargetLabels): WorkloadRef | undefined {
  const ref = targetOf(labels, targets)
  return 'reason' in ref ? undefined : ref
}

function hiddenLabelNames(targets: TargetLabels, trigger: TriggerSelector, ruleLabels: readonly string[]): Set<string> {
  return new Set([
    'alertname',
    targets.namespace,
    targets.deployment,
    targets.statefulset,
    targets.daemonset,
    trigger.label,
    ...ruleLabels,
  ])
}

function shownLabels(labels: Labels, hidden: ReadonlySet<string>): [string, string][] {
  return Object.keys(labels)
    .filter(k => !hidden.has(k))
    .sort()
    .map(k => [k, labels[k] as string])
}

/** formatValue shows a sample value compactly: 4 significant digits, SI prefixes from 10 000 on, exponent below 0.001. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  const abs = Math.abs(v)
  if (abs >= 10_000) return humanize(v)
  if (abs !== 0 && abs < 0.001) return v.toExponential(2)
  return String(Number(v.toPrecision(4)))
}

/** formatThreshold is "> 0.1". */
export function formatThreshold(t: Threshold): string {
  return `${t.op} ${formatValue(t.value)}`
}

function stateRank(s: 'firing' | 'pending'): number {
  return s === 'firing' ? 0 : 1
}

function seriesRank(s: SeriesState): number {
  return ['firing', 'pending', 'resolved', 'none'].indexOf(s)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
