import { linkSignals, sleepFor } from '../../runtime/signals.js'
import { classifyError, isNotFound } from './errors.js'
import { microTime, type Lease, type LeaseApi, type LeaseSpec } from './lease-api.js'
import { errorText } from '../../errors.js'

/** LeaseElectorOptions configure one candidate; defaults are client-go's core-component values 15 s / 10 s / 2 s. */
export interface LeaseElectorOptions {
  readonly leases: LeaseApi
  readonly namespace: string
  readonly name: string
  /** Unique per replica, e.g. `${POD_NAME}_${random}`. */
  readonly identity: string
  readonly leaseDurationMs?: number
  readonly renewDeadlineMs?: number
  readonly retryPeriodMs?: number
  /** Give the lease up when run() ends (after leadership has been aborted). */
  readonly releaseOnCancel?: boolean
  /** Labels of the Lease when this candidate creates it (sharding lists member Leases by label). */
  readonly labels?: Readonly<Record<string, string>>
  /**
   * Annotations the leader keeps on the Lease, written with every renewal while it leads and with the release;
   * never while acquiring, so the Lease keeps the previous holder's until this one has read them
   * (inheritedAnnotations), also when the previous holder had the same identity.
   */
  readonly annotations?: () => Readonly<Record<string, string>>
  /** Called once leadership is acquired; the signal aborts when it ends. */
  readonly onStartedLeading: (leadership: AbortSignal) => void | Promise<void>
  /** Always called when run() ends, leading or not. */
  readonly onStoppedLeading: () => void
  /** Called whenever the observed holder changes. */
  readonly onNewLeader?: (identity: string) => void
  /** Receives one line per failed step (for logging). */
  readonly onError?: (message: string) => void
  /** Monotonic ms; expiry is judged only on this clock, never against the holder's renewTime. */
  readonly now?: () => number
  /** Wall clock for acquireTime/renewTime. */
  readonly wallClock?: () => Date
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  readonly random?: () => number
}

/** JITTER_FACTOR is client-go's leader-election jitter. */
export const JITTER_FACTOR = 1.2

interface LeaderRecord {
  readonly holderIdentity: string
  readonly leaseDurationSeconds: number
  readonly acquireTime: string | undefined
  readonly renewTime: string | undefined
  readonly leaseTransitions: number
}

type Settings = Required<Omit<LeaseElectorOptions, 'onNewLeader' | 'onError' | 'annotations'>> &
  Pick<LeaseElectorOptions, 'onNewLeader' | 'onError' | 'annotations'>

/** LeaseElector is client-go's leaderelection.LeaderElector over a coordination.k8s.io/v1 Lease. */
export class LeaseElector {
  private readonly o: Settings
  private observed: LeaderRecord | undefined
  private observedRaw = ''
  private observedTime = 0
  private lease: Lease | undefined
  private reportedLeader = ''
  private leading: AbortController | undefined
  private inherited: Readonly<Record<string, string>> = {}

