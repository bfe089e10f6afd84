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
export async function runDaemon(argv: readonly string[], io: CliIO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args
  try {
    args = parseRunArgs(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr(`rollguard run: ${err.message}\nTry 'rollguard run --help'.\n`)
    return 2
  }
  if (args.help) {
    io.stdout(`${runUsage()}\n`)
    return 0
  }
  let daemon: Daemon
  try {
    daemon = await Daemon.start({ flags: args.flags, env, cwd: process.cwd() }, { version: VERSION })
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RulesError) {
      io.stderr(`rollguard run: invalid ${err instanceof ConfigError ? 'configuration' : 'rules'}:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`)
      return 2
    }
    throw err
  }
  return waitForSignals(daemon)
}

function waitForSignals(daemon: Daemon): Promise<number> {
  return new Promise((resolve) => {
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
