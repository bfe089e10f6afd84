/**
 * Prometheus's web configuration file (`--web.config.file`, prometheus/exporter-toolkit's format, as Prometheus,
 * Alertmanager and node_exporter read it): tls_server_config, http_server_config, basic_auth_users and rate_limit.
 * readWebConfig reads it and the files it names, and reports each problem as one line with file:line:col.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import { z } from 'zod'
import { errorText } from '../errors.js'
import { FileTooLargeError, readTextFile } from '../rules/limits.js'
import { locate, parseYaml, pathKey, type Path, type YamlTree } from '../rules/yaml-tree.js'
import { parseGoDuration } from './go-duration.js'
import {
  CLIENT_AUTH_TYPES,
  CURVES,
  opensslCiphers,
  TLS_VERSIONS,
  type ClientAuthType,
  type ServerTls,
  type TlsVersionName,
} from './web-tls.js'

/** WebConfig is a valid web configuration file with the certificates and keys it names read. */
export interface WebConfig {
  readonly file: string
  /** tls is undefined when tls_server_config sets nothing: the listener serves plain HTTP. */
  readonly tls: ServerTls | undefined
  /** users maps each basic_auth_users name to its bcrypt hash; empty: no authentication. */
  readonly users: Readonly<Record<string, string>>
  /** headers are http_server_config.headers, added to every response. */
  readonly headers: Readonly<Record<string, string>>
  /** http2 is read for compatibility; rollguard's listener speaks HTTP/1.1. */
  readonly http2: boolean
  readonly rateLimit: { readonly burst: number; readonly intervalMs: number } | undefined
  /** files are the web config file and the files it names, whose changes re-read it. */
  readonly files: readonly string[]
}

/** MAX_WEB_CONFIG_BYTES bounds the file (real ones are a few hundred bytes; thousands of users still fit). */
export const MAX_WEB_CONFIG_BYTES = 1024 * 1024

/** extraHTTPHeaders are the headers exporter-toolkit lets a web config set, with their allowed values (any when empty). */
const ALLOWED_HEADERS: Readonly<Record<string, readonly string[]>> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
}

// A bcrypt hash as Go's bcrypt.Cost accepts it (and bcryptjs compares): $2$, $2a$, $2b$ or $2y$, cost 4-31, 53 characters.
const BCRYPT = /^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$/

const Text = z.string().nullish()
const TlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [TlsVersionName], {
  error: `must be one of ${Object.keys(TLS_VERSIONS).join(', ')}`,
})

const TlsServerConfig = z.strictObject({
  cert: Text,
  key: Text,
  client_ca: Text,
  cert_file: Text,
  key_file: Text,
  // RequireClientCert: exporter-toolkit's older name for RequireAnyClientCert.
  client_auth_type: z
    .enum(['', ...CLIENT_AUTH_TYPES, 'RequireClientCert'], {
      error: `must be one of ${CLIENT_AUTH_TYPES.join(', ')}`,
    })
    .nullish(),
  client_ca_file: Text,
  cipher_suites: z.array(z.string()).nullish(),
  curve_preferences: z
    .array(z.enum(Object.keys(CURVES) as [keyof typeof CURVES], { error: 'unknown curve' }))
    .nullish(),
  min_version: TlsVersion.nullish(),
  max_version: TlsVersion.nullish(),
  prefer_server_cipher_suites: z.boolean().nullish(),
  client_allowed_sans: z.array(z.string()).nullish(),
})

const WebConfigDocument = z.strictObject({
  tls_server_config: TlsServerConfig.nullish(),
  http_server_config: z
    .strictObject({ http2: z.boolean().nullish(), headers: z.record(z.string(), z.string()).nullish() })
    .nullish(),
  basic_auth_users: z
    .record(
      z.string(),
      // The message never quotes the value: it is a password hash.
      z.string({ error: 'must be a bcrypt hash' }).refine(isBcryptHash, {
        message:
          'must be a bcrypt hash ($2y$<cost 04-31>$ and 53 characters, e.g. from htpasswd -nBC 10 "" | tr -d \':\\n\')',
      }),
    )
    .nullish(),
  rate_limit: z
    .strictObject({ burst: z.number().int().min(0).nullish(), interval: z.union([z.string(), z.number()]).nullish() })
    .nullish(),
})
type WebConfigDocument = z.infer<typeof WebConfigDocument>

function isBcryptHash(hash: string): boolean {
  const cost = BCRYPT.exec(hash)?.[1]
  return cost !== undefined && Number(cost) >= 4 && Number(cost) <= 31
}

