import { setFlagsFromString } from 'node:v8'

/**
 * DEFAULT_HEAP_GROWTH_PERCENT 100 is Go's GOGC default, what Prometheus and vmalert run with. Left to V8 (0), a busy
 * heap grows by a factor of up to 4 over what is live: evaluating 4,000 rules every 5 s kept ~70 MB live in an old
 * generation of over 200 MB, 373-379 MiB peak RSS, against 254-256 MiB at 100 for 4-8% more CPU; idle and the
 * grouped layout, whose heaps are small, measured the same either way (December 2026, quiet machine;
 * docs/configuration.md#memory).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 100

/** heapGrowthFlag is the V8 flag for a growth percentage; 0 is V8's default: a factor it chooses itself. */
export function heapGrowthFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`
}

/** applyHeapGrowth sets how far the heap may grow before V8 collects it fully; V8 reads it at each collection. */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(heapGrowthFlag(percent))
}
