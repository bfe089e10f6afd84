import type { Check } from './check.js'

const MARK: Readonly<Record<Check['status'], string>> = { ok: '[ ok ]', warn: '[warn]', fail: '[FAIL]' }
const INDENT = ' '.repeat(MARK.ok.length + 1)

/** formatCheck is one check as text: `[FAIL] name: message`, then the hint indented below it. */
export function formatCheck(check: Check): string {
  const hint = check.hint === undefined ? '' : `${INDENT}fix: ${check.hint}\n`
  return `${MARK[check.status]} ${check.name}: ${check.message}\n${hint}`
}

/** formatSummary is the last line of the text report. */
export function formatSummary(checks: readonly Check[]): string {
  const failed = checks.filter(c => c.status === 'fail').length
  const warned = checks.filter(c => c.status === 'warn').length
  const counts = `${checks.length} checks: ${checks.length - failed - warned} ok, ${warned} ${warned === 1 ? 'warning' : 'warnings'}, ${failed} failed`
  if (failed > 0) return `\n${counts}. Fix the failed checks above, then run rollguard doctor again.\n`
  return `\n${counts}. ${warned > 0 ? 'rollguard can run; the warnings above are worth a look.' : 'Everything rollguard needs is in place.'}\n`
}

/** formatJson is the machine-readable report: the overall status and every check in order. */
export function formatJson(checks: readonly Check[]): string {
  const status = checks.some(c => c.status === 'fail') ? 'fail' : checks.some(c => c.status === 'warn') ? 'warn' : 'ok'
  return `${JSON.stringify({ status, checks }, null, 2)}\n`
}
