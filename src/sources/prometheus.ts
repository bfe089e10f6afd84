import type { Logger } from 'pino'
import { z } from 'zod'
import type { QueryResult } from '../engine/ports.js'
import type { Labels, Sample } from '../engine/types.js'
import { VERSION } from '../version.js'
import { DEFAULT_LIMITS, readBody, ResponseTooLargeError, UnsupportedEncodingError } from './bounded-body.js'
import { bodySnippet, joinUrlPath, redactUrl } from './http-auth.js'
import { HttpClient, type HttpClientOptions } from './http-transport.js'
import { parseJsonSliced, Slices } from './sliced-json.js'
import { errorText } from '../errors.js'

/** PrometheusSourceOptions configures the instant-query client; the http_config settings are prometheus.*'s. */
export interface PrometheusSourceOptions extends HttpClientOptions {
  readonly url: string
  readonly timeoutMs: number
  /** maxResponseBytes bounds each answer, counted as it streams in and after decompression; default DEFAULT_MAX_RESPONSE_BYTES. */
  readonly maxResponseBytes?: number
  readonly logger?: Logger
}

/** DEFAULT_MAX_RESPONSE_BYTES is prometheus.max_response_bytes's default (32 MiB; see DEFAULT_LIMITS). */
export const DEFAULT_MAX_RESPONSE_BYTES = DEFAULT_LIMITS.prometheus

/** MAX_RESPONSE_KEY is the setting that raises the limit, named in the error. */
const MAX_RESPONSE_KEY = 'prometheus.max_response_bytes'

// QueryResult is the rule engine's port type: an instant-query result plus the server's warnings.
export type { QueryResult }

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

