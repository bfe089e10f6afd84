import type { AppsV1Api } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Transition } from '../engine/types.js'
import type { ActionMetrics } from '../telemetry/action-metrics.js'
import type { ActionsConfig } from './actions-config.js'
import { runAttempt, type SilenceChecker } from './attempt.js'
import type { Audit } from './audit.js'
import { HeldTriggers } from './held-triggers.js'
import { RollbackLedger } from './ledger.js'
import { silenceBlocker } from './policy.js'
import { WorkloadQueue, type Job } from './queue.js'
import { triggerEvent, type AlertInfo, type RollbackRequest, type TriggerEvent } from './trigger.js'

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
  /** Alertmanager silences (actions.silences); undefined: not checked. */
  readonly silences?: SilenceChecker | undefined
  /** stillFiring says whether a trigger is still firing; undefined (unknown) means a silenced trigger is not held for re-checks. */
  readonly stillFiring?: ((alert: AlertInfo) => boolean | undefined) | undefined
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
  readonly #held = new HeldTriggers()
  readonly #rechecks = new Set<Promise<void>>()
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
      if (event !== undefined) this.#apply(event, config)
    }
    this.#recheckHeld(config)
  }

  /**
   * handleEvents takes trigger events that were classified elsewhere (alerts from Alertmanager's webhook); false,
   * and nothing is done, when actions are switched off or the executor is stopping.
   */
  handleEvents(events: readonly TriggerEvent[]): boolean {
    const config = this.#config
    if (config === undefined || this.#stop.signal.aborted) return false
    for (const event of events) this.#apply(event, config)
    return true
  }

  #apply(event: TriggerEvent, config: ActionsConfig): void {
    if (event.kind === 'ignored') {
      this.deps.audit.record({ kind: 'ignored', reason: event.reason, message: event.message, alert: event.alert, mode: config.mode })
    } else if (event.kind === 'fire') {
      this.#held.release(event.request)
      const result = this.#queue.submit(event.request)
      if (result !== 'started') this.deps.logger.debug({ alert: event.request.alert.name, result }, 'rollback request merged with one in progress')
    } else {
      this.#held.release(event.request)
      const job = this.#queue.resolve(event.request)
      if (job !== undefined && !job.cancelled) this.#cancelled(job, config)
    }
  }

  /** stop drops queued jobs, aborts running ones and waits for them (bounded) and for audit events. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stop.abort(new Error('rollguard is stopping'))
    this.#queue.clear()
    this.#held.clear()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#queue.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    await this.deps.audit.flush(Math.min(timeoutMs, 5_000))
  }

  /** idle resolves once every job and every re-check of a held trigger has finished (tests). */
  async idle(): Promise<void> {
    while (this.#rechecks.size > 0) await Promise.all([...this.#rechecks])
    await this.#queue.idle()
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
      const result = await runAttempt(job, {
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
        silences: this.deps.silences,
      })
      if (result.heldBySilence && !job.cancelled && this.deps.stillFiring?.(job.request.alert) === true) {
        this.#held.hold(job.request, this.#now(), config.silences.recheck_interval)
      }
    } catch (err) {
      // runAttempt records every outcome itself; this only guards against bugs.
      this.deps.logger.error({ err, workload: job.key }, 'rollback job failed unexpectedly')
    }
  }

  #now(): number {
    return (this.deps.now ?? Date.now)()
  }

  // Runs with every evaluation; each held trigger is asked about at most once per recheck_interval, and only by the leader.
  #recheckHeld(config: ActionsConfig): void {
    if (this.#held.size === 0 || !this.deps.leadership.isLeader()) return
    for (const request of this.#held.due(this.#now(), config.silences.recheck_interval)) {
      const done = this.#recheck(request, config).finally(() => this.#rechecks.delete(done))
      this.#rechecks.add(done)
    }
  }

  async #recheck(request: RollbackRequest, config: ActionsConfig): Promise<void> {
    if (this.deps.stillFiring?.(request.alert) !== true) return void this.#held.release(request)
    const { enabled } = config.silences
    const silence = this.deps.silences === undefined || enabled === false ? undefined : await this.deps.silences.check(request.alert, { fresh: false, required: enabled === true })
    if (silenceBlocker(silence, config.silences) !== undefined) return
    // Released meanwhile: the trigger resolved or fired anew (and was submitted then).
    if (!this.#held.release(request) || this.#stop.signal.aborted) return
    this.deps.logger.info({ alert: request.alert.name, workload: request.ref }, 'no silence holds the rollback trigger any more: deciding again')
    this.#queue.submit(request)
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#lock.then(fn)
    this.#lock = result.catch(() => undefined)
    return result
  }
}
