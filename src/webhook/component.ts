/**
 * The Alertmanager webhook as one component of the daemon: the receiver, its metrics and its route, built from
 * the config and reloaded with it. `enabled`, `path` and `max_body_bytes` take effect on restart (the route is
 * registered once); credentials, matchers, targets and the rate limit on every reload.
 */

import type { FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/load.js'
import { createWebhookMetrics } from '../telemetry/webhook-metrics.js'
import { AlertmanagerReceiver, receiverSettings, type ReceiverSettings, type WebhookActions } from './receiver.js'
import { webhookRoutes } from './route.js'

/** AlertmanagerWebhookDeps connect the component to the daemon; `actions` is undefined while actions are not configured. */
export interface AlertmanagerWebhookDeps {
  readonly logger: Logger
  readonly registry: Registry
  readonly actions: () => WebhookActions | undefined
  readonly now?: () => number
}

/** AlertmanagerWebhook owns the receiver and the route plugin the HTTP server registers. */
/** Decision reasons that pass by themselves; a repeat notification of such a trigger is decided again. */
const RECONSIDERED: ReadonlySet<string> = new Set(['silenced', 'silence_check_failed'])

export class AlertmanagerWebhook {
  readonly routes: FastifyPluginAsync
  readonly #receiver: AlertmanagerReceiver
  readonly #logger: Logger
  #insecure = false

  private constructor(config: Config, path: string, maxBodyBytes: number, deps: AlertmanagerWebhookDeps) {
    this.#logger = deps.logger.child({ component: 'webhook' })
    const metrics = createWebhookMetrics(deps.registry)
    this.#receiver = new AlertmanagerReceiver({ actions: deps.actions, metrics }, this.#settings(config))
    this.routes = webhookRoutes({
      receiver: this.#receiver,
      path,
      maxBodyBytes,
      metrics,
      logger: this.#logger,
      ...(deps.now ? { now: deps.now } : {}),
    })
    this.#logger.info({ path, enabled: this.#receiver.enabled }, `Alertmanager webhook at POST ${path}`)
  }

  /** create builds the component when the config has a `webhook` section (even disabled: a reload may enable it). */
  static create(config: Config, deps: AlertmanagerWebhookDeps): AlertmanagerWebhook | undefined {
    const webhook = config.doc.webhook
    if (webhook === undefined) return undefined
    return new AlertmanagerWebhook(config, webhook.path, webhook.max_body_bytes, deps)
  }

  /** reload applies new credentials, matchers, targets and rate limit; a removed or disabled section answers 404. */
  /** decisionRecorded lets a webhook trigger held back by a silence act on Alertmanager's next notification. */
  decisionRecorded(rec: {
    readonly reason: string
    readonly alert?: { readonly fingerprint: string; readonly startsAt: number } | undefined
  }): void {
    if (rec.alert !== undefined && RECONSIDERED.has(rec.reason))
      this.#receiver.reconsider(rec.alert.fingerprint, rec.alert.startsAt)
  }

  reload(config: Config, previous: Config): void {
    const [now, before] = [config.doc.webhook, previous.doc.webhook]
    if (
      now !== undefined &&
      before !== undefined &&
      (now.path !== before.path || now.max_body_bytes !== before.max_body_bytes)
    ) {
      this.#logger.warn('webhook.path and webhook.max_body_bytes change only on restart')
    }
    this.#receiver.update(this.#settings(config))
  }

  #settings(config: Config): ReceiverSettings | undefined {
    const webhook = config.doc.webhook
    if (webhook === undefined || !webhook.enabled) return undefined
    const settings = receiverSettings(webhook, config.doc.actions, config.webhookCredentials)
    if (settings.insecure && !this.#insecure) {
      this.#logger.warn(
        'the Alertmanager webhook accepts unauthenticated requests (webhook.insecure_no_auth: true): anyone who can reach it can trigger rollbacks',
      )
    }
    this.#insecure = settings.insecure
    if (config.doc.actions === undefined) {
      this.#logger.warn(
        'the Alertmanager webhook is enabled but actions are not configured: notifications with rollback triggers are answered 503',
      )
    }
    return settings
  }
}
