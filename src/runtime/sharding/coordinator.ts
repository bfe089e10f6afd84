/**
 * One replica's part in sharding: it holds its own member Lease (client-go's leader election over a Lease only it
 * competes for, so renewals and self-fencing are exactly the actions leader's), lists the member Leases by label
 * every retry period, and answers which group it owns (fence.ts, ownership.ts). Loaded only when sharding is on.
 */

import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { classifyError } from '../../actions/kube/errors.js'
import { LeaseElector } from '../../actions/kube/lease.js'
import type { Lease, LeaseApi } from '../../actions/kube/lease-api.js'
import { linkSignals, sleepFor } from '../signals.js'

import type { ShardingMetrics } from '../../telemetry/sharding-metrics.js'
import {
  groupOwner,
  listedRecently,
  liveMembers,
  mayEvaluate,
  ownsGroup,
  type FenceTimings,
  type ShardView,
} from './fence.js'
import { MembershipTracker, type MemberLease } from './membership.js'
import { OwnerCache } from './ownership.js'

/** SHARD_LABEL marks member Leases; its value is the lease prefix, so replicas with the same prefix share. */
export const SHARD_LABEL = 'rollguard.dev/shard'

/** ShardSettings are the `sharding` section in milliseconds, with the namespace and identity resolved. */
export interface ShardSettings {
  readonly namespace: string
  readonly identity: string
  readonly leasePrefix: string
  readonly leaseDurationMs: number
  readonly renewDeadlineMs: number
  readonly retryPeriodMs: number
}

/** ShardCoordinatorDeps connect the coordinator to the cluster and the daemon. */
export interface ShardCoordinatorDeps {
  readonly leases: LeaseApi
  readonly logger: Logger
  readonly metrics: ShardingMetrics
  /** The keys of the loaded rule groups, for the groups-owned gauge. */
  readonly groupKeys: () => readonly string[]
  /** Monotonic ms. */
  readonly now?: () => number
}

/** ShardCoordinator keeps this replica's member Lease and its view of the members. */
export class ShardCoordinator {
  readonly #tracker = new MembershipTracker()
  readonly #owners = new OwnerCache()
  readonly #elector: LeaseElector
  readonly #timings: FenceTimings
  readonly #now: () => number
  readonly #stop = new AbortController()
  #joinedAt: number | undefined
  #listedAt: number | undefined
  #members: readonly string[] = []
  #running: Promise<unknown> = Promise.resolve()
  #lastListError = ''
  #stopped: Promise<void> | undefined
  /** Aborts the current hold of the Lease (run of the elector) when listing fails for too long. */
  #holding: AbortController | undefined

