import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'

/** MetricsOptions carries the daemon's dedicated prom-client registry. */
export interface MetricsOptions {
  readonly registry: Registry
}

/** metricsRoutes serves GET /metrics in the registry's exposition format. */
export const metricsRoutes: FastifyPluginAsync<MetricsOptions> = async (app, opts) => {
  app.get('/metrics', async (_request, reply) => {
    const body = await opts.registry.metrics()
    return reply.type(opts.registry.contentType).send(body)
  })
}
