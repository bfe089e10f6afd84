import { fingerprint } from '../../src/engine/labels.js'
import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  decodeRollbackRecord,
  encodeRollbackRecord,
  labelsFingerprint,
  recordNames,
  recordNamesSeries,
  triggerKey,
  type RollbackRecord,
} from '../../src/actions/record.js'

const AT = Date.parse('2026-01-01T10:05:00Z')
const BASE: RollbackRecord = { at: AT, fromRevision: 2, toRevision: 1, generation: 3, alert: 'x', history: [AT] }

t.test("labelsFingerprint is Alertmanager's fingerprint of the same labels", async t => {
  const payload = JSON.parse(
    readFileSync(new URL('../webhook/fixtures/am-0.25.0-firing.json', import.meta.url), 'utf8'),
  ) as {
    alerts: Array<{ labels: Record<string, string>; fingerprint: string }>
  }
  t.ok(payload.alerts.length >= 2)
  for (const a of payload.alerts) t.equal(labelsFingerprint(a.labels), a.fingerprint, a.labels['alertname'] ?? '')
  t.equal(labelsFingerprint({}), 'cbf29ce484222325', 'the empty set is the FNV-1a offset basis')
  t.equal(labelsFingerprint({ a: 'é' }), labelsFingerprint({ a: 'é' }), 'UTF-8 bytes, stable')
  t.not(labelsFingerprint({ a: 'b', c: '' }), labelsFingerprint({ a: 'bc' }), 'separators keep names and values apart')
})

t.test('triggerKey: hex fingerprint @ RFC 3339 firing time; rule alerts hashed from their labels', async t => {
  t.equal(triggerKey({ fingerprint: 'fbeaf81a8353a375', startsAt: AT }), 'fbeaf81a8353a375@2026-01-01T10:05:00.000Z')
  const labels = { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'checkout' }
  const key = triggerKey({ fingerprint: 'alertname\xffHighErrorRate\xff', labels, startsAt: AT, origin: 'rules' })
  t.equal(key, `${labelsFingerprint(labels)}@2026-01-01T10:05:00.000Z`)
  t.notMatch(key, /\xff/, 'no raw separator bytes in the annotation')
})

t.test("recordNames recognises today's keys and the raw form older records hold", async t => {
  const labels = { alertname: 'HighErrorRate', namespace: 'shop' }
  const raw = 'alertname\xffHighErrorRate\xffnamespace\xffshop\xff'
  // The engine's key today (length-prefixed): the raw form is made from the labels, not from it.
  const alert = { fingerprint: fingerprint(labels), labels, startsAt: AT, origin: 'rules' as const }
  const base: RollbackRecord = {
    at: AT,
    fromRevision: 2,
    toRevision: 1,
    generation: 3,
    alert: 'HighErrorRate',
    history: [AT],
  }
  t.ok(recordNames({ ...base, triggers: [triggerKey(alert)] }, alert))
  t.ok(recordNames({ ...base, triggers: [`${raw}@2026-01-01T10:05:00.000Z`] }, alert), 'legacy raw fingerprint')
  t.notOk(recordNames({ ...base, triggers: [triggerKey({ ...alert, startsAt: AT + 1 })] }, alert), 'another firing')
  t.notOk(recordNames(base, alert), 'no triggers recorded')
  const relayed = { fingerprint: 'fbeaf81a8353a375', startsAt: AT }
  t.ok(
    recordNames({ ...base, triggers: ['fbeaf81a8353a375@2026-01-01T10:05:00.000Z'] }, relayed),
    'an Alertmanager alert',
  )
  t.notOk(recordNames({ ...base, triggers: [`${raw}@2026-01-01T10:05:00.000Z`] }, relayed))
})

t.test('recordNamesSeries recognises the series whatever its firing time, and no other series', async t => {
  const labels = { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'checkout' }
  const alert = { fingerprint: 'HighErrorRate/checkout', labels, startsAt: AT, origin: 'rules' as const }
  const base = BASE
  const rec = { ...base, triggers: [triggerKey(alert)] }
  t.ok(recordNamesSeries(rec, alert))
  t.ok(recordNamesSeries(rec, { ...alert, startsAt: AT + 90_000 }), 'the same series, restored with another start')
  t.notOk(recordNamesSeries(rec, { ...alert, labels: { ...labels, deployment: 'cart' } }), 'another series')
  t.notOk(recordNamesSeries(base, alert), 'no triggers recorded')
  const webhook = { fingerprint: 'fbeaf81a8353a375', startsAt: AT }
  t.ok(recordNamesSeries({ ...base, triggers: ['fbeaf81a8353a375@2026-01-01T09:00:00.000Z'] }, webhook))
  t.notOk(recordNamesSeries({ ...base, triggers: ['fbeaf81a8353a37@2026-01-01T09:00:00.000Z'] }, webhook), 'a prefix')
})

t.test('the effectiveness verdict round-trips as judged and effective', async t => {
  const r: RollbackRecord = {
    ...BASE,
    alert: 'HighErrorRate',
    verified: AT + 30_000,
    judged: { at: AT + 330_000, effective: false },
  }
  const text = encodeRollbackRecord(r)
  t.match(JSON.parse(text), { judged: '2026-01-01T10:10:30.000Z', effective: false })
  t.same(decodeRollbackRecord(text), r)
  t.same(decodeRollbackRecord(encodeRollbackRecord({ ...r, judged: { at: AT, effective: true } }))?.judged, {
    at: AT,
    effective: true,
  })
  t.equal(decodeRollbackRecord(JSON.stringify({ ...(JSON.parse(text) as object), judged: 'soon' })), undefined)
})

t.test('the record round-trips with attempt, replica and verification; malformed values are rejected', async t => {
  const r: RollbackRecord = {
    at: AT,
    fromRevision: 2,
    toRevision: 1,
    generation: 3,
    alert: 'HighErrorRate',
    history: [AT - 1000, AT],
    triggers: ['fbeaf81a8353a375@2026-01-01T10:05:00.000Z'],
    attempt: '0a1b2c3d4e5f',
    by: 'rollguard-0_ab12',
    verified: AT + 30_000,
  }
  const text = encodeRollbackRecord(r)
  t.same(decodeRollbackRecord(text), r)
  t.same(
    Object.keys(JSON.parse(text) as object),
    ['at', 'from', 'to', 'generation', 'alert', 'attempt', 'by', 'history', 'triggers', 'verified'],
    'readable order',
  )
  const bare = encodeRollbackRecord({ ...r, attempt: undefined, by: undefined, verified: undefined, triggers: [] })
  t.same(
    JSON.parse(bare),
    {
      at: '2026-01-01T10:05:00.000Z',
      from: 2,
      to: 1,
      generation: 3,
      alert: 'HighErrorRate',
      history: ['2026-01-01T10:04:59.000Z', '2026-01-01T10:05:00.000Z'],
    },
    'optional fields are left out, not written empty',
  )
  t.same(decodeRollbackRecord(bare), {
    at: AT,
    fromRevision: 2,
    toRevision: 1,
    generation: 3,
    alert: 'HighErrorRate',
    history: [AT - 1000, AT],
  })
  for (const bad of [
    '{',
    '[]',
    '{"at":"x","from":1,"to":0,"generation":1,"alert":"a"}',
    JSON.stringify({ ...(JSON.parse(text) as object), verified: 'later' }),
  ]) {
    t.equal(decodeRollbackRecord(bad), undefined, bad)
  }
  t.equal(decodeRollbackRecord(undefined), undefined)
})
