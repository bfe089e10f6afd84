/**
 * The test-side kustomize (fixtures/kustomize.ts) that the other deploy tests render the manifests with: its
 * features on small trees, its refusals, and — where a kubectl is installed (it has kustomize built in and
 * works offline) — a cross-check that every kustomization under deploy/ renders exactly as `kubectl kustomize`
 * renders it. Fresh CI machines may have no kubectl; the cross-check is then skipped, and the loader's
 * fidelity rests on the pinned hashes below, which were taken from kubectl's kustomize (v5.0.1 to v5.6.0).
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { findKubectl } from '../fixtures/kube/kubectl.js'
import { build, configMapHash, type K8sObject } from './fixtures/kustomize.js'
import { DEPLOY, KUSTOMIZATIONS } from './fixtures/manifests.js'

const id = (o: K8sObject): string => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`

function kustomize(kubectl: string, dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise(resolve => {
    execFile(
      kubectl,
      ['kustomize', dir],
      { timeout: 60_000, env: { ...process.env, KUBECONFIG: '/dev/null' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    )
  })
}

t.test("the ConfigMap name suffix is kustomize's (values printed by kubectl kustomize v5.0.1-v5.6.0)", async t => {
  t.equal(configMapHash({ data: { 'a.txt': 'x\n' } }), 'bhbm77t98f')
  // Go's encoding/json escapes <, > and & (and U+2028); kustomize hashes that encoding.
  t.equal(configMapHash({ data: { 'b.txt': 'a > b & c < d\n', k2: 'x\n' } }), 'g4f8mg4ck8')
  t.equal(configMapHash({ data: { 'c.txt': 'line\u2028sep\n' } }), 'c6hfbm875g')
  t.equal(configMapHash({ data: { k2: 'x\n', 'b.txt': 'a > b & c < d\n' } }), 'g4f8mg4ck8', 'key order does not matter')
})

t.test('resources, components, generators, images and references to generated ConfigMaps', async t => {
  const dir = t.testdir({
    base: {
      'kustomization.yaml': [
        'resources: [deploy.yaml]',
        'configMapGenerator:',
        '  - name: cfg',
        '    namespace: ns',
        '    files: [conf/a.txt, renamed.txt=conf/a.txt]',
        '    options: { labels: { l: v } }',
        '  - name: fixed',
        '    namespace: ns',
        '    files: [conf/a.txt]',
        '    options: { disableNameSuffixHash: true }',
        'images:',
        '  - { name: app, newName: registry.example/app, newTag: "1.2" }',
      ].join('\n'),
      conf: { 'a.txt': 'x\n' },
      'deploy.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: { name: d, namespace: ns }',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: c',
        '          image: app',
        '          envFrom: [{ configMapRef: { name: cfg } }]',
        '        - { name: other, image: "other:3" }',
        '      volumes:',
        '        - { name: v, configMap: { name: cfg } }',
        '        - { name: w, configMap: { name: fixed } }',
        '        - { name: elsewhere, configMap: { name: unrelated } }',
      ].join('\n'),
    },
    overlay: {
      'kustomization.yaml': 'resources: [../base]\ncomponents: [../component]\n',
    },
    component: {
      'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n',
      'extra.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: sa, namespace: ns }\n---\n',
    },
  })
  const objs = build(join(dir, 'overlay'))
  const hashed = `cfg-${configMapHash({ data: { 'a.txt': 'x\n', 'renamed.txt': 'x\n' } })}`
  t.same(objs.map(id), [
    'apps/v1/Deployment/ns/d',
    `v1/ConfigMap/ns/${hashed}`,
    'v1/ConfigMap/ns/fixed',
    'v1/ServiceAccount/ns/sa',
  ])
  const cm = objs.find(o => o.metadata.name === hashed)
  t.same(cm?.data, { 'a.txt': 'x\n', 'renamed.txt': 'x\n' }, 'keys: the file name, or key=file')
  t.same(cm?.metadata.labels, { l: 'v' })
  const pod = (objs.find(o => o.kind === 'Deployment')?.spec as { template: { spec: any } }).template.spec
  t.same(
    pod.volumes.map((v: any) => v.configMap.name),
    [cm?.metadata.name, 'fixed', 'unrelated'],
    'references follow the hash suffix',
  )
  t.equal(pod.containers[0].envFrom[0].configMapRef.name, cm?.metadata.name)
  t.same(
    pod.containers.map((c: any) => c.image),
    ['registry.example/app:1.2', 'other:3'],
    'images: only the named image',
  )
})

t.test('what kustomize refuses, and what this loader does not implement, fails', async t => {
  const dir = t.testdir({
    outside: { 'x.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: x }\n' },
    escapes: { 'kustomization.yaml': 'resources: [../outside/x.yaml]\n' },
    generatorEscapes: { 'kustomization.yaml': 'configMapGenerator: [{ name: c, files: [../outside/x.yaml] }]\n' },
    namespaced: { 'kustomization.yaml': 'namespace: other\nresources: []\n' },
    patched: { 'kustomization.yaml': 'patches: [{ path: p.yaml }]\n' },
    merged: { 'kustomization.yaml': 'configMapGenerator: [{ name: c, behavior: merge, files: [] }]\n' },
    duplicate: {
      'kustomization.yaml': 'resources: [a.yaml, a.yaml]\n',
      'a.yaml': 'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: x }\n',
    },
    notComponent: { 'kustomization.yaml': 'components: [../escapes]\n' },
  })
  t.throws(() => build(join(dir, 'escapes')), /security; file '.*x\.yaml' is not in or below/)
  t.throws(() => build(join(dir, 'generatorEscapes')), /security; file/)
  t.throws(() => build(join(dir, 'namespaced')), /"namespace" is not supported/)
  t.throws(() => build(join(dir, 'patched')), /"patches" is not supported/)
  t.throws(() => build(join(dir, 'merged')), /only behavior create/)
  t.throws(() => build(join(dir, 'duplicate')), /already registered id/)
  t.throws(() => build(join(dir, 'notComponent')), /kind Kustomization, expected Component/)
})

const kubectl = await findKubectl()
const noKubectl =
  kubectl === undefined && 'no kubectl on this machine: the cross-check needs kubectl (kustomize is built into it)'

t.test('every kustomization under deploy/ renders as kubectl kustomize renders it', { skip: noKubectl }, async t => {
  if (kubectl === undefined) return
  for (const k of KUSTOMIZATIONS) {
    const r = await kustomize(kubectl, join(DEPLOY, k))
    t.equal(r.code, 0, `kubectl kustomize deploy/${k}: ${r.stderr}`)
    const theirs = parseAllDocuments(r.stdout)
      .map(d => d.toJS() as K8sObject)
      .filter(o => o !== null)
    const ours = build(join(DEPLOY, k))
    t.same(ours.map(id).sort(), theirs.map(id).sort(), `deploy/${k}: the same objects`)
    for (const o of theirs)
      t.strictSame(
        ours.find(x => id(x) === id(o)),
        o,
        `deploy/${k}: ${id(o)}`,
      )
  }
})
