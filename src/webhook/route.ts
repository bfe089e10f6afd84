/**
 * POST <webhook.path>: the HTTP adapter of the Alertmanager webhook receiver. Checks run cheapest and least
 * revealing first, before the body is read: rate limit (429), authentication (401), content type (415); then the
 * body (413 over the limit, 400 when it is not JSON or not a version "4" payload); then the receiver decides
 * (200, or 503 so that Alertmanager retries). Alertmanager retries only 5xx and transport errors, so every 4xx is
 * final for that notification (the next group_interval brings it again).
 */

import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { errorTypeFor } from '../server/errors.js'
import type { WebhookMetrics } from '../telemetry/webhook-metrics.js'
import { parsePayload, type WebhookPayload } from './payload.js'
import type { AlertCounts, AlertmanagerReceiver } from './receiver.js'
import { errorText } from '../errors.js'

/** WebhookRouteOptions wire the route; `now` is wall-clock ms (rate limiting). */
export interface WebhookRouteOptions {
  readonly receiver: AlertmanagerReceiver
  readonly path: string
  readonly maxBodyBytes: number
  readonly metrics: WebhookMetrics
  readonly logger: Logger
  readonly now?: () => number
}

/** Note is what one request's log line and metrics report, filled in as the request is processed. */
interface Note {
  reason?: string
  auth?: string
  payload?: Pick<WebhookPayload, 'receiver' | 'groupKey' | 'truncatedAlerts'> & {
    groupStatus: WebhookPayload['status']
    alerts: number
  }
  counts?: AlertCounts
  summary?: string
}

const JSON_TYPE = /^application\/json\s*(;|$)/i
const DISABLED = 'the Alertmanager webhook is disabled (webhook.enabled: false, or no webhook section since a reload)'

/** webhookRoutes registers the receiver's route (an encapsulated plugin: its JSON parser applies to it alone). */
export function webhookRoutes(opts: WebhookRouteOptions): FastifyPluginAsync {
  const { receiver, metrics, logger } = opts
  const now = opts.now ?? Date.now
  const notes = new WeakMap<FastifyRequest, Note>()
  const note = (request: FastifyRequest): Note => {
    let n = notes.get(request)
    if (n === undefined) notes.set(request, (n = {}))
    return n
  }

  const reject = (request: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply => {
    note(request).reason ??= message
    return reply.code(status).send({ status: 'error', errorType: errorTypeFor(status), error: message })
  }

  // Callback-style hooks and a synchronous handler: no promise per step on the hot path.
  const gate = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (check(request, reply) === undefined) done()
  }

  const check = (request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    if (!receiver.enabled) return reject(request, reply, 404, DISABLED)
    const admission = receiver.admit(request.ip, now())
    if (!admission.ok) {
      reply.header('retry-after', String(admission.retryAfterSeconds))
      return reject(
        request,
        reply,
        429,
        `too many requests from ${request.ip}; retry after ${admission.retryAfterSeconds}s`,
      )
    }
    const auth = receiver.authenticate(request.headers.authorization)
    if (!auth.ok) {
      note(request).auth = auth.reason
      reply.header('www-authenticate', [...receiver.challenges])
      return reject(
        request,
        reply,
        401,
        'unauthorized: valid credentials are required (see http_config in the webhook_configs of alertmanager.yml)',
      )
    }
    note(request).auth = auth.method
    const type = request.headers['content-type']
    if (type === undefined || !JSON_TYPE.test(type)) {
      const shown = JSON.stringify((type ?? '').slice(0, 100))
      return reject(
        request,
        reply,
        415,
        `unsupported content type ${shown}: Alertmanager's webhook payload is application/json`,
      )
    }
    return undefined
  }

  const handler = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const parsed = parsePayload(request.body)
    if (!parsed.ok) return reject(request, reply, 400, `not an Alertmanager webhook payload: ${parsed.error}`)
    const { payload } = parsed
    // A reload may have disabled the receiver while the body was read.
    if (!receiver.enabled) return reject(request, reply, 404, DISABLED)
    const n = note(request)
    n.payload = {
      receiver: payload.receiver,
      groupKey: payload.groupKey,
      groupStatus: payload.status,
      truncatedAlerts: payload.truncatedAlerts,
      alerts: payload.alerts.length,
    }
    const receipt = receiver.receive(payload)
    n.counts = receipt.counts
    n.summary = receipt.message
    if (receipt.status === 503) {
      // A new connection lets a Service spread Alertmanager's retry to another replica, the leader with luck.
      reply.header('connection', 'close').header('retry-after', '1')
      return reject(request, reply, 503, receipt.message)
    }
    return reply.code(200).send({ status: 'success', data: { message: receipt.message, alerts: receipt.counts } })
  }

  // Sends the answer and returns nothing: fastify awaits an error handler's thenable result, and a reply is one.
  const onError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const status =
      typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) {
      logger.error({ err: error }, 'alertmanager webhook: request failed')
      reject(request, reply, 500, 'internal error; Alertmanager will retry')
      return
    }
    reject(
      request,
      reply,
      status,
      status === 413
        ? `request body is larger than webhook.max_body_bytes (${opts.maxBodyBytes} bytes)`
        : error.message,
    )
  }

  const onResponse = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    record(request, reply)
    done()
  }

  const record = (request: FastifyRequest, reply: FastifyReply): void => {
    const status = reply.statusCode
    metrics.requests.inc({ status: String(status) })
    metrics.duration.observe(reply.elapsedTime / 1000)
    const n = notes.get(request) ?? {}
    // Floods of rejected requests are counted, not logged one by one; so are Alertmanager's repeats of notifications
    // with nothing new in them (every group_interval per group), which would drown the lines that matter.
    const nothingNew = n.counts !== undefined && n.counts.duplicate + n.counts.ignored === n.payload?.alerts
    const level = status === 429 || (status < 400 && nothingNew) ? 'debug' : status >= 400 ? 'warn' : 'info'
    if (!logger.isLevelEnabled(level)) return
    const fields = {
      webhook: { status, ip: request.ip, auth: n.auth, ...n.payload, result: n.counts, reason: n.reason },
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    }
    logger[level](fields, `alertmanager webhook: ${status} ${n.reason ?? n.summary ?? ''}`.trimEnd())
  }

  return async app => {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string))
      } catch (err) {
        done(
          Object.assign(new Error(`the body is not valid JSON: ${errorText(err)}`, { cause: err }), {
            statusCode: 400,
          }),
          undefined,
        )
      }
    })
    app.post(opts.path, { bodyLimit: opts.maxBodyBytes, onRequest: gate, errorHandler: onError, onResponse }, handler)
  }
}
