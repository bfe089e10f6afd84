import type { AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node'
import { describeOwner } from '../actions/gitops.js'
import { readGitOpsFacts } from '../actions/kube/gitops-owner.js'
import { GitOpsPolicy } from '../actions/policy-config.js'
import { formatHistory, refString, type History, type WorkloadRef } from '../actions/kube/index.js'
import { fetchDeploymentState } from '../actions/kube/deployment-undo.js'
import { classifyError } from '../actions/kube/errors.js'
import { deploymentHistory, revisionHistory } from '../actions/kube/history.js'
import { isControlledBy, type RawMeta } from '../actions/kube/model.js'
import { fetchRevisionState } from '../actions/kube/revision-undo.js'
import { decodeRollbackRecord, ROLLBACK_ANNOTATION, type RollbackRecord } from '../actions/policy.js'
import { parseFlags } from './args.js'
import type { CliIO } from './run.js'
import {
  KUBE_FLAGS_HELP,
  KUBE_OPTIONS,
  parseTarget,
  prepareWorkloadCommand,
  printError,
  type Env,
  type KubeFlags,
  type Target,
} from './workload-args.js'

/** HISTORY_USAGE is the help text of `rollguard history`. */
export const HISTORY_USAGE = `Usage: rollguard history KIND/NAME [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]

List a workload's revisions like 'kubectl rollout history' (REVISION, CHANGE-CAUSE), with the images
of each revision; '*' marks the revision whose template is running. Rollbacks recorded by rollguard
(annotation ${ROLLBACK_ANNOTATION}, written by the daemon and by 'rollguard rollback') are marked on
the revision they created and listed below the table, with their verification and effectiveness verdict
(effective or ineffective, once given). The workload's GitOps owner (Argo CD Application, Flux
Kustomization or HelmRelease), if any, and whether it would revert a rollback, come last. Only reads; changes
nothing.

KIND is deployment (deploy), statefulset (sts) or daemonset (ds), case-insensitive; 'KIND NAME' works too.

Flags:
${KUBE_FLAGS_HELP}

Exit status: 0 listed, 1 error (not found, forbidden, API unreachable), 2 usage error.

Examples:
  rollguard history deployment/web -n shop
  rollguard history sts/db --context prod -n data
`

/** HistoryHooks let tests pin the environment. */
export interface HistoryHooks {
  readonly env?: Env
  readonly requestTimeoutMs?: number
}

/** HistoryOptions is a parsed `rollguard history` command line. */
export interface HistoryOptions {
  readonly target: Target
  readonly flags: KubeFlags
}

/** WorkloadHistory is the revision table plus every rollguard record found on the workload and its revisions, oldest first. */
export interface WorkloadHistory {
  readonly history: History
  readonly records: readonly RollbackRecord[]
  /** The workload's metadata (labels and annotations tell its GitOps owner). */
  readonly meta?: RawMeta | undefined
}

/** parseHistoryArgs parses the command line (without --help); throws UsageError. */
export function parseHistoryArgs(argv: readonly string[]): HistoryOptions {
  const { values, positionals } = parseFlags(argv, KUBE_OPTIONS)
  return {
    target: parseTarget(positionals),
    flags: { namespace: values.namespace, kubeconfig: values.kubeconfig, context: values.context },
  }
}

/** runHistory implements `rollguard history` and returns the exit code; it prints errors instead of throwing them. */
export async function runHistory(argv: readonly string[], io: CliIO, hooks: HistoryHooks = {}): Promise<number> {
  const prepared = prepareWorkloadCommand(argv, io, {
    command: 'history',
    usage: HISTORY_USAGE,
    parse: parseHistoryArgs,
    ...(hooks.env === undefined ? {} : { env: hooks.env }),
    ...(hooks.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: hooks.requestTimeoutMs }),
  })
  if (typeof prepared === 'number') return prepared
  const { conn, ref } = prepared
  let found: WorkloadHistory
  try {
    found = await workloadHistory(conn.clients.apps, ref)
  } catch (err) {
    return printError(io, classifyError(err, refString(ref)).message)
  }
  io.stdout(formatWorkloadHistory(found) + (await gitopsLine(conn.clients.custom, ref, found.meta)))
  return 0
}

