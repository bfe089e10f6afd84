/**
 * An ApiEndpoint from a kubeconfig (or the pod's service account) whose credentials are static: a token or token
 * file, a client certificate, basic auth, impersonation, CA and TLS settings. Read the way @kubernetes/client-node's
 * KubeConfig reads them, without loading client-node, whose module graph costs ~68 MiB of RSS, for replicas that
 * only keep a Lease. Credentials that need client-node's authenticators (an exec plugin, an auth provider), a proxy,
 * or several KUBECONFIG files to merge give undefined: the caller then uses client-node's KubeConfig.
 */

import { existsSync, readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { isIPv6 } from 'node:net'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { errorText } from '../../errors.js'
import {
  homeKubeconfig,
  SERVICE_ACCOUNT_DIR,
  SERVICE_ACCOUNT_TOKEN,
  type LoadKubeConfigOptions,
} from '../../config/kubeconfig-lookup.js'
import type { ApiEndpoint, RequestAuth } from './endpoint.js'

type Env = Readonly<Record<string, string | undefined>>

/** RELOAD_MS: token and certificate files are read again after a minute, as client-go does for a token file. */
export const RELOAD_MS = 60_000

/** What a request needs from files and the kubeconfig, read again every RELOAD_MS. */
interface Material {
  readonly token?: string | undefined
  readonly ca?: Buffer | undefined
  readonly cert?: Buffer | undefined
  readonly key?: Buffer | undefined
}

interface StaticSettings {
  readonly server: string
  readonly namespace: string
  readonly skipTLSVerify: boolean
  readonly tlsServerName?: string | undefined
  readonly basic?: string | undefined
  readonly impersonate?: string | undefined
  readonly read: () => Material
}

/**
 * staticEndpoint is the endpoint of opts' source without client-node, or undefined when its credentials need it.
 * It throws, as loadKubeConfig does, when the context or its cluster is missing or a file cannot be read.
 */
export function staticEndpoint(
  opts: LoadKubeConfigOptions,
  env: Env,
  now = () => performance.now(),
): ApiEndpoint | undefined {
  const settings = staticSettings(opts, env)
  return settings === undefined ? undefined : new StaticEndpoint(settings, now)
}

function staticSettings(opts: LoadKubeConfigOptions, env: Env): StaticSettings | undefined {
  const { source } = opts
  if (source.mode === 'in-cluster')
    return opts.context === undefined ? inCluster(source.pathPrefix ?? '', env) : undefined
  if (source.mode === 'file') return fromKubeconfig(source.path, `file ${source.path}`, opts.context)
  const files = (env['KUBECONFIG'] ?? '').split(delimiter).filter(f => f !== '')
  if (files.length > 1) return undefined
  if (files.length === 1) return fromKubeconfig(files[0] as string, 'default', opts.context)
  const home = homeKubeconfig(env)
  if (existsSync(home)) return fromKubeconfig(home, 'default', opts.context)
  if (existsSync(SERVICE_ACCOUNT_TOKEN) && opts.context === undefined) return inCluster('', env)
  return undefined
}

function inCluster(prefix: string, env: Env): StaticSettings | undefined {
  const host = env['KUBERNETES_SERVICE_HOST']
  const port = env['KUBERNETES_SERVICE_PORT']
  if (!host || !port)
    throw new Error(
      'kubeconfig (in-cluster): KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)',
    )
  // As client-node: plain HTTP on the ports of `kubectl proxy` and the insecure port.
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https'
  const root = `${prefix}${SERVICE_ACCOUNT_DIR}`
  const what = 'kubeconfig (in-cluster)'
  return {
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    namespace: readOptional(join(root, 'namespace')) ?? 'default',
    skipTLSVerify: false,
    read: () => ({ token: readText(join(root, 'token'), what), ca: readBytes(join(root, 'ca.crt'), what) }),
  }
}

type Entry = Record<string, unknown>

function fromKubeconfig(file: string, described: string, context: string | undefined): StaticSettings | undefined {
  const what = `kubeconfig (${described})`
  let doc: Entry
  try {
    doc = asEntry(parseYaml(readFileSync(file, 'utf8')))
  } catch (err) {
    throw new Error(`${what}: ${errorText(err)}`, { cause: err })
  }
  const contexts = named(doc['contexts'], 'context')
  const name = context ?? str(doc['current-context'])
  const ctx = name === undefined ? undefined : contexts.get(name)
  if (context !== undefined && ctx === undefined) {
    const known = [...contexts.keys()].join(', ') || 'none'
    throw new Error(`${what}: context "${context}" not found (known: ${known})`)
  }
  const cluster = named(doc['clusters'], 'cluster').get(str(ctx?.['cluster']) ?? '')
  const server = str(cluster?.['server'])
  if (cluster === undefined || !server) throw new Error(`${what}: the current context has no cluster`)
  const user = named(doc['users'], 'user').get(str(ctx?.['user']) ?? '') ?? {}
  if (user['exec'] || user['auth-provider'] || cluster['proxy-url']) return undefined
  const dir = dirname(file)
  const path = (p: unknown) => (typeof p === 'string' && p !== '' ? (isAbsolute(p) ? p : join(dir, p)) : undefined)
  const username = str(user['username'])
  return {
    server: server.replace(/\/$/, ''),
    namespace: str(ctx?.['namespace']) || 'default',
    skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster['tls-server-name']),
    basic: username ? `${username}:${str(user['password']) ?? ''}` : undefined,
    impersonate: str(user['as']),
    read: () => ({
      token: str(user['token']) || readFileField(path(user['token-file']), what),
      ca: fileOrData(path(cluster['certificate-authority']), cluster['certificate-authority-data'], what),
      cert: fileOrData(path(user['client-certificate']), user['client-certificate-data'], what),
      key: fileOrData(path(user['client-key']), user['client-key-data'], what),
    }),
  }
}

