/**
 * Reading HTTP response bodies with a bound. A body is counted while it streams in, on the wire and after
 * decompression, and the moment it passes its limit the response (and with it the connection) is destroyed and
 * what was read is dropped: a careless `{__name__=~".+"}` rule, a misbehaving proxy or a gzip bomb costs at most
 * the limit in memory, never the whole answer.
 */

import type http from 'node:http'
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'

export const KiB = 1024
export const MiB = 1024 * KiB

/**
 * MAX_LIMIT_BYTES caps every configurable limit: a body becomes one string, and V8's strings stop just short of
 * 512 MiB (2^29 - 24 characters).
 */
export const MAX_LIMIT_BYTES = 512 * MiB

/**
 * Defaults of the response-size settings (docs/limits.md, "Response sizes"), kept here so the config schema and
 * the clients share them without the schema loading the clients.
 * - Prometheus (prometheus.max_response_bytes): ~150,000 series of an instant vector (~200 bytes of JSON each) or
 *   ~5,000 series of a backtest's 240-step range window, far more than an alerting rule should return.
 * - Alertmanager (alertmanager.max_response_bytes): ~20,000 silences (~400 bytes each), expired ones included, as
 *   GET /api/v2/silences returns them for the retention (5 days by default).
 * - Kubernetes (kubernetes.max_response_bytes): ~2,000 ReplicaSets with their managedFields in one list; rollguard
 *   lists only one workload's.
 */
export const DEFAULT_LIMITS = { prometheus: 32 * MiB, alertmanager: 8 * MiB, kubernetes: 16 * MiB } as const

/** formatBytes renders a byte count for people: "33554432 bytes (32 MiB)". */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes} bytes (${bytes / MiB} MiB)`
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes} bytes (${bytes / KiB} KiB)`
  return `${bytes} bytes`
}

/** ResponseTooLargeError is a body that passed its limit; `key` is the setting that raises the limit. */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError'
  constructor(
    readonly limitBytes: number,
    readonly key: string | undefined,
  ) {
    super(
      `response exceeds ${formatBytes(limitBytes)}${key === undefined ? '' : `; raise ${key} to accept larger answers`}`,
    )
  }
}

/** UnsupportedEncodingError is a Content-Encoding rollguard cannot decode. */
export class UnsupportedEncodingError extends Error {
  override readonly name = 'UnsupportedEncodingError'
  constructor(readonly encoding: string) {
    super(`unsupported content encoding ${JSON.stringify(encoding)}`)
  }
}

/** BodyLimit bounds one body. */
export interface BodyLimit {
  /** The most bytes read, counted on the wire and again after decompression. */
  readonly maxBytes: number
  /** The setting that raises the limit, named in the error. */
  readonly key?: string | undefined
  /**
   * Keep the first maxBytes and stop reading there instead of failing, for bodies only ever quoted in errors; a
   * Content-Encoding that cannot be undone is then read as it is, not an error (the status is the answer).
   */
  readonly truncate?: boolean
}

/**
 * readBody reads res to its end, undoing its Content-Encoding (gzip, deflate, br), and resolves with the decoded
 * bytes. Past the limit it rejects with ResponseTooLargeError (with truncate: resolves with the first maxBytes)
 * and destroys the response, which closes the connection: nothing more is read, and the chunks read are dropped.
 * A body cut short (reset, premature close) rejects with the stream's error; it never resolves with a part.
 */
export async function readBody(res: http.IncomingMessage, limit: BodyLimit): Promise<Buffer> {
  const encoding = res.headers['content-encoding']
  const decoder = decoderFor(encoding) ?? (limit.truncate === true ? 'identity' : undefined)
  if (decoder === undefined) {
    res.destroy()
    throw new UnsupportedEncodingError(encoding ?? '')
  }
  // The server said how much is coming: nothing of it needs reading to know it is too much.
  if (decoder === 'identity' && limit.truncate !== true && Number(res.headers['content-length']) > limit.maxBytes) {
    res.destroy()
    throw new ResponseTooLargeError(limit.maxBytes, limit.key)
  }
  if (decoder === 'identity') return readPlain(res, limit)
  const sink = new Collector(limit)
  try {
    // Truncating, the compressed bytes are not counted: a few of them may be all the decoded bytes kept, and
    // memory is bounded by what is kept anyway (time by the caller's timeout).
    if (limit.truncate === true) await pipeline(res, decoder(), sink)
    else await pipeline(res, new WireCount(limit), decoder(), sink)
  } catch (err) {
    // pipeline has destroyed every stream, res and its socket included.
    if (!(err instanceof Enough)) {
      sink.drop()
      throw err
    }
  }
  return sink.take()
}

