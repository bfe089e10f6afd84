import axios from 'axios'
import { isMaxContentLength, ResponseTooLargeError } from '../sources/bounded-body.js'
import https from 'node:https'
import { redactUrl, requestHeaders, type HttpAuth } from '../sources/http-auth.js'
import { describeTlsError, tlsAgentOptions, type TlsSettings } from '../sources/http-client.js'
import { VERSION } from '../version.js'
import { errorText } from '../errors.js'

/** HttpAccess is how to reach one HTTP API: the credentials and headers rollguard run would send, and bounds. */
export interface HttpAccess {
  readonly timeoutMs: number
  /** The largest body read (after decompression), and the setting that raises it. */
  readonly maxResponseBytes: number
  readonly limitKey: string
  readonly auth?: HttpAuth | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** tls is the section's tls_config; peer names the server in certificate errors ("Prometheus"). */
  readonly tls?: TlsSettings | undefined
  readonly peer?: string
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
  try {
    const res = await axios.get<string>(url, {
      headers: {
        ...requestHeaders(access.headers, access.auth),
        Accept: 'application/json',
        'User-Agent': `rollguard/${VERSION}`,
      },
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: access.maxResponseBytes,
      signal: deadline,
      ...(access.tls === undefined ? {} : { httpsAgent: new https.Agent(tlsAgentOptions(access.tls)) }),
    })
    return { status: res.status, statusText: res.statusText, body: String(res.data ?? '') }
  } catch (err) {
    // No { cause }: axios's errors carry the request's configuration, credentials included, into any log.
    if (deadline.aborted) throw new Error(`no response within ${access.timeoutMs}ms`)
    if (isMaxContentLength(err)) throw new ResponseTooLargeError(access.maxResponseBytes, access.limitKey)
    const tlsText =
      access.tls === undefined
        ? undefined
        : describeTlsError(err, access.peer ?? 'server', redactUrl(url), access.tls.section)
    if (tlsText !== undefined) throw new Error(tlsText)
    const code = (err as { code?: unknown }).code
    const text = errorText(err)
    throw new Error(typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text)
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
