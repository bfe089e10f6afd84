import { dirname, resolve } from 'node:path'
import { FileTooLargeError, readTextFile } from '../rules/limits.js'
import { locate, parseYaml } from '../rules/yaml-tree.js'
import type { YamlTree } from '../rules/yaml-tree.js'
import type { HttpAuth } from '../sources/http-auth.js'
import {
  HTTP_CLIENT_PATH_KEYS,
  readClientSettings,
  readSecret,
  type ClientSettings,
  type TlsSettings,
} from '../sources/http-client.js'
import type { WebhookCredentials } from '../webhook/auth.js'
import { ConfigDocument } from './schema.js'
import { RUN_OPTIONS, type OptionSpec } from './options.js'
import { readWebConfig, type WebConfig } from '../server/web-config.js'
import { errorText } from '../errors.js'

/** ProblemsError carries every problem found, one line each, so the user fixes them all in one go. */
export class ProblemsError extends Error {
  constructor(
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(problems.join('\n'), options)
  }
}

/** ConfigError collects every problem found in flags, environment and config file. */
export class ConfigError extends ProblemsError {
  override name = 'ConfigError'
}

/** Config is the validated, frozen configuration plus the credentials read from their files. */
export interface Config {
  readonly doc: ConfigDocument
  readonly configFile: string | undefined
  readonly prometheusAuth: HttpAuth | undefined
  readonly alertmanagerAuth: HttpAuth | undefined
  /** prometheus.tls_config and alertmanager.tls_config with their files read (re-read at every load). */
  readonly prometheusTls: TlsSettings | undefined
  readonly alertmanagerTls: TlsSettings | undefined
  /** Their whole http_config (the auth and TLS above, oauth2, proxy, follow_redirects), files read. */
  readonly prometheusClient: ClientSettings
  readonly alertmanagerClient: ClientSettings
  /** Each probe's http_config, in the order of doc.probes. */
  readonly probeClients: readonly ClientSettings[]
  /** The secrets the Alertmanager webhook checks requests against (read on every load, so a reload picks up new ones). */
  readonly webhookCredentials: WebhookCredentials | undefined
  /** web.config_file read with the certificates and keys it names (re-read at every load); undefined without one. */
  readonly webConfig?: WebConfig | undefined
}

/** ConfigInput is where options come from: parsed flags (flag name → values), the environment, the working directory. */
export interface ConfigInput {
  readonly flags: ReadonlyMap<string, readonly string[]>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
}

type Source =
  | { kind: 'flag' | 'env'; name: string }
  | { kind: 'file'; file: string; position: (path: readonly PropertyKey[], atKey: boolean) => string }

// Paths in the config file are relative to the file, as in Prometheus.
const PATH_KEYS = [
  'rules.files',
  ...['prometheus', 'alertmanager'].flatMap(s => HTTP_CLIENT_PATH_KEYS.map(k => `${s}.${k}`)),
  'kubernetes.kubeconfig',
  'web.config_file',
  'webhook.auth.bearer_token_file',
  'webhook.auth.basic_auth.password_file',
]

/** loadConfig merges defaults < file < env < flags, validates once and reads credential files. */
export async function loadConfig(input: ConfigInput): Promise<Config> {
  const configFile = pick(input, 'config', 'ROLLGUARD_CONFIG')
  const problems: string[] = []
  const sources = new Map<string, Source>()
  const raw = configFile === undefined ? {} : await readConfigFile(resolve(input.cwd, configFile), sources, problems)
  for (const spec of RUN_OPTIONS) overlay(raw, spec, input, sources, problems)
  if (problems.length > 0) throw new ConfigError(problems)
  const parsed = ConfigDocument.safeParse(raw)
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(issue => {
        // Point at the offending key itself, not at the mapping that contains it.
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : issue.path
        return describeIssue(path, issue.message, sources, issue.code === 'unrecognized_keys')
      }),
    )
  }
  const doc = parsed.data
  const [prometheus, alertmanager, webhookCredentials, webConfig, probeClients] = await Promise.all([
    readClientSettings('prometheus', doc.prometheus, problems, input.env),
    readClientSettings('alertmanager', doc.alertmanager, problems, input.env),
    readWebhookCredentials(doc.webhook?.auth, problems),
    doc.web.config_file === undefined ? undefined : readWebConfig(doc.web.config_file, problems),
    Promise.all(doc.probes.map((p, i) => readClientSettings(`probes.${i}`, p, problems, input.env))),
  ])
  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze({
    doc,
    configFile: configFile === undefined ? undefined : resolve(input.cwd, configFile),
    prometheusAuth: prometheus.auth,
    alertmanagerAuth: alertmanager.auth,
    prometheusTls: prometheus.tls,
    alertmanagerTls: alertmanager.tls,
    prometheusClient: prometheus,
    alertmanagerClient: alertmanager,
    probeClients,
    webhookCredentials,
    webConfig,
  })
}

