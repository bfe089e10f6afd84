import type http from 'node:http'
import type { Logger } from 'pino'
import type { Labels } from '../engine/types.js'
import { linkSignals } from '../runtime/signals.js'
import { readBody } from './bounded-body.js'
import { redactUrl } from './http-auth.js'
import { HttpClient, type HttpClientOptions, type HttpRequest } from './http-transport.js'
import type { ProbeResult, ProbeStore } from './probe-store.js'
import { errorText } from '../errors.js'

/** StatusRange is an inclusive range of accepted HTTP status codes. */
export interface StatusRange {
  readonly min: number
  readonly max: number
}

/** DEFAULT_EXPECTED_STATUS accepts any 2xx response. */
export const DEFAULT_EXPECTED_STATUS: readonly StatusRange[] = [{ min: 200, max: 299 }]

/** ProbeSpec configures one HTTP health probe. */
export interface ProbeSpec {
  readonly name: string
  readonly url: string
  readonly intervalMs: number
  readonly timeoutMs: number
  /** expectedStatus defaults to DEFAULT_EXPECTED_STATUS. */
  readonly expectedStatus?: readonly StatusRange[]
  readonly method?: 'GET' | 'HEAD'
  readonly headers?: Readonly<Record<string, string>>
  readonly labels: Labels
  /** staleAfterMs defaults to 3 × intervalMs. */
  readonly staleAfterMs?: number
  /** The probe's http_config (tls_config, authorization, basic_auth, oauth2, proxy, follow_redirects). */
  readonly client?: HttpClientOptions
  /** Its config section, named in errors; default `probes`. */
  readonly section?: string
}

/** ProbeTransport sends a probe's request: an HttpClient, or a stand-in in tests. */
export interface ProbeTransport {
  request(url: string, req: HttpRequest): Promise<http.IncomingMessage>
  close(): void
}

/** probeClient is the HttpClient of one probe, which names it in errors. */
export function probeClient(spec: ProbeSpec): HttpClient {
  return new HttpClient({ ...spec.client, peer: `probe "${spec.name}"`, section: spec.section ?? 'probes' })
}

/** PROBE_BODY_BYTES is what is read of a probe's answer before the connection is dropped (only the status counts). */
const PROBE_BODY_BYTES = 64 * 1024

/** HealthProberOptions configures createHealthProber; results go to store and onResult. */
export interface HealthProberOptions {
  readonly probes: readonly ProbeSpec[]
  readonly store?: ProbeStore
  readonly onResult?: (result: ProbeResult) => void
  readonly logger?: Logger
}

/** HealthProber runs every probe on its own timer until stopped. */
export interface HealthProber {
  start(): void
  /** stop cancels the timers, aborts in-flight probes and waits for them; their results are discarded. */
  stop(): Promise<void>
}

/** parseStatusPattern parses "200", "2xx" or "200-299" into a StatusRange; throws on anything else. */
export function parseStatusPattern(pattern: string): StatusRange {
  const text = pattern.trim().toLowerCase()
  let range: StatusRange | undefined
  if (/^[1-5]xx$/.test(text)) range = { min: Number(text[0]) * 100, max: Number(text[0]) * 100 + 99 }
  else if (/^\d{3}$/.test(text)) range = { min: Number(text), max: Number(text) }
  else {
    const m = /^(\d{3})\s*-\s*(\d{3})$/.exec(text)
    if (m !== null) range = { min: Number(m[1]), max: Number(m[2]) }
  }
  if (range === undefined || range.min < 100 || range.max > 599 || range.min > range.max) {
    throw new Error(
      `invalid expected status ${JSON.stringify(pattern)}: use a code (200), a class (2xx) or a range (200-399)`,
    )
  }
  return range
}

/** runProbe performs one probe request; it never throws: timeouts and connection errors are failures. */
export async function runProbe(
  spec: ProbeSpec,
  transport?: ProbeTransport,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const own = transport === undefined ? probeClient(spec) : undefined
  try {
    return await probeOnce(spec, transport ?? (own as ProbeTransport), signal)
  } finally {
    own?.close()
  }
}

