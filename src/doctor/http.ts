import { readBody } from '../sources/bounded-body.js'
import { HttpClient, type HttpClientOptions } from '../sources/http-transport.js'
import { VERSION } from '../version.js'
import { errorText } from '../errors.js'

/** HttpAccess is how to reach one HTTP API: the http_config rollguard run would use, and bounds. */
export interface HttpAccess extends HttpClientOptions {
  readonly timeoutMs: number
  /** The largest body read (after decompression), and the setting that raises it. */
  readonly maxResponseBytes: number
  readonly limitKey: string
  /** peer names the server in errors ("Prometheus"); section is its config section ("prometheus"). */
  readonly peer?: string
  readonly section?: string
}

/** HttpAnswer is a response as received; every status counts as an answer. */
export interface HttpAnswer {
  readonly status: number
  readonly statusText: string
  readonly body: string
}

/** get sends one GET; it throws only when no usable answer came (refused, reset, timed out, too large), with a one-line message. */
export async function get(url: string, access: HttpAccess): Promise<HttpAnswer> {
  const deadline = AbortSignal.timeout(access.timeoutMs)
  const peer = access.peer ?? 'server'
  const client = new HttpClient({ ...access, peer, section: access.section ?? peer.toLowerCase() })
  try {
    const res = await client.request(url, {
      method: 'GET',
      headers: { Accept: 'application/json', 'User-Agent': `rollguard/${VERSION}` },
      signal: deadline,
    })
    const body = await readBody(res, { maxBytes: access.maxResponseBytes, key: access.limitKey })
    return { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: body.toString('utf8') }
  } catch (err) {
    if (deadline.aborted) throw new Error(`no response within ${access.timeoutMs}ms`, { cause: err })
    const code = (err as { code?: unknown }).code
    const text = errorText(err)
    throw new Error(typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text, { cause: err })
  } finally {
    client.close()
  }
}

/** parseJson is the body as JSON, undefined when it is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

/** httpStatus is "HTTP 401 Unauthorized". */
export function httpStatus(answer: HttpAnswer): string {
  return `HTTP ${answer.status} ${answer.statusText}`.trimEnd()
}
