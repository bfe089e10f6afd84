import t from 'tap'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import {
  clientRefusal,
  opensslCiphers,
  secureContextOptions,
  subjectAltNames,
  type ServerTls,
} from '../../src/server/web-tls.js'

const TLS: ServerTls = {
  cert: 'CERT',
  key: 'KEY',
  clientCa: undefined,
  clientAuth: 'RequireAndVerifyClientCert',
  minVersion: 'TLS12',
  maxVersion: 'TLS13',
  ciphers: undefined,
  curves: undefined,
  preferServerCipherSuites: true,
  allowedSans: undefined,
}

/** socket is a finished handshake as clientRefusal sees it. */
function socket(cert: Partial<PeerCertificate> | undefined, authorized = true, error?: string): TLSSocket {
  return {
    getPeerCertificate: () => cert ?? {},
    authorized,
    authorizationError: error === undefined ? null : new Error(error),
  } as unknown as TLSSocket
}

t.test("cipher_suites: Go's names mapped to OpenSSL's, TLS 1.3 kept", async t => {
  t.equal(
    opensslCiphers(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256', 'TLS_RSA_WITH_AES_256_CBC_SHA']),
    'ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256',
  )
  t.throws(
    () => opensslCiphers(['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256']),
    /unknown cipher: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256/,
  )
  t.throws(() => opensslCiphers(['constructor']), /unknown cipher/)
})

t.test('secure context options', async t => {
  t.same(secureContextOptions({ ...TLS, clientCa: 'CA', curves: ['X25519', 'CurveP384'], ciphers: 'X' }), {
    cert: 'CERT',
    key: 'KEY',
    ca: 'CA',
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: 'X',
    ecdhCurve: 'X25519:P-384',
    honorCipherOrder: true,
  })
})

t.test("the SANs Go compares: DNS, e-mail, IP (Go's form), URI, quoted values", async t => {
  t.same(
    subjectAltNames({
      subjectaltname:
        'DNS:a.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:x@y.test, URI:spiffe://c/d, DNS:"e, f"',
    } as PeerCertificate),
    ['a.test', '127.0.0.1', '::1', 'x@y.test', 'spiffe://c/d', 'e, f'],
  )
  t.same(subjectAltNames({} as PeerCertificate), [])
})

t.test('client_auth_type and client_allowed_sans on a finished handshake', async t => {
  const cert = { subject: { CN: 'c' }, subjectaltname: 'DNS:client.test' } as unknown as PeerCertificate
  t.equal(clientRefusal(socket(undefined), { ...TLS, clientAuth: 'NoClientCert' }), undefined)
  t.equal(clientRefusal(socket(undefined), { ...TLS, clientAuth: 'RequestClientCert' }), undefined)
  t.equal(clientRefusal(socket(undefined), { ...TLS, clientAuth: 'VerifyClientCertIfGiven' }), undefined)
  t.match(clientRefusal(socket(undefined), { ...TLS, clientAuth: 'RequireAnyClientCert' }), { kind: 'no-certificate' })
  t.match(clientRefusal(socket(undefined), TLS), { kind: 'no-certificate' })
  t.equal(clientRefusal(socket(cert, false, 'X'), { ...TLS, clientAuth: 'RequireAnyClientCert' }), undefined)
  t.match(clientRefusal(socket(cert, false, 'CERT_HAS_EXPIRED'), TLS), {
    kind: 'untrusted',
    reason: 'client certificate not trusted: expired (CERT_HAS_EXPIRED; check client_ca_file)',
  })
  t.match(clientRefusal(socket(cert, false, 'ODD_ERROR'), { ...TLS, clientAuth: 'VerifyClientCertIfGiven' }), {
    reason: /not trusted: ODD_ERROR \(ODD_ERROR;/,
  })
  t.equal(clientRefusal(socket(cert), { ...TLS, allowedSans: ['client.test'] }), undefined)
  t.match(clientRefusal(socket(cert), { ...TLS, allowedSans: ['other.test'] }), {
    kind: 'sans',
    reason: 'client certificate has none of the client_allowed_sans (it has: client.test)',
  })
})
