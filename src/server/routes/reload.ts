import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'

/** ReloadResult is what a reload reports: the error text is shown to the caller (it describes config, not internals). */
export type ReloadResult = { ok: true } | { ok: false; error: string }

/** ReloadOptions carries the daemon's reload function. */
export interface ReloadOptions {
  readonly reload: () => Promise<ReloadResult>
}

const TEXT = 'text/plain; charset=utf-8'

/** reloadRoutes serves POST/PUT /-/reload like Prometheus: 200 with no body, or 500 "failed to reload config: ..."; GET is 405. */
export const reloadRoutes: FastifyPluginAsync<ReloadOptions> = async (app, opts) => {
  // Any body is accepted and ignored (curl -d '' sends a form content type), within the server's body limit.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null, undefined))

  // The daemon logs reload failures; the route only reports them.
  const handler = async (_request: FastifyRequest, reply: FastifyReply) => {
    const result = await opts.reload()
    if (result.ok) return reply.code(200).send()
    return reply.code(500).type(TEXT).send(`failed to reload config: ${result.error}\n`)
  }
  app.post('/-/reload', handler)
  app.put('/-/reload', handler)
  app.get('/-/reload', async (_request, reply) =>
    reply.code(405).header('allow', 'POST, PUT').type(TEXT).send('This endpoint requires a POST request.\n'),
  )
}
