import { parseArgs, type ParseArgsConfig } from 'node:util'
import { RUN_OPTIONS, type OptionSpec } from '../config/options.js'
import { didYouMean } from './suggest.js'

/** UsageError is a bad command line; main prints it with the usage hint and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** FlagOptions are node:util parseArgs options. */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>

/**
 * parseFlags is node:util parseArgs (strict) whose errors are UsageErrors: an unknown flag names the closest known
 * one (`unknown flag --promethus-url (did you mean --prometheus-url?)`), including Go's single-dash spelling
 * (`-web.enable-lifecycle`), which parseArgs reads as a group of short flags; other errors lose Node's hint about
 * positionals.
 */
export function parseFlags<O extends FlagOptions>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (err) {
    const e = err as Error & { code?: string }
    if (e.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new UsageError(e.message.replace(/\. To specify .*$/s, ''), { cause: err })
    throw new UsageError(unknownFlag(e.message, args, options), { cause: err })
  }
}

function unknownFlag(message: string, args: readonly string[], options: FlagOptions): string {
  const known = Object.entries(options).flatMap(([name, o]) => [
    `--${name}`,
    ...(o.short === undefined ? [] : [`-${o.short}`]),
  ])
  const flag = /Unknown option '([^']*)'/.exec(message)?.[1] ?? message
  if (/^-[^-]$/.test(flag)) {
    // `-prometheus-url` reaches parseArgs as -p -r -o …: name the word as typed and match it as a long flag.
    const end = args.indexOf('--')
    const word = (end < 0 ? args : args.slice(0, end))
      .map(a => a.split('=', 1)[0] as string)
      .find(a => /^-[^-]{2,}/.test(a) && a.includes(flag.slice(1)))
    const hint = word === undefined ? '' : didYouMean(`-${word}`, known)
    if (hint !== '') return `unknown flag ${word}${hint}`
  }
  return `unknown flag ${flag}${didYouMean(flag, known)}`
}

/** ParsedRunArgs are the flags of `rollguard run`: flag name → every value given (last wins for scalars). */
export interface ParsedRunArgs {
  readonly flags: Map<string, string[]>
  readonly help: boolean
}

/** ExtraFlags are string flags a command takes on top of run's (e.g. doctor's --output); their values land in `flags` too. */
export type ExtraFlags = Readonly<Record<string, { readonly short?: string }>>

/**
 * parseRunArgs parses `run` flags from the option table (plus `extra`, for commands that take run's configuration
 * and a few flags of their own); unknown flags and stray arguments are usage errors.
 */
export function parseRunArgs(argv: readonly string[], extra: ExtraFlags = {}): ParsedRunArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    config: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  }
  for (const [flag, { short }] of Object.entries(extra))
    options[flag] = { type: 'string', multiple: true, ...(short === undefined ? {} : { short }) }
  // A boolean option is a bare flag (--web.enable-lifecycle), as in Prometheus; its value in `flags` is "true".
  for (const spec of RUN_OPTIONS)
    options[spec.flag] = { type: spec.kind === 'boolean' ? 'boolean' : 'string', multiple: true }
  const { rest, explicit } = explicitBooleans(argv)
  const parsed = parseFlags(rest, options)
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument: ${parsed.positionals[0]}`)
  const flags = new Map<string, string[]>()
  for (const [name, value] of Object.entries(parsed.values)) {
    if (Array.isArray(value)) flags.set(name, value.map(String))
  }
  for (const [name, values] of explicit) flags.set(name, [...(flags.get(name) ?? []), ...values])
  return { flags, help: parsed.values.help === true }
}

/**
 * explicitBooleans takes `--flag=true|false` of boolean options out of argv (kingpin's form, which turns off an
 * option that is on by default: --query-coalescing=false); any other value stays a usage error.
 */
function explicitBooleans(argv: readonly string[]): { rest: string[]; explicit: Map<string, string[]> } {
  const booleans = new Set(RUN_OPTIONS.filter(s => s.kind === 'boolean').map(s => s.flag))
  const explicit = new Map<string, string[]>()
  const end = argv.indexOf('--')
  const rest = argv.filter((arg, i) => {
    const m = /^--([^=]+)=(true|false)$/.exec(arg)
    if (m === null || (end >= 0 && i > end) || !booleans.has(m[1] as string)) return true
    explicit.set(m[1] as string, [...(explicit.get(m[1] as string) ?? []), m[2] as string])
    return false
  })
  return { rest, explicit }
}

/** runUsage renders `rollguard run --help` from the option table. */
export function runUsage(): string {
  const rows = RUN_OPTIONS.map(describe)
  return [
    'Usage: rollguard run [flags]',
    '',
    'Evaluates Prometheus alerting rules against a Prometheus-compatible API, polls health endpoints,',
    'sends alerts to Alertmanager and serves /metrics, /api/v1/rules, /api/v1/alerts, /-/healthy, /-/ready, /-/reload.',
    'Every flag can also be set by its environment variable or in the config file; precedence:',
    'flag > environment > config file > default. SIGHUP reloads config and rules; so does POST /-/reload',
    'with --web.enable-lifecycle (otherwise 403).',
    '',
    'Flags:',
    '  --config FILE  (ROLLGUARD_CONFIG)',
    '      YAML config file (also the only place for health probes, see README).',
    ...rows,
    '  -h, --help',
    '      Show this help.',
    '',
    'Exit status: 0 stopped cleanly (SIGTERM, SIGINT); 1 invalid configuration or rule files, a file that cannot',
    'be read, the daemon cannot start (e.g. --listen address in use) or did not stop cleanly; 2 usage error',
    '(unknown flag, missing value).',
    '',
    'Example:',
    '  rollguard run --prometheus-url http://127.0.0.1:9090 --alertmanager-url http://127.0.0.1:9093 \\',
    '    --rules rules/rollback-triggers.yml --eval-interval 1s --listen 127.0.0.1:9099',
  ].join('\n')
}

function describe(spec: OptionSpec): string {
  const value =
    spec.kind === 'boolean'
      ? ''
      : spec.kind === 'label-list'
        ? ' NAME=VALUE'
        : spec.kind === 'duration'
          ? ' DURATION'
          : ' VALUE'
  const def = spec.default === undefined ? '' : ` Default: ${spec.default}.`
  return `  --${spec.flag}${value}  (${spec.env}; config: ${spec.path.join('.')})\n      ${spec.help}${def}`
}
