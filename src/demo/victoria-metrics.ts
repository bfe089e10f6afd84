/**
 * Runs a real VictoriaMetrics single-node (the Debian binary) on a free 127.0.0.1 port, scraping the targets a
 * Prometheus would scrape, with temp-dir storage: the second query backend of the integration tests and the
 * detection benchmark. The flags that make tests deterministic are explained in docs/backends.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { freePort, logTail, onExitSync, startProcess, waitForHttp, type ProcessHandle } from './processes.js'
import { findBinary, scrapeConfigs, type Daemon, type ScrapeTarget } from './stack.js'

/** VictoriaMetricsOptions configures startVictoriaMetrics. */
export interface VictoriaMetricsOptions {
  readonly scrapeTargets: readonly ScrapeTarget[]
  readonly scrapeInterval: string // e.g. "1s"
  /**
   * -search.latencyOffset: queries closer than this to now are answered as of now − offset. '0s' by default, so
   * a rule evaluated now sees the last scrape as it would on Prometheus; VictoriaMetrics's own default is 30s.
   */
  readonly latencyOffset?: string
  /**
   * responseCache keeps VictoriaMetrics's response cache (its default), which also rounds query_range's start and
   * end to multiples of step; false by default (-search.disableCache) so every answer comes from the raw data.
   */
  readonly responseCache?: boolean
  readonly logFile?: string
  readonly startTimeoutMs?: number
}

/** VictoriaMetricsHandle is a running VictoriaMetrics; url is its Prometheus-compatible query API. */
export type VictoriaMetricsHandle = Daemon

/** victoriaMetricsArgs are the command-line flags for a port, storage and scrape config. */
export function victoriaMetricsArgs(
  opts: VictoriaMetricsOptions,
  port: number,
  dataDir: string,
  configFile: string,
): string[] {
  return [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${dataDir}`,
    `-promscrape.config=${configFile}`,
    `-search.latencyOffset=${opts.latencyOffset ?? '0s'}`,
    // One scraper writes each series once: no duplicates to remove, and dedup at the scrape interval could drop a
    // sample whose scrape came a few ms early (jitter), changing rate() between runs.
    '-dedup.minScrapeInterval=0s',
    ...(opts.responseCache === true ? [] : ['-search.disableCache']),
    // Several instances may run on one test machine: caches stay small instead of 60% of the memory each.
    '-memory.allowedBytes=256MiB',
    '-retentionPeriod=1d',
  ]
}

/**
 * startVictoriaMetrics runs /usr/bin/victoria-metrics, waits for /health, then (bounded) for every target's first
 * scrape to be queryable.
 */
export async function startVictoriaMetrics(opts: VictoriaMetricsOptions): Promise<VictoriaMetricsHandle> {
  const bin = findBinary(['victoria-metrics'], 'VICTORIA_METRICS_BIN')
  const dir = mkdtempSync(join(tmpdir(), 'rollguard-victoria-metrics-'))
  const configFile = join(dir, 'scrape.yml')
  const logFile = opts.logFile ?? join(dir, 'victoria-metrics.log')
  const timeoutMs = opts.startTimeoutMs ?? 30_000
  writeFileSync(
    configFile,
    // VictoriaMetrics parses the config strictly: only the fields it knows (no evaluation_interval).
    stringify({ global: { scrape_interval: opts.scrapeInterval }, scrape_configs: scrapeConfigs(opts.scrapeTargets) }),
  )
  try {
    const { handle, port } = await launch(opts, bin, dir, configFile, logFile, timeoutMs)
    const daemon = handleOf(handle, port, dir, configFile, logFile)
    try {
      await waitForFirstScrape(daemon.url, opts.scrapeTargets.length, timeoutMs, handle)
    } catch (err) {
      await daemon.stop()
      throw err
    }
    return daemon
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/** launch starts the process on a free port and waits for /health, retrying when the port was taken meanwhile. */
async function launch(
  opts: VictoriaMetricsOptions,
  bin: string,
  dir: string,
  configFile: string,
  logFile: string,
  timeoutMs: number,
): Promise<{ handle: ProcessHandle; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const args = victoriaMetricsArgs(opts, port, join(dir, 'data'), configFile)
    const handle = await startProcess(bin, args, { cwd: dir, logFile, name: 'victoria-metrics' })
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs, process: handle })
      return { handle, port }
    } catch (err) {
      await handle.stop(2000)
      if (!/address already in use/.test(logTail(logFile, 5)) || attempt >= 3) throw err
    }
  }
}

function handleOf(
  handle: ProcessHandle,
  port: number,
  dir: string,
  configFile: string,
  logFile: string,
): VictoriaMetricsHandle {
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true })
  const unregister = onExitSync(removeDir)
  let stopping: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: handle.pid,
    process: handle,
    configFile,
    logFile,
    stop(stopTimeoutMs = 5000) {
      stopping ??= handle.stop(stopTimeoutMs).finally(() => {
        unregister()
        removeDir()
      })
      return stopping
    },
  }
}

/**
 * waitForFirstScrape polls `count(up)` until every target has a sample. nocache=1 asks for now itself: with a
 * latencyOffset the newest samples stay hidden from ordinary queries for that long.
 */
async function waitForFirstScrape(url: string, targets: number, timeoutMs: number, proc: ProcessHandle): Promise<void> {
  if (targets === 0) return
  const deadline = Date.now() + timeoutMs
  let seen = 0
  for (;;) {
    if (proc.exitInfo() !== undefined)
      throw new Error(`victoria-metrics exited before its first scrape${logTail(proc.logFile)}`)
    try {
      const res = await fetch(`${url}/api/v1/query?query=count(up)&nocache=1`, { signal: AbortSignal.timeout(2000) })
      const body = (await res.json()) as { data?: { result?: Array<{ value?: [number, string] }> } }
      seen = Number(body.data?.result?.[0]?.value?.[1] ?? 0)
      if (seen >= targets) return
    } catch {
      // not answering yet: try again until the deadline
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms: ${seen}/${targets} targets of ${url} scraped${logTail(proc.logFile)}`,
      )
    await new Promise(r => setTimeout(r, 200))
  }
}
