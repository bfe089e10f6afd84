import type { RetrySettings } from './actions-config.js'

/**
 * retryDelay is the wait before attempt `next` (2, 3, …) after a transient failure, or undefined when the
 * attempts are used up: initial_backoff × 2^(next-2) capped at max_backoff, with "equal jitter" (half fixed,
 * half random), so replicas and workloads that failed together do not retry in lockstep. Pure: `random` in [0, 1).
 */
export function retryDelay(next: number, settings: RetrySettings, random: number): number | undefined {
  if (next < 2 || next > settings.max_attempts) return undefined
  const base = Math.min(settings.max_backoff, settings.initial_backoff * 2 ** Math.min(next - 2, 30))
  return Math.round(base / 2 + (base / 2) * random)
}
