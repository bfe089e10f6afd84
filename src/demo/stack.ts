/**
 * Runs a real Prometheus and a real Alertmanager (the Debian binaries) on free
 * 127.0.0.1 ports with temp-dir config and storage, for the demo and integration tests.
 */
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { stringify } from 'yaml'
import { freePort, logTail, onExitSync, startProcess, waitForHttp } from './processes.js'
import type { ProcessHandle } from './processes.js'

/** ScrapeTarget is one static scrape target; labels become target labels. */
export interface ScrapeTarget {
  readonly job: string
  readonly target: string // host:port, e.g. 127.0.0.1:8080
  readonly labels?: Readonly<Record<string, string>>
  readonly metricsPath?: string
  /** keep the exposed namespace/pod labels instead of renaming them exported_* (job-wide). */
  readonly honorLabels?: boolean
}

/** PrometheusOptions configures startPrometheus. */
export interface PrometheusOptions {
  /** a fixed port (e.g. to restart on the same address); a free one when absent. */
  readonly port?: number
  readonly scrapeTargets: readonly ScrapeTarget[]
  readonly scrapeInterval: string // Prometheus duration, e.g. "1s"
  readonly ruleFiles?: readonly string[] // absolute paths
  readonly alertmanagerUrls?: readonly string[] // base URLs, e.g. http://127.0.0.1:9093
  readonly evaluationInterval?: string // defaults to scrapeInterval
  readonly dataDir?: string // TSDB dir; a temp dir (removed on stop) when absent
  readonly logFile?: string // stdout+stderr; inside the temp dir when absent
  readonly startTimeoutMs?: number
  /** also wait until every target has been scraped once (Prometheus 2.42 applies targets ~5 s after start). */
  readonly waitForTargets?: boolean
  /**
   * webConfigFile is passed as --web.config.file (exporter-toolkit format). With tls_server_config the handle's url
   * is https:// and readiness is checked without verifying the certificate; reload() and waitForTargets then
   * need plain HTTP and are not supported.
   */
  readonly webConfigFile?: string
}

/** PrometheusConfigOptions is the part of PrometheusOptions that goes into prometheus.yml. */
export type PrometheusConfigOptions = Omit<
  PrometheusOptions,
  'dataDir' | 'logFile' | 'startTimeoutMs' | 'waitForTargets'
>

/** Daemon is a running Prometheus or Alertmanager. */
export interface Daemon {
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly process: ProcessHandle
  readonly configFile: string
  readonly logFile: string
  /** stops the process (SIGTERM, then SIGKILL) and removes its temp dir; idempotent. */
  stop(timeoutMs?: number): Promise<void>
}

/** PrometheusHandle is a running Prometheus; reload rewrites the config with changes, then POSTs /-/reload. */
export interface PrometheusHandle extends Daemon {
  reload(changes?: Partial<PrometheusConfigOptions>): Promise<void>
}

/** AlertmanagerOptions configures startAlertmanager; config is alertmanager.yml text. */
export interface AlertmanagerOptions {
  /** a fixed port (e.g. to restart on the same address); a free one when absent. */
  readonly port?: number
  readonly config?: string
  readonly logFile?: string
  /** webConfigFile is passed as --web.config.file, as PrometheusOptions.webConfigFile (url https:// with TLS). */
  readonly webConfigFile?: string
  readonly startTimeoutMs?: number
}

/** AlertmanagerHandle is a running Alertmanager; reload rewrites the config, then POSTs /-/reload. */
export interface AlertmanagerHandle extends Daemon {
  reload(config?: string): Promise<void>
}

/** DEFAULT_ALERTMANAGER_CONFIG routes every alert to a receiver that notifies nobody, with short timers. */
export const DEFAULT_ALERTMANAGER_CONFIG = stringify({
  route: { receiver: 'null', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
  receivers: [{ name: 'null' }],
})

const SEARCH_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/bin', '/sbin']

/** findBinary returns the first executable of names in $envVar, PATH, /usr/bin or /usr/sbin; throws a clear error otherwise. */
export function findBinary(names: readonly string[], envVar?: string): string {
  const override = envVar !== undefined ? process.env[envVar] : undefined
  const candidates = override !== undefined && override !== '' ? [override] : []
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(d => d !== ''), ...SEARCH_DIRS]
  for (const name of names) for (const dir of dirs) candidates.push(join(dir, name))
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK)
      return c
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `cannot find ${names.join(' or ')} (searched PATH, ${SEARCH_DIRS.join(', ')}${envVar !== undefined ? `, $${envVar}` : ''}); run \`npm run deps:system\` to install the Debian packages`,
  )
}

