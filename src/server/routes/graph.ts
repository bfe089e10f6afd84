import type { FastifyPluginAsync } from 'fastify'

/** GraphRedirectOptions says where Prometheus's graph page is. */
export interface GraphRedirectOptions {
  /** The Prometheus URL people's browsers reach (prometheus.external_url, else prometheus.url), without a trailing slash. */
  readonly prometheusURL: () => string
}

/**
 * graphRedirectRoutes answers GET /graph with a 302 to the same page of Prometheus, query string untouched: rollguard
 * has no query page, but links built Prometheus's way on its external URL ($externalURL/graph?g0.expr=…, graphLink,
 * tableLink, and generatorURLs of older versions) lead to the query in Prometheus instead of a 404.
 */
export function graphRedirectRoutes(opts: GraphRedirectOptions): FastifyPluginAsync {
  return async app => {
    app.get('/graph', async (request, reply) => {
      const q = request.url.indexOf('?')
      return reply.redirect(`${opts.prometheusURL()}/graph${q < 0 ? '' : request.url.slice(q)}`, 302)
    })
  }
}
