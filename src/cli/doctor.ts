import { ConfigError, loadConfig, type Config } from '../config/load.js'
import { EXIT_USAGE, exitCode, fail, ok, warn, type Check } from '../doctor/check.js'
import { formatCheck, formatJson, formatSummary } from '../doctor/report.js'
import { runChecks } from '../doctor/run.js'
import type { RuleGroupSpec } from '../engine/spec.js'
import { formatRuleFileError, loadRuleFiles } from '../rules/load.js'
import { parseRunArgs, UsageError } from './args.js'
import type { CliIO } from './run.js'

/** DOCTOR_USAGE is the help text of `rollguard doctor`. */
export const DOCTOR_USAGE = `Usage: rollguard doctor [-o text|json] [flags of rollguard run]

Checks the live configuration that 'rollguard run' would use with the same flags, environment and config
file, and prints what to fix before you trust it with rollbacks:
  - Prometheus answers queries (and which version it is);
  - every vector selector of every rule returns series now or within its range: else the rule can never fire;
  - the alerts of rollback triggers name a workload (the namespace label plus a deployment, statefulset or
    daemonset label, actions.targets), judged on the rule's expression without its threshold;
  - rules on rollguard_probe_* have probes to watch, and every probe's endpoint answers;
  - every Alertmanager answers GET /api/v2/status (and which version it is);
  - with actions or sharding: the kubeconfig loads, the API server answers, and every permission of
    docs/rbac.md is granted in each namespace of actions.allow, for the leader-election Lease and for the
    sharding member Leases ('kubectl auth can-i').
It sends no alert and changes nothing; it runs each probe once.

Flags:
  -o, --output FORMAT  text (default) or json: {"status", "checks": [{"name", "status", "message", "hint"}]}
  --config FILE        YAML config file, as for rollguard run
  and every other flag of rollguard run (--prometheus-url, --alertmanager-url, --rules, --kubeconfig, ...;
  see 'rollguard run --help'), with the same environment variables and precedence.
  -h, --help           show this help

Exit status: 0 no check failed (warnings allowed); 1 a check failed (an invalid or unreadable configuration or
rule file is a failed check); 2 usage error (unknown flag, missing value).
`

/** DoctorHooks let tests pin the environment, the working directory and the clock. */
export interface DoctorHooks {
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly cwd?: string
  readonly now?: () => number
}

const OUTPUTS = ['text', 'json'] as const
type Output = (typeof OUTPUTS)[number]

/** runDoctor implements `rollguard doctor` and returns the exit code; problems are printed, not thrown. */
export async function runDoctor(argv: readonly string[], io: CliIO, hooks: DoctorHooks = {}): Promise<number> {
  let args
  let output: Output
  try {
    args = parseRunArgs(argv, { output: { short: 'o' } })
    output = parseOutput(args.flags.get('output')?.at(-1))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`rollguard doctor: ${err.message}\nTry 'rollguard doctor --help'.\n`)
    return EXIT_USAGE
  }
  if (args.help) {
    io.stdout(DOCTOR_USAGE)
    return 0
  }
  const env = hooks.env ?? process.env
  const cwd = hooks.cwd ?? process.cwd()
  const emit = (checks: readonly Check[]): void => {
    if (output === 'text') io.stdout(checks.map(formatCheck).join(''))
  }
  const loaded = await loadEverything(args.flags, env, cwd)
  emit(loaded.checks)
  const checks =
    loaded.config === undefined
      ? loaded.checks
      : [
          ...loaded.checks,
          ...(await runChecks(
            {
              config: loaded.config,
              groups: loaded.groups,
              env,
              cwd,
              ...(hooks.now === undefined ? {} : { now: hooks.now }),
            },
            emit,
          )),
        ]
  io.stdout(output === 'json' ? formatJson(checks) : formatSummary(checks))
  return exitCode(checks)
}

function parseOutput(value: string | undefined): Output {
  if (value === undefined) return 'text'
  if ((OUTPUTS as readonly string[]).includes(value)) return value as Output
  throw new UsageError(`--output must be text or json, not ${JSON.stringify(value)}`)
}

interface Loaded {
  readonly checks: Check[]
  readonly config?: Config
  readonly groups: RuleGroupSpec[]
}

/** featureSummary says whether the two features that act on the cluster are on: actions (and their mode), sharding. */
export function featureSummary(doc: Config['doc']): string {
  const actions = doc.actions === undefined ? 'off' : `in ${doc.actions.mode} mode`
  const { sharding } = doc
  const where = sharding.namespace === undefined ? "the context's namespace" : `namespace ${sharding.namespace}`
  const shards = sharding.enabled ? `on (member Leases ${sharding.lease_prefix}-* in ${where})` : 'off'
  return `actions ${actions}, sharding ${shards}`
}

/** loadEverything loads config and rules as the daemon does; every problem is a failed check instead of an exit. */
async function loadEverything(
  flags: ReadonlyMap<string, readonly string[]>,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<Loaded> {
  let config: Config
  try {
    config = await loadConfig({ flags, env, cwd })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const checks = err.problems.map(p =>
      fail(
        'config',
        p,
        'rollguard run refuses to start with this configuration; fix it (rollguard check --config FILE validates a config file)',
      ),
    )
    return { checks, groups: [] }
  }
  const from = config.configFile === undefined ? 'flags and environment' : `${config.configFile}, flags and environment`
  const loaded = await loadRuleFiles([...config.doc.rules.files], { cwd })
  const groups = loaded.files.flatMap(f => f.groups)
  const rules = groups.reduce((n, g) => n + g.rules.length, 0)
  const checks: Check[] = [
    ok(
      'config',
      `configuration from ${from}: ${loaded.files.length} rule file(s), ${rules} rule(s), ${config.doc.probes.length} probe(s), ${featureSummary(config.doc)}`,
    ),
  ]
  for (const e of loaded.errors)
    checks.push(
      fail(
        'rule-files',
        formatRuleFileError(e),
        'rollguard run refuses to start with it: fix it (rollguard check FILE shows every problem)',
      ),
    )
  if (config.doc.rules.files.length === 0)
    checks.push(
      warn(
        'rule-files',
        'no rule files configured: nothing will be evaluated',
        'set rules.files (--rules, ROLLGUARD_RULES)',
      ),
    )
  return { checks, config, groups }
}