/** Problems collects one line per problem, positioned in the web config file. */
class Problems {
  readonly lines: string[] = []
  constructor(
    private readonly file: string,
    private readonly tree: YamlTree | undefined,
  ) {}

  at(path: Path, message: string, where: 'key' | 'value' = 'value'): void {
    const pos = this.tree === undefined ? undefined : locate(this.tree, path, { at: where })
    const place = pos === undefined || pos.line === 0 ? this.file : `${this.file}:${pos.line}:${pos.col}`
    this.lines.push(path.length === 0 ? `${place}: ${message}` : `${place}: ${pathKey(path)}: ${message}`)
  }
}

/**
 * readWebConfig reads the web configuration file and the certificates, key and CAs it names (paths relative to
 * the file); on any problem it adds one line per problem to `problems` and returns undefined.
 */
export async function readWebConfig(file: string, problems: string[]): Promise<WebConfig | undefined> {
  let text: string
  try {
    text = await readTextFile(file, MAX_WEB_CONFIG_BYTES)
  } catch (err) {
    problems.push(
      err instanceof FileTooLargeError
        ? `${file}: ${err.message} for a web config file`
        : `web config file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`,
    )
    return undefined
  }
  let tree: YamlTree
  try {
    tree = parseYaml(text, { maxNodes: MAX_WEB_CONFIG_BYTES / 8, scalars: 'value', extraDocuments: 'error' })
  } catch (err) {
    problems.push(`${file}: ${errorText(err)}`)
    return undefined
  }
  const found = new Problems(file, tree)
  for (const e of tree.errors) found.lines.push(`${file}:${e.line}:${e.col}: ${e.message}`)
  const doc = tree.errors.length > 0 ? undefined : checkDocument(tree.value ?? {}, found)
  const config = doc === undefined ? undefined : await materialize(file, doc, found)
  problems.push(...found.lines)
  return found.lines.length === 0 ? config : undefined
}

function checkDocument(value: unknown, problems: Problems): WebConfigDocument | undefined {
  const parsed = WebConfigDocument.safeParse(value)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const unknownKey = issue.code === 'unrecognized_keys'
      const path = (unknownKey ? [...issue.path, issue.keys[0] as string] : issue.path) as Path
      problems.at(path, unknownKey ? 'unknown field (exporter-toolkit web config format)' : issue.message, 'key')
    }
    return undefined
  }
  const doc = parsed.data
  for (const [name, v] of Object.entries(doc.http_server_config?.headers ?? {})) {
    const allowed = Object.hasOwn(ALLOWED_HEADERS, name) ? ALLOWED_HEADERS[name] : undefined
    const path = ['http_server_config', 'headers', name]
    if (allowed === undefined)
      problems.at(
        path,
        `HTTP header ${JSON.stringify(name)} can not be configured (allowed: ${Object.keys(ALLOWED_HEADERS).join(', ')})`,
        'key',
      )
    else if (allowed.length > 0 && !allowed.includes(v))
      problems.at(path, `invalid value for ${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`)
  }
  return problems.lines.length === 0 ? doc : undefined
}

async function materialize(file: string, doc: WebConfigDocument, problems: Problems): Promise<WebConfig | undefined> {
  const base = dirname(file)
  const files = [file]
  const tls = await serverTls(doc.tls_server_config ?? {}, base, files, problems)
  const rateLimit = rateLimitOf(doc.rate_limit ?? {}, problems)
  if (problems.lines.length > 0) return undefined
  return {
    file,
    tls,
    users: Object.fromEntries(Object.entries(doc.basic_auth_users ?? {})),
    headers: { ...doc.http_server_config?.headers },
    http2: doc.http_server_config?.http2 ?? true,
    rateLimit,
    files,
  }
}

type TlsDocument = NonNullable<WebConfigDocument['tls_server_config']>
const TLS_PATH = 'tls_server_config'

