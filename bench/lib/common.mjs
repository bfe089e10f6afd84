// Shared helpers of the benchmark scripts: the built project's process helpers (dist/, after `npm run build`),
// /proc accounting, metrics scraping, statistics, rule files, engine launchers, a run-time bound, results, and
// command-line parsing.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const BENCH = join(ROOT, 'bench')
export const RESULTS = join(BENCH, 'results')
export const DIST_MAIN = join(ROOT, 'dist', 'main.js')

/** loadDist imports the project's compiled helpers; fails with the fix when dist/ is missing. */
export async function loadDist() {
  const need = [
    'dist/main.js',
    'dist/demo/processes.js',
    'dist/demo/stack.js',
    'dist/demo/fast-rules.js',
    'dist/demo/victoria-metrics.js',
  ]
  const missing = need.filter(f => !existsSync(join(ROOT, f)))
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run \`npm run build\` first`)
  const imp = f => import(pathToFileURL(join(ROOT, f)).href)
  const [processes, stack, fast, victoriaMetrics] = await Promise.all([
    imp('dist/demo/processes.js'),
    imp('dist/demo/stack.js'),
    imp('dist/demo/fast-rules.js'),
    imp('dist/demo/victoria-metrics.js'),
  ])
  return { ...processes, ...stack, ...fast, ...victoriaMetrics }
}

export const sleep = ms => new Promise(r => setTimeout(r, ms))

/** log writes a progress line to stderr (stdout carries the JSON result). */
export function log(...parts) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${parts.join(' ')}\n`)
}

// ---- /proc accounting --------------------------------------------------------------------------------------

let ticksPerSecond
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** cpuSeconds is utime+stime of a process so far (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) / clockTicks()
}

/** memoryKiB reads VmHWM (peak RSS) and VmRSS from /proc/<pid>/status, in KiB. */
export function memoryKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const get = k => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { hwm: get('VmHWM'), rss: get('VmRSS') }
}

/** machineBusySeconds is the CPU time all processes of the machine have used (/proc/stat, every CPU, not idle/iowait). */
export function machineBusySeconds() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = cpu
  return (user + nice + system + irq + softirq + (steal ?? 0)) / clockTicks()
}

// ---- metrics -----------------------------------------------------------------------------------------------

/** fetchText GETs a loopback URL with a bound. */
export async function fetchText(url, timeoutMs = 10_000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 200)}`)
  return text
}

