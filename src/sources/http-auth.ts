/** HttpAuth is the credential sent to Prometheus or Alertmanager; it never appears in errors or logs. */
export type HttpAuth =
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  /** authorization: {type, credentials}: the header is "<scheme> <credentials>" (Prometheus's authorization block). */
  | { readonly type: 'authorization'; readonly scheme: string; readonly credentials: string }

/** authorizationHeader returns the Authorization header value for auth, or undefined without auth. */
export function authorizationHeader(auth: HttpAuth | undefined): string | undefined {
  if (auth === undefined) return undefined
  if (auth.type === 'bearer') return `Bearer ${auth.token}`
  if (auth.type === 'authorization') return `${auth.scheme} ${auth.credentials}`
  return 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')
}

/** requestHeaders merges custom headers with the Authorization header (auth wins over a custom one). */
export function requestHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  auth: HttpAuth | undefined,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (auth !== undefined && name.toLowerCase() === 'authorization') continue
    out[name] = value
  }
  const authorization = authorizationHeader(auth)
  if (authorization !== undefined) out['Authorization'] = authorization
  return out
}

/** redactUrl removes user information (user:password@) from a URL so it can be logged or used as a label. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.username === '' && parsed.password === '') return url
    parsed.username = ''
    parsed.password = ''
    return parsed.toString()
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//')
  }
}

/** joinUrlPath appends path to the URL's own path prefix, like Go's path.Join("/", prefix, path). */
export function joinUrlPath(base: string, path: string): string {
  const url = new URL(base)
  const prefix = url.pathname.replace(/\/+$/, '')
  url.pathname = `${prefix}/${path.replace(/^\/+/, '')}`.replace(/\/{2,}/g, '/')
  url.search = ''
  url.hash = ''
  return url.toString()
}

/** bodySnippet returns the start of a response body, whitespace collapsed, for error messages. */
export function bodySnippet(body: string, max = 256): string {
  const text = body.replace(/\s+/g, ' ').trim()
  return text.length > max ? `${text.slice(0, max)}...` : text
}
