import { setFlagsFromString } from 'node:v8'

/**
 * DEFAULT_HEAP_GROWTH_PERCENT 75 is Prometheus's own GOGC default (`runtime.gogc`, since 2.53: "minimal additional
 * CPU usage, but greatly reduced memory"). Left to V8 (0), a busy heap grows by a factor of up to 4 over what is
 * live: 4,000 rules every 5 s peaked at 373-379 MiB against 254-256 MiB at 100. In the shipped pod's 512 MiB limit,
 * 4,000 rules peaked at 142-150 MiB at 75 against 160-163 MiB at 100, for a few percent more CPU; the grouped
 * layout, whose heap is small, measured the same at 75 and 100 side by side (December 2026;
 * docs/configuration.md#memory).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 75

/** heapGrowthFlag is the V8 flag for a growth percentage; 0 is V8's default: a factor it chooses itself. */
export function heapGrowthFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`
}

/** applyHeapGrowth sets how far the heap may grow before V8 collects it fully; V8 reads it at each collection. */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(heapGrowthFlag(percent))
}