/** serverTls validates tls_server_config as exporter-toolkit's ConfigToTLSConfig does, and reads its files. */
async function serverTls(
  c: TlsDocument,
  base: string,
  files: string[],
  problems: Problems,
): Promise<ServerTls | undefined> {
  const set = (s: string | null | undefined): s is string => s !== undefined && s !== null && s !== ''
  // exporter-toolkit's IsEnabled: any of these turns TLS on, and then a certificate and a key are required.
  const enabled = [c.cert, c.key, c.cert_file, c.key_file, c.client_ca, c.client_ca_file, c.client_auth_type].some(set)
  if (!enabled) return undefined
  if (!set(c.cert_file) && !set(c.cert)) problems.at([TLS_PATH], 'missing one of cert or cert_file', 'key')
  if (!set(c.key_file) && !set(c.key)) problems.at([TLS_PATH], 'missing one of key or key_file', 'key')
  const clientAuth = clientAuthOf(c.client_auth_type)
  const hasClientCa = set(c.client_ca_file) || set(c.client_ca)
  if (hasClientCa && clientAuth === 'NoClientCert')
    problems.at(
      [TLS_PATH, set(c.client_ca_file) ? 'client_ca_file' : 'client_ca'],
      "client CA's have been configured without a Client Auth Policy (set client_auth_type)",
      'key',
    )
  if (
    c.client_allowed_sans !== undefined &&
    c.client_allowed_sans !== null &&
    clientAuth !== 'RequireAnyClientCert' &&
    clientAuth !== 'RequireAndVerifyClientCert'
  )
    problems.at(
      [TLS_PATH, 'client_allowed_sans'],
      'client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert',
      'key',
    )
  const minVersion = c.min_version ?? 'TLS12'
  const maxVersion = c.max_version ?? 'TLS13'
  if (minVersion > maxVersion) problems.at([TLS_PATH, 'min_version'], `is above max_version (${maxVersion})`)
  let ciphers: string | undefined
  try {
    ciphers = c.cipher_suites?.length ? opensslCiphers(c.cipher_suites) : undefined
  } catch (err) {
    problems.at(
      [TLS_PATH, 'cipher_suites'],
      `${errorText(err)} (Go's crypto/tls names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)`,
    )
  }
  // As Go: a file wins over the inline text.
  const read = async (key: 'cert_file' | 'key_file' | 'client_ca_file', inline: string | null | undefined) => {
    const path = c[key]
    if (!set(path)) return set(inline) ? inline : undefined
    const abs = resolve(base, path)
    files.push(abs)
    try {
      return await readFile(abs, 'utf8')
    } catch (err) {
      problems.at([TLS_PATH, key], `cannot read ${abs}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`)
      return undefined
    }
  }
  const [cert, key, clientCa] = await Promise.all([
    read('cert_file', c.cert),
    read('key_file', c.key),
    read('client_ca_file', c.client_ca),
  ])
  if (problems.lines.length > 0 || cert === undefined || key === undefined) return undefined
  const tls: ServerTls = {
    cert,
    key,
    clientCa,
    clientAuth,
    minVersion,
    maxVersion,
    ciphers,
    curves: c.curve_preferences?.length ? c.curve_preferences : undefined,
    preferServerCipherSuites: c.prefer_server_cipher_suites ?? true,
    allowedSans: c.client_allowed_sans ?? undefined,
  }
  checkMaterial(tls, c, problems)
  return tls
}

function clientAuthOf(name: TlsDocument['client_auth_type']): ClientAuthType {
  if (name === 'RequireClientCert') return 'RequireAnyClientCert'
  return name === undefined || name === null || name === '' ? 'NoClientCert' : name
}

/** checkMaterial loads the certificate, key and client CAs as the listener will, so a bad file fails the load. */
function checkMaterial(tls: ServerTls, c: TlsDocument, problems: Problems): void {
  const certKey = c.cert_file ? 'cert_file' : 'cert'
  try {
    createSecureContext({ cert: tls.cert, key: tls.key })
  } catch (err) {
    // OpenSSL's words never quote the key.
    problems.at([TLS_PATH, certKey], `failed to load the certificate and key: ${errorText(err)}`)
  }
  if (tls.clientCa === undefined) return
  const caKey = c.client_ca_file ? 'client_ca_file' : 'client_ca'
  const pems = tls.clientCa.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
  try {
    for (const pem of pems) new X509Certificate(pem)
    if (pems.length === 0) problems.at([TLS_PATH, caKey], 'holds no PEM certificate')
  } catch (err) {
    problems.at([TLS_PATH, caKey], `holds a certificate that cannot be read: ${errorText(err)}`)
  }
}

function rateLimitOf(r: NonNullable<WebConfigDocument['rate_limit']>, problems: Problems): WebConfig['rateLimit'] {
  if (r.interval === undefined || r.interval === null) return undefined
  let intervalMs: number
  try {
    intervalMs = typeof r.interval === 'number' ? r.interval / 1e6 : parseGoDuration(r.interval)
  } catch (err) {
    problems.at(['rate_limit', 'interval'], errorText(err))
    return undefined
  }
  if (intervalMs === 0) return undefined
  if (intervalMs < 0) problems.at(['rate_limit', 'interval'], 'must not be negative')
  const burst = r.burst ?? 0
  if (burst < 1)
    problems.at(
      ['rate_limit', 'burst'],
      'must be at least 1 when interval is set (0 would refuse every request)',
      'key',
    )
  return { burst, intervalMs }
}
