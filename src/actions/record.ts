/**
 * rollguard's audit record on the workload itself: the annotation ROLLBACK_ANNOTATION, written in the rollback
 * patch, readable in `kubectl describe`. It carries the attempt's identity (so a lost answer can be resolved by
 * reading the workload back), the history the per-workload limits count, the triggers that caused it (one firing
 * never causes two rollbacks) and, once known, the verification. Pure codec.
 */

import { z } from 'zod'
import type { Labels } from '../engine/types.js'

/** ROLLBACK_ANNOTATION holds rollguard's JSON RollbackRecord on the workload. */
export const ROLLBACK_ANNOTATION = 'rollguard.io/last-rollback'

/** RollbackRecord is what rollguard writes to ROLLBACK_ANNOTATION. */
export interface RollbackRecord {
  readonly at: number
  readonly fromRevision: number
  readonly toRevision: number
  /** The generation the rollback patch produced (the workload's generation + 1). */
  readonly generation: number
  readonly alert: string
  /** Times of rollguard's rollbacks of this workload within the per-workload window, including `at`. */
  readonly history: readonly number[]
  /** Trigger keys (triggerKey) of the alerts that caused rollguard's latest rollbacks, oldest first. */
  readonly triggers?: readonly string[] | undefined
  /** Identity of the attempt that wrote this record: the same attempt never patches twice. */
  readonly attempt?: string | undefined
  /** The replica (Lease identity) that sent the patch. */
  readonly by?: string | undefined
  /** When the rollout of the restored revision was verified complete; absent until then. */
  readonly verified?: number | undefined
  /**
   * When the effectiveness verdict was given (the trigger looked at once more after the window) and what it was;
   * absent until then, so a leader elected during the window gives the verdict the previous one could not.
   */
  readonly judged?: { readonly at: number; readonly effective: boolean } | undefined
}

/** TriggerIdentity is what identifies one firing of one alert. */
export interface TriggerIdentity {
  readonly fingerprint: string
  /** Needed for rollguard's own rules (origin `rules`), whose fingerprint is hashed from the labels. */
  readonly labels?: Labels | undefined
  readonly startsAt: number
  /** `rules`: the engine's fingerprint is a label-set key, hashed for the record; otherwise Alertmanager's hex. */
  readonly origin?: 'rules' | undefined
}

export const HISTORY_CAP = 50
export const TRIGGERS_CAP = 20

/**
 * triggerKey identifies one firing: the alert's fingerprint in Alertmanager's form (FNV-1a 64, 16 hex digits) and
 * when it went firing. Alertmanager repeats a notification with the same key; a new firing has a new startsAt.
 */
export function triggerKey(alert: TriggerIdentity): string {
  return `${seriesFingerprint(alert)}@${new Date(alert.startsAt).toISOString()}`
}

/** seriesFingerprint is the part of triggerKey that names the alert's series (rule alerts hashed from their labels). */
function seriesFingerprint(alert: TriggerIdentity): string {
  return alert.origin === 'rules' && alert.labels !== undefined ? labelsFingerprint(alert.labels) : alert.fingerprint
}

/**
 * recordNamesSeries reports whether the record's rollback was caused by a firing of this alert's series, whenever it
 * went firing: a restart or another replica may see the same series firing with a slightly different start.
 */
export function recordNamesSeries(record: RollbackRecord, alert: TriggerIdentity): boolean {
  const series = `${seriesFingerprint(alert)}@`
  return record.triggers?.some(k => k.startsWith(series)) === true
}

/** recordNames reports whether the record lists this firing, in today's form or the raw form written before 0.2. */
export function recordNames(record: RollbackRecord, alert: TriggerIdentity): boolean {
  const raw = alert.origin === 'rules' && alert.labels !== undefined ? rawLabelKey(alert.labels) : alert.fingerprint
  const legacy = `${raw}@${new Date(alert.startsAt).toISOString()}`
  return record.triggers?.some(k => k === triggerKey(alert) || k === legacy) === true
}

