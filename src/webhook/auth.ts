/**
 * Authentication of webhook requests: a bearer token (Alertmanager's `http_config.authorization`) and/or basic auth
 * (`http_config.basic_auth`). Pure apart from hashing. The configured secrets are kept only as SHA-256 digests and
 * compared with crypto.timingSafeEqual on digests of what the request presents, so neither the comparison's
 * duration nor the secrets' lengths leak.
 */

import { createHash, timingSafeEqual } from 'node:crypto'

/** WebhookCredentials are the secrets read from the configured files (bearer token, basic auth user and password). */
export interface WebhookCredentials {
  readonly bearerToken?: string | undefined
  readonly basic?: { readonly username: string; readonly password: string } | undefined
}

/** AuthFailure says why a request is not authenticated (for the log line; the client only learns "401"). */
export type AuthFailure = 'missing' | 'unsupported_scheme' | 'malformed' | 'invalid'

/** AuthResult is the outcome of checking one request's Authorization header. */
export type AuthResult =
  | { readonly ok: true; readonly method: 'bearer' | 'basic' | 'none' }
  | { readonly ok: false; readonly reason: AuthFailure }

/** Authenticator checks Authorization headers; `challenges` are the WWW-Authenticate values of a 401. */
export interface Authenticator {
  readonly challenges: readonly string[]
  check(authorization: string | undefined): AuthResult
}

const REALM = 'rollguard'

/** noAuthentication accepts every request (webhook.insecure_no_auth: true). */
export function noAuthentication(): Authenticator {
  return { challenges: [], check: () => ({ ok: true, method: 'none' }) }
}

/** authenticator checks requests against the credentials; at least one kind must be configured. */
export function authenticator(credentials: WebhookCredentials): Authenticator {
  const bearer = credentials.bearerToken === undefined ? undefined : digest(credentials.bearerToken)
  const basic =
    credentials.basic === undefined
      ? undefined
      : { user: digest(credentials.basic.username), password: digest(credentials.basic.password) }
  if (bearer === undefined && basic === undefined)
    throw new Error('webhook authentication needs a bearer token or basic auth credentials')
  const challenges = [
    ...(bearer === undefined ? [] : [`Bearer realm="${REALM}"`]),
    ...(basic === undefined ? [] : [`Basic realm="${REALM}", charset="UTF-8"`]),
  ]
  return {
    challenges,
    check(authorization) {
      if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing' }
      const parsed = parseAuthorization(authorization)
      if (parsed === undefined) return { ok: false, reason: 'malformed' }
      if (parsed.scheme === 'bearer') {
        if (bearer === undefined) return { ok: false, reason: 'unsupported_scheme' }
        return equal(digest(parsed.token), bearer) ? { ok: true, method: 'bearer' } : { ok: false, reason: 'invalid' }
      }
      if (basic === undefined) return { ok: false, reason: 'unsupported_scheme' }
      // Both halves are always compared (no short-circuit), so a right user name is not observable.
      const userOk = equal(digest(parsed.username), basic.user)
      const passwordOk = equal(digest(parsed.password), basic.password)
      return userOk && passwordOk ? { ok: true, method: 'basic' } : { ok: false, reason: 'invalid' }
    },
  }
}

type Presented =
  | { readonly scheme: 'bearer'; readonly token: string }
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string }

/** parseAuthorization reads `Bearer <token>` or `Basic <base64(user:password)>` (schemes case-insensitive, RFC 9110). */
export function parseAuthorization(header: string): Presented | undefined {
  const m = /^([A-Za-z]+) +([^ ]+) *$/.exec(header)
  if (m === null) return undefined
  const scheme = (m[1] as string).toLowerCase()
  const value = m[2] as string
  if (scheme === 'bearer') return { scheme: 'bearer', token: value }
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

function equal(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(a, b)
}
