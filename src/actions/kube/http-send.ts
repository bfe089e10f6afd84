/**
 * One request to the API server over node:http(s), its answer read with a bound. Shared by the generated clients'
 * transport (http-library.ts) and rollguard's own Lease client (lease-api.ts).
 */

import http from 'node:http'
import https from 'node:https'
import { readBody } from '../../sources/bounded-body.js'
import { VERSION } from '../../version.js'

/** MAX_RESPONSE_KEY is the setting that raises the bound, named in the error. */
const MAX_RESPONSE_KEY = 'kubernetes.max_response_bytes'

/** ApiRequest is one request: URL, method, headers, an optional text body, the TLS or proxy agent and a signal. */
export interface ApiRequest {
  readonly url: URL
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
  readonly agent?: http.Agent | undefined
  readonly signal?: AbortSignal | undefined
}

/** ApiResponse is the status, the headers (repeated ones joined) and the whole body. */
export interface ApiResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
}

/** sendRequest sends the request and reads the answer up to maxBytes (after decompression). */
export async function sendRequest(request: ApiRequest, maxBytes: number): Promise<ApiResponse> {
  const { url, body, signal } = request
  const headers: Record<string, string> = {
    // As node-fetch asked (the API server compresses big lists); readBody undoes it within the bound.
    'Accept-Encoding': 'gzip, deflate',
    'User-Agent': `rollguard/${VERSION}`,
    ...request.headers,
  }
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body))
  const send = url.protocol === 'https:' ? https.request : http.request
  let res: http.IncomingMessage
  let data: Buffer
  try {
    res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = send(
        url,
        {
          method: request.method,
          headers,
          ...(request.agent === undefined ? {} : { agent: request.agent }),
          ...(signal === undefined ? {} : { signal }),
        },
        resolve,
      )
      req.on('error', reject)
      req.end(body)
    })
    data = await readBody(res, { maxBytes, key: MAX_RESPONSE_KEY })
  } catch (err) {
    // An abort while the body streams in surfaces as a reset of the response: name it for what it was.
    if (signal?.aborted === true) throw abortError(signal, err)
    throw err
  }
  const responseHeaders: Record<string, string> = {}
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return { status: res.statusCode ?? 0, headers: responseHeaders, body: data }
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
