/**
 * The one outgoing HTTP layer of the daemon (node:http): Prometheus queries, alert notifications, silences,
 * health probes and doctor all send through an HttpClient made from Prometheus's http_config keys. It adds the
 * credentials (basic, authorization, OAuth2 with one retry on 401), goes through a proxy (CONNECT for https,
 * absolute-form requests for http, as Go's http.Transport), follows redirects as Go's http.Client, retries once a
 * request that failed on a reused keep-alive connection, and words certificate and proxy errors to name the peer
 * and the key that fixes them. Response bodies are the caller's to read (bounded-body.ts).
 */
import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { urlToHttpOptions } from 'node:url'
import { errorText } from '../errors.js'
import { readBody } from './bounded-body.js'
import { redactUrl, requestHeaders, type HttpAuth } from './http-auth.js'
import { describeTlsError, tlsAgentOptions, type OAuth2Settings, type TlsSettings } from './http-client.js'
import { OAuth2Tokens, type Token } from './oauth2.js'
import { proxyFor, type ProxySettings } from './proxy.js'
import { isDomainOrSubdomain, MAX_REDIRECTS, nextRequest, SENSITIVE_HEADERS } from './redirects.js'

/** HttpClientOptions are a client's http_config settings, files already read (config/load.ts). */
export interface HttpClientOptions {
  readonly auth?: HttpAuth | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly tls?: TlsSettings | undefined
  readonly oauth2?: OAuth2Settings | undefined
  readonly proxy?: ProxySettings | undefined
  /** follow_redirects; default true, as in Prometheus. */
  readonly followRedirects?: boolean | undefined
}

/** HttpClientInit names the peer in errors ("Prometheus") and its config section ("prometheus"). */
export interface HttpClientInit extends HttpClientOptions {
  readonly peer: string
  readonly section: string
  /** The URL errors name the peer by, for every request (see HttpRequest.shownAs). */
  readonly shownAs?: string
  /** Options of the keep-alive agents (maxSockets, scheduling). */
  readonly agent?: http.AgentOptions
}

/** HttpRequest is one request; the body is a string or bytes so it can be sent again (redirect, 401, retry). */
export interface HttpRequest {
  readonly method: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer
  readonly signal?: AbortSignal
  /** The URL errors name the peer by (the configured one, without the API path); default the request's. */
  readonly shownAs?: string
}

/** TOKEN_TIMEOUT_MS bounds one request to the OAuth2 token endpoint. */
const TOKEN_TIMEOUT_MS = 30_000

/** CONNECT_TIMEOUT_MS bounds a proxy's answer to CONNECT (the request's own timeout may be longer). */
const CONNECT_TIMEOUT_MS = 30_000

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

/** HttpClient sends requests with one section's http_config over keep-alive connections. */
export class HttpClient {
  readonly #init: HttpClientInit
  readonly #agentOptions: http.AgentOptions
  readonly #agents = new Map<string, http.Agent>()
  readonly #tokens: OAuth2Tokens | undefined
  readonly #tokenClient: HttpClient | undefined
  /** "<peer> at <shownAs>", made once: every request of a client that has shownAs is named by it. */
  readonly #shownWhere: string | undefined
  /**
   * A request's own headers merged with the configured ones, by the request's headers object: callers that send
   * the same object every time (the Prometheus client) get the same merged object, frozen, not a new one per request.
   */
  readonly #merged = new WeakMap<object, Readonly<Record<string, string>>>()
  /** The host, port and path of each target URL object, made once per object (the Prometheus client has two). */
  readonly #urlOptions = new WeakMap<URL, Readonly<http.RequestOptions>>()

