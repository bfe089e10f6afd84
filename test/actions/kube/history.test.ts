import t from 'tap'
import { undoDeployment } from '../../../src/actions/kube/deployment-undo.js'
import { deploymentHistory, formatHistory, rolloutHistory } from '../../../src/actions/kube/history.js'
import { deploymentManifest, harness, ref, setImage } from '../../fixtures/cluster-harness.js'

const NS = 'shop'
const WEB = ref('Deployment', NS, 'web')

t.test('deployment history: revisions, change-cause, images, the running one; a rollback re-numbers', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, deploymentManifest())
  await setImage(h.fake, NS, 'web', 'nginx:2')
  await setImage(h.fake, NS, 'web', 'nginx:3')
  const before = await rolloutHistory(h.clients.apps, WEB)
  t.equal(before.kind, 'history')
  if (before.kind !== 'history') return
  t.same(
    before.entries.map(e => [e.revision, e.changeCause, e.images.join(), e.current]),
    [
      [1, 'deploy nginx:1', 'nginx:1', false],
      [2, 'deploy nginx:2', 'nginx:2', false],
      [3, 'deploy nginx:3', 'nginx:3', true],
    ],
  )
  t.match(before.entries[0]?.source, /^web-[0-9a-z]+$/)
  await undoDeployment(h.clients.apps, WEB, { dryRun: false, toRevision: 1 })
  await h.fake.tick()
  const after = await rolloutHistory(h.clients.apps, WEB)
  if (after.kind !== 'history') return t.fail(after.message)
  t.same(
    after.entries.map(e => [e.revision, e.images.join(), e.current]),
    [
      [2, 'nginx:2', false],
      [3, 'nginx:3', false],
      [4, 'nginx:1', true],
    ],
  )
  t.equal(
    formatHistory(after),
    [
      'deployment.apps/web',
      'REVISION  CHANGE-CAUSE    IMAGES',
      '2         deploy nginx:2  nginx:2',
      '3         deploy nginx:3  nginx:3',
      '4*        deploy nginx:1  nginx:1',
      '',
    ].join('\n'),
  )
})

t.test('statefulset history from ControllerRevisions', async t => {
  const h = await harness('data')
  t.teardown(h.close)
  await h.fake.seed('statefulsets', 'data', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      replicas: 1,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'd', image: 'pg:1' }] } },
    },
  })
  await h.fake.update('statefulsets', 'data', 'db', o => {
    const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
    if (c) c.image = 'pg:2'
  })
  const hist = await rolloutHistory(h.clients.apps, ref('StatefulSet', 'data', 'db'))
  if (hist.kind !== 'history') return t.fail(hist.message)
  t.same(
    hist.entries.map(e => [e.revision, e.images.join(), e.current, e.changeCause]),
    [
      [1, 'pg:1', false, undefined],
      [2, 'pg:2', true, undefined],
    ],
  )
  t.match(
    formatHistory(hist),
    /^statefulset\.apps\/db\nREVISION {2}CHANGE-CAUSE {2}IMAGES\n1 {9}<none> {8}pg:1\n2\* {8}<none> {8}pg:2\n$/,
  )
})

t.test(
  'pure: foreign and unparsable ReplicaSets are skipped, a later duplicate wins, missing annotation is 0',
  async t => {
    const owner = [{ controller: true, uid: 'd1' }]
    const rs = (
      name: string,
      annotations: Record<string, string> | undefined,
      image: string,
      ownerReferences = owner,
    ) => ({
      metadata: { name, annotations, ownerReferences },
      spec: { template: { spec: { containers: [{ name: 'c', image }] } } },
    })
    const entries = deploymentHistory({
      deployment: {
        metadata: { uid: 'd1' },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'b' }] } } },
      },
      replicaSets: [
        rs('legacy', undefined, 'z'),
        rs('bad', { 'deployment.kubernetes.io/revision': 'x' }, 'q'),
        rs('first', { 'deployment.kubernetes.io/revision': '1', 'kubernetes.io/change-cause': '' }, 'a'),
        rs('dup', { 'deployment.kubernetes.io/revision': '1' }, 'b'),
        rs('foreign', { 'deployment.kubernetes.io/revision': '5' }, 'f', [{ controller: true, uid: 'other' }]),
      ],
    })
    t.same(
      entries.map(e => [e.revision, e.source, e.current, e.changeCause]),
      [
        [0, 'legacy', false, undefined],
        [1, 'dup', true, undefined],
      ],
    )
  },
)

t.test('errors come back as data', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  t.match(await rolloutHistory(h.clients.apps, WEB), {
    kind: 'error',
    reason: 'not_found',
    message: /^deployment\.apps\/web -n shop: reading rollout history: /,
  })
  await h.fake.seed('daemonsets', NS, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } },
    },
  })
  const ds = await rolloutHistory(h.clients.apps, ref('DaemonSet', NS, 'agent'))
  t.match(ds, { kind: 'history', entries: [{ revision: 1, images: ['a:1'], current: true }] })
})
