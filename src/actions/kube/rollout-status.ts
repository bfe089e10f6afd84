import type { AppsV1Api } from '@kubernetes/client-node'
import { refString, type WorkloadRef } from './client.js'
import { classifyError, isNotFound } from './errors.js'
import { revisionOf, type RawWorkload } from './model.js'
import { withRaw } from './raw.js'
import { sleepFor } from '../../runtime/signals.js'

/** RolloutVerdict is kubectl's (message, done, error) triple: `failed` means kubectl would exit with an error. */
export interface RolloutVerdict {
  readonly done: boolean
  readonly message: string
  readonly failed?: boolean
}

/** StatusOptions tune the Deployment viewer. */
export interface StatusOptions {
  /** kubectl's --revision: fail unless the Deployment runs this revision. */
  readonly revision?: number
  /** Epoch ms; a ProgressDeadlineExceeded condition last updated before it is left over from the previous rollout and ignored (rollguard addition). */
  readonly ignoreDeadlineBefore?: number
  /** Used when the object carries no `kind` (typed client objects). */
  readonly kind?: WorkloadRef['kind']
}

/** rolloutStatus is kubectl's rollout status viewer for Deployments, StatefulSets and DaemonSets, as a pure function. */
export function rolloutStatus(obj: RawWorkload, opts: StatusOptions = {}): RolloutVerdict {
  const kind = obj.kind ?? opts.kind
  if (kind === 'Deployment') return deploymentStatus(obj, opts)
  if (kind === 'StatefulSet') return statefulSetStatus(obj)
  if (kind === 'DaemonSet') return daemonSetStatus(obj)
  return {
    done: false,
    failed: true,
    message: `no status viewer has been implemented for ${kind ?? 'an object without kind'}`,
  }
}

function fail(message: string): RolloutVerdict {
  return { done: false, failed: true, message }
}

function waiting(message: string): RolloutVerdict {
  return { done: false, message }
}

function deploymentStatus(d: RawWorkload, opts: StatusOptions): RolloutVerdict {
  const name = d.metadata?.name ?? ''
  const s = d.status ?? {}
  if (opts.revision !== undefined && opts.revision > 0) {
    const running = revisionOf(d.metadata)
    if (running === undefined) return fail(`cannot get the revision of deployment "${name}"`)
    if (running !== opts.revision)
      return fail(`desired revision (${opts.revision}) is different from the running revision (${running})`)
  }
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0))
    return waiting('Waiting for deployment spec update to be observed...')
  const progressing = s.conditions?.find(c => c.type === 'Progressing')
  if (
    progressing?.reason === 'ProgressDeadlineExceeded' &&
    !isStale(progressing.lastUpdateTime, opts.ignoreDeadlineBefore)
  ) {
    return fail(`deployment "${name}" exceeded its progress deadline`)
  }
  const updated = s.updatedReplicas ?? 0
  const want = d.spec?.replicas
  const prefix = `Waiting for deployment "${name}" rollout to finish:`
  if (want !== undefined && updated < want)
    return waiting(`${prefix} ${updated} out of ${want} new replicas have been updated...`)
  if ((s.replicas ?? 0) > updated)
    return waiting(`${prefix} ${(s.replicas ?? 0) - updated} old replicas are pending termination...`)
  if ((s.availableReplicas ?? 0) < updated)
    return waiting(`${prefix} ${s.availableReplicas ?? 0} of ${updated} updated replicas are available...`)
  return { done: true, message: `deployment "${name}" successfully rolled out` }
}

function isStale(lastUpdateTime: string | undefined, notBefore: number | undefined): boolean {
  if (notBefore === undefined || lastUpdateTime === undefined) return false
  const t = Date.parse(lastUpdateTime)
  // Condition times have whole seconds; compare at that resolution.
  return Number.isFinite(t) && t < Math.floor(notBefore / 1000) * 1000
}

function daemonSetStatus(ds: RawWorkload): RolloutVerdict {
  if (ds.spec?.updateStrategy?.type !== 'RollingUpdate')
    return fail('rollout status is only available for RollingUpdate strategy type')
  const name = ds.metadata?.name ?? ''
  const s = ds.status ?? {}
  if ((ds.metadata?.generation ?? 0) > (s.observedGeneration ?? 0))
    return waiting('Waiting for daemon set spec update to be observed...')
  const desired = s.desiredNumberScheduled ?? 0
  const prefix = `Waiting for daemon set "${name}" rollout to finish:`
  if ((s.updatedNumberScheduled ?? 0) < desired)
    return waiting(`${prefix} ${s.updatedNumberScheduled ?? 0} out of ${desired} new pods have been updated...`)
  if ((s.numberAvailable ?? 0) < desired)
    return waiting(`${prefix} ${s.numberAvailable ?? 0} of ${desired} updated pods are available...`)
  return { done: true, message: `daemon set "${name}" successfully rolled out` }
}

