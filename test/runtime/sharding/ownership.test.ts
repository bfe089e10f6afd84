import t from 'tap'
import { assignOwners, OwnerCache, ownerOf, rendezvousWeight } from '../../../src/runtime/sharding/ownership.js'

const groups = Array.from({ length: 4000 }, (_, i) => `rules/team-${i % 40}.yml;service-${i}`)

const moved = (a: Map<string, string>, b: Map<string, string>) => [...a].filter(([k, v]) => b.get(k) !== v).length

t.test('no members: no owner', async t => {
  t.equal(ownerOf([], 'a.yml;g'), undefined)
  t.same(assignOwners([], ['a.yml;g']).size, 0)
})

t.test('one member owns everything', async t => {
  const owners = assignOwners(['rollguard-0'], groups)
  t.equal(owners.size, groups.length)
  t.ok([...owners.values()].every(o => o === 'rollguard-0'))
})

t.test('deterministic and independent of the order (and duplicates) of the members', async t => {
  const a = assignOwners(['r-0', 'r-1', 'r-2'], groups)
  const b = assignOwners(['r-2', 'r-0', 'r-1', 'r-0'], groups)
  t.same([...a], [...b])
  t.equal(ownerOf(['x', 'y'], 'f;g'), ownerOf(['y', 'x'], 'f;g'))
})

t.test('the weight is a safe integer that depends on both member and group', async t => {
  const w = rendezvousWeight('r-0', 'f;g')
  t.ok(Number.isSafeInteger(w) && w >= 0)
  t.equal(rendezvousWeight('r-0', 'f;g'), w)
  t.not(rendezvousWeight('r-1', 'f;g'), w)
  t.not(rendezvousWeight('r-0', 'f;h'), w)
  // The separator keeps the concatenation ambiguity apart.
  t.not(rendezvousWeight('ab', 'c'), rendezvousWeight('a', 'bc'))
})

t.test('groups spread evenly over the members', async t => {
  for (const n of [2, 3, 5]) {
    const members = Array.from({ length: n }, (_, i) => `rollguard-${i}`)
    const counts = new Map<string, number>()
    for (const owner of assignOwners(members, groups).values()) counts.set(owner, (counts.get(owner) ?? 0) + 1)
    t.equal(counts.size, n, `${n} members all own groups`)
    for (const [member, count] of counts) {
      const share = count / groups.length
      t.ok(Math.abs(share - 1 / n) < 0.05, `${member} owns ${count} of ${groups.length} with ${n} members`)
    }
  }
})

t.test('a member joining takes about 1/N of the groups, only from others to itself', async t => {
  const before = assignOwners(['r-0', 'r-1'], groups)
  const after = assignOwners(['r-0', 'r-1', 'r-2'], groups)
  const elsewhere = [...after].filter(([key, owner]) => owner !== before.get(key) && owner !== 'r-2')
  t.same(elsewhere, [], 'groups move only to the joiner')
  const share = moved(before, after) / groups.length
  t.ok(share > 1 / 3 - 0.05 && share < 1 / 3 + 0.05, `moved ${share}`)
})

t.test('a member leaving gives only its own groups away, spread over the survivors', async t => {
  const before = assignOwners(['r-0', 'r-1', 'r-2'], groups)
  const after = assignOwners(['r-0', 'r-2'], groups)
  const kept = [...before].filter(([, owner]) => owner !== 'r-1')
  t.same(
    kept.filter(([key, owner]) => after.get(key) !== owner),
    [],
    "the survivors' groups stay",
  )
  const gained = [...before].filter(([key, owner]) => owner === 'r-1' && after.get(key) === 'r-0').length
  t.equal(moved(before, after), [...before.values()].filter(o => o === 'r-1').length)
  const lost = [...before.values()].filter(o => o === 'r-1').length
  t.ok(gained > lost * 0.4 && gained < lost * 0.6, `r-0 gained ${gained} of ${lost}`)
})

t.test('ties go to the smaller name whatever the order', async t => {
  const flat = () => 7
  t.equal(ownerOf(['b', 'a', 'c'], 'g', flat), 'a')
  t.equal(ownerOf(['c', 'b', 'a'], 'g', flat), 'a')
  t.equal(ownerOf(['a', 'b'], 'g', flat), 'a')
})

t.test('the owner cache answers as ownerOf, hashing each group once per list of members', async t => {
  const cache = new OwnerCache()
  let hashed = 0
  const counting = new Proxy(ownerOf, {
    apply: (f, self, args: Parameters<typeof ownerOf>) => {
      hashed++
      return Reflect.apply(f, self, args)
    },
  })
  const keys = groups.slice(0, 200)
  const three = ['r-0', 'r-1', 'r-2']
  for (const key of keys) t.equal(cache.ownerOf(three, key), counting(three, key))
  hashed = 0
  // The same members in another array (each list of the Leases makes a new one): answered from the cache.
  const answers = keys.map(key => cache.ownerOf([...three], key))
  t.same(
    answers,
    keys.map(key => ownerOf(three, key)),
  )
  t.equal(hashed, 0)
  // A member leaves: every answer follows the new list, none is kept from the old one.
  const two = ['r-0', 'r-2']
  t.same(
    keys.map(key => cache.ownerOf(two, key)),
    keys.map(key => ownerOf(two, key)),
  )
  t.ok(
    keys.some(key => ownerOf(three, key) === 'r-1'),
    'the leaving member owned some of them',
  )
  t.same(
    keys.map(key => cache.ownerOf(three, key)),
    keys.map(key => ownerOf(three, key)),
    'and back',
  )
  t.equal(cache.ownerOf([], keys[0] as string), undefined, 'no members: no owner')
})
