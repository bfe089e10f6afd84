import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'

/** ReloadResult is what a reload reports: the error text is shown to the caller (it describes config, not internals). */
export type ReloadResult = { ok: true } | { ok: false; error: string }

/** ReloadOptions carries the daemon's reload function and the lifecycle switch (read per request: a reload may flip it). */
export interface ReloadOptions {
  readonly reload: () => Promise<ReloadResult>
  /** enabled is --web.enable-lifecycle (web.enable_lifecycle); off, the endpoint answers 403 as Prometheus does. */
  readonly enabled: () => boolean
  /** externalURL is rollguard's own URL: the only Origin a lifecycle request may carry. */
  readonly externalURL: () => string
}

const TEXT = 'text/plain; charset=utf-8'

/** The content types a web page can POST to another site without a CORS preflight (a <form> or a plain fetch). */
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'])

/**
 * crossSiteReason says why a lifecycle request may have been sent by a web page of another site, or returns
 * undefined. Browsers send cross-site POSTs of the simple content types without asking the server first (no CORS
 * preflight), so any page a user of the network visits could reload rollguard. curl and scripts send no Origin and,
 * without a body, no content type.
 */
export function crossSiteReason(headers: IncomingHttpHeaders, ownOrigin: string): string | undefined {
  const site = headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `the browser says it is ${site} (Sec-Fetch-Site)`
  const origin = headers.origin
  if (origin !== undefined && origin !== ownOrigin) return `Origin ${origin} is not rollguard's own (${ownOrigin})`
  const type = (headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
  if (SIMPLE_TYPES.has(type)) return `any web page can send Content-Type ${type}`
  return undefined
}

/** originOf is the origin of a URL, or '' for a malformed one (then no Origin matches). */
function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : ''
}

/**
 * reloadRoutes serves POST/PUT /-/reload like Prometheus: 403 "Lifecycle API is not enabled." unless
 * --web.enable-lifecycle; then 200 with no body, or 500 "failed to reload config: ..."; GET is 405. Requests a web
 * page could send cross-site are refused (403), before their body is read.
 */
export const reloadRoutes: FastifyPluginAsync<ReloadOptions> = async (app, opts) => {
  // Any other body is accepted and ignored, within the server's body limit.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined))

  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!opts.enabled()) return reply.code(403).type(TEXT).send('Lifecycle API is not enabled.\n')
    const externalURL = opts.externalURL()
    const reason = crossSiteReason(request.headers, originOf(externalURL))
    if (reason === undefined) return undefined
    request.log.warn({ reason, url: request.url }, 'lifecycle request refused: it may come from another site')
    const example = `curl -X POST ${externalURL.replace(/\/+$/, '')}/-/reload`
    return reply
      .code(403)
      .type(TEXT)
      .send(`Refused: ${reason}. Send the request without a body, as \`${example}\` does.\n`)
  }
  // The daemon logs reload failures; the route only reports them.
  const handler = async (_request: FastifyRequest, reply: FastifyReply) => {
    const result = await opts.reload()
    if (result.ok) return reply.code(200).send()
    return reply.code(500).type(TEXT).send(`failed to reload config: ${result.error}\n`)
  }
  app.post('/-/reload', { onRequest: guard }, handler)
  app.put('/-/reload', { onRequest: guard }, handler)
  app.get('/-/reload', async (_request, reply) =>
    reply.code(405).header('allow', 'POST, PUT').type(TEXT).send('This endpoint requires a POST request.\n'),
  )
}
