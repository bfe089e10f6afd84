// `rollguard backtest`: what the rules would have done over a past window, replayed through the engine against the
// configured Prometheus-compatible API.
import { hostname } from 'node:os'
import { htmlReport, jsonReport, tableReport } from '../backtest/report.js'
import type { ActionsConfig } from '../actions/actions-config.js'
import { readKsmHistory } from '../backtest/ksm-history.js'
import type { RangeQueryFn } from '../backtest/replay.js'
import { runBacktest, type BacktestOptions } from '../backtest/run.js'
import type { RolloutHistory } from '../backtest/would-be.js'
import { refString, type WorkloadRef } from '../actions/workload-ref.js'
import { ConfigError, loadConfig } from '../config/load.js'
import type { ConfigDocument } from '../config/schema.js'
import { formatRuleFileError, loadRuleFiles } from '../rules/load.js'
import { DurationError, parseDuration } from '../rules/duration.js'
import { createPrometheusSource } from '../sources/prometheus.js'
import { parseRunArgs } from './args.js'
import type { CliIO } from './run.js'
import { errorText } from '../errors.js'

export const BACKTEST_USAGE = `Usage: rollguard backtest --from TIME --to TIME [--step DURATION] [--output table|json|html] [run flags]

Replays the configured alerting rules over a past window, slot by slot, with Prometheus's semantics (each group's
slots, for, keep_firing_for, templates, external labels): each slot sees what an instant query at that time
returns, fetched with range queries (at most 11,000 points each, a window at a time). Prints every alert's pending
and firing intervals with their values.

TIME is RFC 3339 (2026-12-01T08:00:00Z), Unix seconds, "now", or now minus a duration ("now-24h"; "-24h" as --from=-24h).

Flags:
  --from TIME       start of the window (required)
  --to TIME         end of the window (default: now)
  --step DURATION   evaluate every group at this step instead of its interval (coarser is faster, approximates for)
  --output FORMAT   table (default), json, or html (a self-contained report with SVG timelines)
  --rollout-history SOURCE
                    with actions: where rollout history comes from: auto (default: kube-state-metrics through
                    Prometheus where it recorded the workload, else the Kubernetes API), kubernetes, kube-state-metrics
  --config FILE, --rules FILE, --prometheus-url URL, --eval-interval D, --external-label N=V, ...
                    the same as 'rollguard run' (see 'rollguard run --help')
  -h, --help        show this help

Rules that read rollguard's own probe series (rollguard_probe_*) are reported as not replayable unless
Prometheus scraped rollguard.

With an actions section in the config, every firing of a rollback trigger is also put to the safety policy, with
the workload's rollout history as it was at that moment: the would-be rollbacks, and what the policy would have
blocked and why. kube-state-metrics (kube_replicaset_created, kube_replicaset_owner, kube_replicaset_spec_replicas,
kube_deployment_metadata_generation) also knows ReplicaSets deleted since, old ones scaled up again (an undo, a
revert) and rollouts in progress; the Kubernetes API knows the current ReplicaSets or ControllerRevisions in creation
order, and StatefulSets and DaemonSets. Silences, past freezes and the effect of a would-be rollback on the
workload are not simulated.

Exit status: 0 replayed; 1 invalid configuration or rule files, or some rules could not be replayed (datasource
errors); 2 usage error (unknown flag, missing value, bad --from/--to/--step/--output).
`

interface BacktestArgs {
  readonly flags: Map<string, string[]>
  readonly fromMs: number
  readonly toMs: number
  readonly stepMs: number | undefined
  readonly output: 'table' | 'json' | 'html'
  readonly historySource: HistorySource
}

const HISTORY_SOURCES = ['auto', 'kubernetes', 'kube-state-metrics'] as const
type HistorySource = (typeof HISTORY_SOURCES)[number]

