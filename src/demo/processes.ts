/**
 * Child-process helpers for the demo and integration tests: free loopback ports,
 * start/stop with bounded timeouts, bounded HTTP readiness polling, and a registry
 * that stops everything still running when this process exits or gets a signal.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { errorText } from '../errors.js'

/** StartOptions configures startProcess; logFile receives stdout and stderr (appended). */
export interface StartOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  readonly logFile?: string
  /** name used in error messages; defaults to the command. */
  readonly name?: string
}

/** ExitInfo is how a child process ended. */
export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** ProcessHandle is a started child process. */
export interface ProcessHandle {
  readonly pid: number
  readonly name: string
  readonly logFile: string | undefined
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>
  /** exitInfo is set once the process has exited. */
  exitInfo(): ExitInfo | undefined
  /** SIGTERM, then SIGKILL after timeoutMs; resolves when the process has exited (bounded). */
  stop(timeoutMs?: number): Promise<void>
}

const registry = new Set<ProcessHandle>()
const children = new Map<ProcessHandle, ChildProcess>()
const exitCallbacks = new Set<() => void>()
let hooksInstalled = false

/** freePort returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(err => (err !== undefined || port === 0 ? reject(err ?? new Error('no port')) : resolve(port)))
    })
  })
}

/** startProcess spawns cmd (no shell) and resolves once it is running; rejects if it cannot be spawned. */
export async function startProcess(
  cmd: string,
  args: readonly string[],
  opts: StartOptions = {},
): Promise<ProcessHandle> {
  installExitHooks()
  const name = opts.name ?? cmd
  const fd = opts.logFile !== undefined ? openSync(opts.logFile, 'a') : undefined
  let child: ChildProcess
  try {
    child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
    })
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', err => reject(new Error(`cannot start ${name} (${cmd}): ${err.message}`)))
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`cannot start ${name}: no pid`)
  let info: ExitInfo | undefined
  const exited = new Promise<ExitInfo>(resolve => {
    child.once('exit', (code, signal) => {
      info = { code, signal }
      registry.delete(handle)
      children.delete(handle)
      resolve(info)
    })
  })
  const handle: ProcessHandle = {
    pid,
    name,
    logFile: opts.logFile,
    exited,
    exitInfo: () => info,
    stop: (timeoutMs = 5000) => stopChild(child, exited, () => info !== undefined, timeoutMs),
  }
  registry.add(handle)
  children.set(handle, child)
  return handle
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<ExitInfo>,
  done: () => boolean,
  timeoutMs: number,
): Promise<void> {
  if (done()) return
  child.kill('SIGTERM')
  if (await within(exited, timeoutMs)) return
  child.kill('SIGKILL')
  if (!(await within(exited, 5000))) throw new Error(`process ${child.pid} did not exit after SIGKILL`)
}

/** within resolves true if p settles within ms, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>(resolve => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([p.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** runningProcesses lists the registered processes that have not exited yet. */
export function runningProcesses(): ProcessHandle[] {
  return [...registry]
}

/** stopAll stops every registered process (in parallel, each bounded by timeoutMs). */
export async function stopAll(timeoutMs = 5000): Promise<void> {
  await Promise.allSettled([...registry].map(h => h.stop(timeoutMs)))
}

/** onExitSync registers a synchronous cleanup (e.g. removing a temp dir) run when this process exits; returns an unregister function. */
export function onExitSync(fn: () => void): () => void {
  installExitHooks()
  exitCallbacks.add(fn)
  return () => {
    exitCallbacks.delete(fn)
  }
}

/** isAlive tells whether a pid exists (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.once('exit', () => {
    for (const child of children.values()) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
    runExitCallbacks()
  })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      process.removeListener(sig, handler)
      // Stop the children, then re-raise: the default action (or other handlers) applies.
      void stopAll(2000).finally(() => {
        runExitCallbacks() // a signal death skips 'exit'
        process.kill(process.pid, sig)
      })
    }
    process.on(sig, handler)
  }
}

function runExitCallbacks(): void {
  for (const fn of [...exitCallbacks]) {
    exitCallbacks.delete(fn)
    try {
      fn()
    } catch {
      // best effort
    }
  }
}

/** WaitHttpOptions bounds waitForHttp; process makes it fail fast when that process exits. */
export interface WaitHttpOptions {
  readonly timeoutMs?: number
  readonly intervalMs?: number
  /** expected status (default 200). */
  readonly expectStatus?: number
  readonly process?: ProcessHandle
}

/** waitForHttp polls url with GET until it answers expectStatus, or throws after timeoutMs. */
export async function waitForHttp(url: string, opts: WaitHttpOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const intervalMs = opts.intervalMs ?? 100
  const expect = opts.expectStatus ?? 200
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt'
  for (;;) {
    const info = opts.process?.exitInfo()
    if (opts.process !== undefined && info !== undefined) {
      throw new Error(
        `${opts.process.name} exited (code ${info.code}, signal ${info.signal}) before ${url} was ready${logTail(opts.process.logFile)}`,
      )
    }
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(Math.max(200, Math.min(2000, deadline - Date.now()))),
      })
      await res.arrayBuffer()
      if (res.status === expect) return
      last = `status ${res.status}`
    } catch (err) {
      last = errorText(err)
    }
    if (Date.now() + intervalMs > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} (${last})${logTail(opts.process?.logFile)}`)
    }
    await new Promise(r => setTimeout(r, intervalMs))
  }
}

/** logTail returns the last lines of a log file formatted for an error message, or ''. */
export function logTail(file: string | undefined, lines = 20): string {
  if (file === undefined) return ''
  try {
    const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    return text === '' ? '' : `\n--- last lines of ${file} ---\n${text}`
  } catch {
    return ''
  }
}