  constructor(init: HttpClientInit) {
    this.#init = init
    this.#agentOptions = { keepAlive: true, ...init.agent }
    this.#shownWhere = init.shownAs === undefined ? undefined : `${init.peer} at ${redactUrl(init.shownAs)}`
    const oauth2 = init.oauth2
    if (oauth2 !== undefined) {
      const tokenClient = new HttpClient({
        peer: `${init.peer}'s OAuth2 token endpoint`,
        section: `${init.section}.oauth2`,
        tls: oauth2.tls,
        proxy: oauth2.proxy,
      })
      this.#tokenClient = tokenClient
      this.#tokens = new OAuth2Tokens(oauth2, async (url, form, headers) => {
        // Shared by every request waiting for the token, so bounded on its own; each waiter also stops at its own signal.
        const signal = AbortSignal.timeout(TOKEN_TIMEOUT_MS)
        try {
          const res = await tokenClient.request(url, { method: 'POST', headers, body: form, signal })
          const body = await readBody(res, { maxBytes: 64 * 1024, truncate: true })
          return {
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            contentType: res.headers['content-type'] ?? '',
            body: body.toString('utf8'),
          }
        } catch (err) {
          if (signal.aborted) throw new Error(`no response within ${TOKEN_TIMEOUT_MS}ms`, { cause: err })
          throw err
        }
      })
    }
  }

  /**
   * request sends one request and resolves with the final response (after redirects); the caller reads or
   * destroys its body. Rejects on transport errors, worded as `<peer> at <url>: <reason> (set <key>)` where a
   * key fixes them. A URL object is kept for later requests to it (its host and path), so it must not change.
   */
  async request(url: string | URL, req: HttpRequest): Promise<http.IncomingMessage> {
    // Used as it is: nothing here changes it (redirects and proxies make new ones).
    const original = typeof url === 'string' ? new URL(url) : url
    let target = original
    let method = req.method
    let body = req.body
    let headers = req.headers ?? {}
    let crossHost = false
    for (let hop = 0; ; hop++) {
      const where =
        req.shownAs !== undefined
          ? `${this.#init.peer} at ${redactUrl(req.shownAs)}`
          : (this.#shownWhere ?? `${this.#init.peer} at ${redactUrl(target.toString())}`)
      const res = await this.#authorized(target, method, headers, body, req.signal, crossHost, where)
      const next =
        this.#init.followRedirects === false
          ? undefined
          : nextRequest(res.statusCode ?? 0, res.headers.location, method, target)
      if (next === undefined) return res
      res.destroy()
      if (hop >= MAX_REDIRECTS) throw new Error(`${where}: stopped after ${MAX_REDIRECTS} redirects`)
      // Once away from the original host, credentials stay off for the rest of the chain (as Prometheus).
      crossHost ||= !isDomainOrSubdomain(next.url.hostname, original.hostname)
      target = next.url
      method = next.method
      if (!next.keepBody && body !== undefined) {
        body = undefined
        headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type'))
      }
    }
  }

  /** close destroys every connection, in flight or idle. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy()
    this.#agents.clear()
    this.#tokenClient?.close()
  }

  /** closeGracefully lets requests in flight finish, then closes their connections; idle ones close now. */
  closeGracefully(): void {
    for (const agent of this.#agents.values()) {
      agent.keepSocketAlive = () => false
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy()
    }
    this.#tokenClient?.close()
  }

  async #authorized(
    target: URL,
    method: string,
    extra: Readonly<Record<string, string>>,
    body: string | Buffer | undefined,
    signal: AbortSignal | undefined,
    crossHost: boolean,
    where: string,
  ): Promise<http.IncomingMessage> {
    const headers = this.#headersFor(extra, crossHost)
    if (this.#tokens === undefined || crossHost) return this.#send(target, method, headers, body, signal, where)
    const token = await this.#token(where, signal)
    const res = await this.#send(target, method, withToken(headers, token), body, signal, where)
    if (res.statusCode !== 401) return res
    // A token the server no longer takes (revoked, rotated): one new token, one more try.
    res.destroy()
    this.#tokens.invalidate(token)
    return this.#send(target, method, withToken(headers, await this.#token(where, signal)), body, signal, where)
  }

  /** #headersFor is what a request sends: its own headers under the configured ones; no credentials off the host. */
  #headersFor(own: Readonly<Record<string, string>>, crossHost: boolean): Readonly<Record<string, string>> {
    if (crossHost) {
      const headers = mergeHeaders(own, this.#init.headers, undefined)
      for (const name of Object.keys(headers)) if (SENSITIVE_HEADERS.has(name.toLowerCase())) delete headers[name]
      return headers
    }
    return memoized(this.#merged, own, () => Object.freeze(mergeHeaders(own, this.#init.headers, this.#init.auth)))
  }

  async #token(where: string, signal: AbortSignal | undefined): Promise<Token> {
    try {
      return await untilAborted((this.#tokens as OAuth2Tokens).token(), signal)
    } catch (err) {
      if (signal?.aborted === true) throw err
      const tokenUrl = redactUrl(this.#init.oauth2?.tokenUrl ?? '')
      throw new Error(
        `${where}: cannot get an OAuth2 token from ${tokenUrl}: ${errorText(err)} (check ${this.#init.section}.oauth2)`,
        { cause: err },
      )
    }
  }

  /** #send makes one request; one that failed on a reused keep-alive connection before any answer goes again. */
  async #send(
    target: URL,
    method: string,
    headers: Readonly<Record<string, string>>,
    body: string | Buffer | undefined,
    signal: AbortSignal | undefined,
    where: string,
  ): Promise<http.IncomingMessage> {
    try {
      try {
        return await this.#sendOnce(target, method, headers, body, signal, where)
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { reusedSocket?: boolean }
        if (e.reusedSocket !== true || !RETRYABLE.has(e.code ?? '') || signal?.aborted === true) throw err
        return await this.#sendOnce(target, method, headers, body, signal, where)
      }
    } catch (err) {
      if (signal?.aborted === true || err instanceof ProxyError) throw err
      // where is "<peer> at <url>"; describeTlsError words it again from its parts.
      const text = describeTlsError(
        err,
        this.#init.peer,
        where.slice(`${this.#init.peer} at `.length),
        this.#init.section,
      )
      throw text === undefined ? err : new Error(text, { cause: err })
    }
  }

  #sendOnce(
    target: URL,
    method: string,
    headers: Readonly<Record<string, string>>,
    body: string | Buffer | undefined,
    signal: AbortSignal | undefined,
    where: string,
  ): Promise<http.IncomingMessage> {
    const proxy = proxyFor(this.#init.proxy, target)
    const secure = target.protocol === 'https:'
    const sized = body === undefined ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) }
    let options: http.RequestOptions
    if (proxy !== undefined && !secure) {
      // Absolute-form through the proxy (RFC 9112 3.2.2); the proxy's own credentials from its URL's user info.
      const plain = new URL(target)
      plain.username = ''
      plain.password = ''
      plain.hash = ''
      options = {
        host: proxy.hostname,
        port: proxy.port === '' ? 80 : Number(proxy.port),
        path: plain.toString(),
        method,
        headers: { ...userInfoAuth(target, sized), ...proxyAuthorization(proxy), Host: target.host },
        agent: this.#agent(`http-proxy ${proxy.host}`, () => new http.Agent(this.#agentOptions)),
        ...(signal === undefined ? {} : { signal }),
      }
    } else {
      options = {
        ...this.#optionsOf(target),
        method,
        headers: sized,
        agent: secure ? this.#httpsAgent(proxy) : this.#agent('http', () => new http.Agent(this.#agentOptions)),
        ...(signal === undefined ? {} : { signal }),
      }
    }
    const send = secure ? https.request : http.request
    return new Promise((resolve, reject) => {
      const req = send(options, resolve)
      req.on('error', (err: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
        err.reusedSocket = req.reusedSocket
        if (err instanceof TunnelError) reject(new ProxyError(`${where}: ${err.message}`, { cause: err }))
        else if (proxy !== undefined && !secure && isConnectError(err)) reject(this.#proxyError(proxy, err, where))
        else reject(err)
      })
      req.end(body)
    })
  }

  #optionsOf(target: URL): Readonly<http.RequestOptions> {
    return memoized(this.#urlOptions, target, () => Object.freeze(urlToHttpOptions(target)))
  }

  #agent(key: string, make: () => http.Agent): http.Agent {
    return memoized(this.#agents, key, make)
  }

  #httpsAgent(proxy: URL | undefined): http.Agent {
    const options = { ...this.#agentOptions, ...tlsAgentOptions(this.#init.tls) }
    if (proxy === undefined) return this.#agent('https', () => new https.Agent(options))
    return this.#agent(
      `https-tunnel ${proxy.href}`,
      () => new TunnelAgent(options, (host, port) => this.#tunnel(proxy, host, port)),
    )
  }

  /** #tunnel asks the proxy for a CONNECT tunnel to host:port (Go sends proxy_connect_header here only). */
  #tunnel(proxy: URL, host: string, port: number): Promise<Duplex> {
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`
    const headers: Record<string, string | string[]> = { Host: authority, ...proxyAuthorization(proxy) }
    for (const [name, values] of Object.entries(this.#init.proxy?.connectHeaders ?? {})) headers[name] = [...values]
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: proxy.hostname,
        port: proxy.port === '' ? 80 : Number(proxy.port),
        method: 'CONNECT',
        path: authority,
        headers,
        agent: false,
        timeout: CONNECT_TIMEOUT_MS,
      })
      req.once('connect', (res, socket) => {
        if (res.statusCode === 200) {
          resolve(socket)
          return
        }
        socket.destroy()
        const status = `HTTP ${`${res.statusCode ?? 0} ${res.statusMessage ?? ''}`.trimEnd()}`
        reject(
          new TunnelError(
            `proxy ${redactUrl(proxy.href)} refused CONNECT: ${status}${this.#proxyHint(res.statusCode)}`,
          ),
        )
      })
      req.once('timeout', () => req.destroy(new Error(`no answer to CONNECT within ${CONNECT_TIMEOUT_MS}ms`)))
      req.once('error', err => reject(this.#proxyError(proxy, err)))
      req.end()
    })
  }

  #proxyHint(status: number | undefined): string {
    const keys = this.#init.proxy?.environment !== undefined ? 'proxy_from_environment' : 'proxy_url'
    return status === 407
      ? ` (set credentials in ${this.#init.section}.${keys} or ${this.#init.section}.proxy_connect_header)`
      : ` (check ${this.#init.section}.${keys})`
  }

  /** #proxyError words a failure to reach the proxy: for a request (where), or for a tunnel (prefixed later). */
  #proxyError(proxy: URL, err: NodeJS.ErrnoException, where?: string): Error {
    const code = err.code !== undefined && !err.message.includes(err.code) ? `${err.code}: ` : ''
    const text = `proxy ${redactUrl(proxy.href)}: ${code}${err.message}${this.#proxyHint(undefined)}`
    return where === undefined
      ? new TunnelError(text, { cause: err })
      : new ProxyError(`${where}: ${text}`, { cause: err })
  }
}

