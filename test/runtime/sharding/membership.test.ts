import t from 'tap'
import { MembershipTracker, type MemberLease } from '../../../src/runtime/sharding/membership.js'

const lease = (holder: string, renewTime: string, durationMs = 15_000, name = `m-${holder}`): MemberLease => ({
  name,
  holder,
  leaseDurationMs: durationMs,
  record: JSON.stringify([holder, durationMs, renewTime]),
})

t.test('a Lease counts from when the observer saw its record change, not from its renewTime', async t => {
  const m = new MembershipTracker()
  // renewTime far in the past by the holder's clock: skew does not matter, the observer saw it now.
  m.observe([lease('a', '2001-01-01T00:00:00.000000Z')], 1_000)
  t.same(m.members(1_000), ['a'])
  t.same(m.members(15_999), ['a'])
  t.same(m.members(16_000), [], 'expired one duration after it was seen')
})

t.test('the same record seen again does not extend it; a renewal does', async t => {
  const m = new MembershipTracker()
  m.observe([lease('a', 't1')], 0)
  m.observe([lease('a', 't1')], 10_000)
  t.same(m.members(15_000), [], 'an unchanged record is not a renewal')
  m.observe([lease('a', 't2')], 15_000)
  t.same(m.members(29_999), ['a'])
})

t.test('released and deleted Leases are no members; members are sorted and unique', async t => {
  const m = new MembershipTracker()
  m.observe([lease('b', 't'), lease('a', 't'), lease('a', 't', 15_000, 'other-name'), lease('', 't', 1_000, 'c')], 0)
  t.same(m.members(0), ['a', 'b'])
  m.observe([lease('b', 't')], 1)
  t.same(m.members(1), ['b'], 'a Lease missing from the list is forgotten')
})

t.test("each Lease's own duration applies", async t => {
  const m = new MembershipTracker()
  m.observe([lease('short', 't', 3_000), lease('long', 't', 15_000)], 0)
  t.same(m.members(2_999), ['long', 'short'])
  t.same(m.members(3_000), ['long'])
})
