/**
 * What each component of the daemon is built from, derived from the validated config by pure functions. The
 * builders (components.ts) pass exactly these to the components and planReload compares exactly these, so a
 * component is rebuilt on a reload if and only if what it is built from changed.
 */

import type { AlertmanagerAccess } from '../actions/silences.js'
import { alertSourceOf, rollguardURL } from '../config/links.js'
import type { Config } from '../config/load.js'
import type { QueryFn } from '../engine/ports.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import type { AlertmanagerNotifierOptions } from '../notifier/alertmanager.js'
import type { WatchSettings } from '../nodata/watch.js'
import { groupKey } from '../engine/spec.js'
import type { ManagerSettings } from '../runtime/manager.js'
import type { RestoreSettings } from '../runtime/restore-hook.js'
import { parseStatusPattern, type ProbeSpec } from '../sources/health-probe.js'
import type { PrometheusSourceOptions } from '../sources/prometheus.js'

/** NotifierSettings are the Alertmanager notifier's options that come from the config. */
export type NotifierSettings = Omit<AlertmanagerNotifierOptions, 'logger' | 'metrics'>

/** prometheusSettings builds the Prometheus query client's options (prometheus.*). */
export function prometheusSettings(config: Config): Omit<PrometheusSourceOptions, 'logger'> {
  const { prometheus } = config.doc
  return {
    url: prometheus.url,
    timeoutMs: prometheus.timeout,
    maxResponseBytes: prometheus.max_response_bytes,
    ...(config.prometheusAuth === undefined ? {} : { auth: config.prometheusAuth }),
    ...(prometheus.headers === undefined ? {} : { headers: prometheus.headers }),
    ...config.prometheusClient,
  }
}

/** notifierSettings builds the Alertmanager notifier's options (alertmanager.*, global.external_labels). */
export function notifierSettings(config: Config): NotifierSettings {
  const { alertmanager, global } = config.doc
  return {
    urls: alertmanager.urls,
    timeoutMs: alertmanager.timeout,
    externalLabels: global.external_labels,
    queueCapacity: alertmanager.queue_capacity,
    batchSize: alertmanager.batch_size,
    ...(config.alertmanagerAuth === undefined ? {} : { auth: config.alertmanagerAuth }),
    ...(alertmanager.headers === undefined ? {} : { headers: alertmanager.headers }),
    ...config.alertmanagerClient,
  }
}

/** alertmanagerAccess is how actions reach the Alertmanagers to ask for silences (the notifier's settings). */
export function alertmanagerAccess(config: Config): AlertmanagerAccess {
  const { doc } = config
  return {
    urls: doc.alertmanager.urls,
    timeoutMs: doc.alertmanager.timeout,
    maxResponseBytes: doc.alertmanager.max_response_bytes,
    headers: doc.alertmanager.headers,
    ...config.alertmanagerClient,
  }
}

/** probeSpecs builds the health probes (probes:). */
export function probeSpecs(config: Config): ProbeSpec[] {
  return config.doc.probes.map((p, i) => ({
    client: config.probeClients[i],
    section: `probes.${i}`,
    name: p.name,
    url: p.url,
    intervalMs: p.interval,
    timeoutMs: p.timeout,
    method: p.method,
    headers: p.headers,
    labels: p.labels,
    expectedStatus: p.expected_status.map(s => parseStatusPattern(String(s))),
  }))
}

/** EvaluationSettings are the rule manager's settings that are data (the query function is the daemon's own). */
export type EvaluationSettings = Omit<ManagerSettings, 'query' | 'alertSource'>

/** evaluationSettings builds the rule manager's data settings (rules.*, global.external_labels, the external URL). */
export function evaluationSettings(config: Config): EvaluationSettings {
  const { rules, global } = config.doc
  return {
    defaultIntervalMs: rules.evaluation_interval,
    resendDelayMs: rules.resend_delay,
    maxConcurrentQueries: rules.max_concurrent_queries,
    queryCoalescing: rules.query_coalescing,
    externalLabels: global.external_labels,
    externalURL: externalURL(config),
  }
}

/** managerSettings adds the query function and the alert-source link builder (web.alert_source_url) to them. */
export function managerSettings(config: Config, query: QueryFn): ManagerSettings {
  return { ...evaluationSettings(config), query, alertSource: alertSourceOf(config.doc) }
}

/** noDataSettings builds the no-data watch's settings (rules.no_data_*, query coalescing, whether probes exist). */
export function noDataSettings(config: Config): WatchSettings {
  const { rules, probes } = config.doc
  return {
    checkIntervalMs: rules.no_data_check_interval,
    noDataForMs: rules.no_data_for,
    probesConfigured: probes.length > 0,
    mergeCounts: rules.query_coalescing,
  }
}

/** watchedRules is what the no-data watch reads of the rules: each rule's group, name and expression. */
export function watchedRules(groups: readonly RuleGroupSpec[]): Array<readonly [string, string, string]> {
  return groups.flatMap(g => g.rules.map(r => [groupKey(g), r.name, r.expr] as const))
}

/** restoreSettings are the restore hook's settings besides the range-query client (prometheus.timeout, rules.*). */
export function restoreSettings(config: Config): Omit<RestoreSettings, 'rangeQuery'> {
  const { doc } = config
  return {
    timeoutMs: doc.prometheus.timeout,
    externalLabels: doc.global.external_labels,
    externalURL: externalURL(config),
    maxConcurrentQueries: doc.rules.max_concurrent_queries,
    windowMs: doc.rules.restore_window,
    groupsAtOnce: doc.rules.max_concurrent_restores,
  }
}

/** externalURL defaults to http://<hostname>:<port>, as Prometheus does. */
export function externalURL(config: Config): string {
  return rollguardURL(config.doc)
}
