import { DurationError, parseDuration } from '../rules/duration.js'
import { parseFlags, UsageError } from './args.js'
import { rollBack, type RollbackOptions } from './rollback-steps.js'
import type { CliIO } from './run.js'
import { KUBE_FLAGS_HELP, KUBE_OPTIONS, parseTarget, prepareWorkloadCommand, type Env } from './workload-args.js'

/** ROLLBACK_USAGE is the help text of `rollguard rollback`. */
export const ROLLBACK_USAGE = `Usage: rollguard rollback KIND/NAME [-n NAMESPACE] [--to-revision N] [--dry-run] [--no-wait]
                          [--timeout DURATION] [--reason TEXT] [--kubeconfig FILE] [--context NAME]

Roll a workload back like 'kubectl rollout undo', then follow the rollout like 'kubectl rollout status'
(the checklist's manual rollback steps). kubectl's checks come first: a paused Deployment, a workload
with no earlier revision, or an unknown --to-revision is an error; a template that already matches the
target is skipped. Nothing is written in those cases. The patch is kubectl's, plus an optimistic lock
(resourceVersion) and rollguard's audit record in the annotation rollguard.io/last-rollback, so the
daemon never automatically undoes a manual rollback. A Kubernetes Event (Normal RolledBack or Warning
RollbackFailed, action ManualRollback) is recorded on the workload.

KIND is deployment (deploy), statefulset (sts) or daemonset (ds), case-insensitive; 'KIND NAME' works too.

Flags:
  --to-revision N            the revision to roll back to (default 0: the previous one, as kubectl)
  --dry-run                  server-side dry run (dryRun=All): the API server checks the exact patch,
                             which is printed; nothing is changed and no event is recorded
  --no-wait                  do not follow the rollout after the patch
  --timeout DURATION         how long to follow the rollout, e.g. 90s or 5m (default: a Deployment's
                             progressDeadlineSeconds plus 1m; 10m for StatefulSets and DaemonSets)
  --reason TEXT              why (at most 256 characters): kept in the audit record and the event
${KUBE_FLAGS_HELP}

Exit status: 0 rolled back and rolled out (also: dry run accepted, or skipped because the template
already matches), 1 error, failed rollout (e.g. ProgressDeadlineExceeded) or timeout, 2 usage error.

Examples:
  # Roll back to the previous revision and wait until it has rolled out
  rollguard rollback deployment/web -n shop --reason "INC-142: 5xx after deploy"

  # Show the exact patch and let the API server validate it, changing nothing
  rollguard rollback deploy/web -n shop --dry-run

  # Roll a StatefulSet back to revision 3 without waiting
  rollguard rollback sts/db -n data --to-revision 3 --no-wait
`

export type { RollbackOptions } from './rollback-steps.js'

/** RollbackHooks let tests pin the environment and poll faster. */
export interface RollbackHooks {
  /** The environment the kubeconfig lookup reads (default process.env). */
  readonly env?: Env
  /** Rollout status poll interval (default 1s). */
  readonly pollMs?: number
  /** Bound of each API request (default 10s). */
  readonly requestTimeoutMs?: number
}

const OPTIONS = {
  ...KUBE_OPTIONS,
  'to-revision': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  reason: { type: 'string' },
} as const

const MAX_REASON = 256

/** parseRollbackArgs parses the command line (without --help); throws UsageError. */
export function parseRollbackArgs(argv: readonly string[]): RollbackOptions {
  const { values, positionals } = parseFlags(normalizeDryRun(argv), OPTIONS)
  const reason = values.reason
  if (reason !== undefined && (reason.trim() === '' || reason.length > MAX_REASON)) {
    throw new UsageError(`--reason must be 1 to ${MAX_REASON} characters`)
  }
  return {
    target: parseTarget(positionals),
    flags: { namespace: values.namespace, kubeconfig: values.kubeconfig, context: values.context },
    toRevision: parseRevision(values['to-revision']),
    dryRun: values['dry-run'] === true,
    wait: values['no-wait'] !== true,
    timeoutMs: parseTimeout(values.timeout),
    reason,
  }
}

// kubectl spells the server-side dry run --dry-run=server; rollguard has no client-side one.
function normalizeDryRun(argv: readonly string[]): string[] {
  const end = argv.indexOf('--')
  const flags = end < 0 ? argv : argv.slice(0, end)
  const out: string[] = []
  for (const arg of flags) {
    if (!arg.startsWith('--dry-run=')) {
      out.push(arg)
      continue
    }
    const value = arg.slice('--dry-run='.length)
    if (value === 'server') out.push('--dry-run')
    else if (value === 'client')
      throw new UsageError('--dry-run=client is not supported: rollguard only does server-side dry runs (--dry-run)')
    else if (value !== 'none')
      throw new UsageError(`invalid --dry-run value ${JSON.stringify(value)}: use --dry-run (server) or --dry-run=none`)
  }
  return end < 0 ? out : [...out, ...argv.slice(end)]
}

function parseRevision(text: string | undefined): number {
  if (text === undefined) return 0
  // Negative numbers pass: kubectl answers them with "unable to find specified revision".
  if (!/^-?\d{1,15}$/.test(text))
    throw new UsageError(`--to-revision: invalid revision ${JSON.stringify(text)}, want an integer`)
  return Number(text)
}

function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  let ms: number
  try {
    ms = parseDuration(text)
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--timeout: ${err.message}`, { cause: err })
    throw err
  }
  if (ms <= 0) throw new UsageError('--timeout must be greater than 0 (use --no-wait to skip following the rollout)')
  return ms
}

/** runRollback implements `rollguard rollback` and returns the exit code; it prints errors instead of throwing them. */
export async function runRollback(argv: readonly string[], io: CliIO, hooks: RollbackHooks = {}): Promise<number> {
  const prepared = prepareWorkloadCommand(argv, io, {
    command: 'rollback',
    usage: ROLLBACK_USAGE,
    parse: parseRollbackArgs,
    ...(hooks.env === undefined ? {} : { env: hooks.env }),
    ...(hooks.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: hooks.requestTimeoutMs }),
  })
  if (typeof prepared === 'number') return prepared
  return rollBack(prepared.conn.clients, prepared.ref, prepared.opts, io, hooks.pollMs ?? 1_000)
}
