import http from 'node:http'
import https from 'node:https'
import { urlToHttpOptions } from 'node:url'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Labels, Sample } from '../engine/types.js'
import { VERSION } from '../version.js'
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

/** RangeSeries is one series of a range-query result: its labels and its points (Unix ms, value), in time order. */
export interface RangeSeries {
  readonly labels: Labels
  readonly points: ReadonlyArray<readonly [number, number]>
}

/** RangeResult is a range-query (matrix) result plus the server's warnings. */
export interface RangeResult {
  readonly series: RangeSeries[]
  readonly warnings: string[]
}

/** RangeRequest asks for an expression at start, start + step, … up to end (Unix ms). */
export interface RangeRequest {
  readonly startMs: number
  readonly endMs: number
  readonly stepMs: number
}

/** PrometheusSource runs instant and range queries against a Prometheus-compatible API. */
export interface PrometheusSource {
  query(expr: string, atMs: number, signal?: AbortSignal): Promise<QueryResult>
  /** queryRange runs /api/v1/query_range: what instant queries at each step would return (backtests, restore). */
  queryRange(expr: string, range: RangeRequest, signal?: AbortSignal): Promise<RangeResult>
  /** close releases the keep-alive connections; queries in flight finish first, then their connections close. */
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

/**
 * MAX_CONNECTIONS bounds the connections to one Prometheus across all groups: Prometheus runs at most
 * --query.max-concurrency (20) queries at once and accepts --web.max-connections (512), so more connections only
 * queue there or get refused; every one stays open (keep-alive) for the next evaluation instead of being re-dialled.
 */
export const MAX_CONNECTIONS = 64

/** RawResponse is a response as read off the wire (body decoded if the server compressed it anyway). */
interface RawResponse {
  readonly status: number
  readonly statusText: string
  readonly body: string
}

/** InFlight lets a timeout or the caller abort a query, waiting for a connection or on the wire; reason is set once. */
interface InFlight {
  reason: symbol | undefined
  request: http.ClientRequest | undefined
  onAbort: (() => void) | undefined
}

interface Waiter {
  readonly resolve: () => void
  readonly reject: (err: Error) => void
  cancelled: boolean
}

/**
 * Gate admits at most `limit` queries to the wire and queues the rest in arrival order. A queued query is a
 * closure, not a ClientRequest with rendered headers, so a backlog (Prometheus slower than the rules' demand)
 * costs little memory; a query whose deadline passes while queued leaves the queue at once.
 */
class Gate {
  #free: number
  #queue: Waiter[] = []
  #head = 0

  constructor (limit: number) {
    this.#free = limit
  }

  enter (inFlight: InFlight): Promise<void> | undefined {
    if (inFlight.reason !== undefined) return Promise.reject(new Error('aborted'))
    if (this.#free > 0) {
      this.#free--
      return undefined
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, cancelled: false }
      this.#queue.push(waiter)
      inFlight.onAbort = () => {
        waiter.cancelled = true
        reject(new Error('aborted'))
      }
    })
  }

  leave (): void {
    while (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head++] as Waiter
      this.#compact()
      if (next.cancelled) continue
      next.resolve()
      return
    }
    this.#free++
  }

  /** #compact drops served waiters: all of them once the queue is empty, else in halves (amortized O(1)). */
  #compact (): void {
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}

type Post = (form: string, inFlight: InFlight) => Promise<RawResponse>

/**
 * createPrometheusSource returns a client that POSTs form-encoded instant queries to <url>/api/v1/query over
 * node:http keep-alive connections. It asks for uncompressed responses: rule results are small, and gzip costs
 * both sides more CPU (and latency) than the bytes it saves on the links rule engines use.
 */
