/**
 * Automatic rollbacks as one component of the daemon: Kubernetes clients, the leader-election Lease, the
 * audit trail and the executor, built from the config. Loaded (dynamically) only when `actions` is
 * configured, so a daemon without actions never touches the Kubernetes client.
 */

import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { kubeLoadOptions } from '../config/kubeconfig-lookup.js'
import type { ConfigDocument } from '../config/schema.js'
import type { GroupSnapshot } from '../engine/snapshot.js'
import type { Labels, OutgoingAlert, Transition } from '../engine/types.js'
import { createActionMetrics, type ActionMetrics, type BrakeCount } from '../telemetry/action-metrics.js'
import type { ActionsConfig, KubernetesConfig } from './actions-config.js'
import { Audit, type DecisionRecord } from './audit.js'
import { RollbackExecutor, type Leadership } from './executor.js'
import { loadKubeConfig, makeClients, type KubeClients } from './kube/client.js'
import { DEFAULT_REPORTER_CONTROLLER } from './kube/events.js'
import { LeaseElector } from './kube/lease.js'
import { decodeLedger, encodeLedger, LEDGER_ANNOTATION } from './ledger.js'
import { AlertmanagerSilences, type AlertmanagerAccess } from './silences.js'
import { longestRange } from '../rules/promql.js'
import type { TriggerEvent } from './trigger.js'

/** ActionsServiceDeps connect the component to the daemon. */
export interface ActionsServiceDeps {
  readonly logger: Logger
  readonly registry: Registry
  readonly sendAlerts: (alerts: readonly OutgoingAlert[]) => void
  readonly generatorURL: () => string
  /** The rule groups' snapshots, to find trigger alerts already firing when this replica becomes the leader. */
  readonly groups: () => readonly GroupSnapshot[]
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly now?: () => number
  readonly verifyPollMs?: number
  /** How to reach the Alertmanagers, asked for silences before acting (actions.silences); absent: silences are not checked. */
  readonly alertmanager?: () => AlertmanagerAccess
  /** global.external_labels, which Alertmanager sees on rollguard's own alerts. */
  readonly externalLabels?: () => Labels
}

/** ActionsService owns everything automatic rollbacks need. */
export class ActionsService {
  readonly #executor: RollbackExecutor
  readonly #audit: Audit
  readonly #silences: AlertmanagerSilences | undefined
  readonly #elector: LeaseElector | undefined
  readonly #electing = new AbortController()
  #running: Promise<void> = Promise.resolve()
  #leadership: AbortSignal = AbortSignal.abort(new Error('not the leader'))
  #term = 0

