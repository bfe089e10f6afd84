import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { errorText } from '../errors.js'
import type { RuleDataLookup } from './rules-query.js'
import { isApiPath, sendError } from './errors.js'
import { alertsRoutes } from './routes/alerts.js'
import { buildInfoRoutes } from './routes/buildinfo.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { reloadRoutes, type ReloadResult } from './routes/reload.js'
import { rulesRoutes } from './routes/rules.js'
import type { WebListener } from './web-listener.js'
import type { GroupSnapshot } from '../engine/snapshot.js'

/** ServerDeps is everything the HTTP server needs from the daemon; it owns no state of its own. */
export interface ServerDeps {
  /** logger becomes fastify's logger; per-request lines are written only when it is at debug level. */
  readonly logger: Logger
  readonly registry: Registry
  /** groups returns the live rule groups. */
  readonly groups: () => readonly GroupSnapshot[]
  /** isReady is true once rules are loaded and a first evaluation ran. */
  readonly isReady: () => boolean
  readonly reload: () => Promise<ReloadResult>
  /** lifecycleEnabled is --web.enable-lifecycle: without it POST /-/reload is 403 (default: off). */
  readonly lifecycleEnabled?: () => boolean
  /** externalURL is rollguard's own URL, the only Origin a lifecycle request may carry. */
  readonly externalURL?: () => string
  readonly version: string
  readonly bodyLimitBytes?: number
  /** extraRoutes are registered after the built-in routes (e.g. a status page at "/", which is kept free). */
  readonly extraRoutes?: readonly FastifyPluginAsync[]
  /** webhook is the Alertmanager webhook receiver's route, when configured. */
  readonly webhook?: FastifyPluginAsync | undefined
  /** ruleData adds the no-data verdict to /api/v1/rules. */
  readonly ruleData?: RuleDataLookup
  /** groupOwner adds each group's evaluating replica to /api/v1/rules (sharding). */
  readonly groupOwner?: (groupKey: string) => string
  /** web applies the web config file (TLS, basic auth, headers) to every path; without it: plain HTTP, no auth. */
  readonly web?: WebListener
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const

/** NO_ROUTE_SCHEMAS is why a route with a JSON schema fails to register. */
export const NO_ROUTE_SCHEMAS =
  'rollguard routes declare no JSON schemas: check requests with zod or by hand, as the other routes do'

/**
 * No route declares a JSON schema (requests are checked with zod or by hand, with messages that name the field), so
 * fastify need not load its default compilers, ajv and fast-json-stringify: ~100 modules and 1–3 MiB resident in
 * every daemon. fastify builds a compiler only for a route with a schema; one added later fails to register.
 */
const refuseSchemas = () => (): never => {
  throw new Error(NO_ROUTE_SCHEMAS)
}
const NO_SCHEMA_COMPILERS = { buildValidator: refuseSchemas, buildSerializer: refuseSchemas }

/** buildServer builds the fastify app without listening (tests call inject(); the daemon calls listen()). */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    // FastifyBaseLogger keeps the instance type the plain FastifyInstance that route plugins are typed against.
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: () => !deps.logger.isLevelEnabled('debug') }),
    ...(deps.bodyLimitBytes === undefined ? {} : { bodyLimit: deps.bodyLimitBytes }),
    schemaController: { compilersFactory: NO_SCHEMA_COMPILERS },
    ...deps.web?.serverOptions(),
  }) as unknown as FastifyInstance
  // Before any route: the web config's checks cover every path, the 404 handler included.
  deps.web?.install(app)
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request, reply) => handleNotFound(app, request, reply))
  app.register(healthRoutes, { isReady: deps.isReady })
  app.register(metricsRoutes, { registry: deps.registry })
  app.register(reloadRoutes, {
    reload: deps.reload,
    enabled: deps.lifecycleEnabled ?? (() => false),
    externalURL: deps.externalURL ?? (() => ''),
  })
  app.register(rulesRoutes, { groups: deps.groups, ruleData: deps.ruleData, groupOwner: deps.groupOwner })
  app.register(alertsRoutes, { groups: deps.groups })
  app.register(buildInfoRoutes, { version: deps.version })
  for (const plugin of deps.extraRoutes ?? []) app.register(plugin)
  if (deps.webhook !== undefined) app.register(deps.webhook)
  return app
}

/** handleError shows 4xx details and hides 5xx ones behind "Internal Server Error" (they are logged instead). */
function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = statusOf(error)
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed')
    return sendError(request, reply, status, 'Internal Server Error')
  }
  request.log.debug({ err: error }, 'request rejected')
  // Only objects carrying a 4xx statusCode get here: fastify's errors, ApiError, http-errors style errors.
  return sendError(request, reply, status, errorText(error))
}

/** statusOf reads a 4xx/5xx statusCode from anything thrown; everything else is a 500. */
function statusOf(error: unknown): number {
  const code: unknown = Object(error).statusCode
  return typeof code === 'number' && Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500
}

/** handleNotFound answers 405 with Allow when the path exists for other methods, else 404. */
function handleNotFound(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = request.url.split('?', 1)[0] as string
  const allowed = METHODS.filter(method => app.hasRoute({ url, method }))
  if (allowed.length > 0) {
    reply.header('allow', allowed.join(', '))
    return sendError(request, reply, 405, 'Method Not Allowed')
  }
  return sendError(request, reply, 404, isApiPath(url) ? 'not found' : '404 page not found')
}
