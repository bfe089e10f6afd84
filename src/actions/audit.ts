/**
 * The audit trail of automatic rollbacks. Every entry becomes a structured log line, metrics and an item of
 * the in-memory ring; entries about a workload that was read also become a Kubernetes Event on it, and in
 * execute mode failures, executed rollbacks and the storm brake become Alertmanager alerts. The record
 * annotation on the workload is written by the rollback patch itself, not here.
 */

import type { EventsV1Api } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { OutgoingAlert } from '../engine/types.js'
import type { ActionMetrics, RollbackResult } from '../telemetry/action-metrics.js'
import { actionAlert, type ActionAlertName } from './action-alerts.js'
import { recordEvent, type RegardingRef, type Reporter } from './kube/events.js'
import type { CorrelatedTriggers, SilenceState } from './policy.js'
import { describeWorkload, type WorkloadRef } from './workload-ref.js'
import type { AlertInfo } from './trigger.js'

/** AuditKind is what happened; it fixes the decision, metric result, event and alert of an entry (KINDS). */
export type AuditKind =
  | 'ignored'
  | 'not_leader'
  | 'cancelled'
  | 'read_failed'
  | 'skipped'
  | 'brake'
  | 'dry_run'
  | 'dry_run_failed'
  | 'rolled_back'
  | 'patch_failed'
  | 'verified'
  | 'verify_failed'
  | 'verify_aborted'
  | 'held'
  | 'retrying'
  | 'ineffective'
  | 'gitops_refused'
  | 'gitops_suspended'
  | 'reverted'

/** PatchSummary is the exact patch sent (or validated by a dry run) and the images it swaps. */
export interface PatchSummary {
  readonly contentType: string
  readonly body: unknown
  readonly fromImages: readonly string[]
  readonly toImages: readonly string[]
}

/** AuditEntry is one thing to record; `regarding` is set when the workload was read (events go there). */
export interface AuditEntry {
  readonly kind: AuditKind
  readonly reason: string
  readonly message: string
  readonly alert: AlertInfo
  readonly mode: 'dry-run' | 'execute'
  readonly workload?: WorkloadRef | undefined
  readonly regarding?: RegardingRef | undefined
  readonly fromRevision?: number | undefined
  readonly toRevision?: number | undefined
  readonly blockers?: readonly string[] | undefined
  readonly patch?: PatchSummary | undefined
  /** The Alertmanager silence that matched the trigger alert, when there was one. */
  readonly silence?: Extract<SilenceState, { state: 'silenced' }> | undefined
  /** The workloads whose triggers fired together with this one (kind `held`). */
  readonly correlated?: CorrelatedTriggers | undefined
  /** The trigger's value when it was last evaluated (kind `ineffective`). */
  readonly value?: number | undefined
}

/** DecisionRecord is an entry as kept in the ring: with its time and the labels it was counted under. */
export interface DecisionRecord extends AuditEntry {
  readonly at: number
  readonly decision: string | undefined
  readonly result: RollbackResult | undefined
}

interface KindSpec {
  readonly decision?: 'ignore' | 'skip' | 'dry_run' | 'rollback' | 'error'
  readonly result?: RollbackResult
  readonly event?: readonly ['Normal' | 'Warning', string]
  readonly alert?: ActionAlertName
  readonly level: 'info' | 'warn' | 'error'
}

// `result: failed` for read errors: a rollback that should have been considered could not be.
const KINDS: Record<AuditKind, KindSpec> = {
  ignored: { decision: 'ignore', level: 'warn' },
  not_leader: { decision: 'skip', result: 'skipped', level: 'info' },
  cancelled: { decision: 'skip', result: 'skipped', level: 'info' },
  read_failed: { decision: 'error', result: 'failed', alert: 'RollbackFailed', level: 'error' },
  skipped: { decision: 'skip', result: 'skipped', event: ['Normal', 'RollbackSkipped'], level: 'info' },
  brake: {
    decision: 'skip',
    result: 'skipped',
    event: ['Warning', 'RollbackBrake'],
    alert: 'RollbackBrakeEngaged',
    level: 'warn',
  },
  dry_run: { decision: 'dry_run', result: 'dry_run', event: ['Normal', 'RollbackDryRun'], level: 'info' },
  dry_run_failed: { decision: 'dry_run', result: 'failed', event: ['Warning', 'RollbackFailed'], level: 'error' },
  rolled_back: {
    decision: 'rollback',
    result: 'attempted',
    event: ['Normal', 'RolledBack'],
    alert: 'RollbackExecuted',
    level: 'info',
  },
  patch_failed: {
    decision: 'rollback',
    result: 'failed',
    event: ['Warning', 'RollbackFailed'],
    alert: 'RollbackFailed',
    level: 'error',
  },
  verified: { result: 'succeeded', event: ['Normal', 'RollbackVerified'], level: 'info' },
  verify_failed: { result: 'failed', event: ['Warning', 'RollbackFailed'], alert: 'RollbackFailed', level: 'error' },
  verify_aborted: { level: 'warn' },
  held: {
    decision: 'skip',
    result: 'skipped',
    event: ['Warning', 'RollbackHeldCorrelated'],
    alert: 'RollbackHeldCorrelated',
    level: 'warn',
  },
  retrying: { level: 'warn' },
  ineffective: {
    result: 'ineffective',
    event: ['Warning', 'RollbackIneffective'],
    alert: 'RollbackIneffective',
    level: 'error',
  },
  gitops_refused: {
    decision: 'skip',
    result: 'skipped',
    event: ['Warning', 'RollbackRefusedGitOps'],
    alert: 'RollbackRefusedGitOps',
    level: 'warn',
  },
  gitops_suspended: { event: ['Warning', 'GitOpsSuspended'], alert: 'RollbackGitOpsSuspended', level: 'warn' },
  reverted: { result: 'reverted', event: ['Warning', 'RollbackReverted'], alert: 'RollbackReverted', level: 'error' },
}

