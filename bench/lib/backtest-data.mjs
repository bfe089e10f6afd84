// History for the backtest benchmark: N Deployments scraped every 30 s over a past window, written as OpenMetrics
// text one aligned 2-hour block at a time (promtool's block size), with a handful of bad rollouts the default rules
// must find. Deterministic: the same settings give the same samples, whatever the wall clock.
//
// Per Deployment (one pod at a time; a rollout replaces the pod, so the pod name and every series change):
//   http_requests_total{namespace,pod,code="200"|"500"}                   counters
//   http_request_duration_seconds_bucket{namespace,pod,le=…} (7 buckets) and _count
//   container_memory_working_set_bytes{namespace,pod,container}           cAdvisor
//   kube_pod_container_resource_limits{namespace,pod,container,resource="memory",unit="byte"}   kube-state-metrics
//   rollguard_probe_success{job="rollguard",namespace,deployment,probe,instance}   rollguard's probes, as scraped
// = 13 series per pod. Traffic follows a daily curve with per-scrape noise; healthy error ratios stay below 2 %,
// healthy p95 below 1 s, healthy working sets below 81 % of the limit; ~5 % of the Deployments serve under 1
// request/s (below the rules' minimum evidence) and ~10 % roll out once, healthily, during the window.
//
// Incidents (bad rollouts): at its start the Deployment rolls out a new pod template (new ReplicaSet hash) that
//   errors     answers 35 % of requests with 5xx                 → HighErrorRate   (for 2m)
//   latency    answers 95 % of requests in 5–10 s               → HighLatency     (for 2m)
//   memory     runs its working set at 95–97 % of the limit     → HighMemory      (for 5m)
//   probe      fails its health probe                          → HealthCheckFailing (for 5m)
//   quiet      answers 50 % with 5xx at 0.2 requests/s         → nothing: below the minimum evidence of 1/s
// and at its end rolls back (the old template hash again, a new pod).
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'

export const SERIES_PER_POD = 13
export const BLOCK_MS = 2 * 3600_000
const DAY_MS = 24 * 3600_000
const MINUTE = 60_000

const BUCKETS = ['0.1', '0.5', '1', '2.5', '5', '10', '+Inf']
// Cumulative share of requests at or below each bucket bound: healthy p95 ≈ 0.86 s; slow p95 ≈ 9.9 s.
const HEALTHY_CDF = [0.55, 0.9, 0.97, 0.99, 0.998, 1, 1]
const SLOW_CDF = [0.01, 0.02, 0.03, 0.04, 0.05, 0.97, 1]
const LIMITS = [256, 512, 1024].map(mi => mi * 1024 * 1024)
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789' // Kubernetes' SafeEncodeString alphabet

/** The alert each incident kind must raise (quiet: none). */
export const EXPECTED_ALERT = {
  errors: 'HighErrorRate',
  latency: 'HighLatency',
  memory: 'HighMemory',
  probe: 'HealthCheckFailing',
  quiet: null,
}
/** The `for` of each rule in rules/rollback-triggers.yml. */
export const RULE_FOR_MS = {
  HighErrorRate: 2 * MINUTE,
  HighLatency: 2 * MINUTE,
  HighMemory: 5 * MINUTE,
  HealthCheckFailing: 5 * MINUTE,
}

function hashChars(seed, n) {
  const bytes = createHash('sha256').update(seed).digest()
  return Array.from(bytes.subarray(0, n), b => ALPHABET[b % ALPHABET.length]).join('')
}

/** A seeded PRNG (mulberry32): uniform [0, 1). */
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const podName = (deployment, template, n) =>
  `${deployment}-${hashChars(`${deployment}/${template}`, 10)}-${hashChars(`${deployment}/${template}/${n}`, 5)}`

/**
 * planHistory lays out the Deployments and their incidents over [fromMs, toMs] (data starts 10 minutes earlier, so
 * the first slots' range windows have samples). Incidents: 8 (two of each kind) plus one quiet one from 40
 * Deployments and windows of 6 h on, otherwise 4 plus the quiet one; 30–45 min long (12 min in short windows).
 */
