/**
 * Per-source token buckets: each source may send `burst` requests at once and `perSecond` on average. Time is a
 * parameter (Unix ms). Bounded: beyond `maxSources` the least recently active source is forgotten (it starts
 * again with a full bucket, which only errs towards letting a request through).
 */

/** RateLimitSettings are `webhook.rate_limit`. */
export interface RateLimitSettings {
  readonly perSecond: number
  readonly burst: number
  readonly maxSources?: number
}

/** Admission is the verdict on one request; `retryAfterSeconds` is when the next token is there (at least 1). */
export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number }

interface Bucket {
  tokens: number
  at: number
}

const ADMITTED: Admission = { ok: true }

/** TokenBuckets rate-limits requests per source (the client IP). */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>()
  readonly #maxSources: number

  constructor(private readonly settings: RateLimitSettings) {
    if (!(settings.perSecond > 0) || !(settings.burst >= 1)) {
      throw new Error(`rate limit needs per_second > 0 and burst >= 1, got ${settings.perSecond} and ${settings.burst}`)
    }
    this.#maxSources = settings.maxSources ?? 10_000
  }

  /** take spends one token of `source` at time `now`, or says how long to wait. */
  take(source: string, now: number): Admission {
    const { perSecond, burst } = this.settings
    let bucket = this.#buckets.get(source)
    if (bucket === undefined) {
      bucket = { tokens: burst, at: now }
      if (this.#buckets.size >= this.#maxSources) this.#buckets.delete(this.#buckets.keys().next().value as string)
    } else {
      // Refill for the time passed; a clock that went backwards refills nothing.
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * perSecond)
      bucket.at = now
      this.#buckets.delete(source)
    }
    // Re-inserted on every request, so the map's first key is the least recently active source.
    this.#buckets.set(source, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return ADMITTED
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) }
  }

  get sources(): number {
    return this.#buckets.size
  }
}
