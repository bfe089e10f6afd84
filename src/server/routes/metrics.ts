import { Readable } from 'node:stream'
import type { FastifyPluginAsync } from 'fastify'
import type { Registry } from 'prom-client'
import { gather, textChunks } from '../../telemetry/exposition.js'

/** MetricsOptions carries the daemon's dedicated prom-client registry. */
export interface MetricsOptions {
  readonly registry: Registry
}

/**
 * metricsRoutes serves GET /metrics in the Prometheus text format: the values are gathered first (a failing
 * collector answers 500), then written a chunk at a time as the scraper reads, never the whole text at once.
 */
export const metricsRoutes: FastifyPluginAsync<MetricsOptions> = async (app, opts) => {
  app.get('/metrics', async (_request, reply) => {
    const metrics = await gather(opts.registry)
    return reply.type(opts.registry.contentType).send(Readable.from(textChunks(metrics)))
  })
}
