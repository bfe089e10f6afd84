import { randomBytes } from 'node:crypto'
import { workloadKey, type RollbackRequest } from './trigger.js'

/** Job is one rollback request being decided, acted on and verified; it serves every alert that asked for it. */
export interface Job {
  readonly key: string
  readonly request: RollbackRequest
  /** This job's identity in the record annotation: its patch, however often re-planned, is recognised when read back. */
  readonly attempt: string
  /** Fingerprints of the firing alerts that want this job; when the last one resolves before the patch, it is cancelled. */
  readonly alerts: Set<string>
  /** Set by the executor once the patch is sent: from then on a resolution no longer cancels. */
  sent: boolean
  cancelled: boolean
}

/** SubmitResult says what became of a request. */
export type SubmitResult = 'started' | 'queued' | 'coalesced' | 'duplicate'

interface Slot {
  running: Job
  queued?: Job
}

/**
 * WorkloadQueue runs at most one job per workload. While one runs, further requests for that workload wait as a
 * single queued job (later alerts join it) and run after it: its decision then sees what the first one did.
 */
export class WorkloadQueue {
  readonly #slots = new Map<string, Slot>()
  readonly #running = new Set<Promise<void>>()

  constructor(private readonly run: (job: Job) => Promise<void>) {}

  /** submit starts a job for the request's workload, queues it behind the running one, or merges it into a queued one. */
  submit(request: RollbackRequest): SubmitResult {
    const key = workloadKey(request.ref)
    const fp = request.alert.fingerprint
    const slot = this.#slots.get(key)
    if (slot === undefined) {
      const running = newJob(key, request)
      this.#slots.set(key, { running })
      this.#start(running)
      return 'started'
    }
    if ((slot.running.alerts.has(fp) && !slot.running.cancelled) || slot.queued?.alerts.has(fp) === true)
      return 'duplicate'
    if (slot.queued !== undefined) {
      slot.queued.alerts.add(fp)
      return 'coalesced'
    }
    slot.queued = newJob(key, request)
    return 'queued'
  }

  /**
   * resolve withdraws an alert. A queued job nobody wants any more is dropped and returned; a running one that has
   * not sent its patch is marked cancelled (the executor checks right before the patch) and returned.
   */
  resolve(request: RollbackRequest): Job | undefined {
    const slot = this.#slots.get(workloadKey(request.ref))
    if (slot === undefined) return undefined
    const fp = request.alert.fingerprint
    const queued = slot.queued
    if (queued?.alerts.delete(fp) === true && queued.alerts.size === 0) {
      delete slot.queued
      return queued
    }
    const running = slot.running
    if (running.alerts.delete(fp) && running.alerts.size === 0 && !running.sent) {
      running.cancelled = true
      return running
    }
    return undefined
  }

  /** clear drops every queued job (running ones finish or abort on their own) and returns them. */
  clear(): Job[] {
    const dropped: Job[] = []
    for (const slot of this.#slots.values()) {
      if (slot.queued !== undefined) dropped.push(slot.queued)
      delete slot.queued
    }
    return dropped
  }

  /** idle resolves once no job is running or queued. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running])
  }

  #start(job: Job): void {
    const done = this.run(job)
      .catch(() => undefined)
      .finally(() => {
        this.#running.delete(done)
        this.#next(job.key)
      })
    this.#running.add(done)
  }

  #next(key: string): void {
    const slot = this.#slots.get(key)
    if (slot?.queued === undefined) {
      this.#slots.delete(key)
      return
    }
    slot.running = slot.queued
    delete slot.queued
    this.#start(slot.running)
  }
}

function newJob(key: string, request: RollbackRequest): Job {
  return {
    key,
    request,
    attempt: randomBytes(6).toString('hex'),
    alerts: new Set([request.alert.fingerprint]),
    sent: false,
    cancelled: false,
  }
}
