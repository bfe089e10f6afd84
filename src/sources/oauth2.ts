/**
 * OAuth 2.0 client credentials (RFC 6749 4.4) as Prometheus's oauth2 block gets them (golang.org/x/oauth2
 * clientcredentials): a token from token_url, cached until 10 s before it expires; the client's id and secret
 * in a basic Authorization header, or in the form if the endpoint refuses that (Go's AuthStyleAutoDetect).
 */
import { z } from 'zod'
import { bodySnippet } from './http-auth.js'
import type { OAuth2Settings } from './http-client.js'

/** Token is an access token and the scheme it is sent with ("Bearer"). */
export interface Token {
  readonly type: string
  readonly value: string
  /** Unix ms after which it is not used; Infinity without expires_in. */
  readonly expiresAt: number
}

/** TokenAnswer is the token endpoint's response. */
export interface TokenAnswer {
  readonly status: number
  readonly statusText: string
  readonly contentType: string
  readonly body: string
}

/** PostForm POSTs a form to the token endpoint (through the oauth2 block's own TLS and proxy settings). */
export type PostForm = (url: string, form: string, headers: Record<string, string>) => Promise<TokenAnswer>

/** EXPIRY_DELTA is golang.org/x/oauth2's: a token is renewed this long before it expires. */
export const EXPIRY_DELTA_MS = 10_000

const TokenJson = z.looseObject({
  access_token: z.string().min(1, 'empty access_token'),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
})

/** OAuth2Tokens hands out the current token, fetching one when there is none or it is about to expire. */
export class OAuth2Tokens {
  #token: Token | undefined
  #fetching: Promise<Token> | undefined
  // Go's AuthStyleAutoDetect remembers which way of sending the client's credentials worked.
  #inForm: boolean | undefined

  constructor(
    private readonly settings: OAuth2Settings,
    private readonly post: PostForm,
    private readonly now: () => number = Date.now,
  ) {}

  /** token is a valid token, fetched if needed (one fetch at a time, shared by concurrent callers). */
  async token(): Promise<Token> {
    const cached = this.#token
    if (cached !== undefined && this.now() < cached.expiresAt - EXPIRY_DELTA_MS) return cached
    this.#fetching ??= this.#fetch().finally(() => (this.#fetching = undefined))
    return this.#fetching
  }

  /** invalidate drops token (the server refused it) so the next call fetches a new one. */
  invalidate(token: Token): void {
    if (this.#token === token) this.#token = undefined
  }

  async #fetch(): Promise<Token> {
    if (this.#inForm !== undefined) return this.#store(await this.#ask(this.#inForm))
    try {
      const token = await this.#ask(false)
      this.#inForm = false
      return this.#store(token)
    } catch (headerErr) {
      try {
        const token = await this.#ask(true)
        this.#inForm = true
        return this.#store(token)
      } catch {
        throw headerErr
      }
    }
  }

  #store(token: Token): Token {
    this.#token = token
    return token
  }

  async #ask(inForm: boolean): Promise<Token> {
    const { clientId, clientSecret, tokenUrl, scopes, endpointParams } = this.settings
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (scopes.length > 0) form.set('scope', scopes.join(' '))
    if (inForm) {
      form.set('client_id', clientId)
      if (clientSecret !== '') form.set('client_secret', clientSecret)
    }
    for (const [key, value] of Object.entries(endpointParams)) form.set(key, value)
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' }
    if (!inForm) {
      const user = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`
      headers['Authorization'] = `Basic ${Buffer.from(user).toString('base64')}`
    }
    const started = this.now()
    const answer = await this.post(tokenUrl, form.toString(), headers)
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`HTTP ${`${answer.status} ${answer.statusText}`.trimEnd()}: ${bodySnippet(answer.body)}`)
    }
    return parseToken(answer, started)
  }
}

/** parseToken reads a token response (JSON, or a form as some endpoints answer); times from `at` (Unix ms). */
export function parseToken(answer: TokenAnswer, at: number): Token {
  let raw: unknown
  if (/application\/x-www-form-urlencoded|text\/plain/.test(answer.contentType)) {
    raw = Object.fromEntries(new URLSearchParams(answer.body))
  } else {
    try {
      raw = JSON.parse(answer.body)
    } catch {
      throw new Error(`the token response is not JSON: ${bodySnippet(answer.body)}`)
    }
  }
  const parsed = TokenJson.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`unexpected token response (${issue?.path.join('.') || 'top level'}: ${issue?.message ?? ''})`)
  }
  const { access_token: value, token_type: type = '', expires_in: expiresIn } = parsed.data
  return {
    value,
    type: type === '' || type.toLowerCase() === 'bearer' ? 'Bearer' : type,
    expiresAt: expiresIn === undefined || expiresIn === 0 ? Infinity : at + expiresIn * 1000,
  }
}