/** QueryError is a failed query: errorType is Prometheus's, or timeout, canceled, connection, bad_response, too_large, unsupported. */
export class QueryError extends Error {
  override readonly name = 'QueryError'
  constructor(
    readonly errorType: string,
    readonly statusCode: number | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

const SamplePair = z.tuple([z.number(), z.string()])
const VectorElement = z.looseObject({
  metric: z.record(z.string(), z.string()),
  value: SamplePair.optional(),
  histogram: z.unknown().optional(),
})
const QueryData = z.discriminatedUnion('resultType', [
  z.looseObject({ resultType: z.literal('vector'), result: z.array(VectorElement) }),
  z.looseObject({ resultType: z.literal('scalar'), result: SamplePair }),
  z.looseObject({ resultType: z.literal(['matrix', 'string']), result: z.unknown() }),
])
const Envelope = z.looseObject({
  status: z.enum(['success', 'error']),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional(),
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
  readonly body: Buffer
}

/** InFlight lets a timeout or the caller abort a query, waiting for a connection or on the wire; reason is set once. */
interface InFlight {
  reason: symbol | undefined
  readonly wire: AbortController
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

  constructor(limit: number) {
    this.#free = limit
  }

  enter(inFlight: InFlight): Promise<void> | undefined {
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

  leave(): void {
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
  #compact(): void {
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
export function createPrometheusSource(opts: PrometheusSourceOptions): PrometheusSource {
  const endpoint = new URL(joinUrlPath(opts.url, '/api/v1/query'))
  const rangeEndpoint = new URL(joinUrlPath(opts.url, '/api/v1/query_range'))
  const client = new HttpClient({
    ...opts,
    peer: 'Prometheus',
    section: 'prometheus',
    shownAs: opts.url,
    agent: { maxSockets: MAX_CONNECTIONS, maxFreeSockets: MAX_CONNECTIONS, scheduling: 'lifo' },
  })
  const headers: Record<string, string> = {
    'User-Agent': `rollguard/${VERSION}`,
    Accept: 'application/json',
    'Accept-Encoding': 'identity',
    'Content-Type': 'application/x-www-form-urlencoded',
  }
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const gate = new Gate(MAX_CONNECTIONS)
  const poster =
    (url: URL): Post =>
    async (form, inFlight) => {
      await gate.enter(inFlight)
      inFlight.onAbort = undefined
      try {
        return await postOnce(client, url, headers, form, inFlight, maxBytes)
      } finally {
        gate.leave()
      }
    }
  const post = poster(endpoint)
  const postRange = poster(rangeEndpoint)
  const log = opts.logger?.child({ component: 'prometheus', url: redactUrl(opts.url) })
  return {
    async query(expr, atMs, signal) {
      const form = `query=${formEscape(expr)}&time=${formatUnixSeconds(atMs)}&timeout=${opts.timeoutMs / 1000}`
      const result = await runQuery(post, opts.timeoutMs, form, signal, parseResponse)
      if (result.warnings.length > 0) log?.debug({ expr, warnings: result.warnings }, 'query returned warnings')
      return result
    },
    async queryRange(expr, range, signal) {
      // nocache=1: VictoriaMetrics otherwise rounds start and end to multiples of step (over 50 points), moving every
      // point off the group's slot grid that replays look them up by; Prometheus, Thanos and Mimir ignore it.
      const form =
        `query=${formEscape(expr)}&start=${formatUnixSeconds(range.startMs)}&end=${formatUnixSeconds(range.endMs)}` +
        `&step=${range.stepMs / 1000}&timeout=${opts.timeoutMs / 1000}&nocache=1`
      return runQuery(postRange, opts.timeoutMs, form, signal, parseRangeResponse)
    },
    close() {
      // A replaced source's queries finish, then their connections close: destroying them failed the queries in
      // flight at a reload (socket hang up), and under load (bench/soak.mjs) left connections open.
      client.closeGracefully()
    },
  }
}

/** Reasons a request was aborted on our side, told apart from transport errors. */
const TIMED_OUT = Symbol('timeout')
const CANCELED = Symbol('canceled')

async function runQuery<R>(
  post: Post,
  timeoutMs: number,
  form: string,
  signal: AbortSignal | undefined,
  parse: (status: number, statusText: string, body: Buffer) => Promise<R>,
): Promise<R> {
  const inFlight: InFlight = { reason: undefined, wire: new AbortController(), onAbort: undefined }
  const abort = (reason: symbol): void => {
    if (inFlight.reason !== undefined) return
    inFlight.reason = reason
    inFlight.wire.abort()
    inFlight.onAbort?.()
  }
  const timer = setTimeout(abort, timeoutMs, TIMED_OUT)
  const cancel = (): void => abort(CANCELED)
  if (signal?.aborted === true) cancel()
  else signal?.addEventListener('abort', cancel, { once: true })
  try {
    const res = await post(form, inFlight)
    return await parse(res.status, res.statusText, res.body)
  } catch (err) {
    if (err instanceof QueryError) throw err
    if (err instanceof ResponseTooLargeError)
      throw new QueryError('too_large', undefined, `query failed: too_large: ${err.message}`, { cause: err })
    if (err instanceof UnsupportedEncodingError)
      throw new QueryError('bad_response', undefined, `query failed: bad_response: ${err.message}`, { cause: err })
    if (inFlight.reason === TIMED_OUT)
      throw new QueryError('timeout', undefined, `query failed: timeout: no response within ${timeoutMs}ms`, {
        cause: err,
      })
    if (inFlight.reason === CANCELED)
      throw new QueryError('canceled', undefined, 'query failed: canceled: query was canceled', { cause: err })
    throw transportError(err)
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', cancel)
  }
}

/**
 * formEscape encodes one value of an application/x-www-form-urlencoded body. encodeURIComponent leaves only
 * characters that form decoders take as they are (Go's url.ParseQuery, which Prometheus and its kin use, and the
 * WHATWG parser): spaces become %20 rather than +, and !'()*~ stay. Natively and at once, so no cache of encoded
 * expressions: keeping one per rule held ~5 MB with 4,000 rules (docs/benchmarks.md#where-the-memory-goes).
 */
function formEscape(s: string): string {
  return encodeURIComponent(s)
}

/** postOnce sends one POST through the client (which retries one that failed on a reused connection). */
async function postOnce(
  client: HttpClient,
  url: URL,
  headers: Record<string, string>,
  form: string,
  inFlight: InFlight,
  maxBytes: number,
): Promise<RawResponse> {
  if (inFlight.reason !== undefined) throw new Error('aborted')
  const res = await client.request(url, { method: 'POST', headers, body: form, signal: inFlight.wire.signal })
  // readBody destroys the response and its socket past the limit, so nothing more is read.
  const body = await readBody(res, { maxBytes, key: MAX_RESPONSE_KEY })
  return { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body }
}

/** formatUnixSeconds renders Unix milliseconds as seconds with a millisecond fraction ("1767261900.123"). */
export function formatUnixSeconds(ms: number): string {
  const whole = Math.round(ms)
  const sign = whole < 0 ? '-' : ''
  const abs = Math.abs(whole)
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`
}

function transportError(err: unknown): QueryError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const text = errorText(err)
  const detail = code !== undefined && !text.includes(code) ? `${code}: ${text}` : text
  return new QueryError('connection', undefined, `query failed: connection: ${detail}`, { cause: err })
}

/**
 * parseResponse reads an instant-query answer. A big answer is parsed and converted in slices (sliced-json.ts),
 * so the daemon keeps answering while it does.
 */
async function parseResponse(status: number, statusText: string, body: Buffer): Promise<QueryResult> {
  const slices = new Slices()
  const json = await parseBody(body, slices)
  if (status >= 200 && status < 300) {
    const fast = await fastResult(json, status, slices)
    if (fast !== undefined) return fast
  }
  const env = successEnvelope(json, status, statusText, body)
  return { samples: await toSamples(env.data, status, slices), warnings: env.warnings ?? [] }
}

const MatrixHead = z.looseObject({ resultType: z.literal('matrix'), result: z.array(z.unknown()) })
const MatrixSeries = z.looseObject({ metric: z.record(z.string(), z.string()), values: z.array(SamplePair).optional() })

/** parseRangeResponse reads a matrix answer; points are converted to Unix ms (rounded: the server's step grid). */
async function parseRangeResponse(status: number, statusText: string, body: Buffer): Promise<RangeResult> {
  const slices = new Slices()
  const env = successEnvelope(await parseBody(body, slices), status, statusText, body)
  const head = MatrixHead.safeParse(env.data)
  if (!head.success) throw invalidData(status, 'range query', head.error.issues[0], [])
  // Every series is checked before any is converted, one series per step between yields.
  const result = head.data.result
  const checked = new Array<z.infer<typeof MatrixSeries>>(result.length)
  for (let i = 0; i < result.length; i++) {
    await slices.tick()
    const parsed = MatrixSeries.safeParse(result[i])
    if (!parsed.success) throw invalidData(status, 'range query', parsed.error.issues[0], ['result', i])
    checked[i] = parsed.data
  }
  const series = new Array<RangeSeries>(checked.length)
  for (let i = 0; i < checked.length; i++) {
    await slices.tick()
    const s = checked[i] as z.infer<typeof MatrixSeries>
    series[i] = {
      labels: dropEmpty(s.metric),
      points: (s.values ?? []).map(([t, v]) => [Math.round(t * 1000), parseSampleValue(v, status)] as const),
    }
  }
  return { series, warnings: env.warnings ?? [] }
}

/** invalidData words a schema issue as "invalid <what> data: data.<path>: <message>". */
function invalidData(
  status: number,
  what: string,
  issue: z.core.$ZodIssue | undefined,
  prefix: ReadonlyArray<PropertyKey>,
): QueryError {
  const where = issue === undefined ? '' : `data.${[...prefix, ...issue.path].map(String).join('.')}: ${issue.message}`
  return new QueryError('bad_response', status, `query failed: bad_response: invalid ${what} data: ${where}`)
}

/** Prometheus's errorType for the statuses VictoriaMetrics answers with (its errorType is the status: "422"). */
const ERROR_TYPE_OF_STATUS: Readonly<Record<number, string>> = { 400: 'bad_data', 422: 'execution', 503: 'unavailable' }

/** errorTypeOf is the envelope's errorType in Prometheus's vocabulary, so callers can tell refusals from outages. */
function errorTypeOf(errorType: string | undefined, status: number): string {
  if (errorType !== undefined && !/^\d+$/.test(errorType)) return errorType
  return ERROR_TYPE_OF_STATUS[status] ?? errorType ?? 'unknown'
}

/** successEnvelope checks the API envelope and status code; errors become QueryErrors worded as Prometheus's rule manager words them. */
function successEnvelope(json: unknown, status: number, statusText: string, body: Buffer): z.infer<typeof Envelope> {
  const envelope = Envelope.safeParse(json)
  if (!envelope.success) {
    const what =
      status >= 200 && status < 300
        ? 'invalid response'
        : `server returned HTTP status ${status} ${statusText}`.trimEnd()
    // Only the start of the body is quoted: no need to turn all of a big one into a string.
    throw new QueryError(
      'bad_response',
      status,
      `query failed: bad_response: ${what}: ${bodySnippet(body.toString('utf8', 0, 4096))}`,
    )
  }
  const env = envelope.data
  if (env.status === 'error') {
    const errorType = errorTypeOf(env.errorType, status)
    throw new QueryError(errorType, status, `query failed: ${errorType}: ${env.error ?? `HTTP status ${status}`}`)
  }
  if (status < 200 || status >= 300) {
    throw new QueryError(
      'bad_response',
      status,
      `query failed: bad_response: server returned HTTP status ${status} with status "success"`,
    )
  }
  return env
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isPair = (v: unknown): v is [number, string] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string'

/** YIELD_EVERY is how many result elements are converted between checks of the slice's time budget. */
const YIELD_EVERY = 256

/**
 * fastResult reads a well-formed success response (vector or scalar) without copying it through the schemas;
 * anything else returns undefined and goes the schema way, which also words the errors.
 */
async function fastResult(json: unknown, status: number, slices: Slices): Promise<QueryResult | undefined> {
  if (!isRecord(json) || json['status'] !== 'success' || !isRecord(json['data'])) return undefined
  const warnings = json['warnings']
  if (warnings !== undefined && !(Array.isArray(warnings) && warnings.every(w => typeof w === 'string')))
    return undefined
  if (
    (json['errorType'] !== undefined && typeof json['errorType'] !== 'string') ||
    (json['error'] !== undefined && typeof json['error'] !== 'string')
  )
    return undefined
  const data = json['data']
  const result = data['result']
  let samples: Sample[]
  if (data['resultType'] === 'vector' && Array.isArray(result)) {
    samples = new Array<Sample>(result.length)
    for (let i = 0; i < result.length; i++) {
      if (i % YIELD_EVERY === 0) await slices.tick()
      const el: unknown = result[i]
      if (!isRecord(el) || !isRecord(el['metric']) || !isPair(el['value'])) return undefined
      const metric = el['metric']
      let empty = false
      for (const name in metric) {
        const v = metric[name]
        if (typeof v !== 'string') return undefined
        if (v === '') empty = true
      }
      samples[i] = {
        labels: empty ? dropEmpty(metric as Record<string, string>) : (metric as Labels),
        value: parseSampleValue(el['value'][1], status),
      }
    }
  } else if (data['resultType'] === 'scalar' && isPair(result)) {
    samples = [{ labels: {}, value: parseSampleValue(result[1], status) }]
  } else {
    return undefined
  }
  return { samples, warnings: (warnings as string[] | undefined) ?? [] }
}

/** parseBody is the body as JSON, undefined when it is not JSON. */
async function parseBody(body: Buffer, slices: Slices): Promise<unknown> {
  try {
    return await parseJsonSliced(body, slices)
  } catch {
    return undefined
  }
}

async function toSamples(data: unknown, status: number, slices: Slices): Promise<Sample[]> {
  if (isRecord(data) && data['resultType'] === 'vector' && Array.isArray(data['result']))
    return vectorSamples(data['result'], status, slices)
  const parsed = QueryData.safeParse(data)
  if (!parsed.success) throw invalidData(status, 'query', parsed.error.issues[0], [])
  const result = parsed.data
  if (result.resultType === 'scalar') return [{ labels: {}, value: parseSampleValue(result.result[1], status) }]
  throw new QueryError('unsupported', status, 'rule result is not a vector or scalar')
}

/** vectorSamples checks every element of a vector (in slices), then converts them. */
async function vectorSamples(result: readonly unknown[], status: number, slices: Slices): Promise<Sample[]> {
  const checked = new Array<z.infer<typeof VectorElement>>(result.length)
  for (let i = 0; i < result.length; i++) {
    if (i % YIELD_EVERY === 0) await slices.tick()
    const parsed = VectorElement.safeParse(result[i])
    if (!parsed.success) throw invalidData(status, 'query', parsed.error.issues[0], ['result', i])
    checked[i] = parsed.data
  }
  const samples = new Array<Sample>(checked.length)
  for (let i = 0; i < checked.length; i++) {
    if (i % YIELD_EVERY === 0) await slices.tick()
    const el = checked[i] as z.infer<typeof VectorElement>
    if (el.value === undefined) {
      const message =
        el.histogram !== undefined ? 'native histograms are not supported' : 'vector sample without a value'
      throw new QueryError('unsupported', status, message)
    }
    samples[i] = { labels: dropEmpty(el.metric), value: parseSampleValue(el.value[1], status) }
  }
  return samples
}

function dropEmpty(metric: Record<string, string>): Labels {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(metric)) if (value !== '') out[name] = value
  return out
}

/** parseSampleValue parses a Prometheus sample value string, including "NaN", "+Inf" and "-Inf". */
export function parseSampleValue(text: string, status?: number): number {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text)
  if (special !== null) {
    if (special[2]?.toLowerCase() === 'nan') return Number.NaN
    return special[1] === '-' ? -Infinity : Infinity
  }
  const value = text.trim() === text && text !== '' ? Number(text) : Number.NaN
  if (Number.isNaN(value)) {
    throw new QueryError(
      'bad_response',
      status,
      `query failed: bad_response: invalid sample value ${JSON.stringify(bodySnippet(text, 40))}`,
    )
  }
  return value
}
