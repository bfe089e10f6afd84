// `kubectl rollout status` for the CLI: the same viewer as the daemon's waitForRollout (rolloutStatus), polled,
// printing each new status line as kubectl does while it watches.
import type { AppsV1Api } from '@kubernetes/client-node'
import { readWorkload, refString, rolloutStatus, type WorkloadRef } from '../actions/kube/index.js'
import { classifyError, isNotFound } from '../actions/kube/errors.js'
import type { RawWorkload } from '../actions/kube/model.js'
import { sleepFor } from '../runtime/signals.js'
import { formatDuration } from '../rules/duration.js'

/** FollowOptions bound one follow; every wait ends by deadlineMs. */
export interface FollowOptions {
  /** The generation the rollback patch produced; the status of older generations is not trusted. */
  readonly generation: number
  readonly deadlineMs: number
  readonly pollMs: number
  /** Epoch ms of the patch: a ProgressDeadlineExceeded condition older than it is left over from the bad rollout. */
  readonly notBefore: number
  /** Receives every new in-progress status line. */
  readonly progress: (line: string) => void
}

/** FollowOutcome is how the rollout ended; `message` is kubectl's final line or the error. */
export interface FollowOutcome {
  readonly outcome: 'complete' | 'failed' | 'timeout'
  readonly message: string
}

/** followRollout polls the workload until kubectl's viewer says done or failed, or the deadline passes; never throws. */
export async function followRollout(apps: AppsV1Api, ref: WorkloadRef, opts: FollowOptions): Promise<FollowOutcome> {
  const end = performance.now() + opts.deadlineMs
  let last = ''
  for (;;) {
    const step = await observe(apps, ref, opts)
    if (step.outcome) return { outcome: step.outcome, message: step.message }
    if (step.message !== last && !step.transient) opts.progress(step.message)
    last = step.message
    const left = end - performance.now()
    if (left <= 0) {
      return {
        outcome: 'timeout',
        message: `${refString(ref)}: timed out waiting for the rollout after ${formatDuration(opts.deadlineMs)}; last status: ${last}`,
      }
    }
    await sleepFor(Math.min(opts.pollMs, left))
  }
}

interface Step {
  readonly outcome?: 'complete' | 'failed'
  readonly message: string
  /** A read error: retried until the deadline, not printed as progress. */
  readonly transient?: boolean
}

async function observe(apps: AppsV1Api, ref: WorkloadRef, opts: FollowOptions): Promise<Step> {
  let obj: RawWorkload
  try {
    obj = await readWorkload(apps, ref)
  } catch (err) {
    if (isNotFound(err)) return { outcome: 'failed', message: `${refString(ref)}: object has been deleted` }
    return { message: classifyError(err, `${refString(ref)}: reading rollout status`).message, transient: true }
  }
  const v = rolloutStatus(atLeastGeneration(obj, opts.generation), {
    kind: ref.kind,
    ignoreDeadlineBefore: opts.notBefore,
  })
  if (v.failed) return { outcome: 'failed', message: v.message }
  return v.done ? { outcome: 'complete', message: v.message } : { message: v.message }
}

// Until the controller has observed the rollback's generation, the viewer reports kubectl's "spec update to be observed".
function atLeastGeneration(obj: RawWorkload, generation: number): RawWorkload {
  const current = obj.metadata?.generation ?? 0
  return current >= generation ? obj : { ...obj, metadata: { ...obj.metadata, generation } }
}
