import type { Logger } from 'pino'
import type { Labels, OutgoingAlert } from '../engine/types.js'
import { linkSignals } from '../runtime/signals.js'
import { KiB, readBody } from '../sources/bounded-body.js'
import { bodySnippet, joinUrlPath, redactUrl } from '../sources/http-auth.js'
import { HttpClient, type HttpClientOptions } from '../sources/http-transport.js'
import { AlertQueue } from './queue.js'
import { errorText } from '../errors.js'
import { VERSION } from '../version.js'

/** NotifierMetrics receives the notifier's counts; `alertmanager` is the (redacted) Alertmanager URL. */
export interface NotifierMetrics {
  /** init creates the series of one Alertmanager at zero. */
  init(alertmanager: string): void
  /** sent counts alerts in every request made, failed ones included (as prometheus_notifications_sent_total). */
  sent(alertmanager: string, count: number): void
  errors(alertmanager: string, count: number): void
  dropped(alertmanager: string, count: number): void
  queueLength(alertmanager: string, length: number): void
  queueCapacity(capacity: number): void
  latency(alertmanager: string, seconds: number): void
}

/** AlertmanagerNotifierOptions configures createAlertmanagerNotifier; defaults are Prometheus's; http_config is alertmanager.*'s. */
export interface AlertmanagerNotifierOptions extends HttpClientOptions {
  readonly urls: readonly string[]
  /** timeoutMs bounds each request; default 10000. */
  readonly timeoutMs?: number
  readonly externalLabels?: Labels
  /** queueCapacity is per Alertmanager; default 10000. */
  readonly queueCapacity?: number
  /** batchSize is the maximum number of alerts per request; default 256. */
  readonly batchSize?: number
  /** userAgent defaults to rollguard/<package version>. */
  readonly userAgent?: string
  readonly logger?: Logger
  readonly metrics?: NotifierMetrics
}

/** AlertmanagerStatus describes one Alertmanager's queue; times are Unix ms. */
export interface AlertmanagerStatus {
  readonly url: string
  readonly queueLength: number
  readonly lastError?: string
  readonly lastErrorAt?: number
  readonly lastSuccess?: number
}

/** AlertmanagerNotifier queues alerts for every Alertmanager and sends them in the background. */
export interface AlertmanagerNotifier {
  /**
   * send enqueues alerts for every Alertmanager; it never blocks and never throws. The alerts are kept by
   * reference and serialised when their batch is sent; an alert's `labels` object is its identity (see AlertQueue).
   */
  send(alerts: readonly OutgoingAlert[]): void
  /** drain waits until every queue is sent (or has failed), at most timeoutMs. */
  drain(timeoutMs: number): Promise<void>
  /** stop aborts in-flight requests and drops what is queued (counted as dropped). */
  stop(): void
  status(): AlertmanagerStatus[]
}

/** PostableAlert is the JSON body element of POST /api/v2/alerts. */
export interface PostableAlert {
  labels: Record<string, string>
  annotations?: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL?: string
}

const DEFAULTS = { timeoutMs: 10_000, queueCapacity: 10_000, batchSize: 256 }
const GO_ZERO_TIME = '0001-01-01T00:00:00.000Z'

/** formatTime renders Unix ms as RFC3339 with exactly 3 fractional digits in UTC; 0 is Go's zero time. */
export function formatTime(ms: number): string {
  if (ms === 0 || !Number.isFinite(ms)) return GO_ZERO_TIME
  return new Date(ms).toISOString()
}

/** toPostableAlert adds external labels the alert lacks and omits empty annotations and generatorURL. */
export function toPostableAlert(alert: OutgoingAlert, externalLabels: Labels): PostableAlert {
  const labels: Record<string, string> = { ...alert.labels }
  for (const [name, value] of Object.entries(externalLabels)) {
    if (value !== '' && (!Object.hasOwn(labels, name) || labels[name] === '')) labels[name] = value
  }
  const out: PostableAlert = { labels, startsAt: formatTime(alert.startsAt), endsAt: formatTime(alert.endsAt) }
  if (Object.keys(alert.annotations).length > 0) out.annotations = { ...alert.annotations }
  if (alert.generatorURL !== '') out.generatorURL = alert.generatorURL
  return out
}

