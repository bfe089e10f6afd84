/**
 * The web config on rollguard's own listener: TLS and client certificates, basic auth, security headers and the
 * rate limit, applied to every path as exporter-toolkit applies them. The last good web config stays in force: a
 * reload or a change of its files that does not validate is logged and changes nothing. Whether the listener
 * speaks TLS at all is fixed when it starts (the server type depends on it); certificates rotate without a restart.
 */
import { stat } from 'node:fs/promises'
import type { ServerOptions as HttpsServerOptions } from 'node:https'
import type { Server as TlsServer, TLSSocket } from 'node:tls'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { errorText } from '../errors.js'
import { TokenBuckets } from '../webhook/rate-limit.js'
import { BasicAuthVerifier } from './basic-auth.js'
import { sendError } from './errors.js'
import { readWebConfig, type WebConfig } from './web-config.js'
import { clientRefusal, requestsClientCert, secureContextOptions, type Refusal, type ServerTls } from './web-tls.js'

/** WATCH_INTERVAL_MS is how often the web config file and the files it names are checked for changes. */
export const WATCH_INTERVAL_MS = 5_000

/** REFUSAL_LOG_INTERVAL_MS: refused TLS clients are logged at most this often per kind of refusal (the rest are counted in the next line). */
export const REFUSAL_LOG_INTERVAL_MS = 10_000

/** WebListenerDeps are the logger and, for tests, the clock. */
export interface WebListenerDeps {
  readonly logger: Logger
  readonly now?: () => number
}

/** Guard is what each request is checked against; replaced whole when the web config changes. */
interface Guard {
  readonly auth: BasicAuthVerifier
  readonly headers: Readonly<Record<string, string>>
  readonly rate: TokenBuckets | undefined
}

/** WebListener applies a web config (or none) to the fastify server it is installed on. */
export class WebListener {
  readonly #logger: Logger
  readonly #now: () => number
  /** #tls is the TLS in force; undefined when the listener started without TLS (it then stays plain HTTP). */
  #tls: ServerTls | undefined
  #config: WebConfig | undefined
  #guard: Guard
  #server: TlsServer | undefined
  #timer: NodeJS.Timeout | undefined
  /** The check interval once watch() was called; the timer runs only while there is a web config to check. */
  #watchMs: number | undefined
  #checking = false
  /** The files' state when the web config in force (#seen) or the last invalid one (#failed) was read. */
  #seen: string | undefined
  #failed: string | undefined
  /** Per kind of refusal: when it was last logged and how many were not logged since. */
  readonly #refusals = new Map<string, { at: number; unlogged: number }>()

  constructor(config: WebConfig | undefined, deps: WebListenerDeps) {
    this.#logger = deps.logger
    this.#now = deps.now ?? Date.now
    this.#config = config
    this.#tls = config?.tls
    this.#guard = guardOf(config)
  }

  /** scheme is https when the listener serves TLS. */
  get scheme(): 'http' | 'https' {
    return this.#tls === undefined ? 'http' : 'https'
  }

