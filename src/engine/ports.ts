import type { Sample } from './types.js'

/** QueryResult is an instant-query result: samples plus the server's warnings. */
export interface QueryResult {
  readonly samples: readonly Sample[]
  readonly warnings: readonly string[]
}

/** QueryFn runs an instant query at atMs; it rejects with an Error whose message is shown as the rule's lastError. */
export type QueryFn = (expr: string, atMs: number) => Promise<QueryResult>

/** Clock returns a monotonic time in milliseconds, used only to measure evaluation durations. */
export type Clock = () => number
