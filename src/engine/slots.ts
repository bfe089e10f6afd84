/**
 * Evaluation slots: each group evaluates at k·interval + offset, with a per-group offset derived from a stable
 * hash of (file, group name), so groups spread over the interval and a restart keeps the same phase (as Prometheus).
 */

/** groupOffset returns the group's stable phase in [0, intervalMs). */
export function groupOffset(file: string, name: string, intervalMs: number): number {
  if (intervalMs <= 0) return 0
  return Number(fnv1a64(`${file}\xff${name}`) % BigInt(intervalMs))
}

/** evalTimestamp is the latest slot at or before now (Prometheus Group.EvalTimestamp). */
export function evalTimestamp(now: number, intervalMs: number, offsetMs: number): number {
  const adjusted = now - offsetMs
  const base = adjusted - mod(adjusted, intervalMs)
  return base + offsetMs
}

/** SlotAdvance says which slot to evaluate next and how many were skipped. */
export interface SlotAdvance {
  readonly next: number
  readonly missed: number
}

/**
 * advanceSlot: given the last evaluated slot and the current time, the slot to evaluate now and the number of
 * slots missed in between (Prometheus: missed = (now - last)/interval - 1). Never evaluates a slot in the future.
 */
export function advanceSlot(lastSlot: number, now: number, intervalMs: number): SlotAdvance {
  const elapsed = Math.floor((now - lastSlot) / intervalMs)
  const missed = Math.max(0, elapsed - 1)
  return { next: lastSlot + (missed + 1) * intervalMs, missed }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b
}

const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n
const MASK64 = 0xffffffffffffffffn

/** fnv1a64 hashes UTF-8 bytes of s; stable across processes and versions. */
export function fnv1a64(s: string): bigint {
  let hash = FNV_OFFSET
  for (const byte of new TextEncoder().encode(s)) {
    hash ^= BigInt(byte)
    hash = (hash * FNV_PRIME) & MASK64
  }
  return hash
}
