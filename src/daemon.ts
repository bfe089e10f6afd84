import type { Logger } from 'pino'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { ActionsService, ActionsServiceDeps } from './actions/service.js'
import { restoreGroup } from './backtest/restore.js'
import { alertSourceOf, prometheusLinkURL, rollguardURL } from './config/links.js'
import { ConfigError, loadConfig, type Config, type ConfigInput } from './config/load.js'
import type { GroupState } from './engine/group.js'
import type { QueryFn } from './engine/ports.js'
import type { RuleGroupSpec } from './engine/spec.js'
import { createAlertmanagerNotifier, type AlertmanagerNotifier } from './notifier/alertmanager.js'
import { NoDataWatch, type WatchSettings } from './nodata/watch.js'
import { loadRules } from './runtime/load.js'
import { loadOffThread } from './runtime/load-off-thread.js'
import { groupKey, RuleManager, type ManagerSettings } from './runtime/manager.js'
import { createQueryRouter } from './runtime/query-router.js'
import { buildServer } from './server/app.js'
import { graphRedirectRoutes } from './server/routes/graph.js'
import { SeriesHistory } from './server/status/history.js'
import { actionsStatus, statusRoutes } from './server/status/route.js'
import { createHealthProber, parseStatusPattern, type HealthProber } from './sources/health-probe.js'
import { ProbeStore } from './sources/probe-store.js'
import { createPrometheusSource, type PrometheusSource } from './sources/prometheus.js'
import { createLogger } from './telemetry/logger.js'
import { createEngineMetrics, createRegistry, type EngineMetrics } from './telemetry/metrics.js'
import { createNotifierMetrics } from './telemetry/notifier-metrics.js'
import { createRestoreMetrics, type RestoreMetrics } from './telemetry/restore-metrics.js'
import { createRuleDataMetrics } from './telemetry/rule-data-metrics.js'
import { AlertmanagerWebhook } from './webhook/component.js'
import { registerProbeMetrics } from './telemetry/probe-metrics.js'

export { RulesError } from './runtime/load.js'

/** DaemonOptions let tests and the demo inject a logger and tune actions (verification polling). */
export interface DaemonOptions {
  readonly version: string
  readonly logger?: Logger
  readonly actions?: Pick<ActionsServiceDeps, 'now' | 'verifyPollMs'>
}

/** Daemon is the composition root: it builds every adapter from the config and wires them into the engine and server. */
export class Daemon {
  readonly #store = new ProbeStore()
  /** The status page's recent values per rule (bounded; the engine keeps no history). */
  readonly #history = new SeriesHistory()
  readonly #metrics: EngineMetrics
  readonly #restoreMetrics: RestoreMetrics
  readonly #query: QueryFn
  readonly #manager: RuleManager
  /** Flags rules that see no data: none of their selectors matches a series (src/nodata). */
  readonly #noData: NoDataWatch
  #server: FastifyInstance | undefined
  #source: PrometheusSource | undefined
  #notifier: AlertmanagerNotifier | undefined
  #actions: ActionsService | undefined
  #webhook: AlertmanagerWebhook | undefined
  #prober: HealthProber | undefined
  #config: Config
  #reloading: Promise<{ ok: true } | { ok: false; error: string }> | undefined

