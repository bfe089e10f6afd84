// Oracle: real kubectl and rollguard run against two identically prepared fakes; the requests they send and the
// state they leave behind must agree (rollguard's only additions: the resourceVersion lock and fieldManager).
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { undoDeployment } from '../../../src/actions/kube/deployment-undo.js'
import { undoRevisionWorkload } from '../../../src/actions/kube/revision-undo.js'
import { semanticEqual } from '../../../src/actions/kube/template.js'
import type { UndoResult } from '../../../src/actions/kube/undo-result.js'
import type { FakeKube, Plural, RequestLogEntry } from '../../fixtures/kube/index.js'
import { deploymentManifest, harness, ref, setImage, type Harness } from '../../fixtures/cluster-harness.js'

const run = promisify(execFile)
const NS = 'shop'

async function kubectlWorks(): Promise<string | undefined> {
  try {
    await run('kubectl', ['version', '--client'], { timeout: 20_000 })
    return undefined
  } catch (err) {
    return `kubectl cannot run here: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`
  }
}

async function kubectl(t: Test, fake: FakeKube, args: string[]): Promise<{ ok: boolean; out: string }> {
  const dir = t.testdir({})
  const config = join(dir, 'config')
  writeFileSync(
    config,
    `apiVersion: v1\nkind: Config\nclusters: [{name: f, cluster: {server: "${fake.url}"}}]\nusers: [{name: u, user: {token: t}}]\n` +
      `contexts: [{name: f, context: {cluster: f, user: u, namespace: ${NS}}}]\ncurrent-context: f\n`,
  )
  try {
    const r = await run('kubectl', ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), ...args], {
      timeout: 60_000,
    })
    return { ok: true, out: r.stdout.trim() }
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? err).trim() }
  }
}

// Two fakes prepared the same way: one for kubectl, one for rollguard.
async function pair(t: Test, prepare: (h: Harness) => Promise<void>): Promise<[Harness, Harness]> {
  const a = await harness(NS)
  const b = await harness(NS)
  t.teardown(async () => void (await Promise.all([a.close(), b.close()])))
  await prepare(a)
  await prepare(b)
  a.fake.log.length = 0
  b.fake.log.length = 0
  return [a, b]
}

const resourceRequests = (log: readonly RequestLogEntry[]) =>
  log
    .filter(e => e.resource !== undefined && e.namespace !== undefined)
    .map(e => `${e.method} ${e.path.replace(/[?&]fieldManager=rollguard/, '')}`)
const patchOf = (log: readonly RequestLogEntry[]) => log.find(e => e.method === 'PATCH')
const withoutLock = (ops: unknown) => (ops as { path: string }[]).filter(o => o.path !== '/metadata/resourceVersion')

function endState(fake: FakeKube, workload: Plural, name: string, history: Plural) {
  const w = fake.get(workload, NS, name) as { metadata: { annotations?: object }; spec: { template: unknown } }
  const revs = fake.list(history, NS).map(o => {
    const x = o as { metadata: { name?: string; annotations?: Record<string, string> }; revision?: number }
    return [
      x.metadata.name,
      x.revision ?? x.metadata.annotations?.['deployment.kubernetes.io/revision'],
      x.metadata.annotations?.['deployment.kubernetes.io/revision-history'],
    ]
  })
  return { template: w.spec.template, annotations: w.metadata.annotations, revs }
}

const cannotRun = await kubectlWorks()

