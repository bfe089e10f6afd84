// The fake's pure building blocks: selector grammar, JSON/merge/strategic patches, Go time parsing errors,
// quantity comparison, RBAC rule matching.
import t from 'tap'
import { authorizeFromRbac } from '../fixtures/kube/rbac.js'
import { parseMicroTimeError } from '../fixtures/kube/microtime.js'
import { applyJsonPatch, applyMergePatch, PatchApplyError } from '../fixtures/kube/patch.js'
import {
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorString,
  SelectorError,
} from '../fixtures/kube/selectors.js'
import { applyStrategicMergePatch } from '../fixtures/kube/strategic.js'
import { semanticEqual } from '../fixtures/kube/json.js'
import { isQualifiedName } from '../fixtures/kube/names.js'
import type { AuthzRequest } from '../fixtures/kube/types.js'

function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

t.test('label selector grammar and matching', async t => {
  const L = { app: 'web', tier: 'fe', n: '5' }
  const m = (s: string) => matchesLabels(parseLabelSelector(s), L)
  t.ok(m(''))
  t.ok(m('app=web'))
  t.ok(m('app==web'))
  t.ok(m('app = web , tier in ( be , fe )'))
  t.notOk(m('tier notin (fe)'))
  t.ok(m('other notin (x)'), 'notin matches a missing key')
  t.ok(m('other!=x'), '!= matches a missing key')
  t.ok(m('tier,!other'))
  t.notOk(m('!tier'))
  t.ok(m('n>4'))
  t.notOk(m('n<5'))
  t.ok(m('example.com/key!=v'))
  t.same(parseLabelSelector('a=,b in ()'), [
    { key: 'a', op: '=', values: [''] },
    { key: 'b', op: 'in', values: [''] },
  ])
  for (const bad of ['app in (a', 'app in a', '=x', 'a b', 'app=x y', 'bad key!=1', 'a=' + 'x'.repeat(64), 'n>x']) {
    t.ok(caught(() => parseLabelSelector(bad)) instanceof SelectorError, bad)
  }
  t.equal(
    selectorString({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['fe', 'be'] },
        { key: 'a', operator: 'DoesNotExist' },
      ],
    }),
    '!a,app=web,tier in (be,fe)',
  )
  t.same(parseFieldSelector('metadata.name=a\\,b,x!=y'), [
    { field: 'metadata.name', op: '=', value: 'a,b' },
    { field: 'x', op: '!=', value: 'y' },
  ])
})

t.test('RFC 6902 JSON patch (evanphx semantics)', async t => {
  const doc = { a: { b: [1, 2] }, c: 'x' }
  t.same(
    applyJsonPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 3 },
      { op: 'add', path: '/a/b/0', value: 0 },
    ]),
    { a: { b: [0, 1, 2, 3] }, c: 'x' },
  )
  t.same(
    applyJsonPatch(doc, [
      { op: 'remove', path: '/c' },
      { op: 'replace', path: '/a/b/1', value: 9 },
    ]),
    { a: { b: [1, 9] } },
  )
  t.same(
    applyJsonPatch(doc, [
      { op: 'move', from: '/c', path: '/d' },
      { op: 'copy', from: '/d', path: '/e' },
    ]),
    { a: { b: [1, 2] }, d: 'x', e: 'x' },
  )
  t.same(applyJsonPatch({ 'a/b': { '~': 1 } }, [{ op: 'replace', path: '/a~1b/~0', value: 2 }]), { 'a/b': { '~': 2 } })
  t.same(applyJsonPatch(doc, [{ op: 'test', path: '/a', value: { b: [1, 2] } }]), doc)
  t.same(
    applyJsonPatch(doc, [{ op: 'test', path: '/missing', value: null }]),
    doc,
    'test of a missing path against null passes',
  )
  t.same(doc, { a: { b: [1, 2] }, c: 'x' }, 'input untouched')
  for (const ops of [
    [{ op: 'test', path: '/c', value: 'y' }],
    [{ op: 'replace', path: '/nope', value: 1 }],
    [{ op: 'remove', path: '/nope' }],
    [{ op: 'add', path: '/x/y', value: 1 }],
    [{ op: 'add', path: '/a/b/5', value: 1 }],
    [{ op: 'bogus', path: '/a' }],
    [{ op: 'replace', path: '/c' }],
  ]) {
    t.ok(caught(() => applyJsonPatch(doc, ops)) instanceof PatchApplyError, JSON.stringify(ops))
  }
})

t.test('RFC 7386 merge patch', async t => {
  t.same(applyMergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: null, b: { c: null, f: 4 }, e: [2] }), {
    b: { d: 3, f: 4 },
    e: [2],
  })
  t.same(applyMergePatch({ a: 1 }, [1]), [1])
})

t.test('strategic merge patch subset', async t => {
  const orig = {
    spec: {
      template: {
        metadata: { labels: { a: '1' } },
        spec: {
          containers: [
            { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
            { name: 'b', image: 'b:1' },
          ],
          tolerations: [{ key: 'k' }],
        },
      },
    },
    metadata: { finalizers: ['x'] },
  }
  const p1 = {
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'b', image: 'b:2' },
            { name: 'c', image: 'c:1' },
          ],
          tolerations: [{ key: 'z' }],
        },
      },
    },
    metadata: { finalizers: ['y'] },
  }
  t.same(applyStrategicMergePatch(orig, p1), {
    spec: {
      template: {
        metadata: { labels: { a: '1' } },
        spec: {
          containers: [
            { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
            { name: 'b', image: 'b:2' },
            { name: 'c', image: 'c:1' },
          ],
          tolerations: [{ key: 'z' }],
        },
      },
    },
    metadata: { finalizers: ['x', 'y'] },
  })
  const replaced = applyStrategicMergePatch(orig, {
    spec: { template: { $patch: 'replace', spec: { containers: [{ name: 'z', image: 'z:1' }] } } },
  })
  t.same(replaced, {
    spec: { template: { spec: { containers: [{ name: 'z', image: 'z:1' }] } } },
    metadata: { finalizers: ['x'] },
  })
  const deleted = applyStrategicMergePatch(orig, {
    spec: { template: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } } },
    metadata: { $deleteFromPrimitiveList: 1, '$deleteFromPrimitiveList/finalizers': ['x'] },
  })
  t.same(
    (deleted as typeof orig).spec.template.spec.containers.map(c => c.name),
    ['b'],
  )
  t.same((deleted as typeof orig).metadata.finalizers, [])
  t.same(applyStrategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $retainKeys: ['b'], b: 3 } }), { a: { b: 3 } })
  t.throws(() => applyStrategicMergePatch({}, { a: { $patch: 'explode' } }))
})