  private constructor(
    doc: ConfigDocument & { actions: ActionsConfig },
    clients: KubeClients,
    private readonly deps: ActionsServiceDeps,
  ) {
    const metrics = createActionMetrics(deps.registry)
    const logger = deps.logger.child({ component: 'actions' })
    const lease = doc.kubernetes.lease
    const identity = lease.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`
    this.#audit = new Audit({
      logger,
      metrics,
      events: clients.events,
      reporter: { reportingController: DEFAULT_REPORTER_CONTROLLER, reportingInstance: identity },
      sendAlerts: deps.sendAlerts,
      generatorURL: deps.generatorURL,
      now: deps.now ?? Date.now,
    })
    this.#elector = lease.enabled ? this.#makeElector(doc.kubernetes, clients, identity, metrics, logger) : undefined
    const leadership: Leadership = this.#elector
      ? { isLeader: () => this.#elector?.isLeader() === true, signal: () => this.#leadership }
      : { isLeader: () => true, signal: () => this.#electing.signal }
    if (!this.#elector) {
      metrics.leader.set(1)
      logger.warn('leader election is disabled (kubernetes.lease.enabled: false): run exactly one replica')
    }
    const access = deps.alertmanager
    this.#silences =
      access &&
      new AlertmanagerSilences({
        access,
        externalLabels: deps.externalLabels ?? (() => ({})),
        now: deps.now,
        logger,
        onCheck: result => metrics.silenceChecks.inc({ result }),
      })
    this.#executor = new RollbackExecutor(
      {
        apps: clients.apps,
        custom: clients.custom,
        audit: this.#audit,
        metrics,
        logger,
        leadership,
        now: deps.now,
        verifyPollMs: deps.verifyPollMs,
        silences: this.#silences,
        identity,
        triggerState: alert => triggerState(deps.groups(), alert.fingerprint),
        effectivenessWindow: alert => effectivenessWindow(deps.groups(), alert.fingerprint),
      },
      doc.actions,
    )
    metrics.countBrakeWith(() => this.#executor.brakeCount())
    logger.info(
      { mode: doc.actions.mode, identity, leaderElection: lease.enabled },
      `automatic rollbacks enabled in ${doc.actions.mode} mode`,
    )
  }

  /** create connects to Kubernetes as configured and starts leader election; throws when no kubeconfig can be loaded. */
  static create(doc: ConfigDocument, deps: ActionsServiceDeps): ActionsService {
    const actions = doc.actions
    if (actions === undefined) throw new Error('actions are not configured')
    const k = doc.kubernetes
    const kc = loadActionsKubeConfig(k, deps.env ?? process.env)
    const clients = makeClients(kc, { requestTimeoutMs: k.request_timeout, maxResponseBytes: k.max_response_bytes })
    const service = new ActionsService({ ...doc, actions }, clients, deps)
    service.#start()
    return service
  }

  /** handle passes one evaluation's transitions to the executor. */
  handle(transitions: readonly Transition[]): void {
    this.#executor.handle(transitions)
  }

  /** decideFiring hands the groups' firing triggers to the executor as if they went firing now (after a state restore). */
  decideFiring(groups: readonly GroupSnapshot[]): void {
    this.#executor.handle(firingTriggers(groups))
  }

  /** handleEvents passes trigger events from Alertmanager's webhook to the executor; false when actions are off. */
  handleEvents(events: readonly TriggerEvent[]): boolean {
    return this.#executor.handleEvents(events)
  }

  /** leadershipTerm changes every time this replica becomes the leader (0 without leader election). */
  leadershipTerm(): number {
    return this.#term
  }

  /** reload applies a new `actions` section (undefined: actions off until re-enabled); `kubernetes` changes need a restart. */
  reload(actions: ActionsConfig | undefined): void {
    this.#executor.update(actions)
  }

  /** onDecision calls listener with every audit record from now on; returns the unsubscribe. */
  onDecision(listener: (rec: DecisionRecord) => void): () => void {
    return this.#audit.onRecord(listener)
  }

  /** recentDecisions lists the latest audit records, oldest first. */
  recentDecisions(): DecisionRecord[] {
    return this.#audit.recentDecisions()
  }

  /** brakeCount is the global brake as this replica counts it now (what the status page and the gauges show). */
  brakeCount(): BrakeCount {
    return this.#executor.brakeCount()
  }

  /** isLeader reports whether this replica may act now. */
  isLeader(): boolean {
    return this.#elector === undefined || this.#elector.isLeader()
  }

  /** stop ends all work first, then leader election (which releases the Lease). */
  async stop(): Promise<void> {
    await this.#executor.stop()
    this.#silences?.close()
    this.#electing.abort(new Error('rollguard is stopping'))
    await this.#running
  }

  /** idle resolves once every rollback job has finished (tests). */
  idle(): Promise<void> {
    return this.#executor.idle()
  }

  #start(): void {
    if (this.#elector) this.#running = this.#elector.run(this.#electing.signal)
  }

  // The previous leader's rollbacks (kept on the Lease) count toward the global brake from the first decision on.
  #inheritRollbacks(logger: Logger): void {
    const value = this.#elector?.inheritedAnnotations()[LEDGER_ANNOTATION]
    const inherited = decodeLedger(value)
    if (inherited === 'malformed')
      return void logger.warn(
        { annotation: LEDGER_ANNOTATION },
        'the leader Lease holds an unreadable record of recent rollbacks; the global brake counts only what this replica reads from workloads',
      )
    if (inherited === undefined || inherited.length === 0) return
    this.#executor.inheritRollbacks(inherited)
    const rollbacks = inherited.reduce((n, [, times]) => n + times.length, 0)
    logger.info(
      { rollbacks, workloads: inherited.length },
      'counting the rollbacks the previous leader recorded on the Lease toward the global brake',
    )
  }

  #makeElector(
    k: KubernetesConfig,
    clients: KubeClients,
    identity: string,
    metrics: ActionMetrics,
    logger: Logger,
  ): LeaseElector {
    const lease = k.lease
    const namespace = lease.namespace ?? clients.namespace
    metrics.leader.set(0)
    return new LeaseElector({
      leases: clients.leases,
      namespace,
      name: lease.name,
      identity,
      leaseDurationMs: lease.lease_duration,
      renewDeadlineMs: lease.renew_deadline,
      retryPeriodMs: lease.retry_period,
      releaseOnCancel: true,
      // The global brake's memory, for whoever leads next.
      annotations: () => ({ [LEDGER_ANNOTATION]: encodeLedger(this.#executor.recentRollbacks()) }),
      onStartedLeading: signal => {
        this.#leadership = signal
        this.#term++
        metrics.leader.set(1)
        logger.info({ lease: `${namespace}/${lease.name}`, identity }, 'became the leader: acting on rollback triggers')
        this.#inheritRollbacks(logger)
        // Triggers that went firing while another replica led (or none did) are decided now.
        this.#executor.handle(firingTriggers(this.deps.groups()))
      },
      onStoppedLeading: () => {
        metrics.leader.set(0)
        logger.info(
          { lease: `${namespace}/${lease.name}`, identity },
          'not the leader: rollback triggers are recorded, not acted on',
        )
      },
      onNewLeader: holder => logger.info({ leader: holder || '(none)' }, 'observed a new leader'),
      onError: message => logger.warn(message),
    })
  }
}

/** loadActionsKubeConfig loads the credentials actions use: the kubernetes section's source (kubeLoadOptions). */
export function loadActionsKubeConfig(
  k: KubernetesConfig,
  env: Readonly<Record<string, string | undefined>>,
): KubeConfig {
  return loadKubeConfig(kubeLoadOptions(k, env))
}

/** triggerState is the firing state and value of the rule alert with this fingerprint; undefined when no rule has it. */
export function triggerState(
  groups: readonly GroupSnapshot[],
  fingerprint: string,
): { firing: boolean; value: number } | undefined {
  for (const g of groups) {
    for (const r of g.rules) {
      const a = r.state.active.get(fingerprint)
      if (a !== undefined) return { firing: a.state === 'firing', value: a.value }
    }
  }
  return undefined
}

/**
 * effectivenessWindow is how long after a verified rollback the rule's alert may still legitimately fire: until
 * the longest range window holds no sample of the bad revision, plus keep_firing_for, plus one evaluation; `for`
 * on top, so a condition that comes back on the restored revision has had time to fire again.
 */
export function effectivenessWindow(groups: readonly GroupSnapshot[], fingerprint: string): number | undefined {
  for (const g of groups) {
    for (const r of g.rules) {
      if (!r.state.active.has(fingerprint)) continue
      return r.spec.forMs + longestRange(r.spec.expr) + r.spec.keepFiringForMs + g.intervalMs
    }
  }
  return undefined
}

/** firingTriggers lists every firing alert of the rule groups as a transition to firing (at the time it fired). */
export function firingTriggers(groups: readonly GroupSnapshot[]): Transition[] {
  return groups.flatMap(g =>
    g.rules.flatMap(r =>
      [...r.state.active.values()]
        .filter(a => a.state === 'firing')
        .map((a): Transition => ({
          rule: r.spec.name,
          fingerprint: a.fingerprint,
          labels: a.labels,
          annotations: a.annotations,
          value: a.value,
          from: 'firing',
          to: 'firing',
          at: a.firedAt,
          activeAt: a.activeAt,
        })),
    ),
  )
}
