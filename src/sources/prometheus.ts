import http from 'node:http'
import https from 'node:https'
import axios from 'axios'
import type { AxiosInstance } from 'axios'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Labels, Sample } from '../engine/types.js'
import { bodySnippet, joinUrlPath, redactUrl, requestHeaders } from './http-auth.js'
import type { HttpAuth } from './http-auth.js'

/** PrometheusSourceOptions configures the instant-query client. */
export interface PrometheusSourceOptions {
  readonly url: string
  readonly timeoutMs: number
  readonly auth?: HttpAuth
  readonly headers?: Readonly<Record<string, string>>
  readonly logger?: Logger
}

/** QueryResult is an instant-query result as the rule manager sees it, plus the server's warnings. */
export interface QueryResult {
  readonly samples: Sample[]
  readonly warnings: string[]
}

/** PrometheusSource runs instant queries against a Prometheus-compatible API. */
export interface PrometheusSource {
  query(expr: string, atMs: number, signal?: AbortSignal): Promise<QueryResult>
  /** close releases the keep-alive connections. */
  close(): void
}

/** QueryError is a failed query: errorType is Prometheus's, or timeout, canceled, connection, bad_response, unsupported. */
export class QueryError extends Error {
  override readonly name = 'QueryError'
  constructor (
    readonly errorType: string,
    readonly statusCode: number | undefined,
    message: string
  ) {
    super(message)
  }
}

const SamplePair = z.tuple([z.number(), z.string()])
const VectorElement = z.looseObject({
  metric: z.record(z.string(), z.string()),
  value: SamplePair.optional(),
  histogram: z.unknown().optional()
})
const QueryData = z.discriminatedUnion('resultType', [
  z.looseObject({ resultType: z.literal('vector'), result: z.array(VectorElement) }),
  z.looseObject({ resultType: z.literal('scalar'), result: SamplePair }),
  z.looseObject({ resultType: z.literal(['matrix', 'string']), result: z.unknown() })
])
const Envelope = z.looseObject({
  status: z.enum(['success', 'error']),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional()
})

/** createPrometheusSource returns a client that POSTs form-encoded instant queries to <url>/api/v1/query. */
export function createPrometheusSource (opts: PrometheusSourceOptions): PrometheusSource {
  const httpAgent = new http.Agent({ keepAlive: true })
  const httpsAgent = new https.Agent({ keepAlive: true })
  const endpoint = joinUrlPath(opts.url, '/api/v1/query')
  const client = axios.create({
    httpAgent,
    httpsAgent,
    headers: requestHeaders(opts.headers, opts.auth),
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true
  })
  const log = opts.logger?.child({ component: 'prometheus', url: redactUrl(opts.url) })
  return {
    async query (expr, atMs, signal) {
      const result = await runQuery(client, endpoint, opts.timeoutMs, { expr, atMs, signal })
      if (result.warnings.length > 0) log?.debug({ expr, warnings: result.warnings }, 'query returned warnings')
      return result
    },
    close () {
      httpAgent.destroy()
      httpsAgent.destroy()
    }
  }
}

interface QueryRequest {
  readonly expr: string
  readonly atMs: number
  readonly signal: AbortSignal | undefined
}

async function runQuery (client: AxiosInstance, endpoint: string, timeoutMs: number, req: QueryRequest): Promise<QueryResult> {
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), timeoutMs)
  const signal = req.signal === undefined ? deadline.signal : AbortSignal.any([deadline.signal, req.signal])
  const form = new URLSearchParams({
    query: req.expr,
    time: formatUnixSeconds(req.atMs),
    timeout: String(timeoutMs / 1000)
  })
  try {
    const res = await client.post<string>(endpoint, form, { signal })
    return parseResponse(res.status, res.statusText, String(res.data ?? ''))
  } catch (err) {
    if (err instanceof QueryError) throw err
    throw transportError(err, deadline.signal.aborted, timeoutMs)
  } finally {
    clearTimeout(timer)
  }
}

/** formatUnixSeconds renders Unix milliseconds as seconds with a millisecond fraction ("1767261900.123"). */
export function formatUnixSeconds (ms: number): string {
  const whole = Math.round(ms)
  const sign = whole < 0 ? '-' : ''
  const abs = Math.abs(whole)
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`
}

function transportError (err: unknown, timedOut: boolean, timeoutMs: number): QueryError {
  if (timedOut) return new QueryError('timeout', undefined, `query failed: timeout: no response within ${timeoutMs}ms`)
  if (axios.isCancel(err)) return new QueryError('canceled', undefined, 'query failed: canceled: query was canceled')
  const code = axios.isAxiosError(err) ? err.code : undefined
  const text = err instanceof Error ? err.message : String(err)
  const detail = code !== undefined && !text.includes(code) ? `${code}: ${text}` : text
  return new QueryError('connection', undefined, `query failed: connection: ${detail}`)
}

function parseResponse (status: number, statusText: string, body: string): QueryResult {
  const envelope = Envelope.safeParse(parseJson(body))
  if (!envelope.success) {
    const what = status >= 200 && status < 300 ? 'invalid response' : `server returned HTTP status ${status} ${statusText}`.trimEnd()
    throw new QueryError('bad_response', status, `query failed: bad_response: ${what}: ${bodySnippet(body)}`)
  }
  const env = envelope.data
  if (env.status === 'error') {
    const errorType = env.errorType ?? 'unknown'
    throw new QueryError(errorType, status, `query failed: ${errorType}: ${env.error ?? `HTTP status ${status}`}`)
  }
  if (status < 200 || status >= 300) {
    throw new QueryError('bad_response', status, `query failed: bad_response: server returned HTTP status ${status} with status "success"`)
  }
  return { samples: toSamples(env.data, status), warnings: env.warnings ?? [] }
}

function parseJson (body: string): unknown {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

function toSamples (data: unknown, status: number): Sample[] {
  const parsed = QueryData.safeParse(data)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined ? '' : `data.${issue.path.join('.')}: ${issue.message}`
    throw new QueryError('bad_response', status, `query failed: bad_response: invalid query data: ${where}`)
  }
  const result = parsed.data
  switch (result.resultType) {
    case 'scalar':
      return [{ labels: {}, value: parseSampleValue(result.result[1], status) }]
    case 'vector':
      return result.result.map((el) => {
        if (el.value === undefined) {
          const message = el.histogram !== undefined ? 'native histograms are not supported' : 'vector sample without a value'
          throw new QueryError('unsupported', status, message)
        }
        return { labels: dropEmpty(el.metric), value: parseSampleValue(el.value[1], status) }
      })
    default:
      throw new QueryError('unsupported', status, 'rule result is not a vector or scalar')
  }
}

function dropEmpty (metric: Record<string, string>): Labels {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(metric)) if (value !== '') out[name] = value
  return out
}

/** parseSampleValue parses a Prometheus sample value string, including "NaN", "+Inf" and "-Inf". */
export function parseSampleValue (text: string, status?: number): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text)
  if (special !== null) {
    if (special[2]?.toLowerCase() === 'nan') return Number.NaN
    return special[1] === '-' ? -Infinity : Infinity
  }
  const value = text.trim() === text && text !== '' ? Number(text) : Number.NaN
  if (Number.isNaN(value)) {
    throw new QueryError('bad_response', status, `query failed: bad_response: invalid sample value ${JSON.stringify(bodySnippet(text, 40))}`)
  }
  return value
}