/** scrapeConfigs renders the scrape_configs section: one scrape job per distinct job name (VictoriaMetrics reads it too). */
export function scrapeConfigs(scrapeTargets: readonly ScrapeTarget[]): Array<Record<string, unknown>> {
  const jobs = new Map<string, ScrapeTarget[]>()
  for (const t of scrapeTargets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t])
  return [...jobs].map(([job, targets]) => ({
    job_name: job,
    metrics_path: targets[0]?.metricsPath ?? '/metrics',
    honor_labels: targets.some(t => t.honorLabels === true),
    static_configs: targets.map(t => ({ targets: [t.target], labels: { ...(t.labels ?? {}) } })),
  }))
}

/** prometheusConfig renders prometheus.yml for the options (one scrape job per distinct job name). */
export function prometheusConfig(opts: PrometheusConfigOptions): string {
  const config: Record<string, unknown> = {
    global: {
      scrape_interval: opts.scrapeInterval,
      evaluation_interval: opts.evaluationInterval ?? opts.scrapeInterval,
    },
    scrape_configs: scrapeConfigs(opts.scrapeTargets),
  }
  if (opts.ruleFiles !== undefined && opts.ruleFiles.length > 0) config['rule_files'] = [...opts.ruleFiles]
  if (opts.alertmanagerUrls !== undefined && opts.alertmanagerUrls.length > 0) {
    config['alerting'] = {
      alertmanagers: opts.alertmanagerUrls.map(u => {
        const url = new URL(u)
        return {
          scheme: url.protocol.replace(':', ''),
          path_prefix: url.pathname,
          api_version: 'v2',
          static_configs: [{ targets: [url.host] }],
        }
      }),
    }
  }
  return stringify(config)
}

interface LaunchSpec {
  readonly name: string
  readonly bin: string
  readonly dir: string
  readonly logFile: string
  readonly args: (port: number) => string[]
  readonly timeoutMs: number
  readonly port?: number
  readonly webConfigFile?: string
}

/** usesTls says whether an exporter-toolkit web config turns TLS on (it has a tls_server_config). */
function usesTls(webConfigFile: string | undefined): boolean {
  return webConfigFile !== undefined && /^tls_server_config:/m.test(readFileSync(webConfigFile, 'utf8'))
}

/** waitForTls polls /-/ready over TLS without verifying the certificate; a 401 (basic_auth_users covers every path) or a refused handshake (mTLS) count. */
async function waitForTls(url: string, timeoutMs: number, proc: ProcessHandle): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt'
  for (;;) {
    const info = proc.exitInfo()
    if (info !== undefined)
      throw new Error(
        `${proc.name} exited (code ${info.code}, signal ${info.signal}) before ${url} was ready${logTail(proc.logFile)}`,
      )
    const status = await new Promise<number | string>(resolve => {
      const req = https.get(url, { rejectUnauthorized: false, timeout: 2000 }, res => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      // A TLS alert (a client certificate required) is an answer too: the server is up.
      req.on('error', (err: NodeJS.ErrnoException) =>
        resolve(err.code?.startsWith('ERR_SSL_') === true ? 'tls-alert' : err.message),
      )
    })
    if (status === 200 || status === 401 || status === 'tls-alert') return
    last = String(status)
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} (${last})${logTail(proc.logFile)}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

/** launch starts a daemon on a free port and waits for /-/ready, retrying when the port was taken meanwhile. */
async function launch(spec: LaunchSpec): Promise<{ handle: ProcessHandle; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = spec.port ?? (await freePort())
    const webConfig = spec.webConfigFile === undefined ? [] : [`--web.config.file=${spec.webConfigFile}`]
    const handle = await startProcess(spec.bin, [...spec.args(port), ...webConfig], {
      cwd: spec.dir,
      logFile: spec.logFile,
      name: spec.name,
    })
    try {
      if (usesTls(spec.webConfigFile)) await waitForTls(`https://127.0.0.1:${port}/-/ready`, spec.timeoutMs, handle)
      else await waitForHttp(`http://127.0.0.1:${port}/-/ready`, { timeoutMs: spec.timeoutMs, process: handle })
      return { handle, port }
    } catch (err) {
      await handle.stop(2000)
      const portTaken = /address already in use/.test(logTail(spec.logFile, 5))
      if (!portTaken || attempt >= 3 || spec.port !== undefined) throw err
    }
  }
}

/** makeDaemon wires stop() (idempotent, removes the temp dir) around a launched process. */
function makeDaemon(
  handle: ProcessHandle,
  port: number,
  dir: string,
  configFile: string,
  logFile: string,
  scheme = 'http',
): Daemon {
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true })
  const unregister = onExitSync(removeDir)
  let stopping: Promise<void> | undefined
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    pid: handle.pid,
    process: handle,
    configFile,
    logFile,
    stop(timeoutMs = 5000) {
      stopping ??= handle.stop(timeoutMs).finally(() => {
        unregister()
        removeDir()
      })
      return stopping
    },
  }
}

