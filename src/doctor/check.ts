// What `rollguard doctor` reports: a list of checks, each ok, warn (worth a look, not blocking) or fail (fix it).

/** CheckStatus: ok — nothing to do; warn — rollguard works, but not as well as it could; fail — fix it. */
export type CheckStatus = 'ok' | 'warn' | 'fail'

/** Check is one finding: `name` says which kind of check (stable, for machines), `message` names the thing checked. */
export interface Check {
  readonly name: string
  readonly status: CheckStatus
  readonly message: string
  /** What to do about it (warn and fail only). */
  readonly hint?: string
}

/** ok is a passed check. */
export function ok(name: string, message: string): Check {
  return { name, status: 'ok', message }
}

/** warn is a finding that does not stop rollguard from working. */
export function warn(name: string, message: string, hint: string): Check {
  return { name, status: 'warn', message, hint }
}

/** fail is a problem to fix. */
export function fail(name: string, message: string, hint: string): Check {
  return { name, status: 'fail', message, hint }
}

/** EXIT_HEALTHY: no check failed (warnings allowed). */
export const EXIT_HEALTHY = 0
/** EXIT_PROBLEMS: at least one check failed. */
export const EXIT_PROBLEMS = 1
/** EXIT_USAGE: bad command line, as promtool. */
export const EXIT_USAGE = 2

/** exitCode is 1 when any check failed, else 0. */
export function exitCode(checks: readonly Check[]): number {
  return checks.some(c => c.status === 'fail') ? EXIT_PROBLEMS : EXIT_HEALTHY
}
