import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** RollbackResult is the `result` label of rollguard_rollbacks_total. */
export type RollbackResult = 'attempted' | 'succeeded' | 'failed' | 'skipped' | 'dry_run' | 'ineffective' | 'reverted'

/**
 * RollbackLabel is a label of rollguard_rollbacks_total. The workload's namespace is `workload_namespace`, not
 * `namespace`: with honorLabels (the ServiceMonitor in deploy/) a `namespace` label would replace the scrape
 * target's own, which the PrometheusRule groups rollguard's replicas by. The workload labels are empty unless the
 * workload was read and matched actions.allow, so their values are bounded by the allowed workloads (Audit).
 */
export type RollbackLabel = 'result' | 'reason' | 'workload_namespace' | 'kind' | 'workload'

/** ActionMetrics are the metrics of automatic rollbacks. */
export interface ActionMetrics {
  /** rollbacks counts patches sent (attempted), their verified outcome, decisions not to act and dry runs, per workload. */
  readonly rollbacks: Counter<RollbackLabel>
  /** decisions counts every decision, including "no" and ignored triggers. */
  readonly decisions: Counter<'decision' | 'reason'>
  readonly leader: Gauge
  /** duration is the time from the trigger going firing to the rollback patch being stored. */
  readonly duration: Histogram
  /** silenceChecks counts the questions to Alertmanager about silences by combined answer. */
  readonly silenceChecks: Counter<'result'>
  /** countBrakeWith sets what the global brake gauges read at each scrape (the executor's ledger and config). */
  countBrakeWith(source: () => BrakeCount): void
}

/** BrakeCount is the global brake as one replica counts it: rollbacks inside its window, and its limit. */
export interface BrakeCount {
  readonly rollbacks: number
  readonly limit: number
}

/** createActionMetrics registers the rollguard_rollback*, rollguard_silence_checks_total and rollguard_leader metrics on registry. */
export function createActionMetrics(registry: Registry): ActionMetrics {
  const registers = [registry]
  let brake: () => BrakeCount = () => ({ rollbacks: 0, limit: 0 })
  new Gauge({
    name: 'rollguard_global_brake_rollbacks',
    help: 'Automatic rollbacks across all workloads inside actions.global_brake.window, as this replica counts them: its own, those recorded on the workloads it read, and those the previous leader kept on the Lease. The brake holds at rollguard_global_brake_limit; meaningful on the leader.',
    registers,
    collect() {
      this.set(brake().rollbacks)
    },
  })
  new Gauge({
    name: 'rollguard_global_brake_limit',
    help: 'actions.global_brake.count: no automatic rollback once rollguard_global_brake_rollbacks reaches it.',
    registers,
    collect() {
      this.set(brake().limit)
    },
  })
  return {
    countBrakeWith: source => void (brake = source),
    rollbacks: new Counter({
      name: 'rollguard_rollbacks_total',
      help: 'Automatic rollbacks by result (attempted = patch sent; succeeded/failed = verified outcome; ineffective = verified but the trigger kept firing; skipped; dry_run), reason and workload (workload_namespace, kind, workload; empty unless the workload matched actions.allow).',
      labelNames: ['result', 'reason', 'workload_namespace', 'kind', 'workload'],
      registers,
    }),
    decisions: new Counter({
      name: 'rollguard_rollback_decisions_total',
      help: 'Every decision about a rollback trigger (rollback, dry_run, skip, ignore, error) by reason.',
      labelNames: ['decision', 'reason'],
      registers,
    }),
    leader: new Gauge({ name: 'rollguard_leader', help: '1 while this replica leads and may act, else 0.', registers }),
    duration: new Histogram({
      name: 'rollguard_rollback_duration_seconds',
      help: 'Time from the trigger alert going firing to the rollback patch being stored.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    silenceChecks: initialized(
      new Counter({
        name: 'rollguard_silence_checks_total',
        help: 'Checks of Alertmanager silences before a rollback, by answer: silenced (an active silence matches), none, error (no Alertmanager answered).',
        labelNames: ['result'],
        registers,
      }),
      ['silenced', 'none', 'error'],
    ),
  }
}

// Every answer is exported from the start, so rate() and alerts on errors work before the first one happens.
function initialized(counter: Counter<'result'>, results: readonly string[]): Counter<'result'> {
  for (const result of results) counter.inc({ result }, 0)
  return counter
}
