// Oracle: a real kubectl (Google Cloud SDK's versioned binaries) against the fake. kubectl's client-side undo
// and rollout status must leave/see the fake exactly as the reference describes for a real cluster.
import t from 'tap'
import { manualClock, type KubeObject } from '../fixtures/kube/index.js'
import { fake, web } from '../fixtures/kube/testing.js'
import { findKubectl, kubectlAgainst } from '../fixtures/kube/kubectl.js'

const bin = await findKubectl()
const skip = bin
  ? false
  : 'no working kubectl binary found (tried /usr/lib/google-cloud-sdk/bin/kubectl.1.3x and kubectl on PATH)'
const REV = 'deployment.kubernetes.io/revision'
const img = (o: KubeObject | undefined) =>
  (o?.spec as { template: { spec: { containers: { image: string }[] } } } | undefined)?.template.spec.containers[0]
    ?.image
const setImage = (v: string) => (tm: { spec?: { containers?: { image?: string }[] } }) =>
  void (tm.spec!.containers![0]!.image = v)

t.test(
  'kubectl rollout undo deployment: one JSON patch, template restored, reused RS gets revision 3',
  { skip },
  async t => {
    const f = await fake(t)
    const kubectl = kubectlAgainst(t, bin ?? 'kubectl', f.url)
    await f.seedDeployment('ns', web('nginx:1'))
    await f.updateTemplate('ns', 'web', setImage('nginx:2'))
    f.log.length = 0
    const r = await kubectl(['-n', 'ns', 'rollout', 'undo', 'deployment/web'])
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout.trim(), 'deployment.apps/web rolled back')
    const list = f.log.find(l => l.verb === 'list' && l.resource === 'replicasets')
    t.equal(list?.query.labelSelector, 'app=web,tier in (be,fe)', 'kubectl sorts keys and set values')
    const patches = f.log.filter(l => l.method === 'PATCH')
    t.equal(patches.length, 1)
    t.equal(patches[0]?.contentType, 'application/json-patch+json')
    t.match(patches[0]?.body, [
      { op: 'replace', path: '/spec/template', value: { spec: { containers: [{ image: 'nginx:1' }] } } },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: { [REV]: '2', 'kubernetes.io/change-cause': 'v1', team: 'a' },
      },
    ])
    t.equal(f.log.filter(l => !['GET', 'PATCH'].includes(l.method)).length, 0, 'nothing but reads and the patch')
    await f.tick()
    const d = f.get('deployments', 'ns', 'web')
    t.equal(img(d), 'nginx:1')
    t.equal(d?.metadata.annotations?.[REV], '3')
    t.equal(d?.metadata.generation, 3)
    const rs = f.list('replicasets', 'ns')
    t.equal(rs.length, 2)
    const reused = rs.find(x => img(x) === 'nginx:1')
    t.same(
      [
        reused?.metadata.annotations?.[REV],
        reused?.metadata.annotations?.['deployment.kubernetes.io/revision-history'],
      ],
      ['3', '1'],
    )
    t.equal(rs.find(x => img(x) === 'nginx:2')?.metadata.annotations?.[REV], '2')
    const st = await kubectl(['-n', 'ns', 'rollout', 'status', 'deployment/web', '--timeout=20s'])
    t.same([st.code, st.stdout.trim()], [0, 'deployment "web" successfully rolled out'], st.stderr)
    const again = await kubectl(['-n', 'ns', 'rollout', 'undo', 'deployment/web'])
    t.equal(again.code, 0, again.stderr)
    await f.tick()
    t.equal(
      img(f.get('deployments', 'ns', 'web')),
      'nginx:2',
      'a second plain undo toggles back (the hazard the daemon must guard)',
    )
    t.equal(f.get('deployments', 'ns', 'web')?.metadata.annotations?.[REV], '4')
    f.log.length = 0
    const same = await kubectl(['-n', 'ns', 'rollout', 'undo', 'deployment/web', '--to-revision=4'])
    t.equal(same.stdout.trim(), 'deployment.apps/web skipped rollback (current template already matches revision 4)')
    t.equal(f.log.filter(l => l.method === 'PATCH').length, 0)
  },
)

t.test('kubectl errors: no history, paused', { skip }, async t => {
  const f = await fake(t)
  const kubectl = kubectlAgainst(t, bin ?? 'kubectl', f.url)
  await f.seedDeployment('ns', web('nginx:1'))
  const none = await kubectl(['-n', 'ns', 'rollout', 'undo', 'deployment/web'])
  t.not(none.code, 0)
  t.match(none.stderr, 'no rollout history found for deployment "web"')
  await f.updateTemplate('ns', 'web', setImage('nginx:2'))
  await f.update('deployments', 'ns', 'web', o => void ((o.spec as { paused?: boolean }).paused = true))
  f.log.length = 0
  const paused = await kubectl(['-n', 'ns', 'rollout', 'undo', 'deployment/web'])
  t.not(paused.code, 0)
  t.match(paused.stderr, 'you cannot rollback a paused deployment')
  t.equal(f.log.filter(l => l.method === 'PATCH').length, 0)
})

t.test('kubectl rollout status sees ProgressDeadlineExceeded after clock.advance', { skip }, async t => {
  const clock = manualClock()
  const f = await fake(t, { clock })
  const kubectl = kubectlAgainst(t, bin ?? 'kubectl', f.url)
  await f.seedDeployment('ns', web('nginx:1', { progressDeadlineSeconds: 30 }))
  await f.updateTemplate('ns', 'web', setImage('nginx:bad'))
  clock.advance(31_000)
  await f.tick()
  const st = await kubectl(['-n', 'ns', 'rollout', 'status', 'deployment/web', '--timeout=20s'])
  t.not(st.code, 0)
  t.match(st.stderr, 'deployment "web" exceeded its progress deadline')
})

t.test(
  'kubectl rollout undo statefulset: strategic merge patch of the revision data; skip by byte comparison',
  { skip },
  async t => {
    const f = await fake(t)
    const kubectl = kubectlAgainst(t, bin ?? 'kubectl', f.url)
    const sts = {
      metadata: { name: 'db' },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'pg:1' }] } },
      },
    }
    await f.seed('statefulsets', 'ns', sts)
    await f.update(
      'statefulsets',
      'ns',
      'db',
      o => void ((o.spec as typeof sts.spec).template.spec.containers[0]!.image = 'pg:2'),
    )
    f.log.length = 0
    const r = await kubectl(['-n', 'ns', 'rollout', 'undo', 'statefulset/db'])
    t.same([r.code, r.stdout.trim()], [0, 'statefulset.apps/db rolled back'], r.stderr)
    const patch = f.log.find(l => l.method === 'PATCH')
    t.equal(patch?.contentType, 'application/strategic-merge-patch+json')
    t.match(patch?.body, { spec: { template: { $patch: 'replace', spec: { containers: [{ image: 'pg:1' }] } } } })
    await f.tick()
    t.equal(img(f.get('statefulsets', 'ns', 'db')), 'pg:1')
    const revs = f
      .list('controllerrevisions', 'ns')
      .map(c => (c as { revision?: number }).revision)
      .sort()
    t.same(revs, [2, 3])
    const st = await kubectl(['-n', 'ns', 'rollout', 'status', 'statefulset/db', '--timeout=20s'])
    t.equal(st.code, 0, st.stderr)
    const skipped = await kubectl(['-n', 'ns', 'rollout', 'undo', 'statefulset/db', '--to-revision=3'])
    t.equal(skipped.stdout.trim(), 'statefulset.apps/db skipped rollback (current template already matches revision 3)')
  },
)
