#!/usr/bin/env node
import type { CliIO } from './cli/run.js'
import { didYouMean } from './cli/suggest.js'
import { applyYoungGeneration, nodeFlags } from './runtime/heap.js'
import { VERSION } from './version.js'

// Each command's module is loaded only when it runs: `check` and `--help` need neither fastify nor the
// Kubernetes client, and start-up time matters for CLI use and CI annotations.

const USAGE = `Usage: rollguard <command> [flags]

rollguard watches services after they are deployed: it evaluates Prometheus alerting rules over time
windows, polls health endpoints, sends alerts to Alertmanager, and (with actions enabled) rolls back.

Commands:
  run       Run the daemon (see 'rollguard run --help').
  check     Validate rule files like 'promtool check rules' (see 'rollguard check --help').
  doctor    Preflight the live configuration before trusting it (see 'rollguard doctor --help').
  rollback  Roll a workload back like 'kubectl rollout undo' (see 'rollguard rollback --help').
  history   List a workload's revisions like 'kubectl rollout history' (see 'rollguard history --help').
  backtest  Replay the rules over a past window (see 'rollguard backtest --help').
  gitops    Resume GitOps reconciliation suspended for a rollback (see 'rollguard gitops --help').
  version   Print the version.

Flags:
  -h, --help     Show this help.
  -v, --version  Print the version.

Exit status: 0 success; 1 invalid input (a rule file, the configuration) or a failure, as promtool;
2 usage error (unknown command or flag, missing value), as prometheus; check also exits 3 for lint
problems with --lint-fatal, as promtool. Each command's --help says more.
`

const COMMANDS = [
  'run',
  'check',
  'doctor',
  'rollback',
  'history',
  'backtest',
  'gitops',
  'version',
  'help',
  '--help',
  '--version',
]

const io: CliIO = {
  stdout: text => void process.stdout.write(text),
  stderr: text => void process.stderr.write(text),
}

/** main dispatches to a command and returns its exit code. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'run':
      // Before the daemon's modules load: compiling them is the first burst of short-lived objects, enough to grow
      // the young generation to its largest on a large host, and V8 does not shrink it back (runtime/heap.ts).
      applyYoungGeneration(nodeFlags(process.execArgv, process.env.NODE_OPTIONS))
      return (await import('./cli/run.js')).runDaemon(rest, io)
    case 'check':
      return (await import('./cli/check.js')).runCheck(rest, io)
    case 'doctor':
      return (await import('./cli/doctor.js')).runDoctor(rest, io)
    case 'rollback':
      return (await import('./cli/rollback.js')).runRollback(rest, io)
    case 'history':
      return (await import('./cli/history.js')).runHistory(rest, io)
    case 'backtest':
      return (await import('./cli/backtest.js')).runBacktestCommand(rest, io)
    case 'gitops':
      return (await import('./cli/gitops.js')).runGitOps(rest, io)
    case 'version':
    case '--version':
    case '-v':
      io.stdout(`rollguard ${VERSION} (node ${process.version})\n`)
      return 0
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE)
      return command === undefined ? 2 : 0
    default:
      io.stderr(`rollguard: unknown command ${JSON.stringify(command)}${didYouMean(command, COMMANDS)}\n\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  code => {
    // The daemon has stopped everything it owns; exit without waiting for idle keep-alive sockets.
    if (process.argv[2] === 'run') process.exit(code)
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`rollguard: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  },
)
