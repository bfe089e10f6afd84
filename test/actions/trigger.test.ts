import t from 'tap'
import { ActionsConfig } from '../../src/actions/actions-config.js'
import { isTrigger, targetOf, triggerEvent, workloadKey } from '../../src/actions/trigger.js'
import type { Transition } from '../../src/engine/types.js'

const config = ActionsConfig.parse({})
const T0 = Date.parse('2026-03-30T10:00:00Z')

const transition = (labels: Record<string, string>, over: Partial<Transition> = {}): Transition => ({
  rule: 'HighErrorRate',
  fingerprint: 'fp-1',
  labels: { alertname: 'HighErrorRate', rollguard_trigger: 'rollback', ...labels },
  annotations: {},
  value: 0.5,
  from: 'pending',
  to: 'firing',
  at: T0,
  activeAt: T0 - 60_000,
  ...over,
})

t.test('a trigger going firing asks for a rollback of the workload its labels name', async t => {
  const e = triggerEvent(transition({ namespace: 'shop', deployment: 'checkout' }), config)
  t.same(e, {
    kind: 'fire',
    request: {
      ref: { kind: 'Deployment', namespace: 'shop', name: 'checkout' },
      alert: {
        name: 'HighErrorRate',
        labels: {
          alertname: 'HighErrorRate',
          rollguard_trigger: 'rollback',
          namespace: 'shop',
          deployment: 'checkout',
        },
        fingerprint: 'fp-1',
        startsAt: T0,
        origin: 'rules',
        onset: T0 - 60_000,
      },
    },
  })
  t.match(triggerEvent(transition({ namespace: 'db', statefulset: 'pg' }), config), {
    kind: 'fire',
    request: { ref: { kind: 'StatefulSet', namespace: 'db', name: 'pg' } },
  })
  t.match(triggerEvent(transition({ namespace: 'kube-system', daemonset: 'agent.v2' }), config), {
    kind: 'fire',
    request: { ref: { kind: 'DaemonSet', name: 'agent.v2' } },
  })
})

t.test('the alert name falls back to the rule name when the labels lack alertname', async t => {
  const tr = transition({ namespace: 'shop', deployment: 'checkout' })
  const { alertname: _drop, ...labels } = tr.labels
  t.match(triggerEvent({ ...tr, labels }, config), { kind: 'fire', request: { alert: { name: 'HighErrorRate' } } })
})

t.test('a firing trigger resolving asks to cancel; other transitions do not matter', async t => {
  const labels = { namespace: 'shop', deployment: 'checkout' }
  t.match(triggerEvent(transition(labels, { from: 'firing', to: 'inactive' }), config), {
    kind: 'resolve',
    request: { ref: { name: 'checkout' } },
  })
  t.equal(triggerEvent(transition(labels, { from: 'new', to: 'pending' }), config), undefined, 'pending')
  t.equal(
    triggerEvent(transition(labels, { from: 'pending', to: 'deleted' }), config),
    undefined,
    'cleared while pending',
  )
  t.equal(
    triggerEvent(transition(labels, { from: 'firing', to: 'pending' }), config),
    undefined,
    'back to pending after a reload',
  )
  t.equal(triggerEvent(transition(labels, { from: 'inactive', to: 'pending' }), config), undefined)
})

t.test('alerts without the trigger label, or with another value, are not triggers', async t => {
  t.equal(
    triggerEvent(transition({ namespace: 'shop', deployment: 'checkout', rollguard_trigger: 'page' }), config),
    undefined,
  )
  const tr = transition({ namespace: 'shop', deployment: 'checkout' })
  const { rollguard_trigger: _drop, ...labels } = tr.labels
  t.equal(triggerEvent({ ...tr, labels }, config), undefined)
  t.ok(
    isTrigger({ constructor: 'x' }, { label: 'constructor', value: 'x' }),
    'a label named like an Object property counts',
  )
  t.notOk(isTrigger({}, { label: 'toString', value: 'x' }), 'inherited properties are not labels')
})

t.test(
  'a firing trigger naming no usable workload is ignored with a reason; its resolution is not an event',
  async t => {
    t.match(triggerEvent(transition({ deployment: 'checkout' }), config), {
      kind: 'ignored',
      reason: 'no_target',
      message:
        'the alert names no workload: it needs a "namespace" label and one of "deployment", "statefulset", "daemonset"',
      alert: { name: 'HighErrorRate', fingerprint: 'fp-1' },
    })
    t.match(triggerEvent(transition({ namespace: 'shop' }), config), { kind: 'ignored', reason: 'no_target' })
    t.match(triggerEvent(transition({ namespace: 'shop', deployment: 'a', daemonset: 'b' }), config), {
      kind: 'ignored',
      reason: 'ambiguous_target',
      message: 'the alert names more than one workload (deployment="a", daemonset="b"); it needs exactly one',
    })
    t.match(triggerEvent(transition({ namespace: 'Shop', deployment: 'a' }), config), {
      reason: 'invalid_target',
      message: 'namespace="Shop" is not a valid namespace name',
    })
    t.match(triggerEvent(transition({ namespace: 'x'.repeat(64), deployment: 'a' }), config), {
      reason: 'invalid_target',
    })
    t.match(triggerEvent(transition({ namespace: 'shop', deployment: 'check_out' }), config), {
      reason: 'invalid_target',
      message: 'deployment="check_out" is not a valid Deployment name',
    })
    t.match(triggerEvent(transition({ namespace: 'shop', statefulset: `${'a'.repeat(250)}.bcd` }), config), {
      reason: 'invalid_target',
    })
    t.equal(triggerEvent(transition({ deployment: 'checkout' }, { from: 'firing', to: 'inactive' }), config), undefined)
  },
)

t.test('the trigger label and the target labels are configurable', async t => {
  const custom = ActionsConfig.parse({
    trigger: { label: 'action', value: 'undo' },
    targets: { namespace: 'kubernetes_namespace', deployment: 'app', statefulset: 'sts', daemonset: 'ds' },
  })
  const tr = transition({
    action: 'undo',
    kubernetes_namespace: 'shop',
    app: 'checkout',
    namespace: 'other',
    deployment: 'other',
  })
  t.match(triggerEvent(tr, custom), {
    kind: 'fire',
    request: { ref: { kind: 'Deployment', namespace: 'shop', name: 'checkout' } },
  })
  t.equal(
    triggerEvent(transition({ namespace: 'shop', deployment: 'x' }), custom),
    undefined,
    'the default label no longer marks triggers',
  )
  t.match(targetOf({ kubernetes_namespace: 'shop' }, custom.targets), {
    reason: 'no_target',
    message: /"kubernetes_namespace" label and one of "app", "sts", "ds"/,
  })
})

t.test('workloadKey is stable per kind, namespace and name', async t => {
  t.equal(workloadKey({ kind: 'Deployment', namespace: 'shop', name: 'checkout' }), 'Deployment/shop/checkout')
})
