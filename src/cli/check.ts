import { ConfigError, loadConfig } from '../config/load.js'
import { ruleLimitsOf, type RuleLimits } from '../rules/limits.js'
import { formatRuleFileError, loadRuleFiles, parseRuleFile } from '../rules/load.js'
import type { ParsedRuleFile, RuleFileError } from '../rules/load.js'
import { didYouMean } from './suggest.js'

/** CheckIO is where runCheck writes; readStdin is used when no FILE is given (default: process.stdin). */
export interface CheckIO {
  stdout(s: string): void
  stderr(s: string): void
  readStdin?(): Promise<string>
  /** stdinIsTerminal: standard input is a terminal, so nothing is piped in (default: process.stdin.isTTY unless readStdin is given). */
  stdinIsTerminal?: boolean
}

/** CheckHooks lets tests replace config checking or pin the environment it sees. */
export interface CheckHooks {
  checkConfig?(file: string, io: CheckIO): Promise<number>
  /** env is the environment the config is checked with (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>
}

/** EXIT_OK: every file is valid (lint problems too, unless --lint-fatal). */
export const EXIT_OK = 0
/** EXIT_ERRORS: at least one real error, as promtool. */
export const EXIT_ERRORS = 1
/** EXIT_USAGE: bad command line. */
export const EXIT_USAGE = 2
/** EXIT_LINT: only lint problems, with --lint-fatal, as promtool. */
export const EXIT_LINT = 3

/** CHECK_USAGE is the help text of `rollguard check`. */
export const CHECK_USAGE = `Usage: rollguard check [--lint=duplicate-rules|all|none] [--lint-fatal] [--config FILE] [FILE...]

Check Prometheus rule files like \`promtool check rules\`, plus rollguard's own limit:
only alerting rules are supported. FILE may be a glob (*, ?, [...], **). With no FILE
and no --config, the rules are read from standard input; empty standard input is then a
usage error. An empty FILE is valid (0 rules), as for promtool. A FILE may also hold
prometheus-operator PrometheusRule objects (monitoring.coreos.com/v1): one, several YAML
documents of them, or a kind: List; each object's spec.groups is checked as a rule file.

Flags:
  --lint=LINT      comma-separated lint checks: duplicate-rules (default), all, none
  --lint-fatal     exit with status 3 when lint problems are the only problems
  --config FILE    also check a rollguard configuration file
  -h, --help       show this help

Exit status: 0 valid; 1 invalid (a rule file or the config has errors, or cannot be read);
2 usage error (unknown flag, missing value, no FILE and nothing on standard input);
3 lint problems only, with --lint-fatal.
`

const FLAGS = ['--lint', '--lint-fatal', '--config', '--help', '-h']

interface CheckOptions {
  /** The rule-file limits: the defaults, or those of the config checked with --config. */
  limits?: RuleLimits
  lintDuplicates: boolean
  lintFatal: boolean
  config: string | undefined
  files: string[]
}

interface Outcome {
  failed: boolean
  hasErrors: boolean
}

/** runCheck implements `rollguard check` and returns the exit code. */
export async function runCheck(args: readonly string[], io: CheckIO, hooks: CheckHooks = {}): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    io.stdout(CHECK_USAGE)
    return EXIT_OK
  }
  const opts = parseArgs(args, io)
  if (typeof opts === 'string') {
    io.stderr(`rollguard check: ${opts}\nTry 'rollguard check --help'.\n`)
    return EXIT_USAGE
  }
  const outcome: Outcome = { failed: false, hasErrors: false }
  if (opts.config !== undefined) {
    const code = await checkConfig(opts.config, io, hooks)
    if (code !== EXIT_OK) outcome.failed = outcome.hasErrors = true
  }
  if (opts.files.length > 0) {
    for (const pattern of opts.files) await checkPattern(pattern, opts, io, outcome)
  } else if (opts.config === undefined) {
    // Nothing to check is a mistake on the command line, not a valid empty file.
    const terminal = io.stdinIsTerminal ?? (io.readStdin === undefined && process.stdin.isTTY === true)
    const text = terminal ? '' : io.readStdin ? await io.readStdin() : await readProcessStdin()
    if (text.trim() === '') {
      io.stderr(`rollguard check: no rule files given and stdin is empty\nTry 'rollguard check --help'.\n`)
      return EXIT_USAGE
    }
    io.stdout('Checking standard input\n')
    report(parseRuleFile('<stdin>', text), opts, io, outcome)
  }
  if (outcome.hasErrors) return EXIT_ERRORS
  return outcome.failed && opts.lintFatal ? EXIT_LINT : EXIT_OK
}