// The owner as the daemon sees it with the default actions.gitops settings (Applications in "argocd").
async function gitopsLine(custom: CustomObjectsApi, ref: WorkloadRef, meta: RawMeta | undefined): Promise<string> {
  const facts = { ref, labels: meta?.labels ?? {}, annotations: meta?.annotations ?? {} }
  const { facts: g } = await readGitOpsFacts(custom, facts, GitOpsPolicy.parse({}))
  if (g.state === 'unmanaged') return g.note === undefined ? '' : `\nGitOps: ${g.note}\n`
  if (g.state === 'unreadable')
    return `\nGitOps: applied by ${describeOwner(g.owner)} (${g.owner.via}), which could not be read: ${g.error}\n`
  const verdict = g.suspendedByRollguard
    ? 'suspended by rollguard (rollguard gitops resume restores it)'
    : g.reverts
      ? 'would revert a rollback'
      : 'would not revert a rollback'
  return `\nGitOps: applied by ${describeOwner(g.owner)} (${g.owner.via}): ${g.detail}; ${verdict}\n`
}

/** workloadHistory reads the workload and its ReplicaSets or ControllerRevisions once; throws client errors. */
export async function workloadHistory(apps: AppsV1Api, ref: WorkloadRef): Promise<WorkloadHistory> {
  if (ref.kind === 'Deployment') {
    const state = await fetchDeploymentState(apps, ref)
    const owned = state.replicaSets.filter(rs => isControlledBy(rs.metadata, state.deployment.metadata?.uid))
    const records = recordsOf([state.deployment.metadata, ...owned.map(rs => rs.metadata)])
    return {
      history: { kind: 'history', ref, entries: deploymentHistory(state) },
      records,
      meta: state.deployment.metadata,
    }
  }
  const state = await fetchRevisionState(apps, ref)
  const owned = state.revisions.filter(cr => isControlledBy(cr.metadata, state.workload.metadata?.uid))
  const records = recordsOf([state.workload.metadata, ...owned.map(cr => cr.metadata)])
  return { history: { kind: 'history', ref, entries: revisionHistory(state) }, records, meta: state.workload.metadata }
}

// The controllers copy the workload's annotations onto the revisions they create, so older records survive there.
function recordsOf(metas: readonly (RawMeta | undefined)[]): RollbackRecord[] {
  const byKey = new Map<string, RollbackRecord>()
  for (const meta of metas) {
    const record = decodeRollbackRecord(meta?.annotations?.[ROLLBACK_ANNOTATION])
    if (record) byKey.set(`${record.at}/${record.fromRevision}/${record.toRevision}`, record)
  }
  return [...byKey.values()].sort((a, b) => a.at - b.at)
}

/** formatWorkloadHistory renders formatHistory's table, marks the revisions rollguard's rollbacks created, and lists the records. */
export function formatWorkloadHistory(found: WorkloadHistory): string {
  const { history, records } = found
  if (history.entries.length === 0)
    return `${refString(history.ref).replace(/ -n .*$/, '')}\nNo rollout history found.\n`
  const lines = formatHistory(history).trimEnd().split('\n')
  // formatHistory prints the object, the header, then one line per entry in order.
  const width = Math.max(...lines.slice(1).map(l => l.length))
  history.entries.forEach((entry, i) => {
    // An undo gives the restored template the next revision number: the rollback's fromRevision + 1.
    const record = records.findLast(r => r.fromRevision + 1 === entry.revision)
    const line = lines[i + 2]
    if (record && line !== undefined)
      lines[i + 2] = `${line.padEnd(width)}  <- rollguard rollback ${record.fromRevision} → ${record.toRevision}`
  })
  return `${lines.join('\n')}\n${recordsText(records)}`
}

function recordsText(records: readonly RollbackRecord[]): string {
  if (records.length === 0) return ''
  const rows = records.map(r => {
    const by = r.by === undefined ? '' : `  by ${r.by}`
    const verified =
      r.attempt === undefined ? '' : r.verified === undefined ? '  not verified' : `  verified ${time(r.verified)}`
    const judged =
      r.judged === undefined
        ? ''
        : `  ${r.judged.effective ? 'effective' : 'ineffective'} (judged ${time(r.judged.at)})`
    return `  ${time(r.at)}  revision ${r.fromRevision} → ${r.toRevision}  generation ${r.generation}  ${r.alert}${by}${verified}${judged}`
  })
  const known = new Set(records.map(r => r.at))
  const earlier = (records[records.length - 1]?.history ?? []).filter(t => !known.has(t))
  if (earlier.length > 0) rows.push(`  earlier rollbacks (details overwritten): ${earlier.map(time).join(', ')}`)
  return `\nRollbacks recorded by rollguard (annotation ${ROLLBACK_ANNOTATION}):\n${rows.join('\n')}\n`
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