  private constructor(
    private readonly input: ConfigInput,
    config: Config,
    readonly logger: Logger,
    readonly registry: Registry,
    private readonly version: string,
  ) {
    this.#config = config
    this.#metrics = createEngineMetrics(registry)
    this.#restoreMetrics = createRestoreMetrics(registry)
    this.#query = createQueryRouter(() => this.#remoteQuery(), this.#store)
    this.#noData = new NoDataWatch({ logger, metrics: createRuleDataMetrics(registry), query: this.#query })
    this.#manager = new RuleManager(
      {
        logger,
        metrics: this.#metrics,
        sink: () => this.#notifier as AlertmanagerNotifier,
        onEvaluation: (group, result) => {
          this.#actions?.handle(result.transitions)
          this.#history.record(group, result)
          this.#noData.recordEvaluation(group, result)
        },
        restore: (group, firstLiveSlot) => this.#restore(group, firstLiveSlot),
        // A removed group's restore counters go with its other series (the manager drops those).
        onRemoved: group => {
          for (const result of ['restored', 'skipped', 'failed'])
            this.#restoreMetrics.restores.remove({ rule_group: groupKey(group.spec), result })
        },
      },
      this.#settings(config, this.#query),
    )
  }

  /** start loads config and rules, starts every component and listens; it throws ConfigError or RulesError. */
  static async start(input: ConfigInput, opts: DaemonOptions): Promise<Daemon> {
    const config = await loadConfig(input)
    const logger = opts.logger ?? createLogger(config.doc.log.level)
    const groups = await loadRules(config)
    const daemon = new Daemon(input, config, logger, createRegistry(opts.version), opts.version)
    // Before the first evaluation, so no trigger transition is missed.
    daemon.#actions = await daemon.#startActions(config, opts)
    daemon.#webhook = AlertmanagerWebhook.create(config, {
      logger,
      registry: daemon.registry,
      actions: () => daemon.#actions,
    })
    daemon.#actions?.onDecision(rec => daemon.#webhook?.decisionRecorded(rec))
    try {
      await daemon.#apply(config, groups)
      daemon.#metrics.reloadSuccessful.set(1)
      daemon.#metrics.reloadSuccessTimestamp.set(Date.now() / 1000)
      await daemon.#listen()
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
    const addr = this.#server?.server.address()
    if (addr === null || addr === undefined || typeof addr === 'string') return ''
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
    return `http://${host}:${addr.port}`
  }

  /** manager exposes the rule manager (for the status API and tests). */
  get manager(): RuleManager {
    return this.#manager
  }

  /** actions is the automatic-rollback component, undefined when `actions` is not configured. */
  get actions(): ActionsService | undefined {
    return this.#actions
  }

  /** reload re-reads config and rules; all or nothing: on any error the running rules and config stay. */
  reload(): Promise<{ ok: true } | { ok: false; error: string }> {
    this.#reloading ??= this.#reload().finally(() => (this.#reloading = undefined))
    return this.#reloading
  }

  async #reload(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      // Off the main thread: evaluations, HTTP and the Lease keep running while the files are parsed and checked.
      const { config, groups } = await loadOffThread(this.input)
      if (config.doc.web.listen_address !== this.#config.doc.web.listen_address) {
        this.logger.warn({ listen: config.doc.web.listen_address }, 'the listen address changes only on restart')
      }
      const previous = this.#config
      await this.#apply(config, groups)
      this.#reloadActions(previous, config)
      if (this.#webhook !== undefined) this.#webhook.reload(config, previous)
      else if (config.doc.webhook !== undefined)
        this.logger.warn('the webhook section was added by the reload; the webhook starts on the next restart')
      this.#metrics.reloads.inc({ result: 'success' })
      this.#metrics.reloadSuccessful.set(1)
      this.#metrics.reloadSuccessTimestamp.set(Date.now() / 1000)
      this.logger.info({ groups: groups.length }, 'configuration and rules reloaded')
      return { ok: true }
    } catch (err) {
      const error = (err as Error).message
      this.#metrics.reloads.inc({ result: 'failure' })
      this.#metrics.reloadSuccessful.set(0)
      this.logger.error({ error }, 'reload failed, keeping the previous configuration and rules')
      return { ok: false, error }
    }
  }

  /** stop stops evaluating, sends what is queued (bounded), and closes the server. */
  async stop(): Promise<void> {
    await this.#manager.stop()
    await this.#noData.stop()
    await this.#actions?.stop()
    await this.#prober?.stop()
    await this.#notifier?.drain(5_000)
    this.#notifier?.stop()
    this.#source?.close()
    await this.#server?.close()
  }

  async #startActions(config: Config, opts: DaemonOptions): Promise<ActionsService | undefined> {
    if (config.doc.actions === undefined) return undefined
    // Loaded only when configured: a daemon without actions never loads the Kubernetes client.
    const { ActionsService } = await import('./actions/service.js')
    try {
      return ActionsService.create(config.doc, {
        logger: this.logger,
        registry: this.registry,
        sendAlerts: alerts => this.#notifier?.send(alerts),
        generatorURL: () => externalURL(this.#config),
        groups: () => this.#manager.groups(),
        alertmanager: () => {
          const { doc, alertmanagerAuth, alertmanagerTls } = this.#config
          return {
            urls: doc.alertmanager.urls,
            timeoutMs: doc.alertmanager.timeout,
            maxResponseBytes: doc.alertmanager.max_response_bytes,
            auth: alertmanagerAuth,
            headers: doc.alertmanager.headers,
            tls: alertmanagerTls,
          }
        },
        externalLabels: () => this.#config.doc.global.external_labels,
        env: this.input.env,
        ...opts.actions,
      })
    } catch (err) {
      throw new ConfigError([
        `kubernetes: cannot load the Kubernetes configuration for actions: ${(err as Error).message}`,
      ])
    }
  }

  #reloadActions(previous: Config, config: Config): void {
    const actions = config.doc.actions
    if (this.#actions === undefined) {
      if (actions !== undefined) this.logger.warn('actions were added by the reload; they start on the next restart')
      return
    }
    if (JSON.stringify(previous.doc.kubernetes) !== JSON.stringify(config.doc.kubernetes)) {
      this.logger.warn('kubernetes settings change only on restart')
    }
    if (actions === undefined)
      this.logger.warn(
        'actions were removed by the reload: rollback triggers are ignored until they are configured again',
      )
    this.#actions.reload(actions)
  }

  async #apply(config: Config, groups: RuleGroupSpec[]): Promise<void> {
    const previous = this.#config
    this.#config = config
    this.#source?.close()
    this.#source = createPrometheusSource({
      url: config.doc.prometheus.url,
      timeoutMs: config.doc.prometheus.timeout,
      maxResponseBytes: config.doc.prometheus.max_response_bytes,
      logger: this.logger,
      ...(config.prometheusAuth === undefined ? {} : { auth: config.prometheusAuth }),
      ...(config.doc.prometheus.headers === undefined ? {} : { headers: config.doc.prometheus.headers }),
      tls: config.prometheusTls,
    })
    if (this.#notifier === undefined || notifierChanged(previous, config)) this.#replaceNotifier(config)
    await this.#restartProber(config)
    await this.#manager.update(groups, this.#settings(config, this.#query))
    this.#noData.update(groups, noDataSettings(config))
  }

  #replaceNotifier(config: Config): void {
    const old = this.#notifier
    this.#notifier = createAlertmanagerNotifier({
      urls: config.doc.alertmanager.urls,
      timeoutMs: config.doc.alertmanager.timeout,
      externalLabels: config.doc.global.external_labels,
      queueCapacity: config.doc.alertmanager.queue_capacity,
      batchSize: config.doc.alertmanager.batch_size,
      logger: this.logger,
      metrics: this.#notifierMetrics(),
      ...(config.alertmanagerAuth === undefined ? {} : { auth: config.alertmanagerAuth }),
      ...(config.doc.alertmanager.headers === undefined ? {} : { headers: config.doc.alertmanager.headers }),
      tls: config.alertmanagerTls,
    })
    if (old !== undefined) void old.drain(5_000).then(() => old.stop())
    if (config.doc.alertmanager.urls.length === 0)
      this.logger.warn('no Alertmanager configured: alerts are evaluated but not sent')
  }

  // Registered once: a replaced notifier (reload) keeps counting into the same series.
  #notifierMetricsCache: ReturnType<typeof createNotifierMetrics> | undefined
  #notifierMetrics(): ReturnType<typeof createNotifierMetrics> {
    this.#notifierMetricsCache ??= createNotifierMetrics(this.registry)
    return this.#notifierMetricsCache
  }

  async #restartProber(config: Config): Promise<void> {
    await this.#prober?.stop()
    const probes = config.doc.probes.map(p => ({
      name: p.name,
      url: p.url,
      intervalMs: p.interval,
      timeoutMs: p.timeout,
      method: p.method,
      headers: p.headers,
      labels: p.labels,
      expectedStatus: p.expected_status.map(s => parseStatusPattern(String(s))),
    }))
    registerProbeMetrics(this.registry, this.#store, [...new Set(probes.flatMap(p => Object.keys(p.labels)))])
    this.#prober = createHealthProber({ probes, store: this.#store, logger: this.logger })
    this.#prober.start()
  }

  // Bounded: a slow or broken datasource delays readiness at most this long, then the group starts fresh.
  async #restore(group: GroupState, firstLiveSlot: number): Promise<void> {
    const { doc } = this.#config
    const source = this.#source as PrometheusSource
    const key = groupKey(group.spec)
    const signal = AbortSignal.timeout(Math.max(doc.prometheus.timeout, 2 * group.intervalMs))
    const outcome = await restoreGroup(group, firstLiveSlot, {
      rangeQuery: (expr, range) => source.queryRange(expr, range, signal),
      externalLabels: doc.global.external_labels,
      externalURL: externalURL(this.#config),
      maxConcurrentQueries: doc.rules.max_concurrent_queries,
      windowMs: doc.rules.restore_window,
      signal,
    })
    this.#restoreMetrics.restores.inc({ rule_group: key, result: outcome.kind })
    if (outcome.kind === 'failed') {
      this.logger.warn(
        { group: key, error: outcome.error },
        'alert state not restored: the group starts fresh (for windows start over)',
      )
    } else if (outcome.kind === 'restored') {
      const { pending, firing, fromMs } = outcome
      this.logger.info(
        { group: key, pending, firing, from: new Date(fromMs).toISOString() },
        'alert state restored from history',
      )
      // Restored firing triggers never went firing in this process: decided as a new leader decides them.
      if (firing > 0) this.#actions?.decideFiring([group])
    }
  }

  #remoteQuery(): QueryFn {
    const source = this.#source as PrometheusSource
    return (expr, at) => source.query(expr, at)
  }

  #settings(config: Config, query: QueryFn): ManagerSettings {
    return {
      query,
      defaultIntervalMs: config.doc.rules.evaluation_interval,
      resendDelayMs: config.doc.rules.resend_delay,
      maxConcurrentQueries: config.doc.rules.max_concurrent_queries,
      externalLabels: config.doc.global.external_labels,
      externalURL: externalURL(config),
      alertSource: alertSourceOf(config.doc),
    }
  }

  async #listen(): Promise<void> {
    const server = buildServer({
      logger: this.logger,
      registry: this.registry,
      groups: () => this.#manager.groups(),
      isReady: () => this.#manager.hasEvaluated(),
      reload: () => this.reload(),
      lifecycleEnabled: () => this.#config.doc.web.enable_lifecycle,
      externalURL: () => externalURL(this.#config),
      version: this.version,
      webhook: this.#webhook?.routes,
      ruleData: (group, rule) => this.#noData.status(group, rule),
      extraRoutes: [
        graphRedirectRoutes({ prometheusURL: () => prometheusLinkURL(this.#config.doc) }),
        statusRoutes({
          groups: () => this.#manager.groups(),
          history: this.#history,
          version: this.version,
          actions: () => actionsStatus(this.#actions, this.#config.doc.actions),
          registry: this.registry,
          kubernetesLink: () => this.#config.doc.web.workload_link,
          ruleData: (group, rule) => this.#noData.status(group, rule),
        }),
      ],
    })
    const { host, port } = splitListen(this.#config.doc.web.listen_address)
    await server.listen({ host, port })
    this.#server = server
    this.logger.info({ address: this.address, version: this.version }, 'rollguard is listening')
  }
}

function noDataSettings(config: Config): WatchSettings {
  const { rules, probes } = config.doc
  return {
    checkIntervalMs: rules.no_data_check_interval,
    noDataForMs: rules.no_data_for,
    probesConfigured: probes.length > 0,
  }
}

function notifierChanged(a: Config, b: Config): boolean {
  const view = (c: Config) =>
    JSON.stringify([c.doc.alertmanager, c.doc.global.external_labels, c.alertmanagerAuth, c.alertmanagerTls])
  return view(a) !== view(b)
}

/** externalURL defaults to http://<hostname>:<port>, as Prometheus does. */
function externalURL(config: Config): string {
  return rollguardURL(config.doc)
}

/** splitListen splits HOST:PORT ([v6]:port allowed; empty host = all interfaces). */
export function splitListen(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(i + 1)) }
}