/** runBacktestCommand is `rollguard backtest`; exit 0 done, 1 failed (configuration, rules, datasource), 2 usage. */
export async function runBacktestCommand(
  argv: readonly string[],
  io: CliIO,
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): Promise<number> {
  let args: BacktestArgs | 'help'
  try {
    args = parseBacktestArgs(argv, now)
  } catch (err) {
    io.stderr(`rollguard backtest: ${errorText(err)}\n\n${BACKTEST_USAGE}`)
    return 2
  }
  if (args === 'help') {
    io.stdout(BACKTEST_USAGE)
    return 0
  }
  let config
  try {
    config = await loadConfig({ flags: args.flags, env, cwd: process.cwd() })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr(`rollguard backtest: invalid configuration:\n${err.problems.map(p => `  ${p}`).join('\n')}\n`)
    return 1
  }
  const { doc } = config
  const loaded = await loadRuleFiles([...doc.rules.files])
  if (loaded.errors.length > 0) {
    io.stderr(
      `rollguard backtest: invalid rule files:\n${loaded.errors.map(e => `  ${formatRuleFileError(e)}`).join('\n')}\n`,
    )
    return 1
  }
  const source = createPrometheusSource({
    url: doc.prometheus.url,
    timeoutMs: doc.prometheus.timeout,
    maxResponseBytes: doc.prometheus.max_response_bytes,
    ...(config.prometheusAuth === undefined ? {} : { auth: config.prometheusAuth }),
    ...(doc.prometheus.headers === undefined ? {} : { headers: doc.prometheus.headers }),
    ...config.prometheusClient,
  })
  const tty = process.stderr.isTTY === true
  const rangeQuery: RangeQueryFn = (expr, range) => source.queryRange(expr, range)
  let actions
  try {
    actions = doc.actions === undefined ? undefined : await rolloutHistory(doc, env, { ...args, rangeQuery }, io)
  } catch (err) {
    io.stderr(
      `rollguard backtest: actions are configured, but the Kubernetes configuration cannot be loaded: ${errorText(err)}\n`,
    )
    source.close()
    return 1
  }
  try {
    const result = await runBacktest(
      loaded.files.flatMap(f => f.groups),
      {
        fromMs: args.fromMs,
        toMs: args.toMs,
        stepMs: args.stepMs,
        defaultIntervalMs: doc.rules.evaluation_interval,
        rangeQuery,
        externalLabels: doc.global.external_labels,
        externalURL: doc.web.external_url ?? `http://${hostname()}:9099`,
        maxConcurrentQueries: doc.rules.max_concurrent_queries,
        onProgress: tty ? (group, done, total) => io.stderr(`\r${group}: ${done}/${total} range queries`) : undefined,
        actions,
      },
    )
    if (tty) io.stderr('\n')
    io.stdout(
      args.output === 'json' ? jsonReport(result) : args.output === 'html' ? htmlReport(result) : tableReport(result),
    )
    const failed = result.groups.some(g => Object.keys(g.errors).length > 0)
    if (failed) io.stderr('rollguard backtest: some rules could not be replayed (see the notes)\n')
    return failed ? 1 : 0
  } finally {
    source.close()
  }
}

/**
 * rolloutHistory says where each triggered workload's rollout history comes from: kube-state-metrics through
 * Prometheus (knows deleted ReplicaSets and re-used templates), the Kubernetes API (exact labels; StatefulSets and
 * DaemonSets), or (auto) kube-state-metrics where it has the workload, the API otherwise and for labels.
 * The Kubernetes client is loaded only when asked for: a backtest of alerts alone never loads it.
 */
async function rolloutHistory(
  doc: ConfigDocument,
  env: NodeJS.ProcessEnv,
  opts: Pick<BacktestArgs, 'historySource' | 'fromMs' | 'toMs' | 'stepMs'> & { rangeQuery: RangeQueryFn },
  io: CliIO,
): Promise<NonNullable<BacktestOptions['actions']>> {
  const config = doc.actions as ActionsConfig
  const fromKsm = (ref: WorkloadRef) =>
    readKsmHistory(ref, { ...opts, resolutionMs: opts.stepMs ?? doc.rules.evaluation_interval })
  if (opts.historySource === 'kube-state-metrics') {
    return {
      config,
      history: async ref =>
        (await fromKsm(ref)) ?? {
          error: `kube-state-metrics recorded no ReplicaSet of ${refString(ref)} in the window (${ref.kind === 'Deployment' ? 'is it scraped?' : 'it has Deployments only'})`,
        },
    }
  }
  let fromApi: ((ref: WorkloadRef) => Promise<RolloutHistory>) | undefined
  try {
    fromApi = await historyFromCluster(doc, env)
  } catch (err) {
    if (opts.historySource === 'kubernetes') throw err
    io.stderr(
      `rollguard backtest: the Kubernetes configuration cannot be loaded (${errorText(err)}): rollout history from kube-state-metrics only\n`,
    )
  }
  if (opts.historySource === 'kubernetes')
    return { config, history: fromApi as (ref: WorkloadRef) => Promise<RolloutHistory> }
  return { config, history: ref => mergedHistory(ref, fromKsm, fromApi) }
}

