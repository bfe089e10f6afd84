/**
 * Prometheus's HTTP client settings (prometheus/common config.HTTPClientConfig, inlined as in its
 * alertmanager_config and remote_read): tls_config, authorization, basic_auth and bearer_token_file, with
 * Prometheus's key names and rules. One implementation for every outgoing node:http(s) connection to Prometheus
 * and Alertmanager: the config keys (HTTP_CLIENT_KEYS), reading their files at each config load (so a reload
 * picks up rotated certificates and secrets), the agent options, and TLS errors worded to name the peer and the key.
 */
import http from 'node:http'
import https from 'node:https'
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import type { HttpAuth } from './http-auth.js'
import { PROXY_KEYS, proxySettings, type ProxyKeys, type ProxySettings } from './proxy.js'
import { errorText } from '../errors.js'

const File = z.string().min(1)

/** TLS_VERSIONS are Prometheus's min_version names (Go's crypto/tls) mapped to Node's. */
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const

const TlsConfig = z
  .strictObject({
    ca_file: File.optional(),
    cert_file: File.optional(),
    key_file: File.optional(),
    server_name: z.string().min(1).optional(),
    insecure_skip_verify: z.boolean().default(false),
    min_version: z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']).optional(),
  })
  .refine(
    t => (t.cert_file === undefined) === (t.key_file === undefined),
    'cert_file and key_file must be set together',
  )

const Authorization = z
  .strictObject({
    type: z.string().min(1).default('Bearer'),
    credentials: z.string().min(1).optional(),
    credentials_file: File.optional(),
  })
  .refine(
    a => a.type.toLowerCase() !== 'basic',
    'authorization type cannot be set to "basic", use "basic_auth" instead',
  )
  .refine(
    a => a.credentials === undefined || a.credentials_file === undefined,
    'at most one of authorization credentials & credentials_file must be configured',
  )

const BasicAuth = z
  .strictObject({
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    password_file: File.optional(),
  })
  .refine(
    b => b.password === undefined || b.password_file === undefined,
    'at most one of basic_auth password & password_file must be configured',
  )

// Client credentials only: Prometheus's jwt-bearer grant and the _ref keys are not offered.
const OAuth2 = z.strictObject({
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  client_secret_file: File.optional(),
  scopes: z.array(z.string()).default([]),
  token_url: z.string().optional(),
  endpoint_params: z.record(z.string(), z.string()).default({}),
  tls_config: TlsConfig.optional(),
  ...PROXY_KEYS,
})

/**
 * HTTP_CLIENT_KEYS are the client keys of prometheus.*, alertmanager.* and each probe (spread into their schemas);
 * `headers` is the probes' own (with a default) in their schema.
 */
export const HTTP_CLIENT_KEYS = {
  bearer_token_file: File.optional(),
  authorization: Authorization.optional(),
  basic_auth: BasicAuth.optional(),
  oauth2: OAuth2.optional(),
  tls_config: TlsConfig.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  ...PROXY_KEYS,
  follow_redirects: z.boolean().default(true),
  // Accepted for Prometheus configs; rollguard speaks HTTP/1.1.
  enable_http2: z.boolean().optional(),
}

/** HttpClientKeys is what HTTP_CLIENT_KEYS parse to. */
export interface HttpClientKeys extends ProxyKeys {
  readonly bearer_token_file?: string | undefined
  readonly authorization?: z.infer<typeof Authorization> | undefined
  readonly basic_auth?: z.infer<typeof BasicAuth> | undefined
  readonly oauth2?: z.infer<typeof OAuth2> | undefined
  readonly tls_config?: z.infer<typeof TlsConfig> | undefined
  readonly follow_redirects?: boolean | undefined
}

/** HTTP_CLIENT_PATH_KEYS are the file keys under a client, resolved against the config file's directory. */
export const HTTP_CLIENT_PATH_KEYS = [
  'bearer_token_file',
  'authorization.credentials_file',
  'basic_auth.password_file',
  'tls_config.ca_file',
  'tls_config.cert_file',
  'tls_config.key_file',
  'oauth2.client_secret_file',
  'oauth2.tls_config.ca_file',
  'oauth2.tls_config.cert_file',
  'oauth2.tls_config.key_file',
]

/**
 * TlsSettings are the TLS options of one client, files already read (plain data: the config crosses threads).
 * `keys` is the config section ("prometheus"), named in errors.
 */
