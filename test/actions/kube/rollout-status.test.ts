import t from 'tap'
import { undoDeployment } from '../../../src/actions/kube/deployment-undo.js'
import type { RawWorkload } from '../../../src/actions/kube/model.js'
import {
  rolloutStatus,
  waitForRollout,
  type RolloutVerdict,
  type StatusOptions,
} from '../../../src/actions/kube/rollout-status.js'
import { sleepFor } from '../../../src/runtime/signals.js'
import { deploymentManifest, harness, ref, setImage } from '../../fixtures/cluster-harness.js'

const NS = 'shop'
const WEB = ref('Deployment', NS, 'web')

type Case = [string, RawWorkload, RolloutVerdict, StatusOptions?]
type Status = NonNullable<RawWorkload['status']>
type Spec = NonNullable<RawWorkload['spec']>
type Strategy = Spec['updateStrategy']

const dep = (
  generation: number,
  status: Status,
  spec: Spec = { replicas: 3 },
  annotations: Record<string, string> = {},
): RawWorkload => ({
  kind: 'Deployment',
  metadata: { name: 'web', generation, annotations },
  spec,
  status,
})
const deadline = (lastUpdateTime = '2026-01-01T00:00:10Z') => [
  { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', lastUpdateTime },
]
const W = 'Waiting for deployment "web" rollout to finish:'

const deploymentCases: Case[] = [
  [
    'spec not observed',
    dep(2, { observedGeneration: 1 }),
    { done: false, message: 'Waiting for deployment spec update to be observed...' },
  ],
  [
    'deadline exceeded',
    dep(2, { observedGeneration: 2, conditions: deadline() }),
    { done: false, failed: true, message: 'deployment "web" exceeded its progress deadline' },
  ],
  [
    'deadline before notBefore is ignored',
    dep(2, { observedGeneration: 2, updatedReplicas: 1, conditions: deadline() }),
    { done: false, message: `${W} 1 out of 3 new replicas have been updated...` },
    { ignoreDeadlineBefore: Date.parse('2026-01-01T00:00:11.5Z') },
  ],
  [
    'deadline in the same second counts',
    dep(2, { observedGeneration: 2, conditions: deadline() }),
    { done: false, failed: true, message: 'deployment "web" exceeded its progress deadline' },
    { ignoreDeadlineBefore: Date.parse('2026-01-01T00:00:10.9Z') },
  ],
  [
    'updated < desired',
    dep(1, { observedGeneration: 1, updatedReplicas: 1, replicas: 3 }),
    { done: false, message: `${W} 1 out of 3 new replicas have been updated...` },
  ],
  [
    'old replicas pending',
    dep(1, { observedGeneration: 1, updatedReplicas: 3, replicas: 4 }),
    { done: false, message: `${W} 1 old replicas are pending termination...` },
  ],
  [
    'not yet available',
    dep(1, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }),
    { done: false, message: `${W} 2 of 3 updated replicas are available...` },
  ],
  [
    'done',
    dep(1, { observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
    { done: true, message: 'deployment "web" successfully rolled out' },
  ],
  [
    'replicas unset skips the first check',
    dep(1, { observedGeneration: 1 }, {}),
    { done: true, message: 'deployment "web" successfully rolled out' },
  ],
  [
    'observed ahead of generation',
    dep(1, { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
    { done: true, message: 'deployment "web" successfully rolled out' },
  ],
  [
    '--revision mismatch',
    dep(1, { observedGeneration: 1 }, {}, { 'deployment.kubernetes.io/revision': '3' }),
    { done: false, failed: true, message: 'desired revision (2) is different from the running revision (3)' },
    { revision: 2 },
  ],
  [
    '--revision unparsable',
    dep(1, { observedGeneration: 1 }, {}, { 'deployment.kubernetes.io/revision': 'x' }),
    { done: false, failed: true, message: 'cannot get the revision of deployment "web"' },
    { revision: 2 },
  ],
  [
    '--revision match',
    dep(1, { observedGeneration: 1 }, {}, { 'deployment.kubernetes.io/revision': '2' }),
    { done: true, message: 'deployment "web" successfully rolled out' },
    { revision: 2 },
  ],
]

const ds = (generation: number, status: Status, type = 'RollingUpdate'): RawWorkload => ({
  kind: 'DaemonSet',
  metadata: { name: 'agent', generation },
  spec: { updateStrategy: { type } },
  status,
})
const daemonSetCases: Case[] = [
  [
    'OnDelete',
    ds(1, {}, 'OnDelete'),
    { done: false, failed: true, message: 'rollout status is only available for RollingUpdate strategy type' },
  ],
  [
    'not observed',
    ds(2, { observedGeneration: 1 }),
    { done: false, message: 'Waiting for daemon set spec update to be observed...' },
  ],
  [
    'updating',
    ds(1, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 1 }),
    {
      done: false,
      message: 'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...',
    },
  ],
  [
    'unavailable',
    ds(1, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 }),
    { done: false, message: 'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...' },
  ],
  [
    'done',
    ds(1, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }),
    { done: true, message: 'daemon set "agent" successfully rolled out' },
  ],
]

const sts = (
  generation: number,
  status: Status,
  strategy: Strategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
  replicas = 3,
): RawWorkload => ({
  kind: 'StatefulSet',
  metadata: { name: 'db', generation },
  spec: { replicas, updateStrategy: strategy },
  status,
})
const statefulSetCases: Case[] = [
  [
    'OnDelete',
    sts(1, {}, { type: 'OnDelete' }),
    { done: false, failed: true, message: 'rollout status is only available for RollingUpdate strategy type' },
  ],
  [
    'observedGeneration 0',
    sts(0, { observedGeneration: 0 }),
    { done: false, message: 'Waiting for statefulset spec update to be observed...' },
  ],
  [
    'not observed',
    sts(3, { observedGeneration: 2 }),
    { done: false, message: 'Waiting for statefulset spec update to be observed...' },
  ],
  [
    'not ready',
    sts(1, { observedGeneration: 1, readyReplicas: 1 }),
    { done: false, message: 'Waiting for 2 pods to be ready...' },
  ],
  [
    'partitioned waiting',
    sts(
      1,
      { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1 },
      { type: 'RollingUpdate', rollingUpdate: { partition: 1 } },
    ),
    { done: false, message: 'Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...' },
  ],
  [
    'partitioned done',
    sts(1, { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 3 }),
    { done: true, message: 'partitioned roll out complete: 3 new pods have been updated...' },
  ],
  [
    'revisions differ',
    sts(
      1,
      { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'b' },
      { type: 'RollingUpdate' },
    ),
    { done: false, message: 'waiting for statefulset rolling update to complete 2 pods at revision b...' },
  ],
  [
    'revisions equal',
    sts(
      1,
      { observedGeneration: 1, readyReplicas: 3, currentReplicas: 3, currentRevision: 'b', updateRevision: 'b' },
      { type: 'RollingUpdate' },
    ),
    { done: true, message: 'statefulset rolling update complete 3 pods at revision b...' },
  ],
]

t.test('rolloutStatus matches kubectl for every branch', async t => {
  for (const [name, obj, want, opts] of [...deploymentCases, ...daemonSetCases, ...statefulSetCases]) {
    t.same(rolloutStatus(obj, opts), want, `${obj.kind} ${name}`)
  }
  t.same(rolloutStatus({ metadata: { name: 'x' } }), {
    done: false,
    failed: true,
    message: 'no status viewer has been implemented for an object without kind',
  })
  t.same(
    rolloutStatus(
      { metadata: { name: 'web', generation: 1 }, status: { observedGeneration: 1 } },
      { kind: 'Deployment' },
    ).done,
    true,
    'kind from options',
  )
})

t.test(
  'waitForRollout: a rollback completes; the leftover deadline condition of the bad rollout is not misread',
  async t => {
    const h = await harness(NS)
    t.teardown(h.close)
    const d = deploymentManifest()
    ;(d.spec as Record<string, unknown>)['progressDeadlineSeconds'] = 30
    await h.fake.seedDeployment(NS, d)
    await setImage(h.fake, NS, 'web', 'nginx:bad')
    h.fake.clock.advance(31_000)
    await h.fake.tick()
    const failed = await waitForRollout(h.clients.apps, WEB, { generation: 2, deadlineMs: 2_000, pollMs: 20 })
    t.same(
      failed,
      { outcome: 'failed', message: 'deployment "web" exceeded its progress deadline' },
      'ProgressDeadlineExceeded on the fake clock',
    )
    const patchedAt = h.fake.clock.now()
    const r = await undoDeployment(h.clients.apps, WEB, { dryRun: false })
    t.equal(r.kind, 'rolled-back')
    if (r.kind !== 'rolled-back') return
    const done = await waitForRollout(h.clients.apps, WEB, {
      generation: r.generation,
      deadlineMs: 5_000,
      pollMs: 20,
      ignoreDeadlineBefore: patchedAt,
    })
    t.same(done, { outcome: 'complete', message: 'deployment "web" successfully rolled out' })
  },
)

t.test('waitForRollout: bounded timeout, deletion, abort, transient errors', async t => {
  const h = await harness(NS)
  t.teardown(h.close)
  await h.fake.seedDeployment(NS, deploymentManifest())
  await setImage(h.fake, NS, 'web', 'nginx:bad')
  const started = performance.now()
  const timeout = await waitForRollout(h.clients.apps, WEB, { generation: 2, deadlineMs: 300, pollMs: 50 })
  t.equal(timeout.outcome, 'timeout')
  t.match(timeout.message, /did not finish within 300 ms; last status: Waiting for deployment "web" rollout to finish/)
  t.ok(performance.now() - started < 1_500)
  const notYet = await waitForRollout(h.clients.apps, WEB, { generation: 9, deadlineMs: 100, pollMs: 30 })
  t.match(
    notYet,
    { outcome: 'timeout', message: /Waiting for generation 9 to be observed \(observedGeneration 2\)/ },
    'older observations are not trusted',
  )
  const ctl = new AbortController()
  setTimeout(() => ctl.abort(), 50)
  t.match(
    await waitForRollout(h.clients.apps, WEB, { generation: 2, deadlineMs: 10_000, pollMs: 20, signal: ctl.signal }),
    { outcome: 'timeout', aborted: true },
  )
  h.fake.inject({ kind: 'status', code: 500, match: { verb: 'get' }, times: 2 })
  let clock = 0
  const fakeNow = () => clock
  const fakeSleep = async (ms: number) => void (clock += ms)
  const errs = await waitForRollout(h.clients.apps, WEB, {
    generation: 2,
    deadlineMs: 40,
    pollMs: 20,
    now: fakeNow,
    sleep: fakeSleep,
  })
  t.match(
    errs,
    { outcome: 'timeout', message: /last status: Waiting for deployment/ },
    'transient 500s are retried within the deadline',
  )
  await h.clients.apps.deleteNamespacedDeployment({ name: 'web', namespace: NS })
  t.same(await waitForRollout(h.clients.apps, WEB, { generation: 2, deadlineMs: 1_000, pollMs: 20 }), {
    outcome: 'failed',
    message: 'deployment.apps/web -n shop: object has been deleted',
  })
})

t.test('waitForRollout for StatefulSet and DaemonSet', async t => {
  const h = await harness('data')
  t.teardown(h.close)
  await h.fake.seed('daemonsets', 'data', {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } },
    },
  })
  await h.fake.seed('statefulsets', 'data', {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      replicas: 2,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'd', image: 'd:1' }] } },
    },
  })
  t.match(
    await waitForRollout(h.clients.apps, ref('DaemonSet', 'data', 'agent'), {
      generation: 1,
      deadlineMs: 2_000,
      pollMs: 20,
    }),
    { outcome: 'complete', message: 'daemon set "agent" successfully rolled out' },
  )
  t.match(
    await waitForRollout(h.clients.apps, ref('StatefulSet', 'data', 'db'), {
      generation: 1,
      deadlineMs: 2_000,
      pollMs: 20,
    }),
    { outcome: 'complete', message: /^partitioned roll out complete: 2 new pods/ },
  )
})

t.test('sleepFor ends early on abort', async t => {
  const started = performance.now()
  await sleepFor(10, AbortSignal.abort())
  const ctl = new AbortController()
  const p = sleepFor(5_000, ctl.signal)
  ctl.abort()
  await p
  await sleepFor(5)
  t.ok(performance.now() - started < 1_000)
})
