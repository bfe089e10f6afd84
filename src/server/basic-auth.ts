/**
 * basic_auth_users of the web config: HTTP basic auth against bcrypt hashes, as exporter-toolkit checks it. bcrypt
 * is slow on purpose, so it runs asynchronously (bcryptjs works in slices and yields between them), one comparison
 * at a time with a bounded queue, and verdicts are remembered under a digest of user, hash and password.
 */
import { createHash, randomBytes } from 'node:crypto'
import type bcryptjs from 'bcryptjs'

type Bcrypt = typeof bcryptjs
let bcryptModule: Promise<Bcrypt> | undefined

/** bcrypt is loaded at the first comparison: without basic_auth_users it would cost every daemon ~0.7 MB of heap. */
function bcrypt(): Promise<Bcrypt> {
  bcryptModule ??= import('bcryptjs').then(m => m.default)
  return bcryptModule
}

/** Verdict is a request's fate: let through, refuse (401), or too many comparisons already waiting (429). */
export type Verdict = 'ok' | 'denied' | 'busy'

/** BasicAuthLimits bound the memory and the work of one verifier. */
export interface BasicAuthLimits {
  /** cacheSize: verdicts remembered, each for successes and failures (exporter-toolkit keeps 100). */
  readonly cacheSize?: number
  /** maxWaiting: comparisons queued behind the running one; past it the answer is 'busy'. */
  readonly maxWaiting?: number
  /** compare is bcrypt's (tests count and hold its calls). */
  readonly compare?: (password: string, hash: string) => Promise<boolean>
}

/**
 * BasicAuthVerifier checks user:password pairs against bcrypt hashes. A failure never evicts a success: the two are
 * cached apart, so guessing passwords does not make the rightful users pay for bcrypt again.
 */
export class BasicAuthVerifier {
  readonly #users: ReadonlyMap<string, string>
  readonly #ok: BoundedSet
  readonly #denied: BoundedSet
  readonly #maxWaiting: number
  readonly #compare: (password: string, hash: string) => Promise<boolean>
  #waiting = 0
  #queue: Promise<unknown> = Promise.resolve()
  #dummy: Promise<string> | undefined

  constructor(users: Readonly<Record<string, string>>, limits: BasicAuthLimits = {}) {
    this.#users = new Map(Object.entries(users))
    this.#ok = new BoundedSet(limits.cacheSize ?? 100)
    this.#denied = new BoundedSet(limits.cacheSize ?? 100)
    this.#maxWaiting = limits.maxWaiting ?? 64
    this.#compare = limits.compare ?? (async (password, hash) => (await bcrypt()).compare(password, hash))
  }

  /** enabled is false without users: every request goes through. */
  get enabled(): boolean {
    return this.#users.size > 0
  }

  /** verify checks the Authorization header's basic credentials (undefined or another scheme: denied). */
  async verify(authorization: string | undefined): Promise<Verdict> {
    const credentials = parseBasicAuth(authorization)
    if (credentials === undefined) return 'denied'
    const { user, password } = credentials
    // Go's bcrypt refuses passwords over 72 bytes; bcryptjs would compare only their first 72.
    if (Buffer.byteLength(password, 'utf8') > 72) return 'denied'
    const known = this.#users.get(user)
    // An unknown user costs a bcrypt comparison too, so response times do not tell which users exist.
    const hash = known ?? (await this.#dummyHash())
    const key = digest(user, hash, password)
    if (this.#ok.has(key)) return 'ok'
    if (this.#denied.has(key)) return 'denied'
    if (this.#waiting >= this.#maxWaiting) return 'busy'
    const matches = await this.#serialized(() => this.#compare(password, hash))
    ;(matches && known !== undefined ? this.#ok : this.#denied).add(key)
    return matches && known !== undefined ? 'ok' : 'denied'
  }

  /** One comparison at a time (exporter-toolkit's bcryptMtx): bcrypt's CPU cost stays one core's slices. */
  #serialized<T>(work: () => Promise<T>): Promise<T> {
    this.#waiting++
    const run = this.#queue.then(work).finally(() => this.#waiting--)
    this.#queue = run.catch(() => undefined)
    return run
  }

  #dummyHash(): Promise<string> {
    this.#dummy ??= bcrypt().then(b => b.hash(randomBytes(16).toString('hex'), 10))
    return this.#dummy
  }
}

/** parseBasicAuth decodes `Basic base64(user:password)` as Go's Request.BasicAuth does; undefined when it is not that. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined
  const encoded = header.slice(6)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return undefined
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** digest keys the caches: the password itself is never kept. */
function digest(user: string, hash: string, password: string): string {
  return createHash('sha256')
    .update(JSON.stringify([user, hash, password]))
    .digest('hex')
}

/** BoundedSet forgets its oldest entry when full. */
class BoundedSet {
  readonly #items = new Set<string>()
  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.#items.has(key)
  }

  add(key: string): void {
    if (this.#items.size >= this.capacity) this.#items.delete(this.#items.values().next().value as string)
    this.#items.add(key)
  }
}
