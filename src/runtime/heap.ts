import { setFlagsFromString } from 'node:v8'

/**
 * DEFAULT_HEAP_GROWTH_PERCENT 50 lets the heap grow by half what is live before a full collection, like GOGC=50.
 * Left to V8 (0), a busy heap grows by a factor of up to 4 over what is live: 4,000 rules every 5 s peaked at
 * 373-379 MiB against 254-256 MiB at 100. Side by side on the same 4,000 rules, 50 used 3 % more CPU than 75
 * (Prometheus's own runtime.gogc default) for a peak ~5 MiB lower, and ~8 MiB lower run alone; for a watcher that
 * stays beside every Prometheus, memory is the scarcer of the two (rollguard's CPU at 4,000 rules is 0.6-0.7x
 * vmalert's). The grouped layout, whose heap is small, measures the same at any setting (December 2026;
 * docs/configuration.md#memory).
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 50

/** heapGrowthFlag is the V8 flag for a growth percentage; 0 is V8's default: a factor it chooses itself. */
export function heapGrowthFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`
}

/** applyHeapGrowth sets how far the heap may grow before V8 collects it fully; V8 reads it at each collection. */
export function applyHeapGrowth(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  setFlags(heapGrowthFlag(percent))
}

/**
 * V8 sizes its young generation from the heap limit, itself from the memory the process sees: 1 MiB semi-spaces in
 * the shipped pod's 512 MiB limit, up to 16 MiB on a host without a limit, where 4,000 rules then peaked ~40 MiB
 * higher for a few percent less CPU (docs/configuration.md#memory). Not growing the semi-spaces past V8's initial
 * 1 MiB keeps the footprint the same in and out of a container. V8 reads this flag whenever it would grow them, so
 * it works set at run time, unlike --max-semi-space-size, which V8 reads once at start.
 */
export const SMALL_YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1'

/**
 * youngGenerationFlag is the flag that keeps the young generation small, or undefined when node was started with
 * a semi-space size of its own (`NODE_OPTIONS=--max-semi-space-size=16`): that choice is the operator's.
 */
export function youngGenerationFlag(nodeFlags: readonly string[]): string | undefined {
  return nodeFlags.some(f => SEMI_SPACE_SIZE.test(f)) ? undefined : SMALL_YOUNG_GENERATION_FLAG
}

/** Node accepts V8 flags with dashes or underscores. */
const SEMI_SPACE_SIZE = /^--(?:max|min)[-_]semi[-_]space[-_]size(?:=|$)/

/** nodeFlags are the flags node was started with: its command line's and NODE_OPTIONS'. */
export function nodeFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  return [...execArgv, ...splitNodeOptions(nodeOptions ?? '')]
}

/**
 * splitNodeOptions splits NODE_OPTIONS as node does: on spaces, with double quotes around an argument (tools that
 * add their own preload write `"--import=…"`) and backslashes escaping the next character inside them.
 */
export function splitNodeOptions(text: string): string[] {
  const args: string[] = []
  let current: string | undefined
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    let c = text[i] as string
    if (quoted && c === '\\' && i + 1 < text.length) c = text[++i] as string
    else if (c === '"') {
      quoted = !quoted
      current ??= ''
      continue
    } else if (c === ' ' && !quoted) {
      if (current !== undefined) args.push(current)
      current = undefined
      continue
    }
    current = (current ?? '') + c
  }
  if (current !== undefined) args.push(current)
  return args
}

/** applyYoungGeneration keeps the young generation small unless node was told a semi-space size (see above). */
export function applyYoungGeneration(
  flags: readonly string[],
  setFlags: (flags: string) => void = setFlagsFromString,
): void {
  const flag = youngGenerationFlag(flags)
  if (flag !== undefined) setFlags(flag)
}
