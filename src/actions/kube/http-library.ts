/**
 * The transport of rollguard's Kubernetes clients: client-node's generated API classes with node:http(s) in
 * place of its default node-fetch library, so every answer of the API server is read with a bound.
 *
 * Why not node-fetch: client-node calls it without its `size` option, and even with it node-fetch 2 only rejects
 * the promise past the size: it goes on reading (and discarding) the rest of the body until the server stops.
 * Here the body goes through readBody, which destroys the response at the bound.
 *
 * What stays as client-node does it: the URL, method, headers and TLS/proxy agent the generated code and
 * KubeConfig.applySecurityAuthentication put on the RequestContext; the request signal (timeouts, aborts); the
 * ResponseContext handed back, whose body the generated code parses (JSON.parse, on the main thread).
 */

import http from 'node:http'
import https from 'node:https'
import {
  Observable,
  ResponseContext,
  SelfDecodingBody,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node'
import { readBody } from '../../sources/bounded-body.js'
import { VERSION } from '../../version.js'

/** MAX_RESPONSE_KEY is the setting that raises the bound, named in the error. */
const MAX_RESPONSE_KEY = 'kubernetes.max_response_bytes'

/** BoundedHttpLibrary sends client-node's requests and reads each answer up to maxBytes (after decompression). */
export class BoundedHttpLibrary implements HttpLibrary {
  constructor(private readonly maxBytes: number) {}

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.#send(request))
  }

  async #send(request: RequestContext): Promise<ResponseContext> {
    const url = new URL(request.getUrl())
    const body = requestBody(request)
    const headers: Record<string, string> = {
      // As node-fetch asked (the API server compresses big lists); readBody undoes it within the bound.
      'Accept-Encoding': 'gzip, deflate',
      'User-Agent': `rollguard/${VERSION}`,
      ...request.getHeaders(),
    }
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body))
    const send = url.protocol === 'https:' ? https.request : http.request
    const signal = request.getSignal()
    let res: http.IncomingMessage
    let data: Buffer
    try {
      res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = send(
          url,
          {
            method: request.getHttpMethod(),
            headers,
            agent: request.getAgent(),
            ...(signal === undefined ? {} : { signal }),
          },
          resolve,
        )
        req.on('error', reject)
        req.end(body)
      })
      data = await readBody(res, { maxBytes: this.maxBytes, key: MAX_RESPONSE_KEY })
    } catch (err) {
      // An abort while the body streams in surfaces as a reset of the response: name it for what it was.
      if (signal?.aborted === true) throw abortError(signal, err)
      throw err
    }
    const responseHeaders: Record<string, string> = {}
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value
    }
    return new ResponseContext(res.statusCode ?? 0, responseHeaders, new SelfDecodingBody(Promise.resolve(data)))
  }
}

/** abortError is what node-fetch threw for an aborted request (an AbortError), with the signal's reason as cause. */
function abortError(signal: AbortSignal, err: unknown): Error {
  if (err instanceof Error && err.name === 'AbortError') return err
  const reason: unknown = signal.reason
  const e = new Error(`the request was aborted${reason instanceof Error ? ` (${reason.message})` : ''}`, {
    cause: reason ?? err,
  })
  e.name = 'AbortError'
  return e
}

/** requestBody is the request's body as text; rollguard's requests send JSON (or nothing), never forms. */
function requestBody(request: RequestContext): string | undefined {
  const body = request.getBody()
  if (body === undefined || typeof body === 'string') return body
  if (body instanceof URLSearchParams) return body.toString()
  throw new Error(`${request.getHttpMethod()} ${request.getUrl()}: multipart request bodies are not supported`)
}