  constructor(opts: LeaseElectorOptions) {
    this.o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: false,
      labels: {},
      now: () => performance.now(),
      wallClock: () => new Date(),
      sleep: sleepFor,
      random: Math.random,
      ...opts,
    }
    validate(this.o)
  }

  /** isLeader is true while this replica leads: it holds the lease, run() has not given up, and the lease has not expired locally. */
  isLeader(): boolean {
    return (
      this.leading !== undefined && !this.leading.signal.aborted && this.holdsRecord() && this.leaseValid(this.o.now())
    )
  }

  /** renewedAt is when (on the injected monotonic clock) this replica last acquired or renewed the lease, if it holds it. */
  renewedAt(): number | undefined {
    return this.holdsRecord() ? this.observedTime : undefined
  }

  /** inheritedAnnotations are the Lease's annotations as this replica found them when it last took the Lease over. */
  inheritedAnnotations(): Readonly<Record<string, string>> {
    return this.inherited
  }

  /** leader is the last observed holder identity ('' when none). */
  leader(): string {
    return this.observed?.holderIdentity ?? ''
  }

  /** run acquires, then renews until renewal fails for renewDeadline or the signal aborts; it never throws. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      if (!(await this.acquire(signal))) return
      if (signal.aborted) {
        // Acquired just as we were told to stop: never start guarded work.
        if (this.o.releaseOnCancel) await this.release()
        return
      }
      const leading = new AbortController()
      this.leading = leading
      const stop = () => leading.abort(new Error('leader election: run() was aborted'))
      signal.addEventListener('abort', stop, { once: true })
      this.started(leading.signal)
      await this.renew(signal)
      signal.removeEventListener('abort', stop)
      leading.abort(new Error(`leader election: lost lease ${this.o.namespace}/${this.o.name}`))
      if (this.o.releaseOnCancel) await this.release()
    } catch (err) {
      this.report(`leader election: unexpected error: ${errorText(err)}`)
      this.leading?.abort(err)
    } finally {
      guarded(
        () => this.o.onStoppedLeading(),
        m => this.report(m),
      )
    }
  }

  /**
   * release gives the lease up (holder '', duration 1 s) if this replica holds it; call only after guarded work has
   * stopped. As client-go's, it reads the Lease first: a renewal cut off by the stop may have been applied with its
   * answer lost, leaving the cached resourceVersion stale, and the release would then conflict and leave the next
   * leader to wait for the expiry.
   */
  async release(): Promise<boolean> {
    if (!this.holdsRecord() || !this.lease) return true
    const signal = AbortSignal.timeout(this.o.renewDeadlineMs)
    let current: Lease
    try {
      current = await this.read(signal)
    } catch (err) {
      return this.fail(err, 'release: get')
    }
    const held = recordOf(current.spec)
    // Another replica took it over meanwhile: nothing of ours to give up.
    if (held.holderIdentity !== this.o.identity) return true
    this.lease = current
    const t = this.microNow()
    const record: LeaderRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: t,
      renewTime: t,
      leaseTransitions: held.leaseTransitions,
    }
    const ok = await this.update(record, signal, 'release', true)
    if (ok) this.setObserved(record)
    return ok
  }

  private started(leadership: AbortSignal): void {
    Promise.resolve()
      .then(() => this.o.onStartedLeading(leadership))
      .catch((err: unknown) => this.report(`leader election: onStartedLeading failed: ${errorText(err)}`))
  }

  // wait.JitterUntil(tryAcquireOrRenew, RetryPeriod, 1.2, sliding) until success.
  private async acquire(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal.aborted) return false
      const ok = await this.tryAcquireOrRenew(signal)
      this.maybeReportTransition()
      if (ok) return true
      await this.o.sleep(this.o.retryPeriodMs * (1 + this.o.random() * JITTER_FACTOR), signal)
    }
  }

  // wait.Until(PollUntilContextTimeout(RetryPeriod, RenewDeadline, immediate), RetryPeriod) until a poll times out.
  private async renew(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const renewed = await this.pollRenew(signal)
      this.maybeReportTransition()
      if (!renewed) {
        if (!signal.aborted)
          this.report(
            `leader election: failed to renew lease ${this.o.namespace}/${this.o.name} within ${this.o.renewDeadlineMs} ms`,
          )
        return
      }
      await this.o.sleep(this.o.retryPeriodMs, signal)
    }
  }

  // Attempts every RetryPeriod until RenewDeadline on the injected clock; in-flight requests are cut at the deadline in real time.
  private async pollRenew(signal: AbortSignal): Promise<boolean> {
    const deadline = this.o.now() + this.o.renewDeadlineMs
    // Not AbortSignal.any: on Node 20 each renewal would leave an entry on the long-lived signal (see linkSignals).
    const requests = linkSignals([signal, AbortSignal.timeout(this.o.renewDeadlineMs)])
    try {
      for (;;) {
        if (requests.signal.aborted) return false
        if (await this.tryAcquireOrRenew(requests.signal)) return true
        const left = deadline - this.o.now()
        if (left <= 0) return false
        await this.o.sleep(Math.min(this.o.retryPeriodMs, left), signal)
        if (this.o.now() >= deadline) return false
      }
    } finally {
      requests.dispose()
    }
  }

  /** tryAcquireOrRenew is client-go's: fast-path renew, else GET (create on 404), judge expiry locally, PUT with the read resourceVersion. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.o.now()
    const t = this.microNow()
    const fresh = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.floor(this.o.leaseDurationMs / 1000),
      acquireTime: t,
      renewTime: t,
    }
    const observed = this.observed
    if (this.holdsRecord() && this.leaseValid(now) && observed) {
      const record = { ...fresh, acquireTime: observed.acquireTime, leaseTransitions: observed.leaseTransitions }
      if (await this.update(record, signal, 'optimistic renew', this.leadingNow())) return this.setObserved(record)
    }
    let current: Lease
    try {
      current = await this.read(signal)
    } catch (err) {
      if (!isNotFound(err)) return this.fail(err, 'get')
      return this.create({ ...fresh, leaseTransitions: 0 }, signal)
    }
    this.lease = current
    const old = recordOf(current.spec)
    const raw = rawRecord(old)
    if (raw !== this.observedRaw) {
      this.setObserved(old)
      this.observedRaw = raw
    }
    if (old.holderIdentity !== '' && this.leaseValid(now) && !this.holdsRecord()) return false
    const record = this.holdsRecord()
      ? { ...fresh, acquireTime: old.acquireTime, leaseTransitions: old.leaseTransitions }
      : { ...fresh, leaseTransitions: old.leaseTransitions + 1 }
    const leading = this.leadingNow()
    if (!(await this.update(record, signal, 'update', leading))) return false
    if (!leading) this.inherited = { ...current.metadata?.annotations }
    return this.setObserved(record)
  }

  private async create(record: LeaderRecord, signal: AbortSignal): Promise<boolean> {
    const { namespace, name } = this.o
    try {
      this.lease = await this.o.leases.create(
        namespace,
        { metadata: { name, namespace, ...labelsOf(this.o.labels) }, spec: specOf(record) },
        signal,
      )
    } catch (err) {
      return this.fail(err, 'create')
    }
    this.inherited = {}
    return this.setObserved(record)
  }

  private read(signal: AbortSignal): Promise<Lease> {
    return this.o.leases.read(this.o.namespace, this.o.name, signal)
  }

  // LeaseLock.Update: PUT the cached Lease object (carrying its resourceVersion) with the new spec, and with the
  // leader's own annotations when `own`.
  private async update(record: LeaderRecord, signal: AbortSignal, step: string, own: boolean): Promise<boolean> {
    if (!this.lease) return false
    const { namespace, name } = this.o
    const metadata = own ? this.withOwnAnnotations(this.lease.metadata) : this.lease.metadata
    try {
      this.lease = await this.o.leases.replace(
        namespace,
        name,
        { ...this.lease, metadata, spec: specOf(record) },
        signal,
      )
      return true
    } catch (err) {
      return this.fail(err, step)
    }
  }

  private withOwnAnnotations(metadata: Lease['metadata']): Lease['metadata'] {
    const own = this.o.annotations
    if (own === undefined) return metadata
    let annotations: Readonly<Record<string, string>> = {}
    guarded(
      () => (annotations = own()),
      m => this.report(m),
    )
    return { ...metadata, annotations: { ...metadata?.annotations, ...annotations } }
  }

  private fail(err: unknown, step: string): false {
    this.report(classifyError(err, `leader election: ${step} lease ${this.o.namespace}/${this.o.name}`).message)
    return false
  }

  private setObserved(record: LeaderRecord): true {
    this.observed = record
    this.observedTime = this.o.now()
    return true
  }

  private leadingNow(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted
  }

  private holdsRecord(): boolean {
    return this.observed?.holderIdentity === this.o.identity
  }

  private leaseValid(now: number): boolean {
    return this.observedTime + (this.observed?.leaseDurationSeconds ?? 0) * 1000 > now
  }

  private maybeReportTransition(): void {
    const holder = this.leader()
    if (holder === this.reportedLeader) return
    this.reportedLeader = holder
    const cb = this.o.onNewLeader
    if (cb)
      guarded(
        () => cb(holder),
        m => this.report(m),
      )
  }

  private microNow(): string {
    return microTime(this.o.wallClock())
  }

  private report(message: string): void {
    this.o.onError?.(message)
  }
}

function validate(o: Settings): void {
  if (!o.identity) throw new Error('leader election: identity must not be empty')
  if (o.leaseDurationMs <= o.renewDeadlineMs)
    throw new Error('leader election: leaseDuration must be greater than renewDeadline')
  if (o.renewDeadlineMs <= JITTER_FACTOR * o.retryPeriodMs)
    throw new Error('leader election: renewDeadline must be greater than retryPeriod*JitterFactor')
  if (o.leaseDurationMs < 1000)
    throw new Error('leader election: leaseDuration must be at least 1s (the Lease stores whole seconds)')
  if (o.retryPeriodMs <= 0) throw new Error('leader election: retryPeriod must be greater than zero')
}

function labelsOf(labels: Readonly<Record<string, string>>): { labels?: Record<string, string> } {
  return Object.keys(labels).length === 0 ? {} : { labels: { ...labels } }
}

function recordOf(spec: LeaseSpec | undefined): LeaderRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime,
    renewTime: spec?.renewTime,
    leaseTransitions: spec?.leaseTransitions ?? 0,
  }
}

function specOf(r: LeaderRecord): LeaseSpec {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    ...(r.acquireTime === undefined ? {} : { acquireTime: r.acquireTime }),
    ...(r.renewTime === undefined ? {} : { renewTime: r.renewTime }),
    leaseTransitions: r.leaseTransitions,
  }
}

// client-go compares the JSON of the whole record, so any renewal by the holder restarts the local expiry timer.
function rawRecord(r: LeaderRecord): string {
  return JSON.stringify([r.holderIdentity, r.leaseDurationSeconds, r.acquireTime, r.renewTime, r.leaseTransitions])
}

function guarded(fn: () => void, report: (message: string) => void): void {
  try {
    fn()
  } catch (err) {
    report(`leader election: callback failed: ${errorText(err)}`)
  }
}