export interface TlsSettings {
  readonly section: string
  readonly ca?: string
  readonly cert?: string
  readonly key?: string
  readonly serverName?: string
  readonly insecureSkipVerify: boolean
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
}

/** OAuth2Settings are the oauth2 keys with client_secret_file read (plain data: the config crosses threads). */
export interface OAuth2Settings {
  readonly clientId: string
  readonly clientSecret: string
  readonly tokenUrl: string
  readonly scopes: readonly string[]
  readonly endpointParams: Readonly<Record<string, string>>
  readonly tls?: TlsSettings | undefined
  readonly proxy?: ProxySettings | undefined
}

/**
 * ClientSettings are a client's http_config as read by readClientSettings: what HttpClient (http-transport.ts)
 * takes, besides the headers.
 */
export interface ClientSettings {
  readonly auth: HttpAuth | undefined
  readonly tls: TlsSettings | undefined
  readonly oauth2?: OAuth2Settings | undefined
  readonly proxy?: ProxySettings | undefined
  readonly followRedirects?: boolean | undefined
}

/**
 * readClientSettings checks the keys' combinations as Prometheus's HTTPClientConfig.Validate does and reads
 * every file they name; problems are pushed, one line each, naming the key. env is for proxy_from_environment.
 */
export async function readClientSettings(
  section: string,
  keys: HttpClientKeys,
  problems: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ClientSettings> {
  const [auth, tls, oauth2] = await Promise.all([
    readAuth(section, keys, problems),
    readTls(section, keys.tls_config, problems),
    readOAuth2(section, keys, env, problems),
  ])
  const proxy = proxySettings(section, keys, env, problems)
  return {
    auth,
    tls,
    ...(oauth2 === undefined ? {} : { oauth2 }),
    ...(proxy === undefined ? {} : { proxy }),
    followRedirects: keys.follow_redirects ?? true,
  }
}

async function readOAuth2(
  section: string,
  keys: HttpClientKeys,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): Promise<OAuth2Settings | undefined> {
  const o = keys.oauth2
  if (o === undefined || keys.basic_auth !== undefined || keys.authorization !== undefined) return undefined
  if (keys.bearer_token_file !== undefined) return undefined
  const key = `${section}.oauth2`
  const before = problems.length
  if (!o.client_id) problems.push(`${key}: oauth2 client_id must be configured`)
  if (!o.token_url) problems.push(`${key}: oauth2 token_url must be configured`)
  else if (!/^https?:\/\/[^/]/.test(o.token_url) || !URL.canParse(o.token_url))
    problems.push(`${key}.token_url: must be an http:// or https:// URL`)
  if (o.client_secret !== undefined && o.client_secret !== '' && o.client_secret_file !== undefined)
    problems.push(
      `${key}: at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials`,
    )
  const [secret, tls] = await Promise.all([
    o.client_secret_file === undefined
      ? Promise.resolve(o.client_secret ?? '')
      : readSecret(`${key}.client_secret_file`, o.client_secret_file, problems),
    readTls(key, o.tls_config, problems),
  ])
  const proxy = proxySettings(key, o, env, problems)
  if (problems.length > before) return undefined
  return {
    clientId: o.client_id ?? '',
    clientSecret: secret ?? '',
    tokenUrl: o.token_url ?? '',
    scopes: o.scopes,
    endpointParams: o.endpoint_params,
    ...(tls === undefined ? {} : { tls }),
    ...(proxy === undefined ? {} : { proxy }),
  }
}

async function readAuth(section: string, keys: HttpClientKeys, problems: string[]): Promise<HttpAuth | undefined> {
  const { bearer_token_file: tokenFile, authorization, basic_auth: basic } = keys
  const set = [
    tokenFile === undefined ? undefined : 'bearer_token_file',
    authorization === undefined ? undefined : 'authorization',
    basic === undefined ? undefined : 'basic_auth',
    keys.oauth2 === undefined ? undefined : 'oauth2',
  ].filter(k => k !== undefined)
  if (set.length > 1) {
    problems.push(`${section}: ${set.slice(0, -1).join(', ')} and ${set.at(-1)} are mutually exclusive`)
    return undefined
  }
  if (tokenFile !== undefined) {
    const token = await readSecret(`${section}.bearer_token_file`, tokenFile, problems)
    return token === undefined ? undefined : { type: 'bearer', token }
  }
  if (authorization !== undefined) {
    const credentials =
      authorization.credentials_file === undefined
        ? authorization.credentials
        : await readSecret(`${section}.authorization.credentials_file`, authorization.credentials_file, problems)
    if (credentials === undefined && authorization.credentials_file !== undefined) return undefined
    return { type: 'authorization', scheme: authorization.type, credentials: credentials ?? '' }
  }
  if (basic === undefined) return undefined
  if (basic.username === undefined) {
    problems.push(`${section}.basic_auth: needs a username`)
    return undefined
  }
  if (basic.password_file !== undefined) {
    const password = await readSecret(`${section}.basic_auth.password_file`, basic.password_file, problems)
    return password === undefined ? undefined : { type: 'basic', username: basic.username, password }
  }
  return { type: 'basic', username: basic.username, password: basic.password ?? '' }
}

async function readTls(
  section: string,
  tls: HttpClientKeys['tls_config'],
  problems: string[],
): Promise<TlsSettings | undefined> {
  if (tls === undefined) return undefined
  const read = async (key: string, file: string | undefined): Promise<string | undefined> => {
    if (file === undefined) return undefined
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      problems.push(
        `${section}.tls_config.${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`,
      )
      return undefined
    }
  }
  const [ca, cert, key] = await Promise.all([
    read('ca_file', tls.ca_file),
    read('cert_file', tls.cert_file),
    read('key_file', tls.key_file),
  ])
  return {
    section,
    insecureSkipVerify: tls.insecure_skip_verify,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls.server_name === undefined ? {} : { serverName: tls.server_name }),
    ...(tls.min_version === undefined ? {} : { minVersion: TLS_VERSIONS[tls.min_version] }),
  }
}