/** createAlertmanagerNotifier returns a notifier with one queue and send loop per Alertmanager (Prometheus ≥ 3.10). */
export function createAlertmanagerNotifier(opts: AlertmanagerNotifierOptions): AlertmanagerNotifier {
  const capacity = opts.queueCapacity ?? DEFAULTS.queueCapacity
  const batchSize = opts.batchSize ?? DEFAULTS.batchSize
  if (!(capacity >= 1) || !(batchSize >= 1)) throw new Error('queueCapacity and batchSize must be at least 1')
  // The daemon's one HTTP layer (node:http; the choice is measured in docs/benchmarks.md). As in Prometheus,
  // a proxy only when proxy_url or proxy_from_environment says so.
  const client = new HttpClient({ ...opts, peer: 'Alertmanager', section: 'alertmanager' })
  const headers = {
    'Content-Type': 'application/json',
    'User-Agent': opts.userAgent ?? `rollguard/${VERSION}`,
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs
  opts.metrics?.queueCapacity(capacity)
  const externalLabels = opts.externalLabels ?? {}
  const loops = opts.urls.map(
    url =>
      new SendLoop({
        name: redactUrl(url),
        capacity,
        batchSize,
        // Converted and serialised one batch at a time, when it is sent: handing over tens of thousands of alerts
        // must not hold the event loop (converting them all up front cost ~50 ms per 20,000, per evaluation).
        post: (batch, signal) =>
          postAlerts(
            { endpoint: new URL(joinUrlPath(url, '/api/v2/alerts')), client, headers },
            batch.map(a => toPostableAlert(a, externalLabels)),
            timeoutMs,
            signal,
          ),
        ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
        ...(opts.logger === undefined ? {} : { logger: opts.logger.child({ component: 'notifier' }) }),
      }),
  )
  return {
    send(alerts) {
      if (alerts.length === 0) return
      for (const loop of loops) loop.push(alerts)
    },
    async drain(drainTimeoutMs) {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>(resolve => {
        timer = setTimeout(resolve, drainTimeoutMs)
      })
      await Promise.race([Promise.all(loops.map(l => l.idle())), deadline])
      clearTimeout(timer)
    },
    stop() {
      for (const loop of loops) loop.stop()
      client.close()
    },
    status: () => loops.map(l => l.status()),
  }
}

interface Target {
  readonly endpoint: URL
  readonly client: HttpClient
  readonly headers: Readonly<Record<string, string>>
}

async function postAlerts(
  target: Target,
  batch: readonly PostableAlert[],
  timeoutMs: number,
  stop: AbortSignal,
): Promise<void> {
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), timeoutMs)
  // Not AbortSignal.any: on Node 20 each request would leave an entry on the long-lived stop signal (see linkSignals).
  const signal = linkSignals([deadline.signal, stop])
  try {
    const res = await postJson(target, JSON.stringify(batch), signal.signal)
    if (res.status < 200 || res.status >= 300) {
      throw new Error(
        `server returned HTTP status ${`${res.status} ${res.statusText}`.trimEnd()}: ${bodySnippet(res.body)}`,
      )
    }
  } catch (err) {
    if (deadline.signal.aborted) throw new Error(`no response within ${timeoutMs}ms`, { cause: err })
    throw new Error(err instanceof Error ? transportText(err) : String(err), { cause: err })
  } finally {
    clearTimeout(timer)
    signal.dispose()
  }
}

/**
 * MAX_BODY bounds what is read of a response: only an error's first bytes are ever shown (Alertmanager answers a
 * POST with an empty body), so reading stops there and the connection is closed rather than drained.
 */
const MAX_BODY = 64 * KiB