/** memoized is the cache's value for key, made (and kept) on first use; a Map or a WeakMap. */
function memoized<K, V>(
  cache: { get(key: K): V | undefined; set(key: K, value: V): unknown },
  key: K,
  make: () => V,
): V {
  let value = cache.get(key)
  if (value === undefined) {
    value = make()
    cache.set(key, value)
  }
  return value
}

/** untilAborted settles with promise, or rejects as soon as signal aborts (the promise runs on, bounded elsewhere). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise
  if (signal.aborted) return Promise.reject(new Error('aborted', { cause: signal.reason }))
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted', { cause: signal.reason }))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      value => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}

/** ProxyError is a proxy that could not be reached or refused the tunnel; its message is complete. */
export class ProxyError extends Error {
  override readonly name = 'ProxyError'
}

/** TunnelError is a failed CONNECT, before the request it was for names itself (a ProxyError then). */
class TunnelError extends Error {
  override readonly name = 'TunnelError'
}

function isConnectError(err: NodeJS.ErrnoException): boolean {
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(err.code ?? '')
}

/**
 * mergeHeaders puts the configured headers and credentials over the request's own (Accept, User-Agent), as
 * Prometheus's round-trippers set them; the body's Content-Type stays the request's.
 */
function mergeHeaders(
  own: Readonly<Record<string, string>>,
  configured: Readonly<Record<string, string>> | undefined,
  auth: HttpAuth | undefined,
): Record<string, string> {
  const kept = (name: string) => name.toLowerCase() === 'content-type'
  const over = Object.entries(requestHeaders(configured, auth)).filter(
    ([name]) => !(kept(name) && hasHeader(own, name)),
  )
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(own))
    if (kept(name) || !hasHeader(Object.fromEntries(over), name)) out[name] = value
  for (const [name, value] of over) out[name] = value
  return out
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  const lower = name.toLowerCase()
  return Object.keys(headers).some(n => n.toLowerCase() === lower)
}

