// Prometheus's proxy keys: its validation rules (ProxyConfig.Validate) and the choice of proxy per request as Go
// makes it (http.ProxyURL for a bare proxy_url, golang.org/x/net/http/httpproxy with no_proxy or the environment).
import t from 'tap'
import { proxyFor, proxySettings, useProxy, type ProxyKeys } from '../../src/sources/proxy.js'

function check(keys: ProxyKeys, env: Record<string, string> = {}) {
  const problems: string[] = []
  const settings = proxySettings('prometheus', keys, env, problems)
  return { settings, problems }
}

t.test("validation: Prometheus's rules and messages", async t => {
  t.same(check({ proxy_connect_header: { A: ['b'] } }).problems, [
    'prometheus: if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured',
  ])
  t.same(check({ proxy_from_environment: true, proxy_url: 'http://p:3128' }).problems, [
    'prometheus: if proxy_from_environment is configured, proxy_url must not be configured',
  ])
  t.same(check({ proxy_from_environment: true, no_proxy: 'x' }).problems, [
    'prometheus: if proxy_from_environment is configured, no_proxy must not be configured',
  ])
  t.same(check({ no_proxy: 'x' }).problems, [
    'prometheus: if no_proxy is configured, proxy_url must also be configured',
  ])
  t.same(check({ proxy_url: 'socks5://p:1080' }).problems, [
    'prometheus: proxy_url: socks5 proxies are not supported (use an http:// proxy URL)',
  ])
  t.same(check({ proxy_url: 'http://p:3128', proxy_connect_header: { A: ['b'] } }), {
    settings: { url: 'http://p:3128', connectHeaders: { A: ['b'] } },
    problems: [],
  })
  t.same(check({}), { settings: undefined, problems: [] }, 'no proxy keys, no proxy')
  t.same(check({ proxy_from_environment: true, proxy_connect_header: { A: ['b'] } }, { https_proxy: 'p:3128' }), {
    settings: { environment: { httpProxy: '', httpsProxy: 'p:3128', noProxy: '' }, connectHeaders: { A: ['b'] } },
    problems: [],
  })
})

t.test('proxyFor: a bare proxy_url is used for every target, loopback included', async t => {
  const settings = { url: 'http://p:3128', connectHeaders: {} }
  t.equal(proxyFor(settings, new URL('http://127.0.0.1:9090'))?.href, 'http://p:3128/')
  t.equal(proxyFor(settings, new URL('https://localhost'))?.href, 'http://p:3128/')
  t.equal(proxyFor(undefined, new URL('https://x')), undefined)
  const with_ = { ...settings, noProxy: '.svc' }
  t.equal(proxyFor(with_, new URL('http://prom.monitoring.svc:9090')), undefined)
  t.equal(proxyFor(with_, new URL('http://prom.example.com'))?.host, 'p:3128')
})

t.test('proxyFor from the environment: HTTP_PROXY for http, HTTPS_PROXY for https, NO_PROXY', async t => {
  const environment = { httpProxy: 'http-proxy:80', httpsProxy: 'http://https-proxy:3128', noProxy: 'internal' }
  const settings = { environment, connectHeaders: {} }
  t.equal(proxyFor(settings, new URL('http://example.com'))?.href, 'http://http-proxy/', 'no scheme: http://')
  t.equal(proxyFor(settings, new URL('https://example.com'))?.href, 'http://https-proxy:3128/')
  t.equal(proxyFor(settings, new URL('https://a.internal')), undefined)
  t.equal(proxyFor(settings, new URL('https://127.0.0.1')), undefined)
  t.equal(
    proxyFor({ environment: { ...environment, httpsProxy: '' }, connectHeaders: {} }, new URL('https://x')),
    undefined,
  )
})

t.test("useProxy: httpproxy's no_proxy matching", async t => {
  const cases: Array<[string, string, boolean]> = [
    ['', 'http://localhost:80', false],
    ['', 'http://127.0.0.5', false],
    ['', 'http://[::1]:9090', false],
    ['', 'http://example.com', true],
    ['*', 'http://example.com', false],
    ['example.com', 'http://example.com', false],
    ['example.com', 'http://sub.example.com', false],
    ['example.com', 'http://badexample.com', true],
    ['.example.com', 'http://example.com', true],
    ['.example.com', 'http://a.example.com', false],
    ['*.example.com', 'http://example.com', true],
    ['*.example.com', 'http://a.example.com', false],
    ['example.com:8080', 'http://example.com:8080', false],
    ['example.com:8080', 'http://example.com', true],
    ['example.com:443', 'https://example.com', false],
    ['10.0.0.0/8', 'http://10.1.2.3', false],
    ['10.0.0.0/8', 'http://11.1.2.3', true],
    ['192.168.1.1', 'http://192.168.1.1:9090', false],
    ['192.168.1.1:80', 'http://192.168.1.1:9090', true],
    ['[2001:db8::1]:80', 'http://[2001:db8::1]', false],
    ['2001:db8::/32', 'http://[2001:db8::5]', false],
    [' a.com , b.com ', 'http://b.com', false],
    ['A.COM', 'http://a.com', false],
  ]
  for (const [noProxy, url, want] of cases) t.equal(useProxy(noProxy, new URL(url)), want, `${noProxy} / ${url}`)
})
