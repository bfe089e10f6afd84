import type { FastifyPluginAsync } from 'fastify'

/** HealthOptions tells the readiness probe whether rules are loaded and a first evaluation ran. */
export interface HealthOptions {
  readonly isReady: () => boolean
}

const TEXT = 'text/plain; charset=utf-8'

/** healthRoutes serves /-/healthy and /-/ready in Prometheus's wording, plus Kubernetes-style aliases (GET and HEAD). */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, opts) => {
  for (const url of ['/-/healthy', '/healthz', '/livez']) {
    app.get(url, async (_request, reply) => reply.type(TEXT).send('rollguard is Healthy.\n'))
  }
  for (const url of ['/-/ready', '/readyz']) {
    app.get(url, async (_request, reply) => {
      if (opts.isReady()) return reply.type(TEXT).send('rollguard is Ready.\n')
      return reply.code(503).type(TEXT).send('rollguard is not ready.\n')
    })
  }
}