function withToken(headers: Readonly<Record<string, string>>, token: Token): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() !== 'authorization') out[name] = value
  out['Authorization'] = `${token.type} ${token.value}`
  return out
}

/** proxyAuthorization is the Proxy-Authorization header of a proxy URL with user info (as Go sends it). */
function proxyAuthorization(proxy: URL): Record<string, string> {
  if (proxy.username === '' && proxy.password === '') return {}
  const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
  return { 'Proxy-Authorization': `Basic ${Buffer.from(user).toString('base64')}` }
}

/** userInfoAuth keeps a target URL's user:password@ as basic auth when the request goes to a proxy. */
function userInfoAuth(target: URL, headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (target.username === '' || Object.keys(headers).some(h => h.toLowerCase() === 'authorization')) return headers
  const user = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`
  return { ...headers, Authorization: `Basic ${Buffer.from(user).toString('base64')}` }
}

/** TunnelAgent is a keep-alive https.Agent whose connections are TLS over a proxy's CONNECT tunnel. */
class TunnelAgent extends https.Agent {
  constructor(
    options: https.AgentOptions,
    private readonly tunnel: (host: string, port: number) => Promise<Duplex>,
  ) {
    super(options)
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.host ?? options.hostname ?? 'localhost'
    const port = Number(options.port ?? 443)
    this.tunnel(host, port).then(
      socket => callback?.(null, tls.connect({ ...(options as tls.ConnectionOptions), socket })),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    )
    return undefined
  }
}
