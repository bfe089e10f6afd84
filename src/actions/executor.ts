import type { AppsV1Api } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Transition } from '../engine/types.js'
import type { ActionMetrics } from '../telemetry/action-metrics.js'
import type { ActionsConfig } from './actions-config.js'
import { runAttempt } from './attempt.js'
import type { Audit } from './audit.js'
import { RollbackLedger } from './ledger.js'
import { WorkloadQueue, type Job } from './queue.js'
import { triggerEvent } from './trigger.js'

/** Leadership tells the executor whether this replica may act; `signal` aborts when the current leadership ends. */
export interface Leadership {
  isLeader(): boolean
  signal(): AbortSignal
}

/** ExecutorDeps are the executor's collaborators; `now` is wall-clock ms. */
export interface ExecutorDeps {
  readonly apps: AppsV1Api
  readonly audit: Audit
  readonly metrics: ActionMetrics
  readonly logger: Logger
  readonly leadership: Leadership
  readonly now?: () => number
  /** How often verification polls the workload (default 1s). */
  readonly verifyPollMs?: number
}

/**
 * RollbackExecutor turns trigger transitions into rollback jobs: one job at a time per workload (repeats
 * de-duplicated, a resolved trigger cancels what has not been sent), decisions and patches serialized across
 * workloads, and only while this replica leads. It never throws into the rule manager.
 */
export class RollbackExecutor {
  readonly #queue: WorkloadQueue
  readonly #ledger = new RollbackLedger()
  readonly #stop = new AbortController()
  #config: ActionsConfig | undefined
  #lock: Promise<unknown> = Promise.resolve()

  constructor(private readonly deps: ExecutorDeps, config: ActionsConfig) {
    this.#config = config
    this.#queue = new WorkloadQueue((job) => this.#run(job))
  }

  /** update applies a reloaded `actions` section; undefined disables actions until the next reload. */
  update(config: ActionsConfig | undefined): void {
    this.#config = config
  }

  /** handle takes every transition of one evaluation; only trigger alerts going firing or resolving matter. */
  handle(transitions: readonly Transition[]): void {
    const config = this.#config
    if (config === undefined || this.#stop.signal.aborted) return
    for (const t of transitions) {
      const event = triggerEvent(t, config)
      if (event === undefined) continue
      if (event.kind === 'ignored') {
        this.deps.audit.record({ kind: 'ignored', reason: event.reason, message: event.message, alert: event.alert, mode: config.mode })
      } else if (event.kind === 'fire') {
        const result = this.#queue.submit(event.request)
        if (result !== 'started') this.deps.logger.debug({ alert: event.request.alert.name, result }, 'rollback request merged with one in progress')
      } else {
        const job = this.#queue.resolve(event.request)
        if (job !== undefined && !job.cancelled) this.#cancelled(job, config)
      }
    }
  }

  /** stop drops queued jobs, aborts running ones and waits for them (bounded) and for audit events. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stop.abort(new Error('rollguard is stopping'))
    this.#queue.clear()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#queue.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    await this.deps.audit.flush(Math.min(timeoutMs, 5_000))
  }

  /** idle resolves once every job has finished (tests). */
  idle(): Promise<void> {
    return this.#queue.idle()
  }

  #cancelled(job: Job, config: ActionsConfig): void {
    const { request } = job
    const message = 'the trigger alert resolved before the rollback was decided; dropped'
    this.deps.audit.record({ kind: 'cancelled', reason: 'resolved', message, alert: request.alert, workload: request.ref, mode: config.mode })
  }

  async #run(job: Job): Promise<void> {
    const config = this.#config
    if (config === undefined) return
    const { leadership } = this.deps
    try {
      await runAttempt(job, {
        apps: this.deps.apps,
        audit: this.deps.audit,
        ledger: this.#ledger,
        metrics: this.deps.metrics,
        config,
        now: this.deps.now ?? Date.now,
        isLeader: () => leadership.isLeader(),
        signal: AbortSignal.any([leadership.signal(), this.#stop.signal]),
        exclusive: (fn) => this.#exclusive(fn),
        verifyPollMs: this.deps.verifyPollMs ?? 1_000,
      })
    } catch (err) {
      // runAttempt records every outcome itself; this only guards against bugs.
      this.deps.logger.error({ err, workload: job.key }, 'rollback job failed unexpectedly')
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#lock.then(fn)
    this.#lock = result.catch(() => undefined)
    return result
  }
}