export function planHistory({ deployments: n, fromMs, toMs, scrapeMs = 30_000 }) {
  const windowMs = toMs - fromMs
  const long = windowMs >= 6 * 3600_000 && n >= 40
  const kinds = long
    ? ['errors', 'latency', 'memory', 'probe', 'errors', 'latency', 'memory', 'probe', 'quiet']
    : ['errors', 'latency', 'memory', 'probe', 'quiet']
  if (n < kinds.length) throw new Error(`at least ${kinds.length} Deployments are needed`)
  const incidents = kinds.map((kind, i) => {
    const durationMs = long ? (30 + 5 * (i % 4)) * MINUTE : 12 * MINUTE
    const lead = 5 * MINUTE
    // Spread over the window, ending at least 5 minutes before its end; a few seconds off the minute grid.
    const startMs =
      fromMs +
      lead +
      Math.floor(((windowMs - durationMs - 2 * lead) * (i + 1)) / (kinds.length + 1) / MINUTE) * MINUTE +
      17_000
    return {
      kind,
      index: Math.floor(((i + 0.5) * n) / kinds.length),
      startMs,
      endMs: startMs + durationMs,
      alert: EXPECTED_ALERT[kind],
    }
  })
  const byIndex = new Map(incidents.map(x => [x.index, x]))
  const deps = []
  for (let i = 0; i < n; i++) {
    const r = rng(0x9e3779b9 ^ (i * 2654435761))
    const namespace = `team-${String(Math.floor(i / 50)).padStart(2, '0')}`
    const deployment = `app-${String(i).padStart(4, '0')}`
    const incident = byIndex.get(i)
    const lowTraffic = incident === undefined && r() < 0.05
    let rps = lowTraffic ? 0.1 + 0.7 * r() : Math.exp(Math.log(1.5) + (Math.log(40) - Math.log(1.5)) * r())
    if (incident !== undefined) rps = incident.kind === 'quiet' ? 0.2 : Math.max(rps, 5)
    const pods = [{ fromMs: -Infinity, pod: podName(deployment, 'v1', 0), fault: undefined }]
    if (incident !== undefined) {
      incident.namespace = namespace
      incident.deployment = deployment
      pods.push({ fromMs: incident.startMs, pod: podName(deployment, 'v2', 1), fault: incident.kind })
      pods.push({ fromMs: incident.endMs, pod: podName(deployment, 'v1', 2), fault: undefined })
    } else if (r() < 0.1) {
      pods.push({ fromMs: fromMs + Math.floor(r() * windowMs), pod: podName(deployment, 'v2', 1), fault: undefined })
    }
    deps.push({
      namespace,
      deployment,
      rps,
      errorRatio: 0.002 + 0.013 * r(),
      limit: LIMITS[Math.floor(r() * LIMITS.length)],
      memRatio: 0.35 + 0.4 * r(),
      phase: r() * DAY_MS,
      offsetMs: Math.floor(r() * (scrapeMs / 1000)) * 1000,
      pods,
    })
  }
  return {
    fromMs,
    toMs,
    dataFromMs: fromMs - 10 * MINUTE,
    dataToMs: toMs + MINUTE,
    scrapeMs,
    deployments: deps,
    incidents: incidents.map(({ index, ...x }) => x),
  }
}

/** blocksOf lists the aligned 2-hour blocks [startMs, endMs) that hold the plan's samples. */
export function blocksOf(plan) {
  const out = []
  for (let s = Math.floor(plan.dataFromMs / BLOCK_MS) * BLOCK_MS; s < plan.dataToMs; s += BLOCK_MS)
    out.push({ startMs: s, endMs: s + BLOCK_MS })
  return out
}

/**
 * createWriter returns writeBlock(block, file): the samples with timestamps in the block, as OpenMetrics text ending in
 * `# EOF`. Blocks must be written in time order (counters carry over from one block to the next).
 */