/**
 * readPlain reads an unencoded body (every Prometheus query: rollguard asks for identity) with three listeners of
 * its own instead of a pipeline into a Collector, whose machinery (a Writable, end-of-stream watchers on both
 * streams, their promises) was the largest allocation per query. At 4,000 rules (docs/benchmarks.md) this cut the
 * daemon's allocation from ~41 to ~33 MB/s and its CPU by about a sixth.
 */
function readPlain(res: http.IncomingMessage, limit: BodyLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const kept = new Chunks(limit)
    res.on('data', (chunk: Buffer) => {
      const stop = kept.add(chunk)
      if (stop === undefined) return
      if (stop instanceof Enough) resolve(kept.take())
      else reject(stop)
      res.destroy() // and with it the connection: nothing more is read
    })
    res.once('end', () => resolve(kept.take()))
    res.once('error', reject)
    // A response whose connection closed before its end (reset, premature close) is not an answer.
    res.once('close', () => {
      if (!res.complete)
        reject(new Error('response ended prematurely (connection closed before the body was complete)'))
    })
  })
}

type Decoder = 'identity' | (() => Transform)

/** decoderFor is the stream that undoes a Content-Encoding; undefined when rollguard cannot. */
function decoderFor(header: string | undefined): Decoder | undefined {
  switch ((header ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return 'identity'
    case 'gzip':
    case 'x-gzip':
      return () => zlib.createGunzip()
    case 'deflate':
      return () => zlib.createInflate()
    case 'br':
      return () => zlib.createBrotliDecompress()
    default:
      return undefined
  }
}

/** Enough ends a truncating read early; readBody turns it into a result. */
class Enough extends Error {}

/** WireCount passes compressed bytes on, failing once more than the limit came over the wire. */
class WireCount extends Transform {
  #size = 0
  constructor(private readonly limit: BodyLimit) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#size += chunk.length
    if (this.#size > this.limit.maxBytes) done(new ResponseTooLargeError(this.limit.maxBytes, this.limit.key))
    else done(null, chunk)
  }
}

/** Chunks keeps a body's chunks up to the limit. */
class Chunks {
  #chunks: Buffer[] = []
  #size = 0
  constructor(private readonly limit: BodyLimit) {}

  /**
   * add keeps chunk and returns undefined while the body is within the limit. Past it, it keeps what fits and returns
   * Enough when truncating, else drops everything at once (memory goes back as soon as the limit is hit) and returns
   * ResponseTooLargeError.
   */
  add(chunk: Buffer): Error | undefined {
    const room = this.limit.maxBytes - this.#size
    if (chunk.length <= room) {
      this.#chunks.push(chunk)
      this.#size += chunk.length
      return undefined
    }
    if (this.limit.truncate === true) {
      if (room > 0) this.#chunks.push(chunk.subarray(0, room))
      this.#size += Math.max(0, room)
      return new Enough()
    }
    this.drop()
    return new ResponseTooLargeError(this.limit.maxBytes, this.limit.key)
  }

  drop(): void {
    this.#chunks = []
    this.#size = 0
  }

  take(): Buffer {
    const chunks = this.#chunks
    this.#chunks = []
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size)
  }
}

/** Collector is a stream's end for a pipeline, keeping the decoded chunks up to the limit. */
class Collector extends Writable {
  readonly #kept: Chunks
  constructor(limit: BodyLimit) {
    super()
    this.#kept = new Chunks(limit)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    done(this.#kept.add(chunk) ?? null)
  }

  drop(): void {
    this.#kept.drop()
  }

  take(): Buffer {
    return this.#kept.take()
  }
}