  constructor(
    readonly settings: ShardSettings,
    private readonly deps: ShardCoordinatorDeps,
  ) {
    this.#now = deps.now ?? (() => performance.now())
    // Longer than one jittered list period of every other member, so those that owned its groups have seen it.
    this.#timings = { renewDeadlineMs: settings.renewDeadlineMs, settleMs: 2 * settings.retryPeriodMs }
    const { namespace, identity } = settings
    const name = memberLeaseName(settings.leasePrefix, identity)
    this.#elector = new LeaseElector({
      leases: deps.leases,
      namespace,
      name,
      identity,
      leaseDurationMs: settings.leaseDurationMs,
      renewDeadlineMs: settings.renewDeadlineMs,
      retryPeriodMs: settings.retryPeriodMs,
      labels: { [SHARD_LABEL]: settings.leasePrefix },
      // Released by stop(), which may also leave it to expire as after a crash.
      releaseOnCancel: false,
      now: this.#now,
      onStartedLeading: () => {
        this.#joinedAt = this.#now()
        deps.logger.info({ lease: `${namespace}/${name}`, identity }, 'sharding: holding the member Lease')
      },
      onStoppedLeading: () => {
        if (this.#joinedAt !== undefined)
          deps.logger.warn(
            { lease: `${namespace}/${name}`, identity },
            'sharding: lost the member Lease, evaluating nothing',
          )
        this.#joinedAt = undefined
      },
      onError: message => deps.logger.warn({ identity }, `sharding: ${message}`),
    })
  }

  get identity(): string {
    return this.settings.identity
  }

  /** start keeps the member Lease (re-joining after losing it) and lists the members until stop(). */
  start(): void {
    this.#running = Promise.all([this.#holdLease(), this.#watchMembers()])
  }

  /** owns is true when this replica may evaluate now and the group is its own. */
  owns(groupKey: string): boolean {
    return ownsGroup(this.#view(), this.#timings, groupKey, this.#now(), this.#owners.ownerOf)
  }

  /** owner is who evaluates the group in this replica's view ('' while it knows no member). */
  owner(groupKey: string): string {
    return groupOwner(this.#view(), groupKey, this.#owners.ownerOf)
  }

  /**
   * stop ends the Lease renewals and the listing; with release (the default) the Lease is given up so the others
   * take the groups over at their next list, without it they wait for it to expire (as after a crash).
   */
  stop(opts: { release?: boolean } = {}): Promise<void> {
    // Once: a later stop (the daemon's) must not release a Lease an earlier one chose to leave.
    this.#stopped ??= this.#end(opts.release ?? true)
    return this.#stopped
  }

  async #end(release: boolean): Promise<void> {
    this.#stop.abort(new Error('sharding stopped'))
    await this.#running
    // After run() ended: nothing is evaluated under this Lease any more (owns() is false without it).
    this.#joinedAt = undefined
    if (release) await this.#elector.release()
  }

  #view(): ShardView {
    return {
      identity: this.settings.identity,
      renewedAt: this.#joinedAt === undefined ? undefined : this.#elector.renewedAt(),
      joinedAt: this.#joinedAt,
      listedAt: this.#listedAt,
      members: this.#members,
    }
  }

  /**
   * #holdLease joins only while the members can be listed. A member that cannot list evaluates nothing (fence.ts),
   * yet while its Lease is live the others leave its groups to it: no one would evaluate them. So it joins once a
   * list succeeds, and leaves (releases the Lease) when listing has failed for longer than renew_deadline.
   */
  async #holdLease(): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      if (!this.#listing()) {
        await sleepFor(this.settings.retryPeriodMs, signal)
        continue
      }
      const holding = new AbortController()
      this.#holding = holding
      const run = linkSignals([signal, holding.signal])
      try {
        await this.#elector.run(run.signal)
      } finally {
        run.dispose()
        this.#holding = undefined
      }
      if (holding.signal.aborted && !signal.aborted) await this.#elector.release()
      if (!signal.aborted) await sleepFor(this.settings.retryPeriodMs, signal)
    }
  }

  /** #listing is true while the last successful list of the members is recent enough to evaluate by (fence.ts). */
  #listing(): boolean {
    return listedRecently({ listedAt: this.#listedAt }, this.#timings, this.#now())
  }

  async #watchMembers(): Promise<void> {
    const signal = this.#stop.signal
    while (!signal.aborted) {
      await this.#list(signal)
      this.#publish()
      await sleepFor(this.settings.retryPeriodMs, signal)
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const { namespace, leasePrefix, renewDeadlineMs } = this.settings
    // Not AbortSignal.any: on Node 20 each list would leave an entry on the long-lived signal (see linkSignals).
    const request = linkSignals([signal, AbortSignal.timeout(renewDeadlineMs)])
    try {
      const items = await this.deps.leases.list(namespace, `${SHARD_LABEL}=${leasePrefix}`, request.signal)
      const now = this.#now()
      this.#tracker.observe(items.map(memberLease), now)
      this.#members = this.#tracker.members(now)
      this.#listedAt = now
      this.#lastListError = ''
    } catch (err) {
      if (signal.aborted) return
      const message = classifyError(err, `sharding: list leases in ${namespace}`).message
      // Once per distinct failure: a long outage would otherwise log every retry period.
      if (message !== this.#lastListError)
        this.deps.logger.warn({ error: message }, 'sharding: cannot list the members')
      this.#lastListError = message
      if (this.#holding !== undefined && !this.#listing()) {
        this.deps.logger.warn(
          { error: message, identity: this.settings.identity },
          'sharding: the members could not be listed for longer than renew_deadline; giving the member Lease up so the others take its groups',
        )
        this.#holding.abort(new Error('sharding: cannot list the members'))
      }
    } finally {
      request.dispose()
    }
  }

  #publish(): void {
    const m = this.deps.metrics
    const view = this.#view()
    const now = this.#now()
    m.members.set(liveMembers(view).length)
    m.member.set(mayEvaluate(view, this.#timings, now) ? 1 : 0)
    const owners = this.#owners.ownerOf
    m.groupsOwned.set(this.deps.groupKeys().filter(key => ownsGroup(view, this.#timings, key, now, owners)).length)
  }
}

/** memberLeaseName is `<prefix>-<identity>`, the identity made a DNS subdomain (with a hash when that changed it). */
export function memberLeaseName(prefix: string, identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-')
  const name = `${prefix}-${safe}`.slice(0, 240).replace(/[-.]+$/, '')
  if (safe === identity && name === `${prefix}-${identity}`) return name
  return `${name}-${createHash('sha256').update(identity).digest('hex').slice(0, 8)}`
}

function memberLease(lease: Lease): MemberLease {
  const spec = lease.spec
  return {
    name: lease.metadata?.name ?? '',
    holder: spec?.holderIdentity ?? '',
    leaseDurationMs: (spec?.leaseDurationSeconds ?? 0) * 1000,
    // As client-go compares records: any change (a renewal changes renewTime) restarts the local expiry timer.
    record: JSON.stringify([
      spec?.holderIdentity,
      spec?.leaseDurationSeconds,
      spec?.acquireTime,
      spec?.renewTime,
      spec?.leaseTransitions,
    ]),
  }
}
