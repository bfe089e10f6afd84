import { ConfigError } from '../config/load.js'
import { Daemon, RulesError } from '../daemon.js'
import { VERSION } from '../version.js'
import { parseRunArgs, runUsage, UsageError } from './args.js'

/** CliIO is where a command writes; tests capture it. */
export interface CliIO {
  stdout(text: string): void
  stderr(text: string): void
}

/**
 * runDaemon implements `rollguard run`: starts the daemon and resolves with the exit code once it stops
 * (SIGTERM/SIGINT stop cleanly after in-flight sends; SIGHUP reloads).
 */
export async function runDaemon(
  argv: readonly string[],
  io: CliIO,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let args
  try {
    args = parseRunArgs(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`rollguard run: ${err.message}\nTry 'rollguard run --help'.\n`)
    return EXIT_USAGE
  }
  if (args.help) {
    io.stdout(`${runUsage()}\n`)
    return 0
  }
  let daemon: Daemon
  try {
    daemon = await Daemon.start({ flags: args.flags, env, cwd: process.cwd() }, { version: VERSION })
  } catch (err) {
    const message = startupFailure(err)
    if (message === undefined) throw err
    io.stderr(`rollguard run: ${message}\n`)
    return EXIT_INVALID
  }
  return waitForSignals(daemon)
}

/** EXIT_INVALID: the configuration or the rules are invalid, or the daemon cannot start (as promtool's 1). */
export const EXIT_INVALID = 1
/** EXIT_USAGE: the command line cannot be parsed (unknown flag, missing value, stray argument). */
export const EXIT_USAGE = 2

/**
 * startupFailure says why the daemon did not start, in the words of the problem (one line when there is one
 * problem), or undefined for an unexpected error (a bug, which keeps its stack trace).
 */
export function startupFailure(err: unknown): string | undefined {
  if (err instanceof ConfigError || err instanceof RulesError) {
    const what = err instanceof ConfigError ? 'configuration' : 'rules'
    const [only, ...more] = err.problems
    return more.length === 0
      ? `invalid ${what}: ${only}`
      : `invalid ${what}:\n${err.problems.map(p => `  ${p}`).join('\n')}`
  }
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string }
  if (e?.syscall === 'listen' || e?.syscall === 'bind' || (e?.syscall === 'getaddrinfo' && e.code === 'ENOTFOUND')) {
    const where =
      e.syscall === 'getaddrinfo'
        ? (e.hostname ?? '')
        : e.port === undefined
          ? String(e.address)
          : `${e.address?.includes(':') ? `[${e.address}]` : e.address}:${e.port}`
    return `cannot listen on ${where}: ${LISTEN_ERRORS[e.code ?? ''] ?? e.message}`
  }
  // Any other system error (a file that cannot be read, ...) names its path.
  if (typeof e?.code === 'string' && typeof e.syscall === 'string') return `cannot start: ${e.message}`
  return undefined
}

const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use (is another rollguard or Prometheus running?)',
  EACCES: 'permission denied (ports below 1024 need privileges; choose another with --listen)',
  EADDRNOTAVAIL: 'address not available (is it an address of this machine? 0.0.0.0 listens on all of them)',
  ENOTFOUND: 'host not found (use an IP address or a name this machine resolves)',
}

function waitForSignals(daemon: Daemon): Promise<number> {
  return new Promise(resolve => {
    const onHup = (): void => void daemon.reload()
    const onStop = (signal: NodeJS.Signals): void => {
      daemon.logger.info({ signal }, 'stopping')
      process.off('SIGHUP', onHup)
      process.off('SIGTERM', onStop)
      process.off('SIGINT', onStop)
      daemon.stop().then(
        () => resolve(0),
        (err: unknown) => {
          daemon.logger.error({ err }, 'unclean stop')
          resolve(1)
        },
      )
    }
    process.on('SIGHUP', onHup)
    process.on('SIGTERM', onStop)
    process.on('SIGINT', onStop)
  })
}
