/**
 * Rollout history from kube-state-metrics, read from Prometheus over the backtest window. Unlike the Kubernetes
 * API it still knows ReplicaSets deleted since, and it shows when an old ReplicaSet was scaled up again (an undo
 * or a revert re-uses the old template's ReplicaSet), which the API's creation times cannot. Deployments only:
 * kube-state-metrics exports no ControllerRevisions, so StatefulSet and DaemonSet history comes from the API.
 */

import type { WorkloadRef } from '../actions/workload-ref.js'
import type { Labels } from '../engine/types.js'
import type { RangeQueryFn } from './replay.js'
import type { Rollout, RolloutHistory } from './would-be.js'
import { errorText } from '../errors.js'

type Series = Awaited<ReturnType<RangeQueryFn>>['series'][number]

/** KsmHistoryOptions are where and over which window to read. */
export interface KsmHistoryOptions {
  readonly rangeQuery: RangeQueryFn
  readonly fromMs: number
  readonly toMs: number
  /** The query step (default 30s): how precisely a re-activation is placed in time. */
  readonly resolutionMs?: number | undefined
}

/** The answers kube-state-metrics gives about one Deployment, one series per ReplicaSet where it applies. */
export interface KsmAnswers {
  /** kube_replicaset_created by replicaset: Unix seconds. */
  readonly created: readonly Series[]
  /** kube_replicaset_spec_replicas by replicaset. */
  readonly replicas: readonly Series[]
  /** kube_deployment_labels of the Deployment. */
  readonly labels: readonly Series[]
  /** metadata.generation − status.observedGeneration of the Deployment: above 0 while a rollout is in progress. */
  readonly generationLag: readonly Series[]
  /** The query step, which is the resolution of re-activations. */
  readonly stepMs: number
}

const DEFAULT_STEP_MS = 30_000
const MAX_POINTS = 10_000

/**
 * readKsmHistory asks Prometheus what kube-state-metrics recorded about the workload in the window; undefined when
 * it recorded nothing (kube-state-metrics not scraped, or not a Deployment), so the caller can ask the API.
 */
export async function readKsmHistory(ref: WorkloadRef, opts: KsmHistoryOptions): Promise<RolloutHistory | undefined> {
  if (ref.kind !== 'Deployment') return undefined
  const stepMs = Math.max(
    opts.resolutionMs ?? DEFAULT_STEP_MS,
    Math.ceil((opts.toMs - opts.fromMs) / MAX_POINTS / 1000) * 1000,
  )
  const range = { startMs: opts.fromMs, endMs: opts.toMs, stepMs }
  const q = ksmQueries(ref)
  const series = async (expr: string) => (await opts.rangeQuery(expr, range)).series
  try {
    const [created, replicas, labels, generationLag] = await Promise.all([
      series(q.created),
      series(q.replicas),
      series(q.labels),
      series(q.generationLag),
    ])
    return created.length === 0 ? undefined : ksmHistory({ created, replicas, labels, generationLag, stepMs })
  } catch (err) {
    return { error: `reading the rollout history from kube-state-metrics: ${errorText(err)}` }
  }
}

/** ksmQueries are the PromQL expressions that read one Deployment's history. */
export function ksmQueries(ref: WorkloadRef): {
  created: string
  replicas: string
  labels: string
  generationLag: string
} {
  const ns = promString(ref.namespace)
  const name = promString(ref.name)
  const owned = `on (namespace, replicaset) kube_replicaset_owner{namespace=${ns},owner_kind="Deployment",owner_name=${name}}`
  const deployment = `{namespace=${ns},deployment=${name}}`
  return {
    created: `max by (replicaset) (kube_replicaset_created{namespace=${ns}} and ${owned})`,
    replicas: `max by (replicaset) (kube_replicaset_spec_replicas{namespace=${ns}} and ${owned})`,
    labels: `kube_deployment_labels${deployment}`,
    generationLag: `max(kube_deployment_metadata_generation${deployment}) - max(kube_deployment_status_observed_generation${deployment})`,
  }
}

/**
 * ksmHistory turns the answers into rollouts: each ReplicaSet at its creation, and again each time it went from
 * zero desired replicas to some more than two steps after its creation (a re-used template made current).
 */
export function ksmHistory(a: KsmAnswers): RolloutHistory {
  const createdAt = new Map<string, number>()
  for (const s of a.created) {
    const name = s.labels['replicaset']
    const last = s.points.at(-1)
    if (name !== undefined && last !== undefined && Number.isFinite(last[1])) createdAt.set(name, last[1] * 1000)
  }
  const rollouts: Rollout[] = [...createdAt].map(([name, at]) => ({ revision: 0, at, name }))
  for (const s of a.replicas) {
    const name = s.labels['replicaset']
    const created = name === undefined ? undefined : createdAt.get(name)
    if (name === undefined || created === undefined) continue
    for (const at of scaledUpFromZero(s.points)) {
      if (at - created > 2 * a.stepMs)
        rollouts.push({
          revision: 0,
          at,
          name,
          reapplied: `ReplicaSet ${name}, created ${new Date(created).toISOString()}, scaled up from 0 again (kube-state-metrics)`,
        })
    }
  }
  rollouts.sort((x, y) => x.at - y.at || x.name.localeCompare(y.name))
  return {
    labels: deploymentLabels(a.labels),
    rollouts: rollouts.map((r, i) => ({ ...r, revision: i + 1 })),
    generationLag: a.generationLag[0]?.points ?? [],
    source: 'kube-state-metrics',
  }
}

function scaledUpFromZero(points: ReadonlyArray<readonly [number, number]>): number[] {
  const out: number[] = []
  for (let i = 1; i < points.length; i++) {
    const before = points[i - 1] as readonly [number, number]
    const now = points[i] as readonly [number, number]
    if (before[1] === 0 && now[1] > 0) out.push(now[0])
  }
  return out
}

// kube_deployment_labels carries the allowlisted labels as label_<sanitized name>; the sanitized name is what is
// left (kube-state-metrics replaces every character Prometheus refuses in a label name by "_").
function deploymentLabels(series: readonly Series[]): Labels {
  const newest = [...series].sort((x, y) => (x.points.at(-1)?.[0] ?? 0) - (y.points.at(-1)?.[0] ?? 0)).at(-1)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(newest?.labels ?? {}))
    if (k.startsWith('label_')) out[k.slice('label_'.length)] = v
  return out
}

function promString(value: string): string {
  return JSON.stringify(value)
}