export async function fetchJson(url, init = {}, timeoutMs = 10_000) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 200)}`)
  return text === '' ? undefined : JSON.parse(text)
}

/** metricSum adds every sample of one metric name (any labels) in Prometheus text format; NaN if absent. */
export function metricSum(text, name) {
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isFinite(value)) {
      sum += value
      found = true
    }
  }
  return found ? sum : Number.NaN
}

// ---- statistics --------------------------------------------------------------------------------------------

export function median(xs) {
  const v = xs.filter(x => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

export function round(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null
  const f = 10 ** digits
  return Math.round(x * f) / f
}

// ---- machine -----------------------------------------------------------------------------------------------

function debVersion(pkg) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

/** machineInfo describes where a run happened (for docs/benchmarks.md). */
export function machineInfo() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  let vmalertVersion = null
  try {
    vmalertVersion = execFileSync('/usr/bin/vmalert', ['-version'], { encoding: 'utf8', timeout: 5000 }).trim() || null
  } catch {
    // not installed
  }
  let revision = null
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== ''
    revision = dirty ? `${head} + uncommitted changes in src/` : head
  } catch {
    // not a git checkout
  }
  return {
    revision,
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    kernel: release(),
    node: process.version,
    rollguard: pkg.version,
    packages: {
      prometheus: debVersion('prometheus'),
      'victoria-metrics (vmalert)': debVersion('victoria-metrics'),
      'prometheus-alertmanager': debVersion('prometheus-alertmanager'),
    },
    vmalertVersion,
    loadAverageAtStart: loadavg().map(x => round(x, 2)),
  }
}

// ---- rule files --------------------------------------------------------------------------------------------

/**
 * benchRuleText derives the benchmark rule file from the shipped rules/rollback-triggers.yml: optionally shorter
 * `for` and range windows (fastRules), a group name, and `rollguard_probe_success` renamed to `probe_success`
 * (blackbox_exporter's name): rollguard answers rollguard_probe_* from its own probes without Prometheus, which
 * would make the comparison unfair; with the rename every engine queries Prometheus for all four rules.
 */
export function benchRuleText(dist, { forDuration, rangeWindow, groupName = 'rollback-triggers' } = {}) {
  let text = readFileSync(join(ROOT, 'rules', 'rollback-triggers.yml'), 'utf8')
  if (forDuration !== undefined || rangeWindow !== undefined) {
    const forDurations = forDuration === undefined ? {} : { '2m': forDuration, '5m': forDuration }
    text = dist.fastRules(text, { forDurations, rangeWindow: rangeWindow ?? '[1m]' })
  }
  text = text.replace(/rollguard_probe_success/g, 'probe_success')
  text = text.replace(/^(\s*- name:\s*)rollback-triggers\s*$/m, `$1${groupName}`)
  return text
}

/**
 * injectFaults gives a share of the synthetic target's Deployments (every 1/share-th, in its order) an error ratio of
 * 0.5 and memory at 95 % of the limit, so the scale runs have alerts firing; returns those Deployments.
 */
export async function injectFaults(targetUrl, deployments, share) {
  const faulty = deployments.filter((_, i) => share > 0 && i % Math.max(1, Math.round(1 / share)) === 0)
  for (const d of faulty)
    await fetchJson(`${targetUrl}/fault`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deployment: d.deployment, errorRatio: 0.5, memoryRatio: 0.95 }),
    })
  return faulty
}

// ---- engines -----------------------------------------------------------------------------------------------

const CGROUP_ROOT = '/sys/fs/cgroup'
let cgroups = 0

/**
 * memoryCgroup makes a memory cgroup limited to `bytes` (v1 or v2, as the machine mounts them; needs root), as a
 * pod's memory limit makes for its container: V8 sizes its heap and young generation from that limit, not from
 * the host's memory. wrap(cmd, args) starts the command inside it (a shell that joins the cgroup, then execs the
 * command, so the pid is the command's); remove() deletes the cgroup once its process has exited.
 */
function memoryCgroup(bytes) {
  const v1 = existsSync(join(CGROUP_ROOT, 'memory', 'memory.limit_in_bytes'))
  const base = v1 ? join(CGROUP_ROOT, 'memory') : CGROUP_ROOT
  const dir = join(base, `rollguard-bench-${process.pid}-${cgroups++}`)
  try {
    if (!v1 && !readFileSync(join(base, 'cgroup.subtree_control'), 'utf8').includes('memory'))
      writeFileSync(join(base, 'cgroup.subtree_control'), '+memory')
    mkdirSync(dir)
    writeFileSync(join(dir, v1 ? 'memory.limit_in_bytes' : 'memory.max'), String(bytes))
  } catch (err) {
    throw new Error(`a memory limit needs a writable memory cgroup under ${base} (run as root): ${err.message}`, {
      cause: err,
    })
  }
  return {
    wrap: (cmd, args) => ['/bin/sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec "$0" "$@"`, cmd, ...args]],
    remove: () => rmdirSync(dir),
  }
}

/**
 * startIn starts cmd with dist.startProcess, inside a memory cgroup of o.memoryLimitBytes when given; stop(ms)
 * stops it and removes the cgroup.
 */
async function startIn(dist, cmd, args, options, o) {
  const cgroup = o.memoryLimitBytes === undefined ? undefined : memoryCgroup(o.memoryLimitBytes)
  const [wcmd, wargs] = cgroup === undefined ? [cmd, args] : cgroup.wrap(cmd, args)
  const proc = await dist.startProcess(wcmd, wargs, options)
  const stop = async (ms = 10_000) => {
    await proc.stop(ms)
    cgroup?.remove()
  }
  return { proc, stop }
}

/** ready waits for an engine to answer; one that does not is stopped (and its cgroup removed) before the error. */
async function ready(waiting, stop) {
  try {
    await waiting
  } catch (err) {
    await stop(5000).catch(() => {})
    throw err
  }
}

