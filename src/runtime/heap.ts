import { setFlagsFromString } from 'node:v8'

/**
 * DEFAULT_HEAP_GROWTH_PERCENT lets the heap grow 20% over the live objects before a full collection. V8's own
 * heuristics grow a busy heap by a factor of up to 4: evaluating 4,000 rules every 5 s (about 60 MB/s of short-lived
 * allocations, query answers and HTTP requests promoted while they are in flight) kept ~70 MB live in a 220 MB old
 * generation, ~380 MiB RSS; at 20% the same run stays under 200 MiB for the same CPU (docs/benchmarks.md).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 20

/** heapGrowthFlag is the V8 flag for a growth percentage; 0 is V8's default: a factor it chooses itself. */
export function heapGrowthFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`
}

/** applyHeapGrowth sets how far the heap may grow before V8 collects it fully; V8 reads it at each collection. */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(heapGrowthFlag(percent))
}
