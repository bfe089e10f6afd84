import type { FastifyPluginAsync } from 'fastify'
import { allActiveAlerts } from '../prom-json.js'
import type { GroupSnapshot } from '../../engine/snapshot.js'

/** AlertsOptions gives the live rule groups. */
export interface AlertsOptions {
  readonly groups: () => readonly GroupSnapshot[]
}

/** alertsRoutes serves GET /api/v1/alerts: every pending and firing alert, in Prometheus's shape. */
export const alertsRoutes: FastifyPluginAsync<AlertsOptions> = async (app, opts) => {
  app.get('/api/v1/alerts', async () => ({ status: 'success', data: { alerts: allActiveAlerts(opts.groups()) } }))
}
