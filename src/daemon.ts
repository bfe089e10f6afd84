import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { ActionsService, ActionsServiceDeps } from './actions/service.js'
import { buildNotifier, buildProber, buildSource, retireNotifier } from './composition/components.js'
import { planReload, type Loaded } from './composition/plan-reload.js'
import { buildRollbacks, loadRollbackModules, type RollbackModules, type Rollbacks } from './composition/rollbacks.js'
import {
  alertmanagerAccess,
  externalURL,
  managerSettings,
  noDataSettings,
  restoreSettings,
} from './composition/settings.js'
import { prometheusLinkURL } from './config/links.js'
import { loadConfig, type ConfigInput } from './config/load.js'
import type { QueryFn } from './engine/ports.js'
import { errorText } from './errors.js'
import type { AlertmanagerNotifier } from './notifier/alertmanager.js'
import { NoDataWatch } from './nodata/watch.js'
import { loadRules } from './runtime/load.js'
import { applyHeapGrowth } from './runtime/heap.js'
import { loadOffThread } from './runtime/load-off-thread.js'
import { RuleManager } from './runtime/manager.js'
import { groupKey } from './engine/spec.js'
import { soloReplica, type Shards } from './runtime/sharding/shards.js'
import { createQueryRouter } from './runtime/query-router.js'
import { forgetRestores, restoreHook } from './runtime/restore-hook.js'
import { buildServer } from './server/app.js'
import type { ReloadResult } from './server/routes/reload.js'
import { graphRedirectRoutes } from './server/routes/graph.js'
import { SeriesHistory } from './server/status/history.js'
import { actionsStatus, statusRoutes } from './server/status/route.js'
import { WebListener } from './server/web-listener.js'
import type { HealthProber } from './sources/health-probe.js'
import { ProbeStore } from './sources/probe-store.js'
import type { PrometheusSource } from './sources/prometheus.js'
import { createLogger } from './telemetry/logger.js'
import { createEngineMetrics, createRegistry, type EngineMetrics } from './telemetry/metrics.js'
import { createNotifierMetrics } from './telemetry/notifier-metrics.js'
import { createRestoreMetrics } from './telemetry/restore-metrics.js'
import { createRuleDataMetrics } from './telemetry/rule-data-metrics.js'

export { RulesError } from './runtime/load.js'
export type { ReloadResult } from './server/routes/reload.js'

/** DaemonOptions let tests and the demo inject a logger and tune actions (verification polling). */
export interface DaemonOptions {
  readonly version: string
  readonly logger?: Logger
  readonly actions?: Pick<ActionsServiceDeps, 'now' | 'verifyPollMs'>
  /** setV8Flags is v8.setFlagsFromString; tests see the flags instead. */
  readonly setV8Flags?: (flags: string) => void
}

/** Adapters are the components a reload replaces when what they are built from changed (composition/plan-reload.ts). */
interface Adapters {
  readonly source: PrometheusSource
  readonly notifier: AlertmanagerNotifier
  readonly prober: HealthProber
}

/**
 * Daemon is the composition root. The plan: build every component from a validated config (composition/), wire
 * them into the rule manager and the HTTP server, start; on reload, planReload says what changed and only that is
 * rebuilt or updated; stop in reverse order.
 */
export class Daemon {
  readonly #store = new ProbeStore()
  /** The status page's recent values per rule (bounded; the engine keeps no history). */
  readonly #history = new SeriesHistory()
  readonly #metrics: EngineMetrics
  readonly #query: QueryFn
  readonly #manager: RuleManager
  /** Flags rules that see no data: none of their selectors matches a series (src/nodata). */
  readonly #noData: NoDataWatch
  // Registered once: a replaced notifier keeps counting into the same series.
  readonly #notifierMetrics: ReturnType<typeof createNotifierMetrics>
  /** The actions and the Alertmanager webhook, wired to each other (null objects when not configured). */
  readonly #rollbacks: Rollbacks
  readonly #server: FastifyInstance
  /** The web config file on the listener: TLS, basic auth, headers (server/web-listener.ts). */
  readonly #web: WebListener
  /** This replica's member Lease and view of the members (runtime/sharding); the only member without sharding. */
  #sharding: Shards = soloReplica
  #adapters: Adapters
  #loaded: Loaded
  #reloading: Promise<ReloadResult> | undefined

