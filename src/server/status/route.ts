/**
 * The status page at "/" (HTML, no script) and its model at "/status.json", registered through the server's
 * extraRoutes. The page is built per request from the live rule groups, the series history and the actions.
 */

import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Registry } from 'prom-client'
import type { ActionsConfig } from '../../actions/actions-config.js'
import type { ActionsService } from '../../actions/service.js'
import type { RuleDataLookup } from '../rules-query.js'
import type { SeriesHistory } from './history.js'
import { renderStatusPage } from './render.js'
import { buildStatusModel, type ActionsStatus, type ReloadStatus, type StatusModel } from './view-model.js'
import type { GroupSnapshot } from '../../engine/snapshot.js'

/** CONTENT_SECURITY_POLICY allows nothing but the page's inline styles (and data: images): no script, no fetches, no framing. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** StatusOptions connect the page to the daemon. */
export interface StatusOptions {
  readonly groups: () => readonly GroupSnapshot[]
  readonly history: SeriesHistory
  readonly version: string
  /** actions is undefined when automatic rollbacks are not configured. */
  readonly actions: () => ActionsStatus | undefined
  /** registry gives the last reload's outcome (rollguard_config_last_reload_*); without it the page does not show it. */
  readonly registry?: Registry | undefined
  readonly now?: () => number
  readonly refreshSeconds?: number
  /** kubernetesLink is a URL template for workloads ({namespace}, {name}, {kind}, {resource}). */
  readonly kubernetesLink?: () => string | undefined
  /** ruleData gives each rule's no-data verdict and whether it reads probes that are not configured. */
  readonly ruleData?: RuleDataLookup
}

/** statusRoutes serves GET / and GET /status.json. */
export function statusRoutes(opts: StatusOptions): FastifyPluginAsync {
  const model = async (): Promise<StatusModel> => {
    const now = (opts.now ?? Date.now)()
    opts.history.prune(now)
    return buildStatusModel({
      now,
      version: opts.version,
      groups: opts.groups(),
      history: (group, rule) => opts.history.get(group, rule),
      windowMs: opts.history.windowMs,
      bucketMs: opts.history.bucketMs,
      refreshSeconds: opts.refreshSeconds ?? 10,
      actions: opts.actions(),
      reload: opts.registry === undefined ? undefined : await reloadStatus(opts.registry),
      kubernetesLink: opts.kubernetesLink?.(),
      ruleData: opts.ruleData,
    })
  }
  return async app => {
    app.get('/', async (_request, reply) => {
      const page = renderStatusPage(await model())
      return secure(reply)
        .header('content-security-policy', CONTENT_SECURITY_POLICY)
        .type('text/html; charset=utf-8')
        .send(page)
    })
    app.get('/status.json', async (_request, reply) => secure(reply).send(await model()))
  }
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
}

/** actionsStatus reads what the page shows from the actions component and its current config (undefined: not configured). */
export function actionsStatus(
  service: Pick<ActionsService, 'isLeader' | 'recentDecisions' | 'brakeCount'> | undefined,
  config: ActionsConfig | undefined,
): ActionsStatus | undefined {
  if (service === undefined || config === undefined) return undefined
  return {
    mode: config.mode,
    leader: service.isLeader(),
    brake: { ...service.brakeCount(), windowMs: config.global_brake.window },
    decisions: service.recentDecisions(),
    trigger: config.trigger,
    targets: config.targets,
  }
}

/** reloadStatus reads the reload gauges the daemon sets (undefined when they are not registered). */
async function reloadStatus(registry: Registry): Promise<ReloadStatus | undefined> {
  const ok = await gauge(registry, 'rollguard_config_last_reload_successful')
  if (ok === undefined) return undefined
  const at = await gauge(registry, 'rollguard_config_last_reload_success_timestamp_seconds')
  return { ok: ok === 1, lastSuccessAt: Math.round((at ?? 0) * 1000) }
}

async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return undefined
  return (await metric.get()).values[0]?.value
}