t.test('MicroTime decoding errors match Go time.Parse', async t => {
  const L = '"2006-01-02T15:04:05.000000Z07:00"'
  t.equal(parseMicroTimeError('2026-11-26T08:29:50.884000Z'), undefined)
  t.equal(parseMicroTimeError('2026-11-26T08:29:50.884000+01:00'), undefined)
  t.equal(
    parseMicroTimeError('2026-11-26T08:29:50.103Z'),
    `parsing time "2026-11-26T08:29:50.103Z" as ${L}: cannot parse ".103Z" as ".000000"`,
  )
  t.equal(
    parseMicroTimeError('2026-11-26T08:29:50Z'),
    `parsing time "2026-11-26T08:29:50Z" as ${L}: cannot parse "Z" as ".000000"`,
  )
  t.equal(
    parseMicroTimeError('2026-11-26T08:29:50.123456789Z'),
    `parsing time "2026-11-26T08:29:50.123456789Z" as ${L}: cannot parse "789Z" as "Z07:00"`,
  )
  t.equal(
    parseMicroTimeError('2026-13-01T00:00:00.000000Z'),
    'parsing time "2026-13-01T00:00:00.000000Z": month out of range',
  )
  t.equal(
    parseMicroTimeError('2026-02-30T00:00:00.000000Z'),
    'parsing time "2026-02-30T00:00:00.000000Z": day out of range',
  )
  t.equal(
    parseMicroTimeError('2026-01-01T00:00:00.000000Zjunk'),
    'parsing time "2026-01-01T00:00:00.000000Zjunk": extra text: "junk"',
  )
  t.equal(parseMicroTimeError('yesterday'), `parsing time "yesterday" as ${L}: cannot parse "yesterday" as "2006"`)
})

t.test('semantic equality: null/{}/[] vs absent, key order, quantities', async t => {
  t.ok(semanticEqual({ a: 1, b: null, c: {}, d: [] }, { a: 1 }))
  t.ok(semanticEqual({ x: { b: 1, a: 2 } }, { x: { a: 2, b: 1 } }))
  t.ok(semanticEqual({ limits: { cpu: '500m', memory: '1Gi' } }, { limits: { cpu: '0.5', memory: '1073741824' } }))
  t.notOk(semanticEqual({ limits: { cpu: '500m' } }, { limits: { cpu: '501m' } }))
  t.notOk(semanticEqual({ a: [1, 2] }, { a: [2, 1] }))
})

t.test('qualified names (label and annotation keys)', async t => {
  t.same(isQualifiedName('rollguard.example.com/rolled-back'), [])
  t.same(isQualifiedName('a/b/c').length, 1)
  t.match(
    isQualifiedName('-bad')[0],
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  )
})

t.test(
  'authorizeFromRbac: ClusterRole via RoleBinding, ClusterRoleBinding, subresources, no-binding fallback',
  async t => {
    const req = (over: Partial<AuthzRequest>): AuthzRequest => ({
      user: 'u',
      verb: 'get',
      group: 'apps',
      resource: 'deployments',
      namespace: 'a',
      ...over,
    })
    const yaml = `
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: { name: reader }
rules: [{ apiGroups: ["apps"], resources: ["deployments", "deployments/status", "*/scale"], verbs: ["get"] }]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: { name: r, namespace: a }
roleRef: { kind: ClusterRole, name: reader }
subjects: [{ kind: ServiceAccount, name: sa, namespace: sys }]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: { name: everyone }
roleRef: { kind: ClusterRole, name: reader }
subjects: [{ kind: Group, name: "system:serviceaccounts:other" }]
`
    const az = authorizeFromRbac(yaml, { namespace: 'sys', serviceAccount: 'sa' })
    t.ok(az(req({})))
    t.ok(az(req({ subresource: 'status' })))
    t.ok(az(req({ resource: 'replicasets', subresource: 'scale' })))
    t.notOk(az(req({ namespace: 'b' })), 'RoleBinding scopes the ClusterRole to its namespace')
    t.notOk(az(req({ verb: 'patch' })))
    t.notOk(az(req({ resource: 'replicasets' })))
    t.ok(
      authorizeFromRbac(yaml, { namespace: 'other', serviceAccount: 'x' })(req({ namespace: 'anywhere' })),
      'ClusterRoleBinding by group',
    )
    const unbound = authorizeFromRbac(
      'kind: Role\nmetadata: { name: r, namespace: a }\nrules: [{ apiGroups: [""], resources: ["events"], verbs: ["*"] }]\n',
      { namespace: 'a', serviceAccount: 's' },
    )
    t.ok(unbound(req({ group: '', resource: 'events', verb: 'create' })))
    t.notOk(unbound(req({ group: '', resource: 'events', verb: 'create', namespace: 'b' })))
  },
)