export function createPrometheusSource (opts: PrometheusSourceOptions): PrometheusSource {
  const endpoint = new URL(joinUrlPath(opts.url, '/api/v1/query'))
  const rangeEndpoint = new URL(joinUrlPath(opts.url, '/api/v1/query_range'))
  const secure = endpoint.protocol === 'https:'
  const agentOptions = { keepAlive: true, maxSockets: MAX_CONNECTIONS, maxFreeSockets: MAX_CONNECTIONS, scheduling: 'lifo' as const }
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
  const headers: Record<string, string> = {
    'User-Agent': `rollguard/${VERSION}`,
    Accept: 'application/json',
    'Accept-Encoding': 'identity',
    ...requestHeaders(opts.headers, opts.auth),
    'Content-Type': 'application/x-www-form-urlencoded'
  }
  // Request options are built once: per query only the body and its length change.
  const send = secure ? https.request : http.request
  const gate = new Gate(MAX_CONNECTIONS)
  const poster = (url: URL): Post => {
    const base: http.RequestOptions = { ...urlToHttpOptions(url), method: 'POST', agent }
    return async (form, inFlight) => {
      await gate.enter(inFlight)
      inFlight.onAbort = undefined
      try {
        return await postForm(send, base, headers, form, inFlight)
      } finally {
        gate.leave()
      }
    }
  }
  const post = poster(endpoint)
  const postRange = poster(rangeEndpoint)
  // Rule expressions repeat every evaluation: their form encoding is kept (bounded; a reload makes a new source).
  const escaped = new Map<string, string>()
  const encode = (expr: string): string => {
    let e = escaped.get(expr)
    if (e === undefined) {
      if (escaped.size >= 20_000) escaped.clear()
      e = formEscape(expr)
      escaped.set(expr, e)
    }
    return e
  }
  const log = opts.logger?.child({ component: 'prometheus', url: redactUrl(opts.url) })
  return {
    async query (expr, atMs, signal) {
      const form = `query=${encode(expr)}&time=${formatUnixSeconds(atMs)}&timeout=${opts.timeoutMs / 1000}`
      const result = await runQuery(post, opts.timeoutMs, form, signal, parseResponse)
      if (result.warnings.length > 0) log?.debug({ expr, warnings: result.warnings }, 'query returned warnings')
      return result
    },
    async queryRange (expr, range, signal) {
      const form = `query=${formEscape(expr)}&start=${formatUnixSeconds(range.startMs)}&end=${formatUnixSeconds(range.endMs)}` +
        `&step=${range.stepMs / 1000}&timeout=${opts.timeoutMs / 1000}`
      return runQuery(postRange, opts.timeoutMs, form, signal, parseRangeResponse)
    },
    close () {
      closeGracefully(agent)
    }
  }
}

/**
 * closeGracefully lets a replaced source's queries finish, then closes their connections. Destroying the agent
 * instead failed the queries in flight at a reload (socket hang up), and connections the old agent opened after
 * that (retries of those queries) stayed open: under load (bench/soak.mjs) a reload could leave MAX_CONNECTIONS
 * more descriptors open.
 */
function closeGracefully (agent: http.Agent): void {
  agent.keepSocketAlive = () => false
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy()
}

/** Reasons a request was aborted on our side, told apart from transport errors. */
const TIMED_OUT = Symbol('timeout')
const CANCELED = Symbol('canceled')

async function runQuery<R> (post: Post, timeoutMs: number, form: string, signal: AbortSignal | undefined, parse: (status: number, statusText: string, body: string) => R): Promise<R> {
  const inFlight: InFlight = { reason: undefined, request: undefined, onAbort: undefined }
  const abort = (reason: symbol): void => {
    if (inFlight.reason !== undefined) return
    inFlight.reason = reason
    inFlight.request?.destroy()
    inFlight.onAbort?.()
  }
  const timer = setTimeout(abort, timeoutMs, TIMED_OUT)
  const cancel = (): void => abort(CANCELED)
  if (signal?.aborted === true) cancel()
  else signal?.addEventListener('abort', cancel, { once: true })
  try {
    const res = await post(form, inFlight)
    return parse(res.status, res.statusText, res.body)
  } catch (err) {
    if (err instanceof QueryError) throw err
    if (inFlight.reason === TIMED_OUT) throw new QueryError('timeout', undefined, `query failed: timeout: no response within ${timeoutMs}ms`)
    if (inFlight.reason === CANCELED) throw new QueryError('canceled', undefined, 'query failed: canceled: query was canceled')
    throw transportError(err)
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', cancel)
  }
}

/** formEscape is application/x-www-form-urlencoded encoding of one value (URLSearchParams's, without the object). */
function formEscape (s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

const RETRYABLE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

type Send = typeof http.request

/**
 * postForm sends one POST; a request that failed on a reused keep-alive connection before any response (the
 * server closed it while idle) is retried once on a fresh connection, as Go's client and vmalert do.
 */
async function postForm (send: Send, base: http.RequestOptions, headers: Record<string, string>, form: string, inFlight: InFlight): Promise<RawResponse> {
  try {
    return await postOnce(send, base, headers, form, inFlight)
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { reusedSocket?: boolean }
    if (e.reusedSocket !== true || !RETRYABLE.has(e.code ?? '') || inFlight.reason !== undefined) throw err
    return postOnce(send, base, headers, form, inFlight)
  }
}

function postOnce (send: Send, base: http.RequestOptions, headers: Record<string, string>, form: string, inFlight: InFlight): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    if (inFlight.reason !== undefined) {
      reject(new Error('aborted'))
      return
    }
    const req = send({ ...base, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(form)) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        inFlight.request = undefined
        decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), res.headers['content-encoding']).then(
          (text) => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: text }),
          reject
        )
      })
    })
    inFlight.request = req
    req.on('error', (err: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      err.reusedSocket = req.reusedSocket
      reject(err)
    })
    req.end(form)
  })
}

