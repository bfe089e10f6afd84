// `rollguard backtest`: what the rules would have done over a past window, replayed through the engine against the
// configured Prometheus-compatible API.
import { hostname } from 'node:os'
import { htmlReport, jsonReport, tableReport } from '../backtest/report.js'
import type { ActionsConfig } from '../actions/actions-config.js'
import { runBacktest, type BacktestOptions } from '../backtest/run.js'
import { ConfigError, loadConfig } from '../config/load.js'
import type { ConfigDocument } from '../config/schema.js'
import { formatRuleFileError, loadRuleFiles } from '../rules/load.js'
import { DurationError, parseDuration } from '../rules/duration.js'
import { createPrometheusSource } from '../sources/prometheus.js'
import { parseRunArgs } from './args.js'
import type { CliIO } from './run.js'

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
  --config FILE, --rules FILE, --prometheus-url URL, --eval-interval D, --external-label N=V, ...
                    the same as 'rollguard run' (see 'rollguard run --help')
  -h, --help        show this help

Rules that read rollguard's own probe series (rollguard_probe_*) are reported as not replayable unless
Prometheus scraped rollguard.

With an actions section in the config, every firing of a rollback trigger is also put to the safety policy, with
the workload's rollout history read from the Kubernetes API (its ReplicaSets or ControllerRevisions in creation
order): the would-be rollbacks, and what the policy would have blocked and why. Silences, past freezes and the
effect of a would-be rollback on the workload are not simulated.
`

interface BacktestArgs {
  readonly flags: Map<string, string[]>
  readonly fromMs: number
  readonly toMs: number
  readonly stepMs: number | undefined
  readonly output: 'table' | 'json' | 'html'
}

/** runBacktestCommand is `rollguard backtest`; exit 0 done, 1 failed (datasource, rules), 2 usage. */
export async function runBacktestCommand(argv: readonly string[], io: CliIO, env: NodeJS.ProcessEnv = process.env, now = Date.now()): Promise<number> {
  let args: BacktestArgs | 'help'
  try {
    args = parseBacktestArgs(argv, now)
  } catch (err) {
    io.stderr(`rollguard backtest: ${(err as Error).message}\n\n${BACKTEST_USAGE}`)
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
    io.stderr(`rollguard backtest: invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`)
    return 2
  }
  const { doc } = config
  const loaded = await loadRuleFiles([...doc.rules.files])
  if (loaded.errors.length > 0) {
    io.stderr(`rollguard backtest: invalid rule files:\n${loaded.errors.map((e) => `  ${formatRuleFileError(e)}`).join('\n')}\n`)
    return 1
  }
  const source = createPrometheusSource({
    url: doc.prometheus.url,
    timeoutMs: doc.prometheus.timeout,
    ...(config.prometheusAuth === undefined ? {} : { auth: config.prometheusAuth }),
    ...(doc.prometheus.headers === undefined ? {} : { headers: doc.prometheus.headers }),
  })
  const tty = process.stderr.isTTY === true
  let actions
  try {
    actions = doc.actions === undefined ? undefined : await historyFromCluster(doc, env)
  } catch (err) {
    io.stderr(`rollguard backtest: actions are configured, but the Kubernetes configuration cannot be loaded: ${(err as Error).message}\n`)
    source.close()
    return 1
  }
  try {
    const result = await runBacktest(loaded.files.flatMap((f) => f.groups), {
      fromMs: args.fromMs,
      toMs: args.toMs,
      stepMs: args.stepMs,
      defaultIntervalMs: doc.rules.evaluation_interval,
      rangeQuery: (expr, range) => source.queryRange(expr, range),
      externalLabels: doc.global.external_labels,
      externalURL: doc.web.external_url ?? `http://${hostname()}:9099`,
      maxConcurrentQueries: doc.rules.max_concurrent_queries,
      onProgress: tty ? (group, done, total) => io.stderr(`\r${group}: ${done}/${total} range queries`) : undefined,
      actions,
    })
    if (tty) io.stderr('\n')
    io.stdout(args.output === 'json' ? jsonReport(result) : args.output === 'html' ? htmlReport(result) : tableReport(result))
    const failed = result.groups.some((g) => Object.keys(g.errors).length > 0)
    if (failed) io.stderr('rollguard backtest: some rules could not be replayed (see the notes)\n')
    return failed ? 1 : 0
  } finally {
    source.close()
  }
}

// Loaded only with an actions section: a backtest of alerts alone never loads the Kubernetes client.
async function historyFromCluster(doc: ConfigDocument, env: NodeJS.ProcessEnv): Promise<NonNullable<BacktestOptions['actions']>> {
  const [{ kubeSource }, { loadKubeConfig, makeClients }, { readRolloutHistory }] = await Promise.all([
    import('../actions/service.js'),
    import('../actions/kube/client.js'),
    import('../backtest/rollout-history.js'),
  ])
  const kc = loadKubeConfig({ source: kubeSource(doc.kubernetes, env), context: doc.kubernetes.context })
  const { apps } = makeClients(kc, { requestTimeoutMs: doc.kubernetes.request_timeout })
  return { config: doc.actions as ActionsConfig, history: (ref) => readRolloutHistory(apps, ref) }
}

/** parseBacktestArgs parses the command line; run's flags pass through to the configuration. */
export function parseBacktestArgs(argv: readonly string[], now: number): BacktestArgs | 'help' {
  const { flags, help } = parseRunArgs(argv, { from: {}, to: {}, step: {}, output: {} })
  if (help) return 'help'
  const v = Object.fromEntries(['from', 'to', 'step', 'output'].map((k) => [k, flags.get(k)?.at(-1)]))
  if (typeof v.from !== 'string') throw new Error('--from is required')
  const fromMs = parseTime(v.from, now, '--from')
  const toMs = typeof v.to === 'string' ? parseTime(v.to, now, '--to') : now
  if (toMs <= fromMs) throw new Error(`--to (${new Date(toMs).toISOString()}) must be after --from (${new Date(fromMs).toISOString()})`)
  const output = typeof v.output === 'string' ? v.output : 'table'
  if (output !== 'table' && output !== 'json' && output !== 'html') throw new Error(`--output must be table, json or html, not ${JSON.stringify(output)}`)
  const stepMs = typeof v.step === 'string' ? positiveDuration(v.step, '--step') : undefined
  return { flags, fromMs, toMs, stepMs, output }
}

/** parseTime reads RFC 3339, Unix seconds, "now" and "now-DURATION" / "-DURATION". */
export function parseTime(text: string, now: number, flag: string): number {
  const t = text.trim()
  if (t === 'now') return now
  const relative = /^(?:now)?-(.+)$/.exec(t)
  if (relative !== null) return now - positiveDuration(relative[1] as string, flag)
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000)
  const ms = Date.parse(t)
  if (!Number.isFinite(ms) || !/^\d{4}-\d\d-\d\dT/.test(t)) throw new Error(`${flag}: ${JSON.stringify(text)} is not a time (RFC 3339, Unix seconds, now, now-24h)`)
  return ms
}

function positiveDuration(text: string, flag: string): number {
  try {
    const ms = parseDuration(text)
    if (ms <= 0) throw new DurationError('must be greater than 0')
    return ms
  } catch (err) {
    throw new Error(`${flag}: ${(err as Error).message}`)
  }
}
