import type { AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Transition } from '../engine/types.js'
import { linkSignals } from '../runtime/signals.js'
import type { ActionMetrics, BrakeCount } from '../telemetry/action-metrics.js'
import type { ActionsConfig } from './actions-config.js'
import { runAttempt, type SilenceChecker, type VerifiedRollback } from './attempt.js'
import type { Audit } from './audit.js'
import { TriggerLog } from './correlation.js'
import { HeldTriggers } from './held-triggers.js'
import { RollbackLedger, type LedgerEntries } from './ledger.js'
import { silenceBlocker, within } from './policy.js'
import { updateRecord } from './record-write.js'
import { WorkloadQueue, type Job } from './queue.js'
import { triggerEvent, type AlertInfo, type RollbackRequest, type TriggerEvent } from './trigger.js'
import { workloadKey } from './workload-ref.js'

/** Leadership tells the executor whether this replica may act; `signal` aborts when the current leadership ends. */
export interface Leadership {
  isLeader(): boolean
  signal(): AbortSignal
}

/** ExecutorDeps are the executor's collaborators; `now` is wall-clock ms. */
export interface ExecutorDeps {
  readonly apps: AppsV1Api
  /** GitOps owners; undefined: ownership is not looked at. */
  readonly custom?: CustomObjectsApi | undefined
  readonly audit: Audit
  readonly metrics: ActionMetrics
  readonly logger: Logger
  readonly leadership: Leadership
  readonly now?: () => number
  /** How often verification polls the workload (default 1s). */
  readonly verifyPollMs?: number
  /** Alertmanager silences (actions.silences); undefined: not checked. */
  readonly silences?: SilenceChecker | undefined
  /**
   * triggerState says whether one of rollguard's own rule alerts still fires, and its value; undefined for alerts
   * it does not evaluate (webhook alerts: the executor follows their firing and resolved notifications itself).
   */
  readonly triggerState?: ((alert: AlertInfo) => TriggerState | undefined) | undefined
  /** The default effectiveness window of a rule alert (the rule's for + longest range + keep_firing_for + interval). */
  readonly effectivenessWindow?: ((alert: AlertInfo) => number | undefined) | undefined
  /** This replica's identity, written into rollback records. */
  readonly identity?: string
  readonly random?: () => number
}

/** TriggerState is what is known about a trigger alert now. */
export interface TriggerState {
  readonly firing: boolean
  readonly value?: number | undefined
}