/** rawLabelKey is the engine's label-set key as records before 0.2 held it: sorted names and values, each ended by U+00FF. */
function rawLabelKey(labels: Labels): string {
  let key = ''
  for (const name of Object.keys(labels).sort()) key += `${name}\xff${labels[name] as string}\xff`
  return key
}

const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n
const MASK = 0xffffffffffffffffn

/** labelsFingerprint is Prometheus's labelSetToFingerprint: FNV-1a 64 over sorted name 0xff value 0xff, %016x. */
export function labelsFingerprint(labels: Labels): string {
  let h = FNV_OFFSET
  const add = (s: string) => {
    for (const byte of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(byte)) * FNV_PRIME) & MASK
  }
  for (const name of Object.keys(labels).sort()) {
    add(name)
    h = ((h ^ 0xffn) * FNV_PRIME) & MASK
    add(labels[name] as string)
    h = ((h ^ 0xffn) * FNV_PRIME) & MASK
  }
  return h.toString(16).padStart(16, '0')
}

/** encodeRollbackRecord renders the annotation value: JSON with RFC 3339 times. */
export function encodeRollbackRecord(r: RollbackRecord): string {
  const time = (ms: number) => new Date(ms).toISOString()
  return JSON.stringify({
    at: time(r.at),
    from: r.fromRevision,
    to: r.toRevision,
    generation: r.generation,
    alert: r.alert,
    ...(r.attempt === undefined ? {} : { attempt: r.attempt }),
    ...(r.by === undefined ? {} : { by: r.by }),
    history: r.history.map(time),
    ...(r.triggers === undefined || r.triggers.length === 0 ? {} : { triggers: r.triggers }),
    ...(r.verified === undefined ? {} : { verified: time(r.verified) }),
    ...(r.judged === undefined ? {} : { judged: time(r.judged.at), effective: r.judged.effective }),
  })
}

/** RecordedTime parses an RFC 3339 time as rollguard writes it into annotations, to Unix ms. */
export const RecordedTime = z
  .string()
  .transform(s => Date.parse(s))
  .pipe(z.number())
const Revision = z.number().int().min(0)
const StoredRecord = z.object({
  at: RecordedTime,
  from: Revision,
  to: Revision,
  generation: Revision,
  alert: z.string(),
  history: z.array(RecordedTime).max(HISTORY_CAP).optional(),
  // Absent in records written before rollguard recorded triggers, attempts and verification.
  triggers: z.array(z.string()).max(TRIGGERS_CAP).optional(),
  attempt: z.string().max(64).optional(),
  by: z.string().max(256).optional(),
  verified: RecordedTime.optional(),
  judged: RecordedTime.optional(),
  effective: z.boolean().optional(),
})

/** decodeRollbackRecord parses an annotation value; anything malformed yields undefined (and the policy then refuses to act). */
export function decodeRollbackRecord(value: string | undefined): RollbackRecord | undefined {
  if (value === undefined) return undefined
  let json: unknown
  try {
    json = JSON.parse(value)
  } catch {
    return undefined
  }
  const parsed = StoredRecord.safeParse(json)
  if (!parsed.success) return undefined
  const {
    at,
    from,
    to,
    generation,
    alert,
    history = [],
    triggers,
    attempt,
    by,
    verified,
    judged,
    effective,
  } = parsed.data
  const times = [...new Set([...history, at])].sort((a, b) => a - b)
  return {
    at,
    fromRevision: from,
    toRevision: to,
    generation,
    alert,
    history: times,
    ...(triggers === undefined || triggers.length === 0 ? {} : { triggers }),
    ...(attempt === undefined ? {} : { attempt }),
    ...(by === undefined ? {} : { by }),
    ...(verified === undefined ? {} : { verified }),
    ...(judged === undefined ? {} : { judged: { at: judged, effective: effective === true } }),
  }
}
