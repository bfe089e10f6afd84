import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { createCoalescingMetrics, type CoalescingMetrics } from './coalescing-metrics.js'
import { KeyedCounter, KeyedGauge } from './keyed-metric.js'

/** EngineMetrics are the rule manager's own metrics, named after Prometheus's (prometheus_rule_* → rollguard_rule_*). */
export interface EngineMetrics {
  readonly evaluations: KeyedCounter<'rule_group'>
  readonly evaluationFailures: KeyedCounter<'rule_group'>
  readonly evaluationDuration: Histogram
  readonly groupDuration: Histogram
  readonly groupLastDuration: KeyedGauge<'rule_group'>
  readonly groupLastEvaluation: KeyedGauge<'rule_group'>
  readonly groupInterval: KeyedGauge<'rule_group'>
  readonly groupIterations: KeyedCounter<'rule_group'>
  readonly groupIterationsMissed: KeyedCounter<'rule_group'>
  readonly groupRules: KeyedGauge<'rule_group'>
  readonly groupLastSamples: KeyedGauge<'rule_group'>
  readonly alerts: KeyedGauge<'rule_group' | 'alertname' | 'state'>
  readonly reloadSuccessful: Gauge
  readonly reloadSuccessTimestamp: Gauge
  readonly reloads: Counter<'result'>
  readonly coalescing: CoalescingMetrics
}

/** EVENT_LOOP_SAMPLE_INTERVAL_MS is how often the event-loop delay histogram samples (rollguard_nodejs_eventloop_lag_*). */
export const EVENT_LOOP_SAMPLE_INTERVAL_MS = 500

/** createRegistry returns a dedicated registry with Node's default process metrics and build info. */
export function createRegistry(version: string): Registry {
  const registry = new Registry()
  // The event-loop delay monitor wakes the process at every sample: at prom-client's 10 ms that was ~0.5 CPU-s/min of
  // an idle daemon, at 100 ms still over half of its idle CPU (0.15 of 0.27 CPU-s/min, December 2026). Every 500 ms
  // catches each stall of 500 ms or more and samples shorter ones in proportion to their length, so the quantiles
  // still estimate the delay a timer or a request meets (docs/metrics.md#event-loop-delay).
  collectDefaultMetrics({
    register: registry,
    prefix: 'rollguard_',
    eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_INTERVAL_MS,
  })
  new Gauge({
    name: 'rollguard_build_info',
    help: 'A metric with a constant 1 value labelled by version and Node.js version.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  }).set({ version, nodejs_version: process.version }, 1)
  return registry
}

/** createEngineMetrics registers the rule manager's metrics on registry. */
export function createEngineMetrics(registry: Registry): EngineMetrics {
  const r = [registry]
  const g = ['rule_group'] as const
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
  return {
    evaluations: new KeyedCounter({
      name: 'rollguard_rule_evaluations_total',
      help: 'Rule evaluations.',
      labelNames: g,
      registers: r,
    }),
    evaluationFailures: new KeyedCounter({
      name: 'rollguard_rule_evaluation_failures_total',
      help: 'Rule evaluations that failed (query error, duplicate labels, limit).',
      labelNames: g,
      registers: r,
    }),
    evaluationDuration: new Histogram({
      name: 'rollguard_rule_evaluation_duration_seconds',
      help: 'Duration of one rule evaluation, query included.',
      buckets,
      registers: r,
    }),
    groupDuration: new Histogram({
      name: 'rollguard_rule_group_duration_seconds',
      help: 'Duration of one group iteration.',
      buckets,
      registers: r,
    }),
    groupLastDuration: new KeyedGauge({
      name: 'rollguard_rule_group_last_duration_seconds',
      help: 'Duration of the last group iteration.',
      labelNames: g,
      registers: r,
    }),
    groupLastEvaluation: new KeyedGauge({
      name: 'rollguard_rule_group_last_evaluation_timestamp_seconds',
      help: 'Slot timestamp of the last group iteration.',
      labelNames: g,
      registers: r,
    }),
    groupInterval: new KeyedGauge({
      name: 'rollguard_rule_group_interval_seconds',
      help: 'Evaluation interval of the group.',
      labelNames: g,
      registers: r,
    }),
    groupIterations: new KeyedCounter({
      name: 'rollguard_rule_group_iterations_total',
      help: 'Scheduled group iterations, run or missed.',
      labelNames: g,
      registers: r,
    }),
    groupIterationsMissed: new KeyedCounter({
      name: 'rollguard_rule_group_iterations_missed_total',
      help: 'Group iterations skipped because the previous one ran too long.',
      labelNames: g,
      registers: r,
    }),
    groupRules: new KeyedGauge({
      name: 'rollguard_rule_group_rules',
      help: 'Rules in the group.',
      labelNames: g,
      registers: r,
    }),
    groupLastSamples: new KeyedGauge({
      name: 'rollguard_rule_group_last_evaluation_samples',
      help: 'Samples returned by the last iteration.',
      labelNames: g,
      registers: r,
    }),
    alerts: new KeyedGauge({
      name: 'rollguard_alerts',
      help: 'Alerts by state (pending, firing, inactive = resolved and retained).',
      labelNames: ['rule_group', 'alertname', 'state'] as const,
      registers: r,
    }),
    reloadSuccessful: new Gauge({
      name: 'rollguard_config_last_reload_successful',
      help: 'Whether the last configuration and rules reload succeeded.',
      registers: r,
    }),
    reloadSuccessTimestamp: new Gauge({
      name: 'rollguard_config_last_reload_success_timestamp_seconds',
      help: 'Time of the last successful reload.',
      registers: r,
    }),
    reloads: new Counter({
      name: 'rollguard_config_reloads_total',
      help: 'Reloads by result (success, failure).',
      labelNames: ['result'],
      registers: r,
    }),
    coalescing: createCoalescingMetrics(registry),
  }
}
