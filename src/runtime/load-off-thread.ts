/**
 * Reloads load off the main thread. Reading, parsing and validating rule files costs about a second per megabyte
 * (YAML, schema, PromQL and template parsing); done on the main thread it would stop evaluations, HTTP answers
 * and Lease renewals for as long. A worker thread does all of it; the main thread only takes the result in
 * chunks, a slice at a time (see load-wire.ts). `rollguard run` loads in-thread at start, when nothing runs yet.
 */

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { ConfigError, freezeConfig, ProblemsError, type Config, type ConfigInput } from '../config/load.js'
import type { AlertingRuleSpec } from '../engine/spec.js'
import { readsProbeSeries } from '../sources/local-query.js'
import { selectorChecks } from '../nodata/checks.js'
import { loadAll, RulesError, type Loaded } from './load.js'
import { Assembler, type WireChunk } from './load-wire.js'
import { Slices } from '../sources/sliced-json.js'
import { errorText } from '../errors.js'

/** WorkerMessage is what the loader worker posts. */
export type WorkerMessage =
  | { readonly kind: 'loaded'; readonly config: Config; readonly chunks: number }
  | { readonly kind: 'chunk'; readonly chunk: WireChunk; readonly last: boolean }
  | {
      readonly kind: 'failed'
      readonly what: 'configuration' | 'rules' | 'loader'
      readonly problems: readonly string[]
    }

/** LOAD_TIMEOUT_MS bounds one load: rule files within their limits take seconds; a load still running is stopped. */
export const LOAD_TIMEOUT_MS = 120_000

/** OffThreadOptions are for tests: another worker entry, time bound or main-thread slice budget. */
export interface OffThreadOptions {
  readonly entry?: URL
  readonly timeoutMs?: number
  readonly sliceMs?: number
}

/**
 * The worker's entry beside this module: load-worker.js in dist/; from the TypeScript sources (the tests) the .ts
 * file, which the worker loads through the same loader hooks as this process (workers inherit its execArgv).
 */
export const WORKER_ENTRY = new URL(`./load-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)

/**
 * loadOffThread loads configuration and rules as loadAll does, in a worker thread; it throws ConfigError, RulesError
 * or ProblemsError (the loader itself failed), each message naming the file. Without a worker entry it loads here.
 */
export async function loadOffThread(input: ConfigInput, opts: OffThreadOptions = {}): Promise<Loaded> {
  const entry = opts.entry ?? WORKER_ENTRY
  if (!existsSync(fileURLToPath(entry))) return loadAll(input)
  // Plain data only: process.env is cloned into an ordinary object.
  const worker = new Worker(entry, {
    workerData: { input: { flags: new Map(input.flags), env: { ...input.env }, cwd: input.cwd } },
  })
  try {
    return await receive(worker, opts)
  } finally {
    // Also on success: the worker waits for requests that will not come; its heap goes with it.
    void worker.terminate()
  }
}

function receive(worker: Worker, opts: OffThreadOptions): Promise<Loaded> {
  const timeoutMs = opts.timeoutMs ?? LOAD_TIMEOUT_MS
  const slices = new Slices(opts.sliceMs)
  const assembler = new Assembler()
  let config: Config | undefined
  return new Promise<Loaded>((resolve, reject) => {
    const settle = (fn: () => void) => {
      clearTimeout(timer)
      worker.removeAllListeners()
      // An error after settling (terminate) must not become an unhandled 'error' event.
      worker.on('error', () => undefined)
      fn()
    }
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new ProblemsError([`loading the configuration and rules took longer than ${timeoutMs / 1000}s; stopped`]),
          ),
        ),
      timeoutMs,
    )
    const onMessage = async (message: WorkerMessage): Promise<void> => {
      if (message.kind === 'failed') throw failure(message.what, message.problems)
      if (message.kind === 'loaded') config = freezeConfig(message.config)
      else await assembler.add(message.chunk, slices, warmCaches)
      if (config !== undefined && (message.kind === 'loaded' ? message.chunks === 0 : message.last)) {
        settle(() => resolve({ config: config as Config, groups: assembler.groups() }))
      } else {
        worker.postMessage('next')
      }
    }
    worker.on(
      'message',
      (message: WorkerMessage) => void onMessage(message).catch((err: unknown) => settle(() => reject(err))),
    )
    worker.on('error', err => settle(() => reject(loaderError(err))))
    worker.on('exit', code =>
      settle(() =>
        reject(
          new ProblemsError([
            `the loader stopped (exit code ${code}) before it had loaded the configuration and rules`,
          ]),
        ),
      ),
    )
  })
}

/**
 * warmCaches does, inside the loader's slices, the per-expression parsing that applying the rules would otherwise do
 * all at once: the no-data watch's selectors and restore's probe check (both cached per expression).
 */
function warmCaches(rule: AlertingRuleSpec): void {
  selectorChecks(rule.expr)
  readsProbeSeries(rule.expr)
}

function failure(what: 'configuration' | 'rules' | 'loader', problems: readonly string[]): Error {
  if (what === 'configuration') return new ConfigError(problems)
  if (what === 'rules') return new RulesError(problems)
  return new ProblemsError(problems.map(p => `loading the configuration and rules failed: ${p}`))
}

function loaderError(err: unknown): ProblemsError {
  if ((err as NodeJS.ErrnoException | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ProblemsError([
      'loading the configuration and rules ran out of memory: a rule file is too large (see rules.max_file_bytes)',
    ])
  }
  return new ProblemsError([`loading the configuration and rules failed: ${errorText(err)}`])
}
