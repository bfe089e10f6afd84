// Faults with phase 'after' and hooks: the request is applied and stored (controllers run, watchers see it),
// only the answer is late, replaced or lost — the client cannot tell whether its PATCH happened.
import { spawn } from 'node:child_process'
import t from 'tap'
import type { KubeObject } from '../fixtures/kube/index.js'
import { fake, until, web } from '../fixtures/kube/testing.js'

const WEB = '/apis/apps/v1/namespaces/ns/deployments/web'
const image = (o: KubeObject | undefined) =>
  (o?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined)?.template.spec.containers[0]
    ?.image
const patch = (url: string, img: string) =>
  fetch(`${url}${WEB}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/merge-patch+json' },
    body: JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: img }] } } } }),
  })
const failed = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (e: Error & { cause?: { code?: string; message?: string } }) =>
      `${e.message}: ${e.cause?.code ?? e.cause?.message}`,
  )

t.test("delay 'after': stored, controllers and watchers run, then the answer comes late", async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', web('nginx:1'))
  const watch = await fetch(
    `${f.url}/apis/apps/v1/namespaces/ns/deployments?watch=true&resourceVersion=${f.get('deployments', 'ns', 'web')?.metadata.resourceVersion}`,
  )
  const events = watch.body!.getReader()
  f.inject({ kind: 'delay', phase: 'after', ms: 400, match: { verb: 'patch' } })
  const start = Date.now()
  let answeredAt = 0
  const answer = patch(f.url, 'nginx:2').then(r => ((answeredAt = Date.now()), r))
  const first = new TextDecoder().decode((await events.read()).value)
  t.match(first, /"MODIFIED".*nginx:2/, 'a watcher sees the change before the answer')
  await until(() => f.list('replicasets', 'ns').some(rs => image(rs) === 'nginx:2'))
  t.equal(answeredAt, 0, 'the controller rolled a new ReplicaSet while the answer was held back')
  t.equal((await answer).status, 200)
  t.ok(answeredAt - start >= 390, `answered after ${answeredAt - start} ms`)
  t.equal(f.log.find(l => l.method === 'PATCH')?.status, 200)
  await events.cancel()
})

t.test(
  "reset 'after': the client gets a connection error, yet the write is stored; 'before' stores nothing",
  async t => {
    const f = await fake(t)
    await f.seedDeployment('ns', web('nginx:1'))
    f.inject({ kind: 'reset', match: { verb: 'patch' } })
    t.match(await failed(patch(f.url, 'nginx:2')), /fetch failed|other side closed|ECONNRESET|socket/)
    t.equal(image(f.get('deployments', 'ns', 'web')), 'nginx:1', "default phase 'before': nothing applied")
    f.inject({ kind: 'reset', phase: 'after', match: { verb: 'patch' } })
    t.match(await failed(patch(f.url, 'nginx:2')), /fetch failed|other side closed|ECONNRESET|socket/)
    t.equal(image(f.get('deployments', 'ns', 'web')), 'nginx:2', "'after': applied")
    t.same(
      f.log.filter(l => l.method === 'PATCH').map(l => l.status),
      [0, 0],
      'both logged with status 0',
    )
    await f.tick()
    t.equal(
      f.get('deployments', 'ns', 'web')?.metadata.annotations?.['deployment.kubernetes.io/revision'],
      '2',
      'the controller rolled it out',
    )
  },
)

t.test("status 'after': a 504 for a write that happened", async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', web('nginx:1'))
  f.inject({ kind: 'status', code: 504, phase: 'after', match: { verb: 'patch' } })
  const r = await patch(f.url, 'nginx:2')
  t.same([r.status, ((await r.json()) as { reason?: string }).reason], [504, 'Timeout'])
  t.equal(image(f.get('deployments', 'ns', 'web')), 'nginx:2')
})

t.test('hook: runs after the write is applied, before the answer, then the answer is sent', async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', web('nginx:1'))
  const seen: unknown[] = []
  f.inject({
    kind: 'hook',
    when: 'after',
    match: { verb: 'patch' },
    run: async e => {
      seen.push([e.status, image(f.get('deployments', 'ns', 'web'))])
      await new Promise(r => setTimeout(r, 150))
    },
  })
  const start = Date.now()
  const r = await patch(f.url, 'nginx:2')
  t.equal(r.status, 200)
  t.ok(Date.now() - start >= 140, 'the answer waited for the async hook')
  t.same(seen, [[200, 'nginx:2']], 'the hook saw the stored write and the status about to be sent')
  t.equal((await patch(f.url, 'nginx:3')).status, 200, 'times: 1')
  t.equal(seen.length, 1)
})

t.test(
  'hook SIGKILLs the client right after its PATCH is stored: applied, nobody got the answer (status 0)',
  async t => {
    const f = await fake(t)
    await f.seedDeployment('ns', web('nginx:1'))
    const body = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } })
    const script = `fetch(${JSON.stringify(f.url + WEB)}, {method: 'PATCH', headers: {'Content-Type': 'application/merge-patch+json'}, body: ${JSON.stringify(body)}}).then(() => console.log('answered'))`
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += String(c)))
    const exited = new Promise<NodeJS.Signals | null>(r => child.once('exit', (_code, signal) => r(signal)))
    f.inject({
      kind: 'hook',
      when: 'after',
      match: { verb: 'patch' },
      run: async () => {
        child.kill('SIGKILL')
        await exited
        await new Promise(r => setTimeout(r, 50)) // let the server notice the closed socket
      },
    })
    t.equal(await exited, 'SIGKILL')
    await until(() => f.log.find(l => l.method === 'PATCH' && l.status === 0))
    t.equal(out, '', 'the client never saw an answer')
    t.equal(image(f.get('deployments', 'ns', 'web')), 'nginx:2', 'but the write is stored')
  },
)

t.test("'after' faults do not apply to WATCH requests (they stream) and are kept for the next request", async t => {
  const f = await fake(t)
  await f.seedDeployment('ns', web())
  f.inject({ kind: 'delay', phase: 'after', ms: 200 })
  const watch = await fetch(`${f.url}/apis/apps/v1/namespaces/ns/deployments?watch=true`)
  const reader = watch.body!.getReader()
  t.match(new TextDecoder().decode((await reader.read()).value), /"ADDED"/, 'the watch streams at once')
  await reader.cancel()
  const start = Date.now()
  t.equal((await fetch(`${f.url}${WEB}`)).status, 200)
  t.ok(Date.now() - start >= 190, 'the GET took the delay')
})
