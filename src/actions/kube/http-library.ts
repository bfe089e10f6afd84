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

import {
  Observable,
  ResponseContext,
  SelfDecodingBody,
  type HttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node'
import { sendRequest } from './http-send.js'

/** BoundedHttpLibrary sends client-node's requests and reads each answer up to maxBytes (after decompression). */
export class BoundedHttpLibrary implements HttpLibrary {
  constructor(private readonly maxBytes: number) {}

  send(request: RequestContext): Observable<ResponseContext> {
    return new Observable(this.#send(request))
  }

  async #send(request: RequestContext): Promise<ResponseContext> {
    const res = await sendRequest(
      {
        url: new URL(request.getUrl()),
        method: request.getHttpMethod(),
        headers: request.getHeaders(),
        body: requestBody(request),
        agent: request.getAgent(),
        signal: request.getSignal(),
      },
      this.maxBytes,
    )
    return new ResponseContext(res.status, { ...res.headers }, new SelfDecodingBody(Promise.resolve(res.body)))
  }
}

/** requestBody is the request's body as text; rollguard's requests send JSON (or nothing), never forms. */
function requestBody(request: RequestContext): string | undefined {
  const body = request.getBody()
  if (body === undefined || typeof body === 'string') return body
  if (body instanceof URLSearchParams) return body.toString()
  throw new Error(`${request.getHttpMethod()} ${request.getUrl()}: multipart request bodies are not supported`)
}
