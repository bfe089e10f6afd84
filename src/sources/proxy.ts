/**
 * Prometheus's proxy keys (prometheus/common ProxyConfig): proxy_url, no_proxy, proxy_from_environment and
 * proxy_connect_header, with its validation rules, and the choice of proxy for one request as Go makes it
 * (http.ProxyURL for a bare proxy_url; golang.org/x/net/http/httpproxy for no_proxy and the environment).
 */
import { isIP, BlockList } from 'node:net'
import { z } from 'zod'

/** PROXY_KEYS are the proxy keys of an http client (and of its oauth2 block), spread into the schemas. */
export const PROXY_KEYS = {
  proxy_url: z.string().min(1).optional(),
  no_proxy: z.string().optional(),
  proxy_from_environment: z.boolean().default(false),
  proxy_connect_header: z.record(z.string(), z.array(z.string())).optional(),
}

/** ProxyKeys is what PROXY_KEYS parse to. */
export interface ProxyKeys {
  readonly proxy_url?: string | undefined
  readonly no_proxy?: string | undefined
  readonly proxy_from_environment?: boolean | undefined
  readonly proxy_connect_header?: Readonly<Record<string, readonly string[]>> | undefined
}

/**
 * ProxySettings are a client's proxy keys, checked (plain data: the config crosses threads). `environment` holds
 * HTTP_PROXY, HTTPS_PROXY and NO_PROXY as read at the config load, for proxy_from_environment.
 */
export interface ProxySettings {
  readonly url?: string
  readonly noProxy?: string
  readonly environment?: { readonly httpProxy: string; readonly httpsProxy: string; readonly noProxy: string }
  readonly connectHeaders: Readonly<Record<string, readonly string[]>>
}

/**
 * proxySettings checks keys as Prometheus's ProxyConfig.Validate does (its messages, after `<section>: `) and
 * returns the settings, or undefined without a proxy. env is the process environment at the config load.
 */
export function proxySettings(
  section: string,
  keys: ProxyKeys,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): ProxySettings | undefined {
  const url = keys.proxy_url
  const fromEnv = keys.proxy_from_environment === true
  const noProxy = keys.no_proxy ?? ''
  const headers = keys.proxy_connect_header ?? {}
  const rule = (message: string): undefined => {
    problems.push(`${section}: ${message}`)
    return undefined
  }
  if (Object.keys(headers).length > 0 && !fromEnv && url === undefined)
    return rule('if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured')
  if (fromEnv && url !== undefined)
    return rule('if proxy_from_environment is configured, proxy_url must not be configured')
  if (fromEnv && noProxy !== '') return rule('if proxy_from_environment is configured, no_proxy must not be configured')
  if (url === undefined && noProxy !== '') return rule('if no_proxy is configured, proxy_url must also be configured')
  if (url !== undefined && checkProxyUrl(url) !== undefined) return rule(`proxy_url: ${checkProxyUrl(url) as string}`)
  if (fromEnv) {
    const environment = {
      httpProxy: envAny(env, 'HTTP_PROXY', 'http_proxy'),
      httpsProxy: envAny(env, 'HTTPS_PROXY', 'https_proxy'),
      noProxy: envAny(env, 'NO_PROXY', 'no_proxy'),
    }
    for (const [name, value] of [
      ['HTTP_PROXY', environment.httpProxy],
      ['HTTPS_PROXY', environment.httpsProxy],
    ] as const) {
      const problem = value === '' ? undefined : checkProxyUrl(envProxyUrl(value))
      if (problem !== undefined) return rule(`proxy_from_environment: ${name}: ${problem}`)
    }
    return { environment, connectHeaders: headers }
  }
  if (url === undefined) return undefined
  return { url, ...(noProxy === '' ? {} : { noProxy }), connectHeaders: headers }
}

function envAny(env: Readonly<Record<string, string | undefined>>, ...names: string[]): string {
  for (const name of names) {
    const value = env[name]
    if (value !== undefined && value !== '') return value
  }
  return ''
}

