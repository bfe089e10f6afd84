import type { OutgoingAlert } from '../engine/types.js'
import type { CorrelatedTriggers } from './policy.js'
import { describeWorkload, type WorkloadRef } from './workload-ref.js'
import type { AlertInfo } from './trigger.js'

/** ActionAlertName names the alerts rollguard sends about its own actions. */
export type ActionAlertName =
  | 'RollbackExecuted'
  | 'RollbackFailed'
  | 'RollbackBrakeEngaged'
  | 'RollbackHeldCorrelated'
  | 'RollbackIneffective'
  | 'RollbackRefusedGitOps'
  | 'RollbackGitOpsSuspended'
  | 'RollbackReverted'

/**
 * ACTION_ALERT_TTL_MS is how long an action alert stays active in Alertmanager: it is sent once with
 * endsAt = now + 1h and never resent, so it notifies, stays visible for an hour and then resolves itself.
 */
export const ACTION_ALERT_TTL_MS = 3_600_000

/** ActionAlertInput is what an action alert describes. */
export interface ActionAlertInput {
  readonly workload: WorkloadRef
  readonly trigger: AlertInfo
  readonly reason: string
  readonly message: string
  readonly fromRevision?: number | undefined
  readonly toRevision?: number | undefined
  readonly correlated?: CorrelatedTriggers | undefined
  readonly value?: number | undefined
}

/** actionAlert builds the alert for Alertmanager; labels identify the workload and the trigger, annotations tell the story. */
export function actionAlert(
  name: ActionAlertName,
  input: ActionAlertInput,
  now: number,
  generatorURL: string,
): OutgoingAlert {
  if (name === 'RollbackHeldCorrelated' && input.correlated !== undefined)
    return heldAlert(input, input.correlated, now, generatorURL)
  const { workload: w, trigger } = input
  const annotations: Record<string, string> = {
    summary: `${w.kind} ${w.namespace}/${w.name}: ${SUMMARY[name]}`,
    description: input.message,
    reason: input.reason,
  }
  if (input.fromRevision !== undefined) annotations['from_revision'] = String(input.fromRevision)
  if (input.toRevision !== undefined) annotations['to_revision'] = String(input.toRevision)
  if (input.value !== undefined) annotations['value'] = String(input.value)
  return {
    labels: {
      alertname: name,
      severity: name === 'RollbackExecuted' ? 'info' : 'critical',
      namespace: w.namespace,
      kind: w.kind,
      workload: w.name,
      trigger_alertname: trigger.name,
      rollguard_action: 'rollback',
    },
    annotations,
    startsAt: now,
    endsAt: now + ACTION_ALERT_TTL_MS,
    generatorURL,
  }
}

/**
 * heldAlert is one alert per scope, not per workload: its labels name the scope only, so every held workload of
 * one outage updates the same alert in Alertmanager, and its annotations list them all.
 */
function heldAlert(
  input: ActionAlertInput,
  correlated: CorrelatedTriggers,
  now: number,
  generatorURL: string,
): OutgoingAlert {
  const names = correlated.workloads.map(describeWorkload)
  const namespaces = [...new Set(correlated.workloads.map(w => w.namespace))]
  return {
    labels: {
      alertname: 'RollbackHeldCorrelated',
      severity: 'critical',
      scope: correlated.scope,
      ...(namespaces.length === 1 ? { namespace: namespaces[0] as string } : {}),
      rollguard_action: 'rollback',
    },
    annotations: {
      summary: `${names.length} workloads failing together (${correlated.scope}): automatic rollbacks held, a human is needed`,
      description: input.message,
      workloads: names.join(', '),
      reason: input.reason,
    },
    startsAt: now,
    endsAt: now + ACTION_ALERT_TTL_MS,
    generatorURL,
  }
}

const SUMMARY: Record<ActionAlertName, string> = {
  RollbackExecuted: 'rolled back automatically',
  RollbackFailed: 'automatic rollback failed; a human is needed',
  RollbackBrakeEngaged: 'rollback storm brake engaged; not rolling back',
  RollbackHeldCorrelated: 'rollback held: several workloads failing together',
  RollbackIneffective: 'rolled back, but the trigger still fires on the restored revision; a human is needed',
  RollbackRefusedGitOps: 'not rolled back: its GitOps controller would revert it; revert in Git or suspend the owner',
  RollbackGitOpsSuspended: 'GitOps reconciliation suspended for a rollback; the fix must go to Git, then resume',
  RollbackReverted: 'rolled back, but the rollback did not stick: it was reverted; a human is needed',
}
