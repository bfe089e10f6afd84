import { V1MicroTime, type EventsV1Api, type EventsV1Event } from '@kubernetes/client-node'
import { refString, type WorkloadRef } from './client.js'
import { classifyError, type KubeFailure } from './errors.js'
import { callOptions } from './raw.js'

/** EventSpec is what happened, in events.k8s.io/v1 terms. */
export interface EventSpec {
  readonly type: 'Normal' | 'Warning'
  /** Why the action was taken, e.g. RolledBack, RollbackFailed (≤ 128 chars). */
  readonly reason: string
  /** What was done, e.g. Rollback (≤ 128 chars). */
  readonly action: string
  /** Human-readable; truncated to the API server's 1024-byte limit. */
  readonly note: string
}

/** Reporter identifies rollguard in every event. */
export interface Reporter {
  /** A qualified name, e.g. rollguard.io/rollguard. */
  readonly reportingController: string
  /** The replica (pod name); ≤ 128 chars. */
  readonly reportingInstance: string
}

/** RegardingRef is the workload an event is about; uid and resourceVersion pin the exact object when known. */
export type RegardingRef = WorkloadRef & { readonly uid?: string; readonly resourceVersion?: string }

/** EventResult is the outcome of recordEvent; failures are data for the caller to log. */
export type EventResult = { readonly kind: 'recorded'; readonly name: string } | KubeFailure

/** DEFAULT_REPORTER_CONTROLLER is rollguard's reportingController. */
export const DEFAULT_REPORTER_CONTROLLER = 'rollguard.io/rollguard'
/** NOTE_LIMIT is the events.k8s.io/v1 note limit in bytes. */
export const NOTE_LIMIT = 1024
const FIELD_LIMIT = 128

/** buildEvent builds an events.k8s.io/v1 Event in the workload's namespace, named like client-go's recorder (`<name>.<hex nanos>`). */
export function buildEvent(
  ref: RegardingRef,
  spec: EventSpec,
  reporter: Reporter,
  at: Date = new Date(),
): EventsV1Event {
  const regarding = {
    apiVersion: 'apps/v1',
    kind: ref.kind,
    name: ref.name,
    namespace: ref.namespace,
    uid: ref.uid,
    resourceVersion: ref.resourceVersion,
  }
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${ref.name}.${uniqueSuffix(at)}`, namespace: ref.namespace },
    // MicroTime: a plain Date serializes with 3 fractional digits, which the API server rejects.
    eventTime: new V1MicroTime(at.getTime()),
    type: spec.type,
    reason: truncateBytes(spec.reason, FIELD_LIMIT),
    action: truncateBytes(spec.action, FIELD_LIMIT),
    note: truncateBytes(spec.note, NOTE_LIMIT),
    reportingController: reporter.reportingController,
    reportingInstance: truncateBytes(reporter.reportingInstance, FIELD_LIMIT),
    regarding: dropUndefined(regarding),
  }
}

let lastSuffix = 0n

// Unix nanoseconds in hex, as client-go; strictly increasing so two events in the same millisecond get distinct names.
function uniqueSuffix(at: Date): string {
  let n = BigInt(at.getTime()) * 1_000_000n
  if (n <= lastSuffix) n = lastSuffix + 1n
  lastSuffix = n
  return n.toString(16)
}

/** truncateBytes cuts s to at most max UTF-8 bytes without splitting a character. */
export function truncateBytes(s: string, max: number): string {
  if (Buffer.byteLength(s, 'utf8') <= max) return s
  let out = ''
  let size = 0
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8')
    if (size + n > max) break
    out += ch
    size += n
  }
  return out
}

function dropUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

/** recordEvent creates the event; it never throws and returns a failure the caller logs (events are an audit trail, not a precondition). */
export async function recordEvent(
  events: EventsV1Api,
  ref: RegardingRef,
  spec: EventSpec,
  reporter: Reporter,
  opts: { readonly at?: Date; readonly signal?: AbortSignal } = {},
): Promise<EventResult> {
  try {
    const body = buildEvent(ref, spec, reporter, opts.at)
    const created = await events.createNamespacedEvent(
      { namespace: ref.namespace, body },
      callOptions({ signal: opts.signal }),
    )
    return { kind: 'recorded', name: created.metadata?.name ?? body.metadata?.name ?? '' }
  } catch (err) {
    return classifyError(err, `${refString(ref)}: recording event ${spec.reason}`)
  }
}