/**
 * workloadLabels are the workload labels of rollguard_rollbacks_total: set once the workload was read and
 * actions.allow matched it (a vetoed decision lists not_allowed among its blockers), else empty. So only allowed
 * workloads ever get series, whatever workloads the trigger alerts name.
 */
function workloadLabels(entry: AuditEntry): { workload_namespace: string; kind: string; workload: string } {
  const w = entry.workload
  if (w === undefined || entry.regarding === undefined || entry.blockers?.includes('not_allowed') === true)
    return { workload_namespace: '', kind: '', workload: '' }
  return { workload_namespace: w.namespace, kind: w.kind, workload: w.name }
}

/** AuditDeps are the audit trail's outputs; `now` is wall-clock ms. */
export interface AuditDeps {
  readonly logger: Logger
  readonly metrics: ActionMetrics
  readonly events: EventsV1Api
  readonly reporter: Reporter
  readonly sendAlerts: (alerts: readonly OutgoingAlert[]) => void
  readonly generatorURL: () => string
  readonly now: () => number
  readonly ringSize?: number
}

/** Audit records entries; Kubernetes Events are created in the background and never block or fail a rollback. */
export class Audit {
  readonly #ring: DecisionRecord[] = []
  readonly #pending = new Set<Promise<void>>()
  readonly #listeners = new Set<(rec: DecisionRecord) => void>()

  constructor(private readonly deps: AuditDeps) {}

  /** record logs, counts, keeps, and (per KINDS) creates the event and sends the alert for one entry. */
  record(entry: AuditEntry): DecisionRecord {
    const spec = KINDS[entry.kind]
    const at = this.deps.now()
    const rec: DecisionRecord = { ...entry, at, decision: spec.decision, result: spec.result }
    this.#log(rec, spec)
    if (spec.decision !== undefined) this.deps.metrics.decisions.inc({ decision: spec.decision, reason: entry.reason })
    if (spec.result !== undefined)
      this.deps.metrics.rollbacks.inc({ result: spec.result, reason: entry.reason, ...workloadLabels(entry) })
    this.#ring.push(rec)
    if (this.#ring.length > (this.deps.ringSize ?? 200)) this.#ring.shift()
    for (const listener of this.#listeners) listener(rec)
    if (spec.event !== undefined && entry.regarding !== undefined)
      this.#event(entry.regarding, spec.event, entry.message)
    if (spec.alert !== undefined && entry.mode === 'execute' && entry.workload !== undefined) {
      const { workload, alert: trigger, reason, message, fromRevision, toRevision, correlated, value } = entry
      const input = { workload, trigger, reason, message, fromRevision, toRevision, correlated, value }
      this.deps.sendAlerts([actionAlert(spec.alert, input, at, this.deps.generatorURL())])
    }
    return rec
  }

  /** onRecord calls listener with every record from now on (synchronously; it must not throw); returns the unsubscribe. */
  onRecord(listener: (rec: DecisionRecord) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** recentDecisions lists the most recent records, oldest first (for a status page). */
  recentDecisions(): DecisionRecord[] {
    return [...this.#ring]
  }

  /** flush waits for events still being created, at most timeoutMs. */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>(resolve => (timer = setTimeout(resolve, timeoutMs)))
    await Promise.race([Promise.all([...this.#pending]), timeout])
    clearTimeout(timer)
  }

  #log(rec: DecisionRecord, spec: KindSpec): void {
    const w = rec.workload
    const fields = {
      decision: rec.decision,
      result: rec.result,
      reason: rec.reason,
      message: rec.message,
      mode: rec.mode,
      workload: w === undefined ? undefined : describeWorkload(w),
      alert: { name: rec.alert.name, labels: rec.alert.labels, startsAt: new Date(rec.alert.startsAt).toISOString() },
      fromRevision: rec.fromRevision,
      toRevision: rec.toRevision,
      blockers: rec.blockers,
      patch: rec.patch,
      correlated: rec.correlated && {
        scope: rec.correlated.scope,
        workloads: rec.correlated.workloads.map(describeWorkload),
      },
      value: rec.value,
      silence: rec.silence && {
        id: rec.silence.id,
        createdBy: rec.silence.createdBy,
        comment: rec.silence.comment,
        endsAt: new Date(rec.silence.endsAt).toISOString(),
        alertmanager: rec.silence.alertmanager,
      },
    }
    this.deps.logger[spec.level](fields, `rollback ${rec.kind.replace(/_/g, ' ')}: ${rec.message}`)
  }

  #event(regarding: RegardingRef, [type, reason]: readonly ['Normal' | 'Warning', string], note: string): void {
    const done = recordEvent(
      this.deps.events,
      regarding,
      { type, reason, action: 'Rollback', note },
      this.deps.reporter,
    ).then(r => {
      if (r.kind === 'error')
        this.deps.logger.warn({ reason: r.reason, status: r.status }, `rollback audit event not recorded: ${r.message}`)
    })
    this.#pending.add(done)
    void done.finally(() => this.#pending.delete(done))
  }
}