async function mergedHistory(
  ref: WorkloadRef,
  fromKsm: (ref: WorkloadRef) => Promise<RolloutHistory | undefined>,
  fromApi: ((ref: WorkloadRef) => Promise<RolloutHistory>) | undefined,
): Promise<RolloutHistory> {
  const [ksm, api] = await Promise.all([fromKsm(ref), fromApi?.(ref)])
  if (ksm === undefined || 'error' in ksm)
    return (
      api ??
      ksm ?? {
        error: `no rollout history for ${refString(ref)}: kube-state-metrics recorded none in the window and no Kubernetes configuration could be loaded`,
      }
    )
  // kube-state-metrics exports only allowlisted labels, under sanitized names: the live ones are better when known.
  return api !== undefined && !('error' in api) ? { ...ksm, labels: api.labels } : ksm
}

async function historyFromCluster(
  doc: ConfigDocument,
  env: NodeJS.ProcessEnv,
): Promise<(ref: WorkloadRef) => Promise<RolloutHistory>> {
  const [{ kubeSource }, { loadKubeConfig, makeClients }, { readRolloutHistory }] = await Promise.all([
    import('../config/kubeconfig-lookup.js'),
    import('../actions/kube/client.js'),
    import('../backtest/rollout-history.js'),
  ])
  const kc = loadKubeConfig({ source: kubeSource(doc.kubernetes, env), context: doc.kubernetes.context })
  const { apps } = makeClients(kc, {
    requestTimeoutMs: doc.kubernetes.request_timeout,
    maxResponseBytes: doc.kubernetes.max_response_bytes,
  })
  return ref => readRolloutHistory(apps, ref)
}

/** parseBacktestArgs parses the command line; run's flags pass through to the configuration. */
export function parseBacktestArgs(argv: readonly string[], now: number): BacktestArgs | 'help' {
  const { flags, help } = parseRunArgs(argv, { from: {}, to: {}, step: {}, output: {}, 'rollout-history': {} })
  if (help) return 'help'
  const v = Object.fromEntries(['from', 'to', 'step', 'output', 'rollout-history'].map(k => [k, flags.get(k)?.at(-1)]))
  if (typeof v.from !== 'string') throw new Error('--from is required')
  const fromMs = parseTime(v.from, now, '--from')
  const toMs = typeof v.to === 'string' ? parseTime(v.to, now, '--to') : now
  if (toMs <= fromMs)
    throw new Error(`--to (${new Date(toMs).toISOString()}) must be after --from (${new Date(fromMs).toISOString()})`)
  const output = typeof v.output === 'string' ? v.output : 'table'
  if (output !== 'table' && output !== 'json' && output !== 'html')
    throw new Error(`--output must be table, json or html, not ${JSON.stringify(output)}`)
  const stepMs = typeof v.step === 'string' ? positiveDuration(v.step, '--step') : undefined
  const historySource = v['rollout-history'] ?? 'auto'
  if (!(HISTORY_SOURCES as readonly string[]).includes(historySource))
    throw new Error(`--rollout-history must be ${HISTORY_SOURCES.join(', ')}, not ${JSON.stringify(historySource)}`)
  return { flags, fromMs, toMs, stepMs, output, historySource: historySource as HistorySource }
}

/** parseTime reads RFC 3339, Unix seconds, "now" and "now-DURATION" / "-DURATION". */
export function parseTime(text: string, now: number, flag: string): number {
  const t = text.trim()
  if (t === 'now') return now
  const relative = /^(?:now)?-(.+)$/.exec(t)
  if (relative !== null) return now - positiveDuration(relative[1] as string, flag)
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000)
  const ms = Date.parse(t)
  if (!Number.isFinite(ms) || !/^\d{4}-\d\d-\d\dT/.test(t))
    throw new Error(`${flag}: ${JSON.stringify(text)} is not a time (RFC 3339, Unix seconds, now, now-24h)`)
  return ms
}

function positiveDuration(text: string, flag: string): number {
  try {
    const ms = parseDuration(text)
    if (ms <= 0) throw new DurationError('must be greater than 0')
    return ms
  } catch (err) {
    throw new Error(`${flag}: ${errorText(err)}`, { cause: err })
  }
}
