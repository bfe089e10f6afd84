// Which redirects are followed and how (Go's net/http redirectBehavior), and which hosts keep credentials.
import t from 'tap'
import { isDomainOrSubdomain, nextRequest } from '../../src/sources/redirects.js'

const here = new URL('http://prom:9090/api/v1/query')

t.test("nextRequest: Go's methods and bodies", async t => {
  for (const status of [301, 302, 303]) {
    t.match(nextRequest(status, '/x', 'POST', here), { method: 'GET', keepBody: false }, `${status} POST`)
    t.match(nextRequest(status, '/x', 'HEAD', here), { method: 'HEAD', keepBody: false }, `${status} HEAD`)
    t.match(nextRequest(status, '/x', 'PUT', here), { method: 'GET' }, `${status} PUT`)
  }
  for (const status of [307, 308]) t.match(nextRequest(status, '/x', 'POST', here), { method: 'POST', keepBody: true })
  t.equal(nextRequest(302, '/x', 'GET', here)?.url.href, 'http://prom:9090/x', 'relative to the request')
  t.equal(nextRequest(302, 'https://other/y', 'GET', here)?.url.href, 'https://other/y')
  t.equal(nextRequest(302, undefined, 'GET', here), undefined, 'no Location: the answer')
  t.equal(nextRequest(302, '', 'GET', here), undefined)
  for (const status of [200, 300, 304, 305, 404])
    t.equal(nextRequest(status, '/x', 'GET', here), undefined, `${status}`)
  t.equal(nextRequest(302, 'ftp://x/', 'GET', here), undefined, 'only http(s)')
})

t.test('isDomainOrSubdomain', async t => {
  t.ok(isDomainOrSubdomain('prom', 'prom'))
  t.ok(isDomainOrSubdomain('a.prom.svc', 'prom.svc'))
  t.ok(isDomainOrSubdomain('A.Prom.svc', 'prom.SVC'))
  t.notOk(isDomainOrSubdomain('evilprom.svc', 'prom.svc'))
  t.notOk(isDomainOrSubdomain('prom.svc', 'a.prom.svc'))
  t.notOk(isDomainOrSubdomain('localhost', '127.0.0.1'))
  t.notOk(isDomainOrSubdomain('[::1]', '1'))
  t.notOk(isDomainOrSubdomain('x', ''))
})
