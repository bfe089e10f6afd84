/**
 * exporter-toolkit's tls_server_config in Node's terms: Go's names (TLS versions, cipher suites, curves, client auth
 * types) mapped to OpenSSL's, the secure-context options of rollguard's listener, and the client-certificate policy
 * checked on each new connection.
 */
import type { PeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls'

/** CLIENT_AUTH_TYPES are Go's tls.ClientAuthType names, as exporter-toolkit reads client_auth_type. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number]

/** TLS_VERSIONS are Go's version names mapped to Node's. */
export const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const
export type TlsVersionName = keyof typeof TLS_VERSIONS

/** CURVES are exporter-toolkit's curve_preferences names mapped to OpenSSL's group names. */
export const CURVES = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' } as const
export type CurveName = keyof typeof CURVES

/**
 * GO_CIPHER_SUITES are the names Go's tls.CipherSuites() lists (the ones exporter-toolkit accepts), mapped to
 * OpenSSL's; null for TLS 1.3 suites, which neither Go nor rollguard lets a configuration choose.
 */
const GO_CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
}

// OpenSSL's TLS 1.3 suites: Node caps a listener at TLS 1.2 when its cipher list names none (Go keeps 1.3).
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256'

/** opensslCiphers maps cipher_suites to Node's `ciphers` string, or throws naming the first name it cannot map. */
export function opensslCiphers(names: readonly string[]): string {
  const mapped: string[] = []
  for (const name of names) {
    if (!Object.hasOwn(GO_CIPHER_SUITES, name)) throw new Error(`unknown cipher: ${name}`)
    const openssl = GO_CIPHER_SUITES[name]
    if (openssl !== null && openssl !== undefined) mapped.push(openssl)
  }
  return [...mapped, TLS13_SUITES].join(':')
}

/** ServerTls is a validated tls_server_config with its certificate, key and client CAs read. */
export interface ServerTls {
  readonly cert: string
  readonly key: string
  /** clientCa is the PEM of client_ca_file or client_ca; without it client certificates are checked against Node's CAs. */
  readonly clientCa: string | undefined
  readonly clientAuth: ClientAuthType
  readonly minVersion: TlsVersionName
  readonly maxVersion: TlsVersionName
  /** ciphers is OpenSSL's cipher string for cipher_suites, undefined for Node's defaults. */
  readonly ciphers: string | undefined
  readonly curves: readonly CurveName[] | undefined
  readonly preferServerCipherSuites: boolean
  readonly allowedSans: readonly string[] | undefined
}

/** secureContextOptions are the listener's TLS options for tls (also what setSecureContext takes on a rotation). */
export function secureContextOptions(tls: ServerTls): SecureContextOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa }),
    minVersion: TLS_VERSIONS[tls.minVersion],
    maxVersion: TLS_VERSIONS[tls.maxVersion],
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    ...(tls.curves === undefined ? {} : { ecdhCurve: tls.curves.map(c => CURVES[c]).join(':') }),
    honorCipherOrder: tls.preferServerCipherSuites,
  }
}

/** requestsClientCert says whether the server asks clients for a certificate at all. */
export function requestsClientCert(tls: ServerTls): boolean {
  return tls.clientAuth !== 'NoClientCert'
}

/** Refusal is why a client is disconnected; kind is a small fixed set (log lines are limited per kind). */
export interface Refusal {
  readonly kind: 'no-certificate' | 'untrusted' | 'sans'
  readonly reason: string
}

/**
 * clientRefusal applies client_auth_type and client_allowed_sans to a finished handshake: why the client must be
 * disconnected, or undefined to serve it. The server asks for certificates without letting OpenSSL refuse them, so
 * every refusal is decided (and logged) here, as Go's crypto/tls decides it during the handshake.
 */
export function clientRefusal(socket: TLSSocket, tls: ServerTls): Refusal | undefined {
  if (tls.clientAuth === 'NoClientCert' || tls.clientAuth === 'RequestClientCert') return undefined
  const cert = socket.getPeerCertificate()
  const presented = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0
  if (!presented)
    return tls.clientAuth === 'VerifyClientCertIfGiven'
      ? undefined
      : { kind: 'no-certificate', reason: 'no client certificate presented' }
  const verify = tls.clientAuth === 'VerifyClientCertIfGiven' || tls.clientAuth === 'RequireAndVerifyClientCert'
  if (verify && !socket.authorized) {
    // Node gives the OpenSSL code as a string, though typed as an Error.
    const error: unknown = socket.authorizationError
    const code = typeof error === 'string' ? error : error instanceof Error ? error.message : 'not verified'
    const reason = `client certificate not trusted: ${CERT_ERRORS[code] ?? code} (${code}; check client_ca_file)`
    return { kind: 'untrusted', reason }
  }
  const sans = subjectAltNames(cert)
  if (tls.allowedSans !== undefined && !sans.some(san => tls.allowedSans?.includes(san)))
    return {
      kind: 'sans',
      reason: `client certificate has none of the client_allowed_sans (it has: ${sans.join(', ') || 'no SAN'})`,
    }
  return undefined
}

const CERT_ERRORS: Readonly<Record<string, string>> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by an unknown authority',
  UNABLE_TO_GET_ISSUER_CERT: 'signed by an unknown authority',
  SELF_SIGNED_CERT_IN_CHAIN: 'signed by an unknown authority',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by an unknown authority',
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not valid yet',
}

/** subjectAltNames lists a certificate's DNS names, e-mail addresses, IP addresses and URIs, as Go compares them. */
export function subjectAltNames(cert: PeerCertificate): string[] {
  const text = cert.subjectaltname
  if (text === undefined || text === '') return []
  const out: string[] = []
  // Node's form: `DNS:a, IP Address:127.0.0.1, email:x@y, URI:spiffe://z` (values with commas are JSON-quoted).
  for (const match of text.matchAll(/(DNS|IP Address|email|URI):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = match[2] as string
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw
    out.push(match[1] === 'IP Address' ? canonicalIp(value) : value)
  }
  return out
}

/** canonicalIp writes an IPv6 address as Go's net.IP.String does (Node prints it uncompressed). */
function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  } catch {
    return ip
  }
}
