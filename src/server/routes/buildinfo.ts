import type { FastifyPluginAsync } from 'fastify'

/** BuildInfoOptions carries the daemon's version. */
export interface BuildInfoOptions {
  readonly version: string
}

/** buildInfoRoutes serves GET /api/v1/status/buildinfo, which Grafana probes to identify the data source. */
export const buildInfoRoutes: FastifyPluginAsync<BuildInfoOptions> = async (app, opts) => {
  app.get('/api/v1/status/buildinfo', async () => ({ status: 'success', data: { version: opts.version } }))
}