function statefulSetStatus(sts: RawWorkload): RolloutVerdict {
  const strategy = sts.spec?.updateStrategy
  if (strategy?.type !== 'RollingUpdate')
    return fail('rollout status is only available for RollingUpdate strategy type')
  const s = sts.status ?? {}
  const observed = s.observedGeneration ?? 0
  if (observed === 0 || (sts.metadata?.generation ?? 0) > observed)
    return waiting('Waiting for statefulset spec update to be observed...')
  const want = sts.spec?.replicas
  const updated = s.updatedReplicas ?? 0
  if (want !== undefined && (s.readyReplicas ?? 0) < want)
    return waiting(`Waiting for ${want - (s.readyReplicas ?? 0)} pods to be ready...`)
  if (strategy.rollingUpdate) {
    const partition = strategy.rollingUpdate.partition
    if (want !== undefined && partition !== undefined && updated < want - partition) {
      return waiting(
        `Waiting for partitioned roll out to finish: ${updated} out of ${want - partition} new pods have been updated...`,
      )
    }
    return { done: true, message: `partitioned roll out complete: ${updated} new pods have been updated...` }
  }
  if (s.updateRevision !== s.currentRevision) {
    return waiting(
      `waiting for statefulset rolling update to complete ${updated} pods at revision ${s.updateRevision ?? ''}...`,
    )
  }
  return {
    done: true,
    message: `statefulset rolling update complete ${s.currentReplicas ?? 0} pods at revision ${s.currentRevision ?? ''}...`,
  }
}

/** WaitOptions bound waitForRollout; every wait ends by deadlineMs or the signal. */
export interface WaitOptions {
  /** The generation the rollback produced (from the PATCH response); older observations are not trusted. */
  readonly generation: number
  readonly deadlineMs: number
  readonly pollMs: number
  readonly signal?: AbortSignal
  /** Monotonic clock in ms (default performance.now). */
  readonly now?: () => number
  /** Waits ms or until the signal aborts (default setTimeout). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  readonly ignoreDeadlineBefore?: number
}

/** WaitOutcome is how a wait ended; `message` is the last status line or error seen. */
export interface WaitOutcome {
  readonly outcome: 'complete' | 'failed' | 'timeout'
  readonly message: string
  readonly aborted?: boolean
}

/** waitForRollout polls the workload until kubectl's viewer says done or failed, the deadline passes, or the signal aborts; never throws. */
export async function waitForRollout(apps: AppsV1Api, ref: WorkloadRef, opts: WaitOptions): Promise<WaitOutcome> {
  const now = opts.now ?? (() => performance.now())
  const sleep = opts.sleep ?? sleepFor
  const end = now() + opts.deadlineMs
  let last = `${refString(ref)}: no status read yet`
  for (;;) {
    if (opts.signal?.aborted)
      return { outcome: 'timeout', aborted: true, message: `${refString(ref)}: wait aborted; last status: ${last}` }
    const step = await observe(apps, ref, opts)
    if (step.outcome) return { outcome: step.outcome, message: step.message }
    last = step.message
    const left = end - now()
    if (left <= 0)
      return {
        outcome: 'timeout',
        message: `${refString(ref)}: rollout did not finish within ${opts.deadlineMs} ms; last status: ${last}`,
      }
    await sleep(Math.min(opts.pollMs, left), opts.signal)
  }
}

async function observe(
  apps: AppsV1Api,
  ref: WorkloadRef,
  opts: WaitOptions,
): Promise<{ outcome?: 'complete' | 'failed'; message: string }> {
  let obj: RawWorkload
  try {
    obj = await readWorkload(apps, ref, opts.signal)
  } catch (err) {
    if (isNotFound(err)) return { outcome: 'failed', message: `${refString(ref)}: object has been deleted` }
    return { message: classifyError(err, `${refString(ref)}: reading rollout status`).message }
  }
  const observed = obj.status?.observedGeneration ?? 0
  if (observed < opts.generation)
    return { message: `Waiting for generation ${opts.generation} to be observed (observedGeneration ${observed})...` }
  const v = rolloutStatus(obj, { kind: ref.kind, ignoreDeadlineBefore: opts.ignoreDeadlineBefore })
  if (v.failed) return { outcome: 'failed', message: v.message }
  return v.done ? { outcome: 'complete', message: v.message } : { message: v.message }
}

/** readWorkload GETs a workload as raw JSON; throws client errors. */
export function readWorkload(apps: AppsV1Api, ref: WorkloadRef, signal?: AbortSignal): Promise<RawWorkload> {
  const { name, namespace } = ref
  return withRaw<RawWorkload>(
    o => {
      if (ref.kind === 'Deployment') return apps.readNamespacedDeployment({ name, namespace }, o)
      if (ref.kind === 'StatefulSet') return apps.readNamespacedStatefulSet({ name, namespace }, o)
      return apps.readNamespacedDaemonSet({ name, namespace }, o)
    },
    { signal },
  )
}