t.test('rollguard agrees with kubectl', { skip: cannotRun ?? false }, async t => {
  t.test('plain undo of a Deployment with a set-based selector', async t => {
    const [a, b] = await pair(t, async h => {
      await h.fake.seedDeployment(NS, deploymentManifest('web', 'nginx:1', { annotations: { note: 'x' } }))
      await setImage(h.fake, NS, 'web', 'nginx:2')
    })
    const k = await kubectl(t, a.fake, ['rollout', 'undo', 'deployment/web'])
    t.same(k, { ok: true, out: 'deployment.apps/web rolled back' })
    const r = await undoDeployment(b.clients.apps, ref('Deployment', NS, 'web'), { dryRun: false })
    t.equal(r.kind, 'rolled-back')
    const kubectlRequests = resourceRequests(a.fake.log)
    t.same(
      resourceRequests(b.fake.log),
      [kubectlRequests[0], ...kubectlRequests.slice(2)],
      "same requests, minus kubectl's duplicate GET",
    )
    const kp = patchOf(a.fake.log)
    const rp = patchOf(b.fake.log)
    t.equal(rp?.contentType, kp?.contentType)
    t.ok(semanticEqual(withoutLock(rp?.body), kp?.body), 'same JSON patch (modulo creationTimestamp: null)')
    t.same(JSON.stringify(withoutLock(rp?.body)).includes('creationTimestamp'), false)
    await Promise.all([a.fake.tick(), b.fake.tick()])
    t.same(
      endState(b.fake, 'deployments', 'web', 'replicasets'),
      endState(a.fake, 'deployments', 'web', 'replicasets'),
      'same end state, RS revisions included',
    )
  })

  t.test('--to-revision, skip and error texts', async t => {
    const prepare = async (h: Harness) => {
      await h.fake.seedDeployment(NS, deploymentManifest())
      await setImage(h.fake, NS, 'web', 'nginx:2')
      await setImage(h.fake, NS, 'web', 'nginx:3')
    }
    const [a, b] = await pair(t, prepare)
    const WEB = ref('Deployment', NS, 'web')
    const cases: Array<[string[], Parameters<typeof undoDeployment>[2]]> = [
      [['--to-revision=3'], { dryRun: false, toRevision: 3 }],
      [['--to-revision=8'], { dryRun: false, toRevision: 8 }],
      [['--to-revision=1'], { dryRun: false, toRevision: 1 }],
    ]
    for (const [flags, opts] of cases) {
      const k = await kubectl(t, a.fake, ['rollout', 'undo', 'deployment/web', ...flags])
      const r = await undoDeployment(b.clients.apps, WEB, opts)
      t.ok(k.out.endsWith(textOf(r)), `${flags.join(' ')}: kubectl said "${k.out}", rollguard "${textOf(r)}"`)
    }
    t.ok(semanticEqual(withoutLock(patchOf(b.fake.log)?.body), patchOf(a.fake.log)?.body))
    await sameEndState(t, a, b)
  })

  t.test('paused and no-history errors', async t => {
    const [a, b] = await pair(t, async h => {
      await h.fake.seedDeployment(NS, deploymentManifest('solo'))
      await h.fake.seedDeployment(NS, deploymentManifest('held'))
      await setImage(h.fake, NS, 'held', 'nginx:2')
      await h.fake.update('deployments', NS, 'held', o => void ((o.spec as { paused?: boolean }).paused = true))
    })
    for (const name of ['solo', 'held']) {
      const k = await kubectl(t, a.fake, ['rollout', 'undo', `deployment/${name}`])
      const r = await undoDeployment(b.clients.apps, ref('Deployment', NS, name), { dryRun: false })
      t.equal(k.ok, false)
      t.equal(k.out.replace(/^error: /, ''), textOf(r), `${name}: same error text`)
    }
  })

  for (const kind of ['StatefulSet', 'DaemonSet'] as const) {
    t.test(`${kind}: same strategic merge patch (plus the lock) and the same end state`, async t => {
      const plural: Plural = kind === 'StatefulSet' ? 'statefulsets' : 'daemonsets'
      const [a, b] = await pair(t, async h => {
        const spec = {
          selector: { matchLabels: { app: 'x' } },
          template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'm', image: 'img:1' }] } },
        }
        await h.fake.seed(plural, NS, {
          apiVersion: 'apps/v1',
          kind,
          metadata: { name: 'x' },
          spec: kind === 'StatefulSet' ? { ...spec, serviceName: 'x', replicas: 1 } : spec,
        })
        await h.fake.update(plural, NS, 'x', o => {
          const c = (o.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]
          if (c) c.image = 'img:2'
        })
      })
      const k = await kubectl(t, a.fake, ['rollout', 'undo', `${kind.toLowerCase()}/x`])
      t.same(k, { ok: true, out: `${kind.toLowerCase()}.apps/x rolled back` })
      const r = await undoRevisionWorkload(b.clients.apps, { kind, namespace: NS, name: 'x' }, { dryRun: false })
      t.equal(r.kind, 'rolled-back')
      const kp = patchOf(a.fake.log)
      const rp = patchOf(b.fake.log)
      t.equal(rp?.contentType, kp?.contentType)
      const { metadata, ...rest } = rp?.body as Record<string, unknown>
      t.same(rest, kp?.body, 'ControllerRevision data verbatim')
      t.same(Object.keys(metadata as object), ['resourceVersion'])
      await Promise.all([a.fake.tick(), b.fake.tick()])
      t.same(endState(b.fake, plural, 'x', 'controllerrevisions'), endState(a.fake, plural, 'x', 'controllerrevisions'))
    })
  }
})

function textOf(r: UndoResult): string {
  if (r.kind === 'rolled-back' || r.kind === 'dry-run') return 'rolled back'
  return r.message.replace(/^[^:]+: /, '')
}

async function sameEndState(t: Test, a: Harness, b: Harness): Promise<void> {
  await Promise.all([a.fake.tick(), b.fake.tick()])
  t.same(
    endState(b.fake, 'deployments', 'web', 'replicasets'),
    endState(a.fake, 'deployments', 'web', 'replicasets'),
    'same end state',
  )
}
