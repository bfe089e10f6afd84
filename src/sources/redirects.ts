/**
 * Following redirects as Go's http.Client does (net/http client.go redirectBehavior), which Prometheus's clients
 * use with follow_redirects (default true): at most 10, and credentials only for the original host and its
 * subdomains (prometheus/common isCrossHostRedirect). Pure.
 */

/** MAX_REDIRECTS is Go's default CheckRedirect limit. */
export const MAX_REDIRECTS = 10

/** Redirect is the request to make next. */
export interface Redirect {
  readonly url: URL
  readonly method: string
  /** The body goes again only for 307 and 308. */
  readonly keepBody: boolean
}

/**
 * nextRequest is the request a response asks for, or undefined when the response is the answer: not a redirect
 * status, or a 3xx without a Location (Go returns those as they are).
 */
export function nextRequest(
  status: number,
  location: string | undefined,
  method: string,
  current: URL,
): Redirect | undefined {
  if (location === undefined || location === '') return undefined
  let keepBody: boolean
  let next = method
  switch (status) {
    case 301:
    case 302:
    case 303:
      keepBody = false
      // Go still turns every method but GET and HEAD into GET (its issue 18570).
      if (method !== 'GET' && method !== 'HEAD') next = 'GET'
      break
    case 307:
    case 308:
      keepBody = true
      break
    default:
      return undefined
  }
  let url: URL
  try {
    url = new URL(location, current)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  return { url, method: next, keepBody }
}

/** isDomainOrSubdomain is net/http's: sub equals parent or ends with "." + parent; IP addresses only equal. */
export function isDomainOrSubdomain(sub: string, parent: string): boolean {
  const s = sub.toLowerCase()
  const p = parent.toLowerCase()
  if (p === '') return false
  if (s === p) return true
  if (/[:%[]/.test(s)) return false
  return s.endsWith(p) && s[s.length - p.length - 1] === '.'
}

/** SENSITIVE_HEADERS are not sent to another host after a redirect (lower case). */
export const SENSITIVE_HEADERS = new Set([
  'authorization',
  'www-authenticate',
  'cookie',
  'cookie2',
  'proxy-authorization',
  'proxy-authenticate',
])