/** postReload POSTs /-/reload and throws with the daemon's message when the new config is rejected. */
async function postReload(url: string): Promise<void> {
  const res = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(15_000) })
  const body = await res.text()
  if (!res.ok) throw new Error(`reload of ${url} failed: ${res.status} ${body.trim()}`)
}

/** waitForTargets polls /api/v1/targets until `count` targets have been scraped at least once (up or down). */
async function waitForTargets(url: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await fetch(`${url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(5000) })
    const body = (await res.json()) as { data?: { activeTargets?: { health: string }[] } }
    const scraped = (body.data?.activeTargets ?? []).filter(t => t.health !== 'unknown').length
    if (scraped >= count) return
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms: ${scraped}/${count} targets of ${url} scraped`)
    await new Promise(r => setTimeout(r, 200))
  }
}

/** startPrometheus runs /usr/bin/prometheus with a generated config and waits until it is ready. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusHandle> {
  const bin = findBinary(['prometheus'], 'PROMETHEUS_BIN')
  const dir = mkdtempSync(join(tmpdir(), 'rollguard-prometheus-'))
  const dataDir = opts.dataDir ?? join(dir, 'data')
  const configFile = join(dir, 'prometheus.yml')
  const logFile = opts.logFile ?? join(dir, 'prometheus.log')
  let current: PrometheusConfigOptions = opts
  writeFileSync(configFile, prometheusConfig(current))
  const scheme = usesTls(opts.webConfigFile) ? 'https' : 'http'
  try {
    const { handle, port } = await launch({
      name: 'prometheus',
      bin,
      dir,
      logFile,
      timeoutMs: opts.startTimeoutMs ?? 30_000,
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.webConfigFile === undefined ? {} : { webConfigFile: opts.webConfigFile }),
      args: p => [
        `--config.file=${configFile}`,
        `--web.listen-address=127.0.0.1:${p}`,
        `--web.external-url=${scheme}://127.0.0.1:${p}/`,
        `--storage.tsdb.path=${dataDir}`,
        '--web.enable-lifecycle',
      ],
    })
    const daemon = makeDaemon(handle, port, dir, configFile, logFile, scheme)
    if (opts.waitForTargets === true) {
      await waitForTargets(daemon.url, opts.scrapeTargets.length, opts.startTimeoutMs ?? 30_000).catch(
        async (err: unknown) => {
          await daemon.stop()
          throw err
        },
      )
    }
    return {
      ...daemon,
      async reload(changes = {}) {
        current = { ...current, ...changes }
        writeFileSync(configFile, prometheusConfig(current))
        await postReload(daemon.url)
      },
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/** startAlertmanager runs the Debian Alertmanager (clustering disabled) and waits until it is ready. */
export async function startAlertmanager(opts: AlertmanagerOptions = {}): Promise<AlertmanagerHandle> {
  const bin = findBinary(['prometheus-alertmanager', 'alertmanager'], 'ALERTMANAGER_BIN')
  const dir = mkdtempSync(join(tmpdir(), 'rollguard-alertmanager-'))
  const configFile = join(dir, 'alertmanager.yml')
  const logFile = opts.logFile ?? join(dir, 'alertmanager.log')
  writeFileSync(configFile, opts.config ?? DEFAULT_ALERTMANAGER_CONFIG)
  const scheme = usesTls(opts.webConfigFile) ? 'https' : 'http'
  try {
    const { handle, port } = await launch({
      name: 'alertmanager',
      bin,
      dir,
      logFile,
      timeoutMs: opts.startTimeoutMs ?? 30_000,
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.webConfigFile === undefined ? {} : { webConfigFile: opts.webConfigFile }),
      args: p => [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
        `--web.external-url=${scheme}://127.0.0.1:${p}/`,
        '--cluster.listen-address=',
      ],
    })
    const daemon = makeDaemon(handle, port, dir, configFile, logFile, scheme)
    return {
      ...daemon,
      async reload(config) {
        if (config !== undefined) writeFileSync(configFile, config)
        await postReload(daemon.url)
      },
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/** AmAlert is one alert as returned by Alertmanager's GET /api/v2/alerts. */
export interface AmAlert {
  readonly labels: Record<string, string>
  readonly annotations: Record<string, string>
  readonly startsAt: string
  readonly endsAt: string
  readonly updatedAt: string
  readonly fingerprint: string
  readonly generatorURL?: string
  readonly receivers: { readonly name: string }[]
  readonly status: {
    readonly state: 'active' | 'suppressed' | 'unprocessed'
    readonly silencedBy: string[]
    readonly inhibitedBy: string[]
  }
}

/** AmAlertFilter narrows amAlerts: matchers as {name: value} (equality) or raw matcher strings. */
export interface AmAlertFilter {
  readonly matchers?: Readonly<Record<string, string>> | readonly string[]
  readonly active?: boolean
  readonly silenced?: boolean
  readonly inhibited?: boolean
  readonly unprocessed?: boolean
  readonly receiver?: string
}

/** AmSilence is one silence as returned by GET /api/v2/silences. */
export interface AmSilence {
  readonly id: string
  readonly status: { readonly state: 'active' | 'pending' | 'expired' }
  readonly matchers: {
    readonly name: string
    readonly value: string
    readonly isRegex: boolean
    readonly isEqual?: boolean
  }[]
  readonly startsAt: string
  readonly endsAt: string
  readonly createdBy: string
  readonly comment: string
}

/** PromSample is one element of an instant-query result (a scalar has no labels). */
export interface PromSample {
  readonly labels: Record<string, string>
  readonly value: number
}

function matcherStrings(m: AmAlertFilter['matchers']): string[] {
  if (m === undefined) return []
  if (Array.isArray(m)) return [...(m as readonly string[])]
  return Object.entries(m as Record<string, string>).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
}

async function getJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
  const body = await res.text()
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${body.trim()}`)
  return (body === '' ? undefined : JSON.parse(body)) as T
}

const JSON_HEADERS = { 'content-type': 'application/json' }

/** amAlerts GETs /api/v2/alerts from an Alertmanager, optionally filtered. */
export function amAlerts(url: string, filter: AmAlertFilter = {}): Promise<AmAlert[]> {
  const q = new URLSearchParams()
  for (const m of matcherStrings(filter.matchers)) q.append('filter', m)
  for (const k of ['active', 'silenced', 'inhibited', 'unprocessed'] as const) {
    const v = filter[k]
    if (v !== undefined) q.set(k, String(v))
  }
  if (filter.receiver !== undefined) q.set('receiver', filter.receiver)
  return getJson<AmAlert[]>(`${url}/api/v2/alerts?${q.toString()}`)
}

/** amPostAlerts POSTs alerts ({labels, annotations?, startsAt?, endsAt?, generatorURL?}) to /api/v2/alerts. */
export async function amPostAlerts(url: string, alerts: readonly Record<string, unknown>[]): Promise<void> {
  await getJson<unknown>(`${url}/api/v2/alerts`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify(alerts),
  })
}

/** amSilences GETs /api/v2/silences (all states), optionally filtered by matcher strings. */
export function amSilences(url: string, matchers: readonly string[] = []): Promise<AmSilence[]> {
  const q = new URLSearchParams()
  for (const m of matchers) q.append('filter', m)
  return getJson<AmSilence[]>(`${url}/api/v2/silences?${q.toString()}`)
}

/** amCreateSilence creates a silence for equality matchers lasting durationMs; returns its id. */
export async function amCreateSilence(
  url: string,
  matchers: Readonly<Record<string, string>>,
  durationMs: number,
  comment = 'rollguard',
  createdBy = 'rollguard',
): Promise<string> {
  const now = Date.now()
  const body = {
    matchers: Object.entries(matchers).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + durationMs).toISOString(),
    createdBy,
    comment,
  }
  const res = await getJson<{ silenceID: string }>(`${url}/api/v2/silences`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  })
  return res.silenceID
}

/** amExpireSilence expires a silence by id (DELETE /api/v2/silence/{id}). */
export async function amExpireSilence(url: string, id: string): Promise<void> {
  await getJson<unknown>(`${url}/api/v2/silence/${encodeURIComponent(id)}`, { method: 'DELETE' })
}

/** promQuery runs an instant query on Prometheus (/api/v1/query) and returns vector or scalar samples. */
export async function promQuery(url: string, expr: string, timeSec?: number): Promise<PromSample[]> {
  const q = new URLSearchParams({ query: expr })
  if (timeSec !== undefined) q.set('time', String(timeSec))
  type Resp = { status: string; error?: string; data: { resultType: string; result: unknown } }
  const res = await getJson<Resp>(`${url}/api/v1/query?${q.toString()}`)
  if (res.status !== 'success') throw new Error(`query ${expr} failed: ${res.error ?? res.status}`)
  const { resultType, result } = res.data
  if (resultType === 'scalar') return [{ labels: {}, value: Number((result as [number, string])[1]) }]
  if (resultType !== 'vector') throw new Error(`query ${expr}: unsupported result type ${resultType}`)
  return (result as { metric: Record<string, string>; value: [number, string] }[]).map(r => ({
    labels: r.metric,
    value: Number(r.value[1]),
  }))
}