/** postJson POSTs body and resolves with the response's status and (bounded) text; rejects on transport errors. */
async function postJson(
  target: Target,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; statusText: string; body: string }> {
  const res = await target.client.request(target.endpoint, { method: 'POST', headers: target.headers, body, signal })
  const text = await readBody(res, { maxBytes: MAX_BODY, truncate: true })
  return { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: text.toString('utf8') }
}

/** transportText names a transport error's code (ECONNREFUSED, ECONNRESET, …) with its message. */
function transportText(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
}

interface SendLoopOptions {
  readonly name: string
  readonly capacity: number
  readonly batchSize: number
  readonly post: (batch: readonly OutgoingAlert[], signal: AbortSignal) => Promise<void>
  readonly metrics?: NotifierMetrics
  readonly logger?: Logger
}

/**
 * SendLoop is one Alertmanager's bounded queue, sent back-to-back in batches without retries. On overflow it
 * drops the alerts delivered most recently, so every alert gets through within a bounded number of resends
 * (see AlertQueue).
 */
class SendLoop {
  readonly #opts: SendLoopOptions
  readonly #stop = new AbortController()
  // An alert's labels object is the same at every resend while the rule engine keeps the alert: its identity.
  readonly #queue: AlertQueue<OutgoingAlert>
  #running: Promise<void> | undefined
  #lastError: { message: string; at: number } | undefined
  #lastSuccess: number | undefined

  constructor(opts: SendLoopOptions) {
    this.#opts = opts
    this.#queue = new AlertQueue(opts.capacity, alert => alert.labels)
    opts.metrics?.init(opts.name)
  }

  push(alerts: readonly OutgoingAlert[]): void {
    const { name, metrics, logger } = this.#opts
    if (this.#stop.signal.aborted) {
      metrics?.dropped(name, alerts.length)
      return
    }
    const dropped = this.#queue.push(alerts)
    if (dropped > 0) {
      metrics?.dropped(name, dropped)
      logger?.warn(
        { alertmanager: name, dropped, queued: this.#queue.length },
        'alert notification queue full, dropping the alerts delivered most recently',
      )
    }
    metrics?.queueLength(name, this.#queue.length)
    this.#kick()
  }

  /** idle resolves once the queue is empty and no request is in flight. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  stop(): void {
    this.#stop.abort()
    const dropped = this.#queue.clear()
    if (dropped > 0) this.#opts.metrics?.dropped(this.#opts.name, dropped)
    this.#opts.metrics?.queueLength(this.#opts.name, 0)
  }

  status(): AlertmanagerStatus {
    return {
      url: this.#opts.name,
      queueLength: this.#queue.length,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError.message, lastErrorAt: this.#lastError.at }),
      ...(this.#lastSuccess === undefined ? {} : { lastSuccess: this.#lastSuccess }),
    }
  }

  #kick(): void {
    if (this.#running !== undefined) return
    this.#running = this.#loop().finally(() => {
      this.#running = undefined
      if (this.#queue.length > 0 && !this.#stop.signal.aborted) this.#kick()
    })
  }

  async #loop(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
      const batch = this.#queue.take(this.#opts.batchSize)
      this.#opts.metrics?.queueLength(this.#opts.name, this.#queue.length)
      await this.#send(batch)
    }
  }

  async #send(batch: readonly OutgoingAlert[]): Promise<void> {
    const { name, metrics, logger } = this.#opts
    const started = performance.now()
    try {
      await this.#opts.post(batch, this.#stop.signal)
      this.#lastSuccess = Date.now()
      // Only a successful request counts as delivered: alerts of a failed batch keep their place in line.
      this.#queue.delivered(batch)
    } catch (err) {
      const message = errorText(err)
      this.#lastError = { message, at: Date.now() }
      metrics?.errors(name, batch.length)
      metrics?.dropped(name, batch.length)
      if (!this.#stop.signal.aborted)
        logger?.warn({ alertmanager: name, count: batch.length, err: message }, 'error sending alerts')
    } finally {
      metrics?.latency(name, (performance.now() - started) / 1000)
      metrics?.sent(name, batch.length)
    }
  }
}
