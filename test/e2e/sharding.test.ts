// Three rollguard daemons split the rule groups by their member Leases (fake Kubernetes API server) and evaluate
// them against a real Prometheus: every group by exactly one replica; a member that stops without releasing its
// Lease loses its groups to the survivors once the Lease expires, and a firing alert keeps its activeAt across the
// move (restored from history). Lease timings scaled down (3s / 2s / 500ms); every wait bounded.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import type { Daemon } from '../../src/daemon.js'
import { eventually, getJson, prometheus, rollguard, services, sleep, tempDir } from '../fixtures/e2e.js'
import { kubeConfigFor, startFakeKube } from '../fixtures/kube/index.js'
import { freePort } from '../../src/demo/processes.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const NAMESPACE = 'rollguard-system'
const LEASE_MS = 3_000
const RETRY_MS = 500
const INTERVAL_MS = 1_000
const GROUPS = 12

interface RulesBody {
  data: { groups: Array<{ name: string; file: string; owner?: string; lastEvaluation: string }> }
}
interface AlertsBody {
  data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt?: string }> }
}

const rulesOf = async (d: Daemon) => (await getJson<RulesBody>(`${d.address}/api/v1/rules`)).data.groups

/** evaluations reads rollguard_rule_evaluations_total per group from a daemon's /metrics. */
async function evaluations(d: Daemon): Promise<Map<string, number>> {
  const text = await (await fetch(`${d.address}/metrics`)).text()
  const out = new Map<string, number>()
  for (const m of text.matchAll(/^rollguard_rule_evaluations_total\{rule_group="[^;"]*;([^"]+)"\} (\S+)$/gm))
    out.set(m[1] as string, Number(m[2]))
  return out
}

/** noDataGroups lists the groups (sorted) whose rules have a rollguard_rule_no_data series on a daemon's /metrics. */
async function noDataGroups(d: Daemon): Promise<string[]> {
  const text = await (await fetch(`${d.address}/metrics`)).text()
  const groups = [...text.matchAll(/^rollguard_rule_no_data\{rule_group="[^;"]*;([^"]+)"[^}]*\} 0$/gm)]
  return groups.map(m => m[1] as string).sort()
}

/** shardingConfig writes a replica's config file: its kubeconfig and sharding with the scaled-down timings. */
function shardingConfig(dir: string, identity: string, kubeconfig: string): string {
  const config = join(dir, `${identity}.yml`)
  writeFileSync(
    config,
    stringify({
      kubernetes: { kubeconfig },
      sharding: {
        enabled: true,
        namespace: NAMESPACE,
        identity,
        lease_duration: `${LEASE_MS}ms`,
        renew_deadline: '2s',
        retry_period: `${RETRY_MS}ms`,
      },
    }),
  )
  return config
}

/** mostGroups is the member that owns the most groups (the first by name on a tie). */
function mostGroups(owners: ReadonlyMap<string, string | undefined>): string {
  const counts = new Map<string, number>()
  for (const owner of owners.values()) if (owner !== undefined) counts.set(owner, (counts.get(owner) ?? 0) + 1)
  const [best] = [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
  return best?.[0] ?? ''
}

t.test('replicas split the groups; a dead member’s groups move with their alert state', async t => {
  const dir = tempDir(t)
  const [svc] = await services(t, ['checkout'])
  if (!svc) throw new Error('service did not start')
  const prom = await prometheus(t, [svc])
  const fake = await startFakeKube()
  t.teardown(() => fake.close())
  const kubeconfig = writeKubeconfig(dir, fake)
  const rules = join(dir, 'groups.yml')
  writeFileSync(
    rules,
    stringify({
      groups: Array.from({ length: GROUPS }, (_, i) => ({
        name: `g${i}`,
        interval: '1s',
        rules: [{ alert: `Up${i}`, expr: 'sum(up) > 0', for: '2s', labels: { group: `g${i}` } }],
      })),
    }),
  )
  // Wait until Prometheus has some history for the restores to replay.
  await eventually('Prometheus scraped', async () => {
    const r = await getJson<{ data: { result: unknown[] } }>(`${prom.url}/api/v1/query?query=up`)
    return r.data.result.length > 0
  })

  const start = async (identity: string) => {
    const config = shardingConfig(dir, identity, kubeconfig)
    return rollguard(t, {
      config,
      'prometheus-url': prom.url,
      rules,
      'eval-interval': '1s',
      'no-data-check-interval': '1s',
    })
  }
  const daemons = await Promise.all(['r-0', 'r-1', 'r-2'].map(start))
  const byName = new Map(daemons.map((d, i) => [`r-${i}`, d]))

  // Every replica lists every group with the same owner, one of the members. Not necessarily all three: the group
  // keys contain the rule file's random temporary path, and 12 groups leave one member without any in ~2% of runs.
  const owners = await eventually(
    'all replicas agree on the owners',
    async () => {
      const views = await Promise.all(daemons.map(rulesOf))
      const first = new Map(views[0]?.map(g => [g.name, g.owner]))
      const agree = views.every(
        v => v.length === GROUPS && v.every(g => byName.has(g.owner ?? '') && first.get(g.name) === g.owner),
      )
      return agree && new Set(first.values()).size >= 2 ? first : undefined
    },
    20_000,
    200,
  )
  t.equal(owners.size, GROUPS)

  // Between two readings, each group is evaluated by its owner and by no one else.
  await sleep(3 * INTERVAL_MS)
  const before = await Promise.all(daemons.map(evaluations))
  await sleep(3 * INTERVAL_MS)
  const after = await Promise.all(daemons.map(evaluations))
  for (const [group, owner] of owners) {
    const grew = daemons
      .map((_, i) => `r-${i}`)
      .filter((_, i) => (after[i]?.get(group) ?? 0) > (before[i]?.get(group) ?? 0))
    t.same(grew, [owner], `${group} evaluated by ${owner} alone`)
  }
  t.ok(
    daemons.every(d => d.manager.hasEvaluated()),
    'every replica is ready',
  )
  // The no-data watch judges the rules of the groups each replica owns, and no others.
  const judged = await eventually('each replica judges its own groups’ rules', async () => {
    const views = await Promise.all(daemons.map(noDataGroups))
    const own = daemons.map((_, i) => [...owners].filter(([, o]) => o === `r-${i}`).map(([g]) => g))
    return views.every((v, i) => v.join() === own[i]?.join()) ? views : undefined
  })
  t.same(judged.flat().sort(), [...owners.keys()].sort(), 'every group judged by one replica')

  // The victim (the member owning the most groups), its groups, and the activeAt of one of its firing alerts.
  const victim = mostGroups(owners)
  const moved = [...owners].filter(([, o]) => o === victim).map(([g]) => g)
  t.ok(moved.length > 0, `${victim} owns ${moved.join(', ')}`)
  const watched = moved[0] as string
  const victimDaemon = byName.get(victim) as Daemon
  const original = await eventually('the victim’s alert firing', async () => {
    const alerts = (await getJson<AlertsBody>(`${victimDaemon.address}/api/v1/alerts`)).data.alerts
    return alerts.find(a => a.labels['group'] === watched && a.state === 'firing')
  })

  // A crash: no more renewals, the Lease is left to expire.
  await victimDaemon.sharding.stop({ release: false })
  const killedAt = Date.now()
  await victimDaemon.stop()
  const lease = fake.list('leases', NAMESPACE).find(l => l.metadata?.name === `rollguard-member-${victim}`)
  t.equal(
    (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity,
    victim,
    'its Lease was not released',
  )

  const survivors = daemons.filter(d => d !== victimDaemon)
  const takenOver = await eventually(
    'every moved group evaluated by a survivor',
    async () => {
      const views = (await Promise.all(survivors.map(rulesOf))).flat()
      const evaluated = moved.every(g =>
        views.some(v => v.name === g && v.owner !== victim && Date.parse(v.lastEvaluation) > killedAt),
      )
      return evaluated ? Date.now() : undefined
    },
    20_000,
    100,
  )
  // Lease duration, one list period and one interval; plus 1.5s for restores and scheduling on a loaded machine.
  const bound = LEASE_MS + RETRY_MS + INTERVAL_MS + 1_500
  t.ok(
    takenOver - killedAt <= bound,
    `moved groups evaluated again ${takenOver - killedAt} ms after the crash (≤ ${bound})`,
  )

  const views = await Promise.all(survivors.map(rulesOf))
  const newOwner = views[0]?.find(g => g.name === watched)?.owner
  t.ok(newOwner !== undefined && newOwner !== victim, `${watched} now owned by ${newOwner}`)
  t.ok(
    views.every(v => v.find(g => g.name === watched)?.owner === newOwner),
    'the survivors agree',
  )
  const heir = byName.get(newOwner ?? '') as Daemon
  const restored = await eventually('the alert on its new owner', async () => {
    const alerts = (await getJson<AlertsBody>(`${heir.address}/api/v1/alerts`)).data.alerts
    return alerts.find(a => a.labels['group'] === watched)
  })
  t.equal(restored.state, 'firing', 'firing at once on the new owner, not pending again')
  t.ok(
    Math.abs(Date.parse(restored.activeAt ?? '') - Date.parse(original.activeAt ?? '')) <= INTERVAL_MS,
    `activeAt kept (${original.activeAt} → ${restored.activeAt})`,
  )
  const metrics = await (await fetch(`${heir.address}/metrics`)).text()
  t.match(metrics, /^rollguard_sharding_members 2$/m, 'two members seen')
  t.match(metrics, /^rollguard_sharding_member 1$/m)
})

t.test('a replica that cannot list the members holds no Lease: the others evaluate its share', async t => {
  // What the on-call engineer would otherwise find: a replica whose Role lost `list` keeps renewing its Lease, the
  // others leave its groups to it, and it evaluates nothing because it cannot see who the members are.
  const dir = tempDir(t)
  const fake = await startFakeKube({ tokens: { 'token-a': 'user-a', 'token-b': 'user-b' } })
  t.teardown(() => fake.close())
  let listDenied = true
  fake.authorize = req => !(listDenied && req.user === 'user-b' && req.verb === 'list' && req.resource === 'leases')
  const rules = join(dir, 'groups.yml')
  // Answered from rollguard's own probe series: no Prometheus needed to count evaluations.
  writeFileSync(
    rules,
    stringify({
      groups: Array.from({ length: 8 }, (_, i) => ({
        name: `h${i}`,
        interval: '1s',
        rules: [{ alert: `Down${i}`, expr: 'rollguard_probe_success == 0' }],
      })),
    }),
  )
  const closed = await freePort()
  const start = async (identity: string, token: string) => {
    const kubeconfig = join(dir, `${identity}.kubeconfig.json`)
    writeFileSync(kubeconfig, kubeConfigFor(fake, NAMESPACE, token).exportConfig())
    const config = shardingConfig(dir, identity, kubeconfig)
    return rollguard(t, { config, 'prometheus-url': `http://127.0.0.1:${closed}`, rules, 'eval-interval': '1s' })
  }
  const [a, b] = await Promise.all([start('r-a', 'token-a'), start('r-b', 'token-b')])
  const holder = () =>
    (
      fake.list('leases', NAMESPACE).find(l => l.metadata?.name === 'rollguard-member-r-b')?.spec as
        { holderIdentity?: string } | undefined
    )?.holderIdentity ?? ''
  const ownedBy = async (d: Daemon, owner: string) => (await rulesOf(d)).every(g => g.owner === owner)
  /** evaluatedBy says which daemons evaluated every group between two readings a few intervals apart. */
  const evaluatedBy = async (): Promise<string[]> => {
    const before = await Promise.all([a, b].map(evaluations))
    await sleep(3 * INTERVAL_MS)
    const after = await Promise.all([a, b].map(evaluations))
    return ['r-a', 'r-b'].filter((_, i) =>
      [...(after[i] ?? new Map<string, number>())].some(([g, n]) => n > (before[i]?.get(g) ?? 0)),
    )
  }

  await eventually('r-a owns every group', () => ownedBy(a, 'r-a'), 15_000, 200)
  t.equal(holder(), '', 'r-b never took its Lease while it could not list')
  t.same(await evaluatedBy(), ['r-a'], 'r-a evaluates everything, r-b nothing')

  listDenied = false
  const split = await eventually(
    'both members own groups once r-b can list',
    async () => {
      const owners = new Set((await rulesOf(a)).map(g => g.owner))
      return owners.size === 2 && owners.has('r-b') ? owners : undefined
    },
    20_000,
    200,
  )
  t.same([...split].sort(), ['r-a', 'r-b'])
  t.equal(holder(), 'r-b')

  listDenied = true
  const deniedAt = Date.now()
  await eventually('r-b gave its Lease up', async () => holder() === '', 15_000, 100)
  const gaveUp = Date.now() - deniedAt
  // renew_deadline without a list, then the next failing list; plus scheduling slack on a loaded machine.
  t.ok(gaveUp <= 2_000 + 2 * RETRY_MS + 1_500, `r-b released its Lease ${gaveUp} ms after losing list`)
  await eventually('r-a owns every group again', () => ownedBy(a, 'r-a'), 15_000, 200)
  t.same(await evaluatedBy(), ['r-a'], 'every group is evaluated again, by r-a alone')
})