function pick(input: ConfigInput, flag: string, env: string): string | undefined {
  return input.flags.get(flag)?.at(-1) ?? (input.env[env] || undefined)
}

/**
 * MAX_CONFIG_BYTES bounds the config file (real ones are a few KB; even thousands of probes fit). Fixed: the config
 * cannot raise its own limit.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** MAX_CONFIG_NODES bounds its YAML nodes: one per 8 bytes (a long list of short labels has one per 15). */
export const MAX_CONFIG_NODES = MAX_CONFIG_BYTES / 8

async function readConfigFile(
  file: string,
  sources: Map<string, Source>,
  problems: string[],
): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readTextFile(file, MAX_CONFIG_BYTES)
  } catch (err) {
    if (err instanceof FileTooLargeError) problems.push(`${file}: ${err.message} for a config file`)
    else problems.push(`--config: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`)
    return {}
  }
  let tree: YamlTree
  try {
    tree = parseYaml(text, { maxNodes: MAX_CONFIG_NODES, scalars: 'value', extraDocuments: 'error' })
  } catch (err) {
    // Never a stack trace for a bad file: whatever went wrong is reported against it.
    problems.push(`${file}: ${errorText(err)}`)
    return {}
  }
  for (const e of tree.errors) problems.push(`${file}:${e.line}:${e.col}: ${e.message}`)
  const position = (path: readonly PropertyKey[], atKey: boolean): string => {
    const { line, col } = locate(
      tree,
      path.map(p => (typeof p === 'number' ? p : String(p))),
      atKey ? { at: 'key' } : {},
    )
    return line > 0 ? `${file}:${line}:${col}` : file
  }
  for (const key of ['', ...RUN_OPTIONS.map(o => o.path[0] as string)])
    sources.set(key, { kind: 'file', file, position })
  const value = tree.errors.length > 0 ? null : tree.value
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${position([], false)}: the config file must be a YAML mapping`)
    return {}
  }
  const obj = value as Record<string, unknown>
  for (const key of PATH_KEYS) resolvePaths(obj, key.split('.'), dirname(file))
  const probes = obj['probes']
  if (Array.isArray(probes))
    for (const probe of probes)
      if (probe !== null && typeof probe === 'object')
        for (const key of HTTP_CLIENT_PATH_KEYS)
          resolvePaths(probe as Record<string, unknown>, key.split('.'), dirname(file))
  return obj
}

function resolvePaths(obj: Record<string, unknown>, path: string[], base: string): void {
  const parent = getIn(obj, path.slice(0, -1))
  const key = path.at(-1) as string
  if (parent === null || typeof parent !== 'object') return
  const record = parent as Record<string, unknown>
  const value = record[key]
  if (typeof value === 'string') record[key] = resolve(base, value)
  else if (Array.isArray(value)) record[key] = value.map(v => (typeof v === 'string' ? resolve(base, v) : v))
}

function overlay(
  raw: Record<string, unknown>,
  spec: OptionSpec,
  input: ConfigInput,
  sources: Map<string, Source>,
  problems: string[],
): void {
  const fromFlag = input.flags.get(spec.flag)
  const fromEnv = input.env[spec.env]
  let values: readonly string[]
  let source: Source
  if (fromFlag !== undefined && fromFlag.length > 0) {
    values = fromFlag
    source = { kind: 'flag', name: `--${spec.flag}` }
  } else if (fromEnv !== undefined && fromEnv !== '') {
    values = isList(spec)
      ? fromEnv
          .split(',')
          .map(s => s.trim())
          .filter(s => s !== '')
      : [fromEnv]
    source = { kind: 'env', name: spec.env }
  } else {
    return
  }
  const converted = convert(spec, values, input.cwd, source.name, problems)
  if (converted === undefined) return
  setIn(raw, spec.path, converted)
  sources.set(spec.path.join('.'), source)
}

function isList(spec: OptionSpec): boolean {
  return spec.kind === 'list' || spec.kind === 'url-list' || spec.kind === 'label-list'
}

function convert(spec: OptionSpec, values: readonly string[], cwd: string, name: string, problems: string[]): unknown {
  const last = values.at(-1) as string
  switch (spec.kind) {
    case 'int':
      return /^\d+$/.test(last) ? Number(last) : last
    case 'boolean':
      return last === 'true' ? true : last === 'false' ? false : last
    case 'list':
      return values.map(v => resolve(cwd, v))
    case 'url-list':
      return [...values]
    case 'label-list':
      return parseLabelList(values, name, problems)
    case 'path':
      return resolve(cwd, last)
    default:
      return spec.path.at(-1)?.endsWith('_file') ? resolve(cwd, last) : last
  }
}

function parseLabelList(
  values: readonly string[],
  name: string,
  problems: string[],
): Record<string, string> | undefined {
  const out: Record<string, string> = {}
  for (const item of values) {
    const eq = item.indexOf('=')
    if (eq <= 0) {
      problems.push(`${name}: ${JSON.stringify(item)} is not NAME=VALUE`)
      return undefined
    }
    out[item.slice(0, eq)] = item.slice(eq + 1)
  }
  return out
}

function describeIssue(
  path: readonly PropertyKey[],
  message: string,
  sources: Map<string, Source>,
  atKey: boolean,
): string {
  const key = path.map(String).join('.')
  for (let n = path.length; n >= 0; n--) {
    const source = sources.get(path.slice(0, n).map(String).join('.'))
    if (source === undefined) continue
    if (source.kind === 'file') return `${source.position(path, atKey)}: ${key}: ${message}`
    return `${source.name}: ${message}`
  }
  const spec = RUN_OPTIONS.find(o => o.path.join('.') === key)
  const text = message.endsWith('received undefined') ? 'is required' : message
  return spec === undefined ? `${key || 'config'}: ${text}` : `${key} (--${spec.flag}, ${spec.env}): ${text}`
}

async function readWebhookCredentials(
  auth: NonNullable<ConfigDocument['webhook']>['auth'],
  problems: string[],
): Promise<WebhookCredentials | undefined> {
  if (auth === undefined) return undefined
  const [bearerToken, password] = await Promise.all([
    auth.bearer_token_file === undefined
      ? undefined
      : readSecret('webhook.auth.bearer_token_file', auth.bearer_token_file, problems),
    auth.basic_auth === undefined
      ? undefined
      : readSecret('webhook.auth.basic_auth.password_file', auth.basic_auth.password_file, problems),
  ])
  // An empty secret would let an empty credential in.
  if (bearerToken === '') problems.push(`webhook.auth.bearer_token_file: ${auth.bearer_token_file} is empty`)
  if (password === '')
    problems.push(`webhook.auth.basic_auth.password_file: ${auth.basic_auth?.password_file} is empty`)
  const basic =
    auth.basic_auth === undefined || password === undefined
      ? undefined
      : { username: auth.basic_auth.username, password }
  return { bearerToken, basic }
}

function getIn(obj: unknown, path: readonly string[]): unknown {
  let cur = obj
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

function setIn(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj
  for (const key of path.slice(0, -1)) {
    const next = cur[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[key] = {}
    cur = cur[key] as Record<string, unknown>
  }
  cur[path.at(-1) as string] = value
}

/** freezeConfig freezes a Config that crossed a thread boundary (structured clones are not frozen). */
export function freezeConfig(config: Config): Config {
  return deepFreeze(config)
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