  private constructor(
    private readonly input: ConfigInput,
    loaded: Loaded,
    readonly logger: Logger,
    readonly registry: Registry,
    private readonly opts: DaemonOptions,
    rollbackModules: RollbackModules,
  ) {
    const { config } = loaded
    this.#loaded = loaded
    this.#metrics = createEngineMetrics(registry)
    this.#query = createQueryRouter(() => (expr, at) => this.#adapters.source.query(expr, at), this.#store)
    this.#noData = new NoDataWatch({
      logger,
      metrics: createRuleDataMetrics(registry),
      query: this.#query,
      ...this.#ownership(),
    })
    this.#manager = this.#buildManager()
    // Before the adapters: a Kubernetes configuration that cannot be loaded fails the start with nothing running.
    this.#rollbacks = buildRollbacks(config, rollbackModules, {
      logger,
      registry,
      sendAlerts: alerts => this.#adapters.notifier.send(alerts),
      generatorURL: () => externalURL(this.#loaded.config),
      groups: () => this.#manager.rules(),
      alertmanager: () => alertmanagerAccess(this.#loaded.config),
      externalLabels: () => this.#loaded.config.doc.global.external_labels,
      env: input.env,
      ...opts.actions,
    })
    const notifierMetrics = createNotifierMetrics(registry)
    this.#adapters = {
      source: buildSource(config, logger),
      notifier: buildNotifier(config, logger, notifierMetrics),
      prober: buildProber(config, { logger, registry, store: this.#store }),
    }
    this.#notifierMetrics = notifierMetrics
    this.#web = new WebListener(config.webConfig, { logger })
    this.#server = this.#buildServer()
  }

  /** start loads config and rules, starts every component and listens; it throws ConfigError or RulesError. */
  static async start(input: ConfigInput, opts: DaemonOptions): Promise<Daemon> {
    const config = await loadConfig(input)
    const logger = opts.logger ?? createLogger(config.doc.log.level)
    // Before the rules load: parsing a large rule file is the first burst of garbage.
    applyHeapGrowth(config.doc.runtime.heap_growth_percent, opts.setV8Flags)
    const groups = await loadRules(config)
    // Loaded only when configured: a daemon without actions never loads the Kubernetes client.
    const modules = await loadRollbackModules(config)
    const daemon = new Daemon(input, { config, groups }, logger, createRegistry(opts.version), opts, modules)
    try {
      if (config.doc.sharding.enabled) await daemon.#startSharding()
      await daemon.#run()
    } catch (err) {
      // Nothing may keep running (leader election, probes, evaluation) when start fails.
      await daemon.stop().catch(() => undefined)
      throw err
    }
    if (groups.length === 0) logger.warn('no rule groups loaded: nothing will be evaluated')
    return daemon
  }

  /** address is the URL the HTTP server listens on. */
  get address(): string {
    const addr = this.#server.server.address()
    if (addr === null || typeof addr === 'string') return ''
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    return `${this.#web.scheme}://${host}:${addr.port}`
  }

  /** manager exposes the rule manager (for the status API and tests). */
  get manager(): RuleManager {
    return this.#manager
  }

  /** sharding is this replica's share of the rule groups (soloReplica when sharding is off). */
  get sharding(): Shards {
    return this.#sharding
  }

  /** actions is the automatic-rollback component, undefined when `actions` is not configured. */
  get actions(): ActionsService | undefined {
    return this.#rollbacks.actions.service
  }

  /** reload re-reads config and rules; all or nothing: on any error the running rules and config stay. */
  reload(): Promise<ReloadResult> {
    this.#reloading ??= this.#reload().finally(() => (this.#reloading = undefined))
    return this.#reloading
  }

  /** stop stops evaluating, sends what is queued (bounded), and closes the server. */
  async stop(): Promise<void> {
    const { source, notifier, prober } = this.#adapters
    await this.#manager.stop()
    // After the last evaluation: the others take the groups over at their next list.
    await this.#sharding.stop()
    await this.#noData.stop()
    await this.#rollbacks.actions.stop()
    await prober.stop()
    await notifier.drain(5_000)
    notifier.stop()
    source.close()
    this.#web.stop()
    await this.#server.close()
  }

  /** #run starts what was built: probes, the rule groups (actions are already listening), the watch, the listener. */
  async #run(): Promise<void> {
    const { config, groups } = this.#loaded
    this.#adapters.prober.start()
    await this.#manager.update(groups, managerSettings(config, this.#query))
    this.#noData.update(groups, noDataSettings(config))
    this.#metrics.reloadSuccessful.set(1)
    this.#metrics.reloadSuccessTimestamp.set(Date.now() / 1000)
    await this.#listen()
  }

  async #reload(): Promise<ReloadResult> {
    try {
      // Off the main thread: evaluations, HTTP and the Lease keep running while the files are parsed and checked.
      const next = await loadOffThread(this.input)
      await this.#apply(next)
      this.#metrics.reloads.inc({ result: 'success' })
      this.#metrics.reloadSuccessful.set(1)
      this.#metrics.reloadSuccessTimestamp.set(Date.now() / 1000)
      this.logger.info({ groups: next.groups.length }, 'configuration and rules reloaded')
      return { ok: true }
    } catch (err) {
      const error = errorText(err)
      this.#metrics.reloads.inc({ result: 'failure' })
      this.#metrics.reloadSuccessful.set(0)
      this.logger.error({ error }, 'reload failed, keeping the previous configuration and rules')
      return { ok: false, error }
    }
  }

  /** #apply makes the running daemon match next, rebuilding or updating only what planReload says changed. */
  async #apply(next: Loaded): Promise<void> {
    const previous = this.#loaded
    const plan = planReload(previous, next)
    const { config } = next
    if (plan.restartOnly.includes('web.listen_address'))
      this.logger.warn({ listen: config.doc.web.listen_address }, 'the listen address changes only on restart')
    this.#loaded = next
    const old = this.#adapters
    this.#adapters = {
      source: plan.prometheus ? buildSource(config, this.logger) : old.source,
      notifier: plan.notifier ? buildNotifier(config, this.logger, this.#notifierMetrics) : old.notifier,
      prober: plan.probes
        ? buildProber(config, { logger: this.logger, registry: this.registry, store: this.#store })
        : old.prober,
    }
    if (plan.prometheus) old.source.close()
    if (plan.notifier) retireNotifier(old.notifier)
    if (plan.probes) {
      await old.prober.stop()
      this.#adapters.prober.start()
    }
    await this.#manager.update(next.groups, managerSettings(config, this.#query))
    if (plan.noData) this.#noData.update(next.groups, noDataSettings(config))
    if (plan.heapGrowth) applyHeapGrowth(config.doc.runtime.heap_growth_percent, this.opts.setV8Flags)
    if (plan.actions || plan.restartOnly.includes('kubernetes')) this.#rollbacks.actions.reload(config, plan)
    if (plan.webhook) this.#rollbacks.webhook.reload(config, previous.config)
    this.#web.apply(config.webConfig)
  }

  /** #startSharding joins the members (loaded only when sharding is on: no Kubernetes client otherwise). */
  async #startSharding(): Promise<void> {
    const { buildShardCoordinator } = await import('./runtime/sharding/build.js')
    const coordinator = await buildShardCoordinator(this.#loaded.config.doc, {
      logger: this.logger,
      registry: this.registry,
      env: this.input.env,
      groupKeys: () => this.#manager.rules().map(g => groupKey(g.spec)),
    })
    coordinator.start()
    this.#sharding = coordinator
  }

  /**
   * #ownership is what the rule manager and the no-data watch ask about each group with sharding: whether this
   * replica evaluates it now. sharding.enabled applies on restart only: both are built once.
   */
  #ownership(): { owns?: (groupKey: string) => boolean } {
    return this.#loaded.config.doc.sharding.enabled ? { owns: key => this.#sharding.owns(key) } : {}
  }

  #buildManager(): RuleManager {
    const restoreMetrics = createRestoreMetrics(this.registry)
    return new RuleManager(
      {
        logger: this.logger,
        metrics: this.#metrics,
        sink: () => this.#adapters.notifier,
        ...this.#ownership(),
        onEvaluation: (group, result) => {
          this.#rollbacks.actions.handle(result.transitions)
          this.#history.record(group, result)
          this.#noData.recordEvaluation(group, result)
        },
        restore: restoreHook({
          logger: this.logger,
          metrics: restoreMetrics,
          settings: () => {
            const source = this.#adapters.source
            return {
              ...restoreSettings(this.#loaded.config),
              rangeQuery: (expr, range, signal) => source.queryRange(expr, range, signal),
            }
          },
          onFiring: group => this.#rollbacks.actions.decideFiring(group),
        }),
        // A removed group's restore counters go with its other series (the manager drops those).
        onRemoved: group => forgetRestores(restoreMetrics, group),
      },
      managerSettings(this.#loaded.config, this.#query),
    )
  }

  #buildServer(): FastifyInstance {
    const config = () => this.#loaded.config
    const ruleData = this.#noData.status.bind(this.#noData)
    return buildServer({
      logger: this.logger,
      registry: this.registry,
      groups: () => this.#manager.rules(),
      isReady: () => this.#manager.hasEvaluated(),
      reload: () => this.reload(),
      lifecycleEnabled: () => config().doc.web.enable_lifecycle,
      externalURL: () => externalURL(config()),
      version: this.opts.version,
      web: this.#web,
      webhook: this.#rollbacks.webhook.routes,
      ruleData,
      ...(this.#loaded.config.doc.sharding.enabled ? { groupOwner: (key: string) => this.#sharding.owner(key) } : {}),
      extraRoutes: [
        graphRedirectRoutes({ prometheusURL: () => prometheusLinkURL(config().doc) }),
        statusRoutes({
          groups: () => this.#manager.rules(),
          history: this.#history,
          version: this.opts.version,
          actions: () => actionsStatus(this.actions, config().doc.actions),
          registry: this.registry,
          kubernetesLink: () => config().doc.web.workload_link,
          ruleData,
        }),
      ],
    })
  }

  async #listen(): Promise<void> {
    const { host, port } = splitListen(this.#loaded.config.doc.web.listen_address)
    await this.#server.listen({ host, port })
    this.#web.watch()
    this.logger.info({ address: this.address, version: this.opts.version }, 'rollguard is listening')
  }
}

/** splitListen splits HOST:PORT ([v6]:port allowed; empty host = all interfaces). */
export function splitListen(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(i + 1)) }
}