const gunzip = promisify(zlib.gunzip)
const inflate = promisify(zlib.inflate)
const brotli = promisify(zlib.brotliDecompress)

/** decode undoes a Content-Encoding the server applied although we asked for identity (some proxies do). */
async function decode (body: Buffer, encoding: string | undefined): Promise<string> {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return body.toString('utf8')
    case 'gzip':
    case 'x-gzip':
      return (await gunzip(body)).toString('utf8')
    case 'deflate':
      return (await inflate(body)).toString('utf8')
    case 'br':
      return (await brotli(body)).toString('utf8')
    default:
      throw new QueryError('bad_response', undefined, `query failed: bad_response: unsupported content encoding ${JSON.stringify(encoding)}`)
  }
}

/** formatUnixSeconds renders Unix milliseconds as seconds with a millisecond fraction ("1767261900.123"). */
export function formatUnixSeconds (ms: number): string {
  const whole = Math.round(ms)
  const sign = whole < 0 ? '-' : ''
  const abs = Math.abs(whole)
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`
}

function transportError (err: unknown): QueryError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const text = err instanceof Error ? err.message : String(err)
  const detail = code !== undefined && !text.includes(code) ? `${code}: ${text}` : text
  return new QueryError('connection', undefined, `query failed: connection: ${detail}`)
}

function parseResponse (status: number, statusText: string, body: string): QueryResult {
  const json = parseJson(body)
  if (status >= 200 && status < 300) {
    const fast = fastResult(json, status)
    if (fast !== undefined) return fast
  }
  const env = successEnvelope(json, status, statusText, body)
  return { samples: toSamples(env.data, status), warnings: env.warnings ?? [] }
}

const MatrixData = z.looseObject({
  resultType: z.literal('matrix'),
  result: z.array(z.looseObject({ metric: z.record(z.string(), z.string()), values: z.array(SamplePair).optional() })),
})

/** parseRangeResponse reads a matrix answer; points are converted to Unix ms (rounded: the server's step grid). */
function parseRangeResponse (status: number, statusText: string, body: string): RangeResult {
  const env = successEnvelope(parseJson(body), status, statusText, body)
  const parsed = MatrixData.safeParse(env.data)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue === undefined ? '' : `data.${issue.path.join('.')}: ${issue.message}`
    throw new QueryError('bad_response', status, `query failed: bad_response: invalid range query data: ${where}`)
  }
  const series = parsed.data.result.map((s) => ({
    labels: dropEmpty(s.metric),
    points: (s.values ?? []).map(([t, v]) => [Math.round(t * 1000), parseSampleValue(v, status)] as const),
  }))
  return { series, warnings: env.warnings ?? [] }
}

/** successEnvelope checks the API envelope and status code; errors become QueryErrors worded as Prometheus's rule manager words them. */
function successEnvelope (json: unknown, status: number, statusText: string, body: string): z.infer<typeof Envelope> {
  const envelope = Envelope.safeParse(json)
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
  return env
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isPair = (v: unknown): v is [number, string] => Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string'

/**
 * fastResult reads a well-formed success response (vector or scalar) without copying it through the schemas;
 * anything else returns undefined and goes the schema way, which also words the errors.
 */
function fastResult (json: unknown, status: number): QueryResult | undefined {
  if (!isRecord(json) || json['status'] !== 'success' || !isRecord(json['data'])) return undefined
  const warnings = json['warnings']
  if (warnings !== undefined && !(Array.isArray(warnings) && warnings.every((w) => typeof w === 'string'))) return undefined
  if ((json['errorType'] !== undefined && typeof json['errorType'] !== 'string') || (json['error'] !== undefined && typeof json['error'] !== 'string')) return undefined
  const data = json['data']
  const result = data['result']
  let samples: Sample[]
  if (data['resultType'] === 'vector' && Array.isArray(result)) {
    samples = new Array<Sample>(result.length)
    for (let i = 0; i < result.length; i++) {
      const el: unknown = result[i]
      if (!isRecord(el) || !isRecord(el['metric']) || !isPair(el['value'])) return undefined
      const metric = el['metric']
      let empty = false
      for (const name in metric) {
        const v = metric[name]
        if (typeof v !== 'string') return undefined
        if (v === '') empty = true
      }
      samples[i] = { labels: empty ? dropEmpty(metric as Record<string, string>) : (metric as Labels), value: parseSampleValue(el['value'][1], status) }
    }
  } else if (data['resultType'] === 'scalar' && isPair(result)) {
    samples = [{ labels: {}, value: parseSampleValue(result[1], status) }]
  } else {
    return undefined
  }
  return { samples, warnings: (warnings as string[] | undefined) ?? [] }
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