/** checkProxyUrl says what is wrong with a proxy URL rollguard cannot use, undefined when it can. */
function checkProxyUrl(url: string): string | undefined {
  if (!URL.canParse(url)) return `not a URL: ${JSON.stringify(url)}`
  const protocol = new URL(url).protocol
  // Go also dials https:// and socks5:// proxies; rollguard speaks plain HTTP to its proxy.
  if (protocol !== 'http:') return `${protocol.slice(0, -1)} proxies are not supported (use an http:// proxy URL)`
  return undefined
}

/** envProxyUrl reads an HTTP_PROXY value as httpproxy does: without a scheme it is http://. */
function envProxyUrl(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
}

/** proxyFor is the proxy URL for a request to target, or undefined to connect directly. */
export function proxyFor(settings: ProxySettings | undefined, target: URL): URL | undefined {
  if (settings === undefined) return undefined
  if (settings.environment !== undefined) {
    const { httpProxy, httpsProxy, noProxy } = settings.environment
    const proxy = target.protocol === 'https:' ? httpsProxy : httpProxy
    if (proxy === '' || !useProxy(noProxy, target)) return undefined
    return new URL(envProxyUrl(proxy))
  }
  if (settings.url === undefined) return undefined
  // A bare proxy_url is Go's http.ProxyURL: every request, loopback ones included.
  if (settings.noProxy !== undefined && !useProxy(settings.noProxy, target)) return undefined
  return new URL(settings.url)
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' }

/**
 * useProxy is httpproxy's Config.useProxy: never for localhost and loopback IPs; not for a host no_proxy names
 * ("*"; an IP or CIDR; a domain, matching its subdomains too, ".domain" and "*.domain" only those; each with an
 * optional port).
 */
export function useProxy(noProxy: string, target: URL): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = target.port === '' ? (DEFAULT_PORTS[target.protocol] ?? '') : target.port
  if (host === 'localhost') return false
  const family = isIP(host)
  if (family !== 0 && isLoopback(host, family)) return false
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase()
    if (entry === '') continue
    if (entry === '*') return false
    if (family !== 0 && inCidr(entry, host, family)) return false
    const [entryHost, entryPort] = splitHostPort(entry)
    if (entryHost === '' || (entryPort !== '' && entryPort !== port)) continue
    if (isIP(entryHost) !== 0) {
      if (family !== 0 && sameIp(entryHost, host)) return false
      continue
    }
    const suffix = entryHost.startsWith('*.') ? entryHost.slice(1) : entryHost
    const matchHost = !suffix.startsWith('.')
    const dotted = matchHost ? `.${suffix}` : suffix
    if (host.endsWith(dotted) || (matchHost && host === suffix)) return false
  }
  return true
}

function isLoopback(host: string, family: number): boolean {
  if (family === 6) return host === '::1' || /^::ffff:127\./.test(host)
  return host.startsWith('127.')
}

function inCidr(entry: string, host: string, family: number): boolean {
  const match = /^(.+)\/(\d{1,3})$/.exec(entry)
  if (match === null) return false
  const [, network = '', bits = ''] = match
  const netFamily = isIP(network)
  if (netFamily !== family) return false
  const list = new BlockList()
  try {
    list.addSubnet(network, Number(bits), family === 6 ? 'ipv6' : 'ipv4')
  } catch {
    return false
  }
  return list.check(host, family === 6 ? 'ipv6' : 'ipv4')
}

function sameIp(a: string, b: string): boolean {
  if (a === b) return true
  const list = new BlockList()
  const family = isIP(a) === 6 ? 'ipv6' : 'ipv4'
  list.addAddress(a, family)
  return list.check(b, isIP(b) === 6 ? 'ipv6' : 'ipv4')
}

/** splitHostPort splits "host:port" and "[v6]:port"; a bare host (or IPv6 address) has port "". */
function splitHostPort(entry: string): [string, string] {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (bracketed !== null) return [bracketed[1] ?? '', bracketed[2] ?? '']
  if (isIP(entry) === 6) return [entry, '']
  const colon = entry.lastIndexOf(':')
  if (colon < 0) return [entry, '']
  return [entry.slice(0, colon), entry.slice(colon + 1)]
}
