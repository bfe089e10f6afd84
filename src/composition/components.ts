/**
 * Builders of the daemon's replaceable components from a validated config (what they are built from is in
 * settings.ts, so a reload rebuilds exactly the ones planReload names).
 */

import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/load.js'
import { createAlertmanagerNotifier, type AlertmanagerNotifier } from '../notifier/alertmanager.js'
import { createHealthProber, type HealthProber } from '../sources/health-probe.js'
import type { ProbeStore } from '../sources/probe-store.js'
import { createPrometheusSource, type PrometheusSource } from '../sources/prometheus.js'
import type { createNotifierMetrics } from '../telemetry/notifier-metrics.js'
import { registerProbeMetrics } from '../telemetry/probe-metrics.js'
import { notifierSettings, probeSpecs, prometheusSettings } from './settings.js'

/** NotifierMetrics are registered once: a replaced notifier keeps counting into the same series. */
export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>

/** buildSource builds the Prometheus query client. */
export function buildSource(config: Config, logger: Logger): PrometheusSource {
  return createPrometheusSource({ ...prometheusSettings(config), logger })
}

/** buildNotifier builds the Alertmanager notifier (it sends nothing until handed alerts). */
export function buildNotifier(config: Config, logger: Logger, metrics: NotifierMetrics): AlertmanagerNotifier {
  if (config.doc.alertmanager.urls.length === 0)
    logger.warn('no Alertmanager configured: alerts are evaluated but not sent')
  return createAlertmanagerNotifier({ ...notifierSettings(config), logger, metrics })
}

/** retireNotifier lets a replaced notifier deliver what it holds (bounded), then stops it. */
export function retireNotifier(notifier: AlertmanagerNotifier): void {
  void notifier.drain(5_000).then(() => notifier.stop())
}

/** buildProber builds the health prober (not started) and (re)registers the probe metrics with its label names. */
export function buildProber(
  config: Config,
  deps: { logger: Logger; registry: Registry; store: ProbeStore },
): HealthProber {
  const probes = probeSpecs(config)
  registerProbeMetrics(deps.registry, deps.store, [...new Set(probes.flatMap(p => Object.keys(p.labels)))])
  return createHealthProber({ probes, store: deps.store, logger: deps.logger })
}