async function probeOnce(spec: ProbeSpec, transport: ProbeTransport, signal?: AbortSignal): Promise<ProbeResult> {
  const at = Date.now()
  const started = performance.now()
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(), spec.timeoutMs)
  // Not AbortSignal.any: on Node 20 each call leaves an entry on the prober's long-lived signal (see linkSignals).
  const combined = linkSignals(signal === undefined ? [timeout.signal] : [timeout.signal, signal])
  const result = (fields: Omit<ProbeResult, 'probe' | 'durationMs' | 'at'>): ProbeResult => ({
    probe: spec.name,
    durationMs: performance.now() - started,
    at,
    ...fields,
  })
  try {
    const res = await transport.request(spec.url, {
      method: spec.method ?? 'GET',
      headers: { ...spec.headers },
      signal: combined.signal,
    })
    // Read (a little) so the connection can serve the next probe; a bigger body just closes it.
    await readBody(res, { maxBytes: PROBE_BODY_BYTES, truncate: true }).catch(() => undefined)
    const status = res.statusCode ?? 0
    const ok = (spec.expectedStatus ?? DEFAULT_EXPECTED_STATUS).some(r => status >= r.min && status <= r.max)
    return result(
      ok
        ? { success: true, statusCode: status }
        : { success: false, statusCode: status, error: `unexpected status code ${status}` },
    )
  } catch (err) {
    const error = timeout.signal.aborted ? `timeout after ${spec.timeoutMs}ms` : describeError(err)
    return result({ success: false, error })
  } finally {
    clearTimeout(timer)
    combined.dispose()
  }
}

// An error's message could quote the URL, credentials included: strip them.
function describeError(err: unknown): string {
  return errorText(err).replace(/\/\/[^/\s@]*@/g, '//')
}

/** createHealthProber returns a prober that runs each probe every intervalMs, starting immediately. */
export function createHealthProber(opts: HealthProberOptions): HealthProber {
  const clients = new Map<string, HttpClient>()
  const timers = new Map<string, NodeJS.Timeout>()
  const inFlight = new Set<Promise<void>>()
  const lastSuccess = new Map<string, boolean>()
  let abort = new AbortController()
  let running = false

  const publish = (spec: ProbeSpec, result: ProbeResult): void => {
    opts.store?.record(result)
    logTransition(opts.logger, spec, result, lastSuccess.get(spec.name))
    lastSuccess.set(spec.name, result.success)
    try {
      opts.onResult?.(result)
    } catch (err) {
      opts.logger?.error({ err, probe: spec.name }, 'probe result callback failed')
    }
  }

  const schedule = (spec: ProbeSpec, delayMs: number): void => {
    timers.set(
      spec.name,
      setTimeout(() => {
        const startedAt = Date.now()
        const signal = abort.signal
        let client = clients.get(spec.name)
        if (client === undefined) {
          client = probeClient(spec)
          clients.set(spec.name, client)
        }
        const run = runProbe(spec, client, signal)
          .then(result => {
            if (!running || signal.aborted) return
            publish(spec, result)
            schedule(spec, Math.max(0, startedAt + spec.intervalMs - Date.now()))
          })
          .catch((err: unknown) => opts.logger?.error({ err, probe: spec.name }, 'probe loop failed'))
        inFlight.add(run)
        void run.finally(() => inFlight.delete(run))
      }, delayMs),
    )
  }

  return {
    start() {
      if (running) return
      running = true
      abort = new AbortController()
      opts.store?.setTargets(
        opts.probes.map(p => ({
          name: p.name,
          url: p.url,
          labels: p.labels,
          staleAfterMs: p.staleAfterMs ?? 3 * p.intervalMs,
        })),
      )
      for (const spec of opts.probes) schedule(spec, 0)
    },
    async stop() {
      running = false
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
      abort.abort()
      await Promise.allSettled([...inFlight])
      for (const client of clients.values()) client.close()
      clients.clear()
    },
  }
}

function logTransition(
  logger: Logger | undefined,
  spec: ProbeSpec,
  result: ProbeResult,
  previous: boolean | undefined,
): void {
  if (logger === undefined || previous === result.success) return
  const fields = {
    probe: spec.name,
    url: redactUrl(spec.url),
    statusCode: result.statusCode,
    durationMs: Math.round(result.durationMs),
  }
  if (result.success) logger.info(fields, 'probe succeeded')
  else logger.warn({ ...fields, error: result.error }, 'probe failed')
}