/** StaticEndpoint keeps one keep-alive agent, made again only when the CA or client certificate files change. */
class StaticEndpoint implements ApiEndpoint {
  readonly server: string
  readonly namespace: string
  #material: Material
  #readAt: number
  #agent: http.Agent

  constructor(
    private readonly settings: StaticSettings,
    private readonly now: () => number,
  ) {
    this.server = settings.server
    this.namespace = settings.namespace
    this.#material = settings.read()
    this.#readAt = now()
    this.#agent = this.#makeAgent()
  }

  authorize(): Promise<RequestAuth> {
    if (this.now() - this.#readAt >= RELOAD_MS) this.#reload()
    const headers: Record<string, string> = {}
    const { token } = this.#material
    const { basic, impersonate } = this.settings
    if (token) headers['Authorization'] = `Bearer ${token}`
    else if (basic !== undefined) headers['Authorization'] = `Basic ${Buffer.from(basic).toString('base64')}`
    if (impersonate) headers['Impersonate-User'] = impersonate
    return Promise.resolve({ agent: this.#agent, headers })
  }

  #reload(): void {
    this.#readAt = this.now()
    let next: Material
    try {
      next = this.settings.read()
    } catch {
      // A file caught mid-rotation: keep what worked until the next reload.
      return
    }
    const old = this.#material
    this.#material = next
    if (same(old.ca, next.ca) && same(old.cert, next.cert) && same(old.key, next.key)) return
    this.#agent.destroy()
    this.#agent = this.#makeAgent()
  }

  #makeAgent(): http.Agent {
    if (!this.server.startsWith('https:')) return new http.Agent({ keepAlive: true })
    const { ca, cert, key } = this.#material
    const { skipTLSVerify, tlsServerName } = this.settings
    return new https.Agent({
      keepAlive: true,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(tlsServerName ? { servername: tlsServerName } : {}),
    })
  }
}

function same(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b)
}

/** named maps the entries of a kubeconfig list (`- name: x\n  cluster: {...}`) by name to their inner object. */
function named(list: unknown, field: string): Map<string, Entry> {
  const out = new Map<string, Entry>()
  if (!Array.isArray(list)) return out
  for (const item of list) {
    const e = asEntry(item)
    const name = str(e['name'])
    if (name !== undefined && !out.has(name)) out.set(name, asEntry(e[field]))
  }
  return out
}

function asEntry(v: unknown): Entry {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Entry) : {}
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function fileOrData(file: string | undefined, data: unknown, what: string): Buffer | undefined {
  if (file !== undefined) return readBytes(file, what)
  return typeof data === 'string' && data !== '' ? Buffer.from(data, 'base64') : undefined
}

function readFileField(file: string | undefined, what: string): string | undefined {
  return file === undefined ? undefined : readText(file, what)
}

function readText(file: string, what: string): string {
  return readBytes(file, what).toString('utf8')
}

function readBytes(file: string, what: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new Error(`${what}: cannot read ${file}: ${errorText(err)}`, { cause: err })
  }
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}
