import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { stringify } from 'yaml'
import { parseGoDuration } from '../../src/server/go-duration.js'
import { readWebConfig } from '../../src/server/web-config.js'
import { ALICE, makePki, type TestPki } from '../fixtures/tls.js'

const dir = mkdtempSync(join(tmpdir(), 'rollguard-web-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const pki: TestPki = makePki(dir)
let n = 0

/** write puts text into a new web config file in dir (or sub) and returns its path. */
function write(text: string, sub = ''): string {
  const where = join(dir, sub)
  mkdirSync(where, { recursive: true })
  const file = join(where, `web-${++n}.yml`)
  writeFileSync(file, text)
  return file
}

async function read(text: string) {
  const file = write(text)
  const problems: string[] = []
  const config = await readWebConfig(file, problems)
  return { file, config, problems }
}

t.test('an empty file: plain HTTP, no users, no headers', async t => {
  const { config, problems } = await read('')
  t.same(problems, [])
  t.match(config, { tls: undefined, users: {}, headers: {}, http2: true, rateLimit: undefined })
})

t.test('a full file as Prometheus reads it, paths relative to the file', async t => {
  const file = write(
    stringify({
      tls_server_config: {
        cert_file: relative(join(dir, 'conf'), pki.serverCert),
        key_file: relative(join(dir, 'conf'), pki.serverKey),
        client_auth_type: 'RequireAndVerifyClientCert',
        client_ca_file: relative(join(dir, 'conf'), pki.caFile),
        min_version: 'TLS13',
        cipher_suites: ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256'],
        curve_preferences: ['X25519', 'CurveP256'],
        client_allowed_sans: ['client.example'],
      },
      http_server_config: {
        http2: false,
        headers: { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' },
      },
      basic_auth_users: { [ALICE.username]: ALICE.bcrypt },
      rate_limit: { burst: 5, interval: '1m30s' },
    }),
    'conf',
  )
  const problems: string[] = []
  const config = await readWebConfig(file, problems)
  t.same(problems, [])
  t.match(config?.tls, {
    clientAuth: 'RequireAndVerifyClientCert',
    minVersion: 'TLS13',
    maxVersion: 'TLS13',
    ciphers: /^ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_256_GCM_SHA384:/,
    curves: ['X25519', 'CurveP256'],
    allowedSans: ['client.example'],
    preferServerCipherSuites: true,
  })
  t.match(config?.tls?.cert, /BEGIN CERTIFICATE/)
  t.match(config?.tls?.clientCa, /BEGIN CERTIFICATE/)
  t.same(config?.users, { alice: ALICE.bcrypt })
  t.same(config?.headers, { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' })
  t.equal(config?.http2, false)
  t.same(config?.rateLimit, { burst: 5, intervalMs: 90_000 })
  t.same(config?.files, [file, pki.serverCert, pki.serverKey, pki.caFile], 'the files whose changes re-read it')
})

t.test('inline cert, key and client_ca; RequireClientCert is the old name of RequireAnyClientCert', async t => {
  const { readFileSync } = await import('node:fs')
  const { config, problems } = await read(
    stringify({
      tls_server_config: {
        cert: readFileSync(pki.serverCert, 'utf8'),
        key: readFileSync(pki.serverKey, 'utf8'),
        client_ca: readFileSync(pki.caFile, 'utf8'),
        client_auth_type: 'RequireClientCert',
      },
    }),
  )
  t.same(problems, [])
  t.equal(config?.tls?.clientAuth, 'RequireAnyClientCert')
  t.equal(config?.files.length, 1)
})

/** Each case: the file's text, and the problem line expected (after the file name). */
const INVALID: Array<[string, string, RegExp]> = [
  ['unknown top-level key', 'tls_config:\n  cert_file: x\n', /^:1:1: tls_config: unknown field/],
  [
    'a typo in tls_server_config',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  keyfile: x\n`,
    /^:3:3: tls_server_config\.keyfile: unknown field/,
  ],
  [
    'an unknown client_auth_type',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireCert\n`,
    /^:4:3: tls_server_config\.client_auth_type: must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert$/,
  ],
  [
    'a certificate without a key',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n`,
    /^:1:1: tls_server_config: missing one of key or key_file$/,
  ],
  [
    'a client CA without a client auth policy',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_ca_file: ${pki.caFile}\n`,
    /^:4:3: tls_server_config\.client_ca_file: client CA's have been configured without a Client Auth Policy \(set client_auth_type\)$/,
  ],
  [
    'client_allowed_sans without a required certificate',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [a]\n`,
    /^:5:3: tls_server_config\.client_allowed_sans: client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert$/,
  ],
  [
    'an unknown cipher suite',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n`,
    /^:4:18: tls_server_config\.cipher_suites: unknown cipher: TLS_RSA_WITH_RC4_128_SHA/,
  ],
  [
    'min_version above max_version',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  min_version: TLS13\n  max_version: TLS12\n`,
    /^:4:16: tls_server_config\.min_version: is above max_version \(TLS12\)$/,
  ],
  [
    'an unknown TLS version',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  min_version: TLS1.2\n`,
    /^:4:3: tls_server_config\.min_version: must be one of TLS10, TLS11, TLS12, TLS13$/,
  ],
  [
    'a certificate file that does not exist',
    `tls_server_config:\n  cert_file: missing.crt\n  key_file: ${pki.serverKey}\n`,
    /^:2:14: tls_server_config\.cert_file: cannot read \/.*\/missing\.crt: ENOENT$/,
  ],
  [
    "a key that is not the certificate's",
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.clientKey}\n`,
    /^:2:14: tls_server_config\.cert_file: failed to load the certificate and key: .*key values mismatch/,
  ],
  [
    'a client CA file without a certificate',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.serverKey}\n`,
    /^:5:19: tls_server_config\.client_ca_file: holds no PEM certificate$/,
  ],
  [
    'a header that cannot be set',
    'http_server_config:\n  headers:\n    Server: rollguard\n',
    /^:3:5: http_server_config\.headers\.Server: HTTP header "Server" can not be configured \(allowed: /,
  ],
  [
    'a header value outside its enumeration',
    'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
    /^:3:22: http_server_config\.headers\["X-Frame-Options"\]: invalid value for X-Frame-Options: expected one of deny, sameorigin, got "allow"$/,
  ],
  ['an http2 that is not a boolean', 'http_server_config:\n  http2: maybe\n', /^:2:3: http_server_config\.http2: /],
  ['a rate limit without a burst', 'rate_limit:\n  interval: 1s\n', /^:2:3: rate_limit\.burst: must be at least 1/],
  [
    'a rate limit interval Go cannot parse',
    'rate_limit:\n  burst: 1\n  interval: 1d\n',
    /^:3:13: rate_limit\.interval: time: unknown unit "d"/,
  ],
  [
    'a negative rate limit interval',
    'rate_limit:\n  burst: 1\n  interval: -1s\n',
    /^:3:13: rate_limit\.interval: must not be negative$/,
  ],
  [
    'an inline client CA that is not a certificate',
    `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireAnyClientCert\n  client_ca: "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----"\n`,
    /^:5:14: tls_server_config\.client_ca: holds a certificate that cannot be read: /,
  ],
  ['two documents', 'basic_auth_users: {}\n---\nbasic_auth_users: {}\n', /^:2:1: multiple YAML documents/],
  ['a duplicate key', 'basic_auth_users: {}\nbasic_auth_users: {}\n', /^:2:1: .*(duplicate|already)/i],
]

for (const [name, text, expected] of INVALID) {
  t.test(`refused: ${name}`, async t => {
    const { file, config, problems } = await read(text)
    t.equal(config, undefined)
    t.equal(problems.length, 1, problems.join('\n'))
    t.ok(problems[0]?.startsWith(file), 'the line starts with the file')
    t.match(problems[0]?.slice(file.length), expected)
  })
}

t.test('rate_limit: an integer interval is nanoseconds, as Go decodes a time.Duration; 0 is off', async t => {
  t.same((await read('rate_limit: {burst: 3, interval: 250000000}\n')).config?.rateLimit, { burst: 3, intervalMs: 250 })
  t.equal((await read('rate_limit: {burst: 3, interval: 0s}\n')).config?.rateLimit, undefined)
})

t.test('a bad bcrypt hash is named by user, never quoted', async t => {
  const secretish = '$2y$99$' + 'x'.repeat(53)
  const { problems } = await read(stringify({ basic_auth_users: { alice: ALICE.bcrypt, bob: secretish, carol: 12 } }))
  t.equal(problems.length, 2)
  t.match(problems[0], /:3:3: basic_auth_users\.bob: must be a bcrypt hash/)
  t.match(problems[1], /basic_auth_users\.carol: must be a bcrypt hash/)
  t.notOk(problems.join('\n').includes(secretish), 'the hash is not in the message')
})

t.test('an unreadable web config file names itself', async t => {
  const problems: string[] = []
  t.equal(await readWebConfig(join(dir, 'nope.yml'), problems), undefined)
  t.same(problems, [`web config file: cannot read ${join(dir, 'nope.yml')}: ENOENT`])
})

t.test("Go's durations", async t => {
  t.equal(parseGoDuration('0'), 0)
  t.equal(parseGoDuration('300ms'), 300)
  t.equal(parseGoDuration('1.5h'), 5_400_000)
  t.equal(parseGoDuration('2h45m'), 9_900_000)
  t.equal(parseGoDuration('10us'), 0.01)
  t.equal(parseGoDuration('-1s'), -1000)
  t.throws(() => parseGoDuration(''), /invalid duration/)
  t.throws(() => parseGoDuration('10'), /invalid duration/)
  t.throws(() => parseGoDuration('1s x'), /invalid duration/)
})