/** startRollguard runs `node dist/main.js run` on a free loopback port and waits until it is ready. */
export async function startRollguard(dist, o) {
  const port = await dist.freePort()
  const nodeArgs = [
    ...(o.nodeArgs ?? []),
    ...(o.cpuProfDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []),
  ]
  const args = [
    ...nodeArgs,
    DIST_MAIN,
    'run',
    '--prometheus-url',
    o.prometheusUrl,
    '--alertmanager-url',
    o.alertmanagerUrl,
    '--rules',
    o.rules,
    '--eval-interval',
    o.interval,
    '--resend-delay',
    o.resendDelay ?? '1m',
    '--listen',
    `127.0.0.1:${port}`,
    '--external-url',
    `http://127.0.0.1:${port}`,
    // bench/detection.mjs reloads every engine over HTTP between trials.
    '--web.enable-lifecycle',
    '--log-level',
    o.logLevel ?? 'info',
    ...(o.config !== undefined ? ['--config', o.config] : []),
  ]
  const { proc, stop } = await startIn(
    dist,
    process.execPath,
    args,
    { name: 'rollguard', logFile: o.logFile, cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' } },
    o,
  )
  const url = `http://127.0.0.1:${port}`
  await ready(dist.waitForHttp(`${url}/-/healthy`, { timeoutMs: o.startTimeoutMs ?? 30_000, process: proc }), stop)
  return { name: 'rollguard', url, pid: proc.pid, process: proc, stop }
}

/**
 * startVmalert runs vmalert with Prometheus-equivalent settings (rule-semantics §4.8): no evaluation delay
 * (-datasource.lookback=0, the 1.79 name of -rule.evalDelay=0), no time alignment, the same resend delay as the
 * others, no alertgroup label; queryStep = the evaluation interval (Prometheus ignores step on instant queries).
 */
export async function startVmalert(dist, o) {
  const bin = dist.findBinary(['vmalert'], 'VMALERT_BIN')
  const port = await dist.freePort()
  const url = `http://127.0.0.1:${port}`
  const args = [
    `-rule=${o.rules}`,
    `-datasource.url=${o.prometheusUrl}`,
    `-notifier.url=${o.alertmanagerUrl}`,
    `-evaluationInterval=${o.interval}`,
    `-rule.resendDelay=${o.resendDelay ?? '1m'}`,
    '-datasource.lookback=0',
    '-datasource.queryTimeAlignment=false',
    `-datasource.queryStep=${o.interval}`,
    '-disableAlertgroupLabel',
    `-httpListenAddr=127.0.0.1:${port}`,
    `-external.url=${url}`,
    '-loggerLevel=INFO',
  ]
  const options = { name: 'vmalert', logFile: o.logFile, cwd: dirname(o.rules) }
  const { proc, stop } = await startIn(dist, bin, args, options, o)
  await ready(dist.waitForHttp(`${url}/health`, { timeoutMs: 30_000, process: proc }), stop)
  return { name: 'vmalert', url, pid: proc.pid, process: proc, stop }
}

/** startNodeScript runs one of the bench/*.mjs servers as its own process on a free port and waits for it. */
export async function startNodeScript(dist, script, args, logFile) {
  const port = await dist.freePort()
  const proc = await dist.startProcess(process.execPath, [join(BENCH, script), '--port', String(port), ...args], {
    name: script,
    logFile,
    cwd: ROOT,
  })
  const url = `http://127.0.0.1:${port}`
  await dist.waitForHttp(`${url}/-/ready`, { timeoutMs: 20_000, process: proc })
  return { url, pid: proc.pid, process: proc, stop: (ms = 5000) => proc.stop(ms) }
}

/**
 * startScrapingPrometheus runs a Prometheus that scrapes one target (a bench/*.mjs server) every interval, its
 * labels honoured as a kube-state-metrics scrape's are, and returns once the target is up. More options (rule
 * files, Alertmanagers, evaluation interval) pass through to dist.startPrometheus.
 */
export function startScrapingPrometheus(dist, target, { job = 'bench', interval, logFile, ...more }) {
  return dist.startPrometheus({
    scrapeTargets: [{ job, target: new URL(target.url).host, honorLabels: true }],
    scrapeInterval: interval,
    waitForTargets: true,
    startTimeoutMs: 60_000,
    logFile,
    ...more,
  })
}

// ---- run bounds and results --------------------------------------------------------------------------------

/**
 * runBounded runs main(dist) with a hard deadline: on timeout, error or signal every process started through
 * dist.startProcess is stopped (by pid, bounded) before exiting non-zero.
 */
export async function runBounded(name, deadlineMs, main) {
  let dist
  const cleanup = async () => {
    if (dist !== undefined) await dist.stopAll(5000)
  }
  const timer = setTimeout(() => {
    log(`${name}: run exceeded its bound of ${Math.round(deadlineMs / 1000)} s; stopping everything`)
    void cleanup().finally(() => process.exit(3))
  }, deadlineMs)
  try {
    dist = await loadDist()
    const result = await main(dist)
    clearTimeout(timer)
    await cleanup()
    return result
  } catch (err) {
    clearTimeout(timer)
    log(`${name}: failed: ${failure(err)}`)
    await cleanup()
    process.exit(1)
  }
}

/**
 * failure describes why a run failed: a plain Error (a missing binary, a process that did not start, a timeout)
 * by its message and causes; anything else (a TypeError, a ReferenceError: a defect of the script) with its stack.
 */
export function failure(err) {
  if (!(err instanceof Error) || err.constructor !== Error) return String(err?.stack ?? err)
  let text = err.message
  for (let c = err.cause; c !== undefined && c !== null; c = c instanceof Error ? c.cause : undefined)
    text += `: ${c instanceof Error ? c.message : String(c)}`
  return text
}

/** writeJson writes a result file (creating its directory). */
export function writeJson(file, data) {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`)
}

// ---- command line ------------------------------------------------------------------------------------------

/**
 * cliArgs is node:util's parseArgs for a script people run by hand. `--help` (`-h`) prints the script's leading
 * comment block, so the usage lives in one place, and exits 0. A bad flag, or a value the script rejects through
 * the returned fail(message), ends in one line on stderr, `bench/x.mjs: <what is wrong>; see --help`, and exit 2
 * instead of a stack trace. Call it before anything is started: both exit at once. wholeSeconds(name, value)
 * reads a duration such as `60s` (durations written into rules and windows are whole seconds) or fails.
 */
export function cliArgs(importMetaUrl, config = {}) {
  const file = fileURLToPath(importMetaUrl)
  const fail = message => {
    process.stderr.write(`${relative(ROOT, file)}: ${message}; see --help\n`)
    process.exit(2)
  }
  let parsed
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } })
  } catch (err) {
    if (!String(err?.code).startsWith('ERR_PARSE_ARGS_')) throw err
    fail(parseArgsProblem(err.message))
  }
  if (parsed.values.help) {
    process.stdout.write(leadingComment(file))
    process.exit(0)
  }
  const wholeSeconds = (name, value) => {
    const m = /^(\d+)s$/.exec(value)
    if (m === null) fail(`--${name} is whole seconds like 60s, not ${value}`)
    return Number(m[1])
  }
  return { ...parsed, fail, wholeSeconds }
}

/** oneLine folds a message onto one line (V8's JSON errors quote the text they stopped at, newlines included). */
export const oneLine = message => String(message).replace(/\s+/g, ' ').trim()

/** isPort tells whether a flag's value is a TCP port number, 0 (any free port) included. */
export const isPort = value => /^\d{1,5}$/.test(value) && Number(value) <= 65535

/** parseArgsProblem shortens parseArgs's message (several sentences, some on several lines) to its first sentence. */
function parseArgsProblem(message) {
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(message)
  if (ambiguous !== null) return `option '${ambiguous[1]}' needs a value (${ambiguous[1]}=VALUE if it starts with '-')`
  const first = message
    .split('\n')[0]
    .replace(/\. .*$/, '')
    .replace(/\.$/, '')
  return first.charAt(0).toLowerCase() + first.slice(1)
}

/** leadingComment is the block of `//` lines after the shebang, without the `// ` prefixes. */
function leadingComment(file) {
  const lines = readFileSync(file, 'utf8').split('\n')
  if (lines[0]?.startsWith('#!')) lines.shift()
  const end = lines.findIndex(l => !l.startsWith('//'))
  return `${lines
    .slice(0, end === -1 ? lines.length : end)
    .map(l => l.replace(/^\/\/ ?/, ''))
    .join('\n')}\n`
}