// Webhook alerts whose firing notification came and whose resolved one did not (yet); bounded.
const MAX_WEBHOOK_FIRING = 10_000

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
  readonly #triggers = new TriggerLog()
  readonly #webhookFiring = new Map<string, true>()
  /** Effectiveness watches by rollback (workload and verification time), and verdicts being given. */
  readonly #watches = new Map<string, NodeJS.Timeout>()
  readonly #verdicts = new Set<Promise<void>>()
  #config: ActionsConfig | undefined
  #lock: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly deps: ExecutorDeps,
    config: ActionsConfig,
  ) {
    this.#config = config
    this.#queue = new WorkloadQueue(job => this.#run(job))
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
      this.deps.audit.record({
        kind: 'ignored',
        reason: event.reason,
        message: event.message,
        alert: event.alert,
        mode: config.mode,
      })
    } else if (event.kind === 'fire') {
      this.#noteFiring(event.request, config)
      this.#held.release(event.request)
      const result = this.#queue.submit(event.request)
      if (result !== 'started')
        this.deps.logger.debug(
          { alert: event.request.alert.name, result },
          'rollback request merged with one in progress',
        )
    } else {
      this.#webhookFiring.delete(event.request.alert.fingerprint)
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
    for (const timer of this.#watches.values()) clearTimeout(timer)
    this.#watches.clear()
    let timer: NodeJS.Timeout | undefined
    const running = Promise.all([this.#queue.idle(), ...this.#verdicts])
    await Promise.race([running, new Promise<void>(resolve => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    await this.deps.audit.flush(Math.min(timeoutMs, 5_000))
  }

  /** recentRollbacks lists the rollbacks this replica knows of inside the global brake's window, per workload. */
  recentRollbacks(): LedgerEntries {
    const config = this.#config
    return config === undefined ? [] : this.#ledger.since(this.#now() - config.global_brake.window)
  }

  /** brakeCount is the global brake as this replica counts it now: rollbacks inside its window, and its limit. */
  brakeCount(): BrakeCount {
    const config = this.#config
    if (config === undefined) return { rollbacks: 0, limit: 0 }
    const { count, window } = config.global_brake
    return { rollbacks: within(this.#ledger.recent(), this.#now(), window).length, limit: count }
  }

  /** inheritRollbacks merges the rollbacks a previous leader counted, so the global brake counts them too. */
  inheritRollbacks(entries: LedgerEntries): void {
    this.#ledger.inherit(entries)
  }

  /** idle resolves once every job, every re-check of a held trigger and every verdict being given has finished (tests). */
  async idle(): Promise<void> {
    while (this.#rechecks.size > 0) await Promise.all([...this.#rechecks])
    await this.#queue.idle()
    while (this.#verdicts.size > 0) await Promise.all([...this.#verdicts])
  }

  #cancelled(job: Job, config: ActionsConfig): void {
    const { request } = job
    const message = 'the trigger alert resolved before the rollback was decided; dropped'
    this.deps.audit.record({
      kind: 'cancelled',
      reason: 'resolved',
      message,
      alert: request.alert,
      workload: request.ref,
      mode: config.mode,
    })
  }

  async #run(job: Job): Promise<void> {
    const config = this.#config
    if (config === undefined) return
    const { leadership } = this.deps
    // Not AbortSignal.any: on Node 20 each call leaves an entry on the long-lived stop signal (see linkSignals).
    const linked = linkSignals([leadership.signal(), this.#stop.signal])
    try {
      const result = await runAttempt(job, {
        apps: this.deps.apps,
        custom: this.deps.custom,
        audit: this.deps.audit,
        ledger: this.#ledger,
        metrics: this.deps.metrics,
        config,
        now: this.deps.now ?? Date.now,
        isLeader: () => leadership.isLeader(),
        signal: linked.signal,
        exclusive: fn => this.#exclusive(fn),
        verifyPollMs: this.deps.verifyPollMs ?? 1_000,
        silences: this.deps.silences,
        identity: this.deps.identity ?? 'rollguard',
        triggers: this.#triggers,
        stillFiring: alert => this.#state(alert)?.firing,
        random: this.deps.random ?? Math.random,
      })
      if (
        result.heldBySilence &&
        !job.cancelled &&
        this.#state(job.request.alert)?.firing === true &&
        job.request.alert.origin === 'rules'
      ) {
        this.#held.hold(job.request, this.#now(), config.silences.recheck_interval)
      }
      if (result.verified !== undefined) this.#watchEffectiveness(result.verified, config)
    } catch (err) {
      // runAttempt records every outcome itself; this only guards against bugs.
      this.deps.logger.error({ err, workload: job.key }, 'rollback job failed unexpectedly')
    } finally {
      linked.dispose()
    }
  }

  #noteFiring(request: RollbackRequest, config: ActionsConfig): void {
    const { alert, ref } = request
    this.#triggers.note(ref, alert.startsAt, this.#now(), 2 * config.correlation.window)
    if (alert.origin === 'rules') return
    this.#webhookFiring.set(alert.fingerprint, true)
    if (this.#webhookFiring.size > MAX_WEBHOOK_FIRING)
      this.#webhookFiring.delete(this.#webhookFiring.keys().next().value as string)
  }

  #state(alert: AlertInfo): TriggerState | undefined {
    if (alert.origin === 'rules') return this.deps.triggerState?.(alert)
    return { firing: this.#webhookFiring.has(alert.fingerprint) }
  }

  /**
   * After a verified rollback, the trigger is looked at once more at the end of the effectiveness window: if it
   * still fires on the restored revision, the rollback did not help and a human must know. Nothing else happens
   * automatically: the record annotation keeps the workload from being rolled back again until a new deploy. The
   * window counts from the verification, so a leader that takes over a watch (attempt.ts, verdictDue) waits only
   * for what is left of it; one watch per rollback.
   */
  #watchEffectiveness(v: VerifiedRollback, config: ActionsConfig): void {
    const key = `${workloadKey(v.ref)}@${v.at}`
    if (this.#watches.has(key)) return
    const window =
      config.effectiveness_window ??
      (v.alert.origin === 'rules' ? this.deps.effectivenessWindow?.(v.alert) : undefined) ??
      config.webhook_effectiveness_window
    this.#setWatch(key, v.at + window, () => {
      const done = this.#judge(v, config).finally(() => this.#verdicts.delete(done))
      this.#verdicts.add(done)
    })
  }

  /**
   * setWatch runs `fn` once the clock reads `due`. A timer's delay counts from the event loop's time at the start of
   * the turn that set it, so on a busy process it fires a little early by the clock; it then waits out the rest.
   */
  #setWatch(key: string, due: number, fn: () => void): void {
    const timer = setTimeout(
      () => {
        if (this.#now() < due) return this.#setWatch(key, due, fn)
        this.#watches.delete(key)
        fn()
      },
      Math.max(0, due - this.#now()),
    )
    timer.unref()
    this.#watches.set(key, timer)
  }

  /**
   * judge gives the verdict, only as the leader: it goes into the record first (so a later leader does not give it
   * again; if the record already has one, another replica gave it), then into the audit trail when ineffective.
   */
  async #judge(v: VerifiedRollback, config: ActionsConfig): Promise<void> {
    const state = this.#state(v.alert)
    if (!this.deps.leadership.isLeader()) return
    const effective = state?.firing !== true
    const judged = { at: this.#now(), effective }
    let judgedBefore = false
    const unwritten = await updateRecord(this.deps.apps, v.ref, this.#stop.signal, rec => {
      if (rec.verified !== v.at) return undefined
      // Our own verdict, read back after a write whose answer was lost, is not another replica's.
      if (rec.judged !== undefined) return void (judgedBefore = rec.judged.at !== judged.at)
      return { ...rec, judged }
    })
    if (unwritten !== undefined)
      this.deps.logger.warn(
        { workload: v.ref, err: unwritten },
        'the effectiveness verdict could not be written into the record annotation; a later leader may give it again',
      )
    if (effective || judgedBefore || !this.deps.leadership.isLeader()) return
    const value = state.value === undefined ? '' : ` (value ${state.value})`
    const after = Math.round((this.#now() - v.at) / 1000)
    this.deps.audit.record({
      kind: 'ineffective',
      reason: 'still_firing',
      alert: v.alert,
      workload: v.ref,
      mode: config.mode,
      regarding: v.regarding,
      fromRevision: v.fromRevision,
      toRevision: v.toRevision,
      value: state.value,
      message: `rolled back from revision ${v.fromRevision} to ${v.toRevision} at ${new Date(v.at).toISOString()}, but ${v.alert.name} still fires${value} ${after}s later: the restored revision is not healthy either (or the cause is elsewhere); no further automatic rollback until a new deploy`,
    })
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
    if (this.#state(request.alert)?.firing !== true) return void this.#held.release(request)
    const { enabled } = config.silences
    const silence =
      this.deps.silences === undefined || enabled === false
        ? undefined
        : await this.deps.silences.check(request.alert, { fresh: false, required: enabled === true })
    if (silenceBlocker(silence, config.silences) !== undefined) return
    // Released meanwhile: the trigger resolved or fired anew (and was submitted then).
    if (!this.#held.release(request) || this.#stop.signal.aborted) return
    this.deps.logger.info(
      { alert: request.alert.name, workload: request.ref },
      'no silence holds the rollback trigger any more: deciding again',
    )
    this.#queue.submit(request)
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#lock.then(fn)
    this.#lock = result.catch(() => undefined)
    return result
  }
}