/** readSecret reads a credential file; the trailing newline editors add is not part of the secret. */
export async function readSecret(key: string, file: string, problems: string[]): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
  } catch (err) {
    problems.push(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`)
    return undefined
  }
}

/** tlsAgentOptions are the https.Agent options of settings (Node's defaults without them: system CAs, TLS 1.2+). */
export function tlsAgentOptions(tls: TlsSettings | undefined): https.AgentOptions {
  if (tls === undefined) return {}
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    // servername is also what the certificate is checked against, as Go's ServerName.
    rejectUnauthorized: !tls.insecureSkipVerify,
  }
}

/** createAgent returns a keep-alive agent for url's scheme with the client's TLS settings. */
export function createAgent(
  url: string | URL,
  tls: TlsSettings | undefined,
  options: http.AgentOptions = {},
): http.Agent {
  const secure = new URL(url).protocol === 'https:'
  return secure
    ? new https.Agent({ keepAlive: true, ...options, ...tlsAgentOptions(tls) })
    : new http.Agent({ keepAlive: true, ...options })
}

/** TLS_HINTS word Node's certificate errors as Go's (what Prometheus users search for) and name the key that fixes them. */
const TLS_HINTS: Record<string, { text: string; key: string }> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { text: 'certificate signed by unknown authority', key: 'tls_config.ca_file' },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: { text: 'certificate signed by unknown authority', key: 'tls_config.ca_file' },
  UNABLE_TO_GET_ISSUER_CERT: { text: 'certificate signed by unknown authority', key: 'tls_config.ca_file' },
  SELF_SIGNED_CERT_IN_CHAIN: { text: 'certificate signed by unknown authority', key: 'tls_config.ca_file' },
  DEPTH_ZERO_SELF_SIGNED_CERT: {
    text: 'certificate signed by unknown authority (self-signed)',
    key: 'tls_config.ca_file',
  },
  CERT_SIGNATURE_FAILURE: { text: 'certificate signed by unknown authority', key: 'tls_config.ca_file' },
  ERR_TLS_CERT_ALTNAME_INVALID: { text: 'certificate is not valid for this host', key: 'tls_config.server_name' },
  CERT_HAS_EXPIRED: { text: 'certificate has expired or is not yet valid', key: 'tls_config' },
  CERT_NOT_YET_VALID: { text: 'certificate has expired or is not yet valid', key: 'tls_config' },
}

/**
 * describeTlsError words a certificate error as `<peer> at <url>: <reason> (set <section>.<key>)`, e.g.
 * "Prometheus at https://prom:9090: certificate signed by unknown authority (set prometheus.tls_config.ca_file)";
 * undefined for any other error.
 */
export function describeTlsError(err: unknown, peer: string, url: string, section: string): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const hint = code === undefined ? undefined : TLS_HINTS[code]
  if (hint === undefined) return undefined
  const detail = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `: ${errorText(err)}` : ''
  return `${peer} at ${url}: ${hint.text}${detail} (set ${section}.${hint.key})`
}