export function createWriter(plan) {
  const noise = rng(12345)
  const jitter = spread => 1 + spread * (noise() - 0.5) * 2
  const state = plan.deployments.map(d => ({
    d,
    podIndex: -1,
    prefix: undefined,
    ok: 0,
    err: 0,
    buckets: new Float64Array(BUCKETS.length),
    total: 0,
  }))
  const scrapeS = plan.scrapeMs / 1000
  let samples = 0

  function scrape(s, t, lines) {
    const d = s.d
    let pi = s.podIndex
    while (pi + 1 < d.pods.length && d.pods[pi + 1].fromMs <= t) pi++
    if (pi !== s.podIndex) {
      // A new pod: new series, counters from zero.
      s.podIndex = pi
      const sel = `namespace="${d.namespace}",pod="${d.pods[pi].pod}"`
      s.prefix = {
        ok: `http_requests_total{${sel},code="200"} `,
        err: `http_requests_total{${sel},code="500"} `,
        buckets: BUCKETS.map(le => `http_request_duration_seconds_bucket{${sel},le="${le}"} `),
        count: `http_request_duration_seconds_count{${sel}} `,
        ws: `container_memory_working_set_bytes{${sel},container="${d.deployment}"} `,
        limit: `kube_pod_container_resource_limits{${sel},container="${d.deployment}",resource="memory",unit="byte"} `,
        probe: `rollguard_probe_success{job="rollguard",namespace="${d.namespace}",deployment="${d.deployment}",probe="healthz",instance="http://${d.deployment}.${d.namespace}.svc:8080/healthz"} `,
      }
      s.ok = s.err = s.total = 0
      s.buckets.fill(0)
    }
    const fault = d.pods[pi].fault
    const daily = 0.75 + 0.25 * Math.sin((2 * Math.PI * (t + d.phase)) / DAY_MS)
    const requests = d.rps * daily * jitter(0.1) * scrapeS
    const errorRatio = fault === 'errors' ? 0.35 * jitter(0.05) : fault === 'quiet' ? 0.5 : d.errorRatio * jitter(0.5)
    s.ok += requests * (1 - errorRatio)
    s.err += requests * errorRatio
    s.total += requests
    const cdf = fault === 'latency' ? SLOW_CDF : HEALTHY_CDF
    for (let i = 0; i < cdf.length; i++) s.buckets[i] += requests * cdf[i]
    const memRatio =
      fault === 'memory'
        ? 0.96 * jitter(0.01)
        : d.memRatio + 0.05 * Math.sin((2 * Math.PI * (t + d.phase)) / (6 * 3600_000)) + 0.01 * (noise() - 0.5)
    const ts = ` ${t / 1000}\n`
    const p = s.prefix
    lines.push(p.ok, String(Math.floor(s.ok)), ts, p.err, String(Math.floor(s.err)), ts)
    for (let i = 0; i < BUCKETS.length; i++) lines.push(p.buckets[i], String(Math.floor(s.buckets[i])), ts)
    lines.push(p.count, String(Math.floor(s.total)), ts)
    lines.push(p.ws, String(Math.round(d.limit * memRatio)), ts, p.limit, String(d.limit), ts)
    lines.push(p.probe, fault === 'probe' ? '0' : '1', ts)
    samples += SERIES_PER_POD
  }

  return {
    get samples() {
      return samples
    },
    /** writeBlock writes the samples of [block.startMs, block.endMs) ∩ the data window to file. */
    async writeBlock(block, file) {
      const out = createWriteStream(file)
      const done = new Promise((resolve, reject) => {
        out.once('finish', resolve)
        out.once('error', reject)
      })
      // Scrape rounds start on the scrape grid; each target's offset is below one interval, so a round never
      // straddles two blocks (2 h is a multiple of the interval).
      const first = Math.max(block.startMs, Math.ceil(plan.dataFromMs / plan.scrapeMs) * plan.scrapeMs)
      for (let round = first; round < block.endMs && round < plan.dataToMs; round += plan.scrapeMs) {
        const lines = []
        for (const s of state) scrape(s, round + s.d.offsetMs, lines)
        if (!out.write(lines.join(''))) await new Promise(resolve => out.once('drain', resolve))
      }
      out.end('# EOF\n')
      await done
    },
  }
}

/**
 * compareFiring compares two engines' firing intervals ({alert, namespace, deployment, start, end}, RFC 3339) alert
 * by alert: for alerts with one interval in each, how far apart their starts and ends are (seconds, first − second);
 * alerts with a different number of intervals (one engine split or missed an alert) are listed with both.
 */
export function compareFiring(first, second) {
  const group = list => {
    const m = new Map()
    for (const f of list) {
      const k = `${f.alert} ${f.namespace}/${f.deployment}`
      m.set(k, [...(m.get(k) ?? []), f])
    }
    return m
  }
  const a = group(first)
  const b = group(second)
  const alerts = []
  const differ = []
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(k) ?? []
    const y = b.get(k) ?? []
    if (x.length === 1 && y.length === 1) {
      const d = (p, q) => (p === null || q === null ? null : Math.round((Date.parse(p) - Date.parse(q)) / 100) / 10)
      alerts.push({ alert: k, startSeconds: d(x[0].start, y[0].start), endSeconds: d(x[0].end, y[0].end) })
    } else {
      differ.push({
        alert: k,
        first: x.map(f => `${f.start} – ${f.end ?? 'end'}`),
        second: y.map(f => `${f.start} – ${f.end ?? 'end'}`),
      })
    }
  }
  const maxAbs = key => Math.max(0, ...alerts.map(x => Math.abs(x[key] ?? 0)))
  return {
    matched: alerts.length,
    maxStartDiffSeconds: maxAbs('startSeconds'),
    maxEndDiffSeconds: maxAbs('endSeconds'),
    differ,
    alerts,
  }
}