function parseArgs(args: readonly string[], io: CheckIO): CheckOptions | string {
  const opts: CheckOptions = { lintDuplicates: true, lintFatal: false, config: undefined, files: [] }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      opts.files.push(...args.slice(i + 1))
      break
    }
    const [flag, inline] = splitFlag(arg)
    const value = (): string | undefined => inline ?? args[++i]
    if (flag === '--lint-fatal') opts.lintFatal = true
    else if (flag === '--lint') {
      const v = value()
      if (v === undefined) return '--lint needs a value'
      opts.lintDuplicates = lintDuplicates(v, io)
    } else if (flag === '--config') {
      const v = value()
      if (v === undefined) return '--config needs a file'
      opts.config = v
    } else if (arg.startsWith('-') && arg !== '-') return `unknown flag ${flag}${didYouMean(flag, FLAGS)}`
    else opts.files.push(arg)
  }
  return opts
}

/** splitFlag splits "--flag=value" into its parts. */
function splitFlag(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=')
  return arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined]
}

function lintDuplicates(value: string, io: CheckIO): boolean {
  let enabled = false
  for (const setting of value.split(',')) {
    if (setting === 'all' || setting === 'duplicate-rules') enabled = true
    // promtool only warns about unknown lint options.
    else if (setting !== 'none') io.stdout(`WARNING: unknown lint option ${setting}\n`)
  }
  return enabled
}

async function checkConfig(file: string, io: CheckIO, hooks: CheckHooks): Promise<number> {
  if (hooks.checkConfig !== undefined) return hooks.checkConfig(file, io)
  io.stdout(`Checking ${file}\n`)
  try {
    // The environment counts, as it will for `rollguard run` (e.g. ROLLGUARD_PROMETHEUS_URL).
    const config = await loadConfig({
      flags: new Map([['config', [file]]]),
      env: hooks.env ?? process.env,
      cwd: process.cwd(),
    })
    io.stdout(`  SUCCESS: ${file} is valid rollguard config file syntax\n`)
    const rules = config.doc.rules.files
    io.stdout(rules.length === 0 ? '\n' : `  found ${rules.length} rule file pattern(s) to check\n\n`)
    const outcome: Outcome = { failed: false, hasErrors: false }
    const opts: CheckOptions = {
      lintDuplicates: true,
      lintFatal: false,
      config: undefined,
      files: [...rules],
      limits: ruleLimitsOf(config.doc.rules),
    }
    for (const pattern of rules) await checkPattern(pattern, opts, io, outcome)
    return outcome.hasErrors ? EXIT_ERRORS : EXIT_OK
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    io.stderr(`  FAILED:\n${err.problems.join('\n')}\n`)
    io.stdout('\n')
    return EXIT_ERRORS
  }
}

async function checkPattern(pattern: string, opts: CheckOptions, io: CheckIO, outcome: Outcome): Promise<void> {
  const loaded = await loadRuleFiles([pattern], opts.limits === undefined ? {} : { limits: opts.limits })
  const inFiles = new Set(loaded.files.flatMap(f => f.errors))
  for (const e of loaded.errors.filter(err => !inFiles.has(err))) {
    io.stdout(`Checking ${pattern}\n`)
    fail([e], io, outcome, true)
    io.stdout('\n')
  }
  for (const file of loaded.files) {
    io.stdout(`Checking ${file.file}\n`)
    report(file, opts, io, outcome)
  }
}

function report(file: ParsedRuleFile, opts: CheckOptions, io: CheckIO, outcome: Outcome): void {
  const lints = file.warnings.filter(w => w.lint !== undefined)
  for (const w of file.warnings) if (w.lint === undefined) io.stderr(`  WARNING: ${formatRuleFileError(w)}\n`)
  if (file.errors.length > 0) fail(file.errors, io, outcome, true)
  else if (opts.lintDuplicates && lints.length > 0) fail(lints, io, outcome, false)
  else io.stdout(`  SUCCESS: ${file.ruleCount} rules found\n`)
  io.stdout('\n')
}

function fail(errors: readonly RuleFileError[], io: CheckIO, outcome: Outcome, real: boolean): void {
  io.stderr('  FAILED:\n')
  for (const e of errors) io.stderr(`${e.lint === undefined ? '' : 'lint error: '}${formatRuleFileError(e)}\n`)
  outcome.failed = true
  if (real) outcome.hasErrors = true
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