  /** serverOptions are fastify's constructor options for TLS ({} for plain HTTP). */
  serverOptions(): { https?: HttpsServerOptions } {
    if (this.#tls === undefined) return {}
    // OpenSSL never refuses a client certificate itself: clientRefusal decides, so every refusal is logged.
    return {
      https: {
        ...secureContextOptions(this.#tls),
        requestCert: requestsClientCert(this.#tls),
        rejectUnauthorized: false,
      },
    }
  }

  /** install adds the request checks to app (before its routes) and the client-certificate policy to its TLS server. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', (request, reply) => this.#check(request, reply))
    const config = this.#config
    if (config !== undefined)
      this.#logger.info(
        {
          file: config.file,
          tls: this.#tls !== undefined,
          clientAuth: this.#tls?.clientAuth,
          basicAuthUsers: Object.keys(config.users).length,
          headers: Object.keys(config.headers),
        },
        'web config in force',
      )
    if (this.#tls === undefined) return
    const server = app.server as unknown as TlsServer
    this.#server = server
    server.on('secureConnection', (socket: TLSSocket) => {
      const refusal = this.#tls === undefined ? undefined : clientRefusal(socket, this.#tls)
      if (refusal === undefined) return
      this.#refused(refusal, socket)
      socket.destroy()
    })
    server.on('tlsClientError', (err: Error, socket: TLSSocket) =>
      this.#refused({ kind: 'handshake', reason: `TLS handshake failed: ${errorText(err)}` }, socket),
    )
  }

  /** apply puts a newly loaded web config (or none) in force: certificates, client policy, users, headers, limit. */
  apply(next: WebConfig | undefined): void {
    this.#put(next)
    void this.#remember(next)
    this.#arm()
  }

  /**
   * watch re-reads the web config when it or a file it names changes (checked every intervalMs, while there is a
   * web config: a reload that adds or removes one starts or stops the checks).
   */
  watch(intervalMs = WATCH_INTERVAL_MS): void {
    this.stop()
    this.#watchMs = intervalMs
    void this.#remember(this.#config)
    this.#arm()
  }

  /** watching is true while the web config's files are checked for changes. */
  get watching(): boolean {
    return this.#timer !== undefined
  }

  stop(): void {
    this.#watchMs = undefined
    this.#arm()
  }

  #arm(): void {
    const wanted = this.#watchMs !== undefined && this.#config !== undefined
    if (wanted && this.#timer === undefined) {
      this.#timer = setInterval(() => void this.checkFiles(), this.#watchMs)
      this.#timer.unref()
    } else if (!wanted && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  /** checkFiles re-reads the web config if its files changed since it was read; an invalid one is logged once. */
  async checkFiles(): Promise<void> {
    const config = this.#config
    if (config === undefined || this.#checking) return
    this.#checking = true
    try {
      const state = await filesState(config.files)
      if (state === this.#seen || state === this.#failed) return
      const problems: string[] = []
      const next = await readWebConfig(config.file, problems)
      if (next === undefined) {
        this.#failed = state
        this.#logger.error(
          { file: config.file, problems },
          'web config changed but is invalid: keeping the last good one',
        )
        return
      }
      this.#put(next)
      await this.#remember(next)
      this.#logger.info({ file: next.file }, 'web config re-read after a change')
    } finally {
      this.#checking = false
    }
  }

  #put(next: WebConfig | undefined): void {
    const previous = this.#config
    this.#config = next
    if (this.#tls !== undefined && next?.tls !== undefined) {
      this.#tls = next.tls
      this.#server?.setSecureContext(secureContextOptions(next.tls))
      // tls.Server reads requestCert for each new connection; its secure context does not carry it.
      if (this.#server !== undefined)
        (this.#server as unknown as { requestCert: boolean }).requestCert = requestsClientCert(next.tls)
    } else if ((this.#tls === undefined) !== (next?.tls === undefined)) {
      this.#logger.warn(
        { tls: this.#tls !== undefined },
        'the web config turns TLS on or off: that takes a restart; until then the listener stays as it started',
      )
    }
    if (JSON.stringify(previous?.users) !== JSON.stringify(next?.users) || !sameLimit(previous, next)) {
      this.#guard = guardOf(next)
    } else {
      this.#guard = { ...this.#guard, headers: next?.headers ?? {} }
    }
  }

  async #remember(config: WebConfig | undefined): Promise<void> {
    this.#seen = config === undefined ? undefined : await filesState(config.files)
    this.#failed = undefined
  }

  async #check(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const guard = this.#guard
    if (guard.rate !== undefined) {
      const admission = guard.rate.take('all', this.#now())
      if (!admission.ok) {
        reply.header('retry-after', String(admission.retryAfterSeconds))
        return sendError(request, reply, 429, 'Too Many Requests')
      }
    }
    for (const [name, value] of Object.entries(guard.headers)) reply.header(name, value)
    if (!guard.auth.enabled) return undefined
    const verdict = await guard.auth.verify(request.headers.authorization)
    if (verdict === 'ok') return undefined
    if (verdict === 'busy') {
      reply.header('retry-after', '1')
      return sendError(request, reply, 429, 'Too Many Requests')
    }
    reply.header('www-authenticate', 'Basic')
    return sendError(request, reply, 401, 'Unauthorized')
  }

  #refused({ kind, reason }: Refusal | { kind: 'handshake'; reason: string }, socket: TLSSocket): void {
    const now = this.#now()
    const last = this.#refusals.get(kind)
    if (last !== undefined && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.unlogged++
      return
    }
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    this.#logger.warn({ peer, reason, refusedSinceLastLine: last?.unlogged ?? 0 }, 'TLS client refused')
    this.#refusals.set(kind, { at: now, unlogged: 0 })
  }
}

function guardOf(config: WebConfig | undefined): Guard {
  const limit = config?.rateLimit
  return {
    auth: new BasicAuthVerifier(config?.users ?? {}),
    headers: config?.headers ?? {},
    rate:
      limit === undefined ? undefined : new TokenBuckets({ perSecond: 1000 / limit.intervalMs, burst: limit.burst }),
  }
}

function sameLimit(a: WebConfig | undefined, b: WebConfig | undefined): boolean {
  return JSON.stringify(a?.rateLimit) === JSON.stringify(b?.rateLimit)
}

/** filesState sums up the files' identity, size and modification time ("missing" for one that is gone). */
async function filesState(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(f =>
      stat(f).then(
        s => `${s.ino}:${s.size}:${s.mtimeMs}`,
        () => 'missing',
      ),
    ),
  )
  return parts.join('|')
}
