/** Go net/url helpers used by Prometheus template functions: SplitHostPort, ParseIP, QueryEscape. */

import { utf8Encode } from './strconv.js'

/** HostPort is the result of a successful net.SplitHostPort. */
export interface HostPort {
  readonly host: string
  readonly port: string
}

/** splitHostPort is Go's net.SplitHostPort; undefined means Go returned an error. */
export function splitHostPort(hostport: string): HostPort | undefined {
  const i = hostport.lastIndexOf(':')
  if (i < 0) return undefined
  let host: string
  let j = 0
  let k = 0
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']')
    // The closing bracket must come right before the last colon.
    if (end < 0 || end + 1 !== i) return undefined
    host = hostport.slice(1, end)
    j = 1
    k = end + 1
  } else {
    host = hostport.slice(0, i)
    if (host.includes(':')) return undefined
  }
  if (hostport.indexOf('[', j) >= 0 || hostport.indexOf(']', k) >= 0) return undefined
  return { host, port: hostport.slice(i + 1) }
}

/** joinHostPort is Go's net.JoinHostPort. */
export function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

function isIPv4(s: string): boolean {
  const parts = s.split('.')
  return parts.length === 4 && parts.every(p => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
}

function isIPv6(s: string): boolean {
  const halves = s.split('::')
  if (halves.length > 2) return false
  let groups = 0
  for (const [h, half] of halves.entries()) {
    if (half === '') continue
    const segs = half.split(':')
    for (const [n, seg] of segs.entries()) {
      const last = h === halves.length - 1 && n === segs.length - 1
      if (last && seg.includes('.')) {
        if (!isIPv4(seg)) return false
        groups += 2
      } else if (/^[0-9a-fA-F]{1,4}$/.test(seg)) groups++
      else return false
    }
  }
  return halves.length === 2 ? groups < 8 : groups === 8
}

/** isIP reports whether Go's net.ParseIP accepts s. */
export function isIP(s: string): boolean {
  return s.includes(':') ? isIPv6(s) : isIPv4(s)
}

/** queryEscape is Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = ''
  for (const b of utf8Encode(s)) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c
    else if (c === ' ') out += '+'
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** urlPath returns the (decoded) path of a URL like Go's url.URL.Path. */
export function urlPath(u: string): string {
  const afterScheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(u)
  let rest = afterScheme === null ? u : u.slice(afterScheme[0].length)
  if (rest.startsWith('//')) rest = rest.slice(2).replace(/^[^/?#]*/, '')
  const path = rest.replace(/[?#].*$/s, '')
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
