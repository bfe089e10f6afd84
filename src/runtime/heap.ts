import { setFlagsFromString } from 'node:v8'

/**
 * DEFAULT_HEAP_GROWTH_PERCENT 0 leaves the heap's growth to V8, which grows a busy heap by a factor of up to 4 over
 * what is live: evaluating 4,000 rules every 5 s kept ~70 MB live in an old generation of over 200 MB, 373-379 MiB
 * peak RSS. At 100 (Go's GOGC default) the same run peaked at 254-256 MiB for 4-8% more CPU (December 2026, quiet
 * machine). Not the default yet: the grouped layout's CPU target is met with no margin and has not been measured
 * with it (docs/configuration.md#memory).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 0

/** heapGrowthFlag is the V8 flag for a growth percentage; 0 is V8's default: a factor it chooses itself. */
export function heapGrowthFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`
}

/** applyHeapGrowth sets how far the heap may grow before V8 collects it fully; V8 reads it at each collection. */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(heapGrowthFlag(percent))
}
