#!/usr/bin/env node
// A deterministic metrics target for the benchmarks: N synthetic Deployments, each exposing the 19 series the
// four default rollback triggers read (request counters, a latency histogram, cAdvisor working set,
// kube-state-metrics limits, a probe_success gauge, a build-info gauge). Counters are functions of wall-clock
// time (rate × (now − epoch)), so two scrapes at the same instant see the same values and nothing drifts.
// Faults change a Deployment's rates at a recorded instant (the server's Date.now() when applied), which is
// returned to the caller:
//   POST   /fault  {"deployment":"checkout","errorRatio":1}   → {"at": <unix ms>, ...}
//   DELETE /fault?deployment=checkout                          → {"at": <unix ms>, ...}   (no deployment: all)
//   GET    /metrics   Prometheus text format      GET /info   the deployments
// With --flap-slots N (the soak benchmark) it also exposes N `bench_flap{slot, epoch}` gauges that are 1 for the
// first half of every --flap-period and 0 for the second, each slot at its own phase; `epoch` counts the slot's
// periods, so every period is a new series (and a new alert with new labels) while the old one goes stale.
// Loopback only. Run standalone: node bench/synthetic-target.mjs --deployments 1000 --port 9100
//
// Options:
//   --port N            the loopback port to listen on (default 0: a free one; the URL is printed as JSON)
//   --deployments N     synthetic Deployments (default 1)
//   --rps N             requests per second of each Deployment (default 10)
//   --flap-slots N      bench_flap gauges (default 0: none)
//   --flap-period S     seconds of one on/off cycle of a flap slot (default 60)
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { cliArgs, failure, isPort } from './lib/common.mjs'

/** Series per deployment (see render): 3 request counters + 11 histogram + 1 working set + 2 limits + probe + build info. */
export const SERIES_PER_DEPLOYMENT = 19

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789' // Kubernetes' SafeEncodeString alphabet
const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
// Healthy latency distribution: cumulative share of requests at or below each bucket bound.
const HEALTHY_CDF = [0.6, 0.9, 0.99, 1, 1, 1, 1, 1]
const HEALTHY_MEAN_SECONDS = 0.06
const NOT_FOUND_SHARE = 0.01
const MEMORY_LIMIT = 512 * 1024 * 1024
const HEALTHY_MEMORY_RATIO = 0.4
// Counters start at rate × (now − EPOCH): deterministic across restarts of the target.
const EPOCH_MS = Date.UTC(2025, 0, 1)

function hashChars(seed, n) {
  const bytes = createHash('sha256').update(seed).digest()
  return Array.from(bytes.subarray(0, n), b => ALPHABET[b % ALPHABET.length]).join('')
}

/** deploymentsFor names N deployments; N=1 is shop/checkout, larger sets spread 50 per namespace. */
export function deploymentsFor(n) {
  if (n === 1)
    return [
      {
        namespace: 'shop',
        deployment: 'checkout',
        pod: `checkout-${hashChars('checkout', 10)}-${hashChars('checkout/pod', 5)}`,
      },
    ]
  const out = []
  for (let i = 0; i < n; i++) {
    const namespace = `team-${String(Math.floor(i / 50)).padStart(2, '0')}`
    const deployment = `app-${String(i).padStart(4, '0')}`
    out.push({
      namespace,
      deployment,
      pod: `${deployment}-${hashChars(deployment, 10)}-${hashChars(`${deployment}/pod`, 5)}`,
    })
  }
  return out
}

/** A piecewise-linear accumulator: value(t) = v0 + rate·(t − t0)/1000, re-based whenever the rate changes. */
class Accumulator {
  constructor(rate, now) {
    this.rate = rate
    this.t0 = now
    this.v0 = (rate * (now - EPOCH_MS)) / 1000
  }
  value(now) {
    return this.v0 + (this.rate * (now - this.t0)) / 1000
  }
  setRate(rate, now) {
    this.v0 = this.value(now)
    this.t0 = now
    this.rate = rate
  }
}

function validateFault(body) {
  const fault = {}
  for (const [k, v] of Object.entries(body)) {
    if (k === 'deployment') continue
    if (k === 'errorRatio' || k === 'memoryRatio') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${k} must be a number in [0, 1]`)
    } else if (k === 'latencySeconds') {
      if (typeof v !== 'number' || !(v >= 0 && v <= 3600))
        throw new Error('latencySeconds must be a number in [0, 3600]')
    } else if (k === 'probeFailing') {
      if (typeof v !== 'boolean') throw new Error('probeFailing must be a boolean')
    } else {
      throw new Error(`unknown fault field ${k}`)
    }
    fault[k] = v
  }
  return fault
}

/** createTarget builds the target's state; rps is per deployment. */
export function createTarget({ deployments = 1, rps = 10, flapSlots = 0, flapPeriodMs = 60_000 } = {}) {
  const start = Date.now()
  const deps = deploymentsFor(deployments).map(d => {
    const sel = `namespace="${d.namespace}",pod="${d.pod}"`
    return {
      ...d,
      fault: {},
      ok: new Accumulator(rps * (1 - NOT_FOUND_SHARE), start),
      errors: new Accumulator(0, start),
      notFound: new Accumulator(rps * NOT_FOUND_SHARE, start),
      buckets: BUCKETS.map((_, i) => new Accumulator(rps * (HEALTHY_CDF[i] ?? 1), start)),
      sum: new Accumulator(rps * HEALTHY_MEAN_SECONDS, start),
      // Pre-rendered label sets: a scrape only formats numbers.
      l: {
        ok: `{${sel},code="200"}`,
        err: `{${sel},code="500"}`,
        nf: `{${sel},code="404"}`,
        bucket: BUCKETS.map(le => `{${sel},le="${le}"}`),
        inf: `{${sel},le="+Inf"}`,
        plain: `{${sel}}`,
        ws: `{${sel},container="${d.deployment}"}`,
        limMem: `{${sel},container="${d.deployment}",resource="memory",unit="byte"}`,
        limCpu: `{${sel},container="${d.deployment}",resource="cpu",unit="core"}`,
        probe: `{namespace="${d.namespace}",deployment="${d.deployment}",probe="healthz",instance="http://${d.deployment}.${d.namespace}.svc/healthz"}`,
        info: `{${sel},version="1.0.0"}`,
      },
    }
  })
  const byName = new Map(deps.map(d => [d.deployment, d]))

  const applyRates = (d, now) => {
    const errorRatio = d.fault.errorRatio ?? 0
    const latency = d.fault.latencySeconds ?? 0
    // Every counter keeps a non-negative rate: errors take their share from both 200 and 404.
    d.ok.setRate(rps * (1 - errorRatio) * (1 - NOT_FOUND_SHARE), now)
    d.errors.setRate(rps * errorRatio, now)
    d.notFound.setRate(rps * (1 - errorRatio) * NOT_FOUND_SHARE, now)
    // With added latency L every request takes ≈ L + 0.06 s: buckets below that stop counting.
    d.buckets.forEach((b, i) => {
      const le = BUCKETS[i]
      const share = latency > 0 ? (latency + HEALTHY_MEAN_SECONDS <= le ? 1 : 0) : (HEALTHY_CDF[i] ?? 1)
      b.setRate(rps * share, now)
    })
    d.sum.setRate(rps * (HEALTHY_MEAN_SECONDS + latency), now)
  }

  const select = name => {
    if (name === undefined || name === null || name === '' || name === '*') return deps
    const d = byName.get(name)
    if (d === undefined) throw new Error(`unknown deployment ${name}`)
    return [d]
  }

  return {
    deployments: deps.map(({ namespace, deployment, pod }) => ({ namespace, deployment, pod })),
    /** setFault merges a fault into the selected deployments; returns the instant it took effect. */
    setFault(body) {
      const fault = validateFault(body)
      const targets = select(body.deployment)
      const at = Date.now()
      for (const d of targets) {
        d.fault = { ...d.fault, ...fault }
        applyRates(d, at)
      }
      return at
    },
    clearFault(name) {
      const targets = select(name)
      const at = Date.now()
      for (const d of targets) {
        d.fault = {}
        applyRates(d, at)
      }
      return at
    },
    faults() {
      return Object.fromEntries(deps.filter(d => Object.keys(d.fault).length > 0).map(d => [d.deployment, d.fault]))
    },
    /** render returns the exposition at instant now. */
    render(now = Date.now()) {
      const req = []
      const hist = []
      const gauges = []
      for (const d of deps) {
        const l = d.l
        const ok = Math.floor(d.ok.value(now))
        const err = Math.floor(d.errors.value(now))
        const nf = Math.floor(d.notFound.value(now))
        const count = ok + err + nf
        req.push(
          `http_requests_total${l.ok} ${ok}`,
          `http_requests_total${l.err} ${err}`,
          `http_requests_total${l.nf} ${nf}`,
        )
        d.buckets.forEach((b, i) =>
          hist.push(`http_request_duration_seconds_bucket${l.bucket[i]} ${Math.min(count, Math.floor(b.value(now)))}`),
        )
        hist.push(
          `http_request_duration_seconds_bucket${l.inf} ${count}`,
          `http_request_duration_seconds_sum${l.plain} ${d.sum.value(now).toFixed(3)}`,
          `http_request_duration_seconds_count${l.plain} ${count}`,
        )
        gauges.push(
          `container_memory_working_set_bytes${l.ws} ${Math.round(MEMORY_LIMIT * (d.fault.memoryRatio ?? HEALTHY_MEMORY_RATIO))}`,
          `kube_pod_container_resource_limits${l.limMem} ${MEMORY_LIMIT}`,
          `kube_pod_container_resource_limits${l.limCpu} 0.5`,
          `probe_success${l.probe} ${d.fault.probeFailing === true ? 0 : 1}`,
          `app_build_info${l.info} 1`,
        )
      }
      return [
        '# TYPE http_requests_total counter',
        ...req,
        '# TYPE http_request_duration_seconds histogram',
        ...hist,
        '# TYPE container_memory_working_set_bytes gauge',
        ...gauges.filter(g => g.startsWith('container_')),
        '# TYPE kube_pod_container_resource_limits gauge',
        ...gauges.filter(g => g.startsWith('kube_')),
        '# TYPE probe_success gauge',
        ...gauges.filter(g => g.startsWith('probe_')),
        '# TYPE app_build_info gauge',
        ...gauges.filter(g => g.startsWith('app_')),
        ...renderFlap(flapSlots, flapPeriodMs, now),
        '',
      ].join('\n')
    },
  }
}

/**
 * renderFlap renders the flapping gauges at instant now: slot i is shifted by i/N of a period so that the
 * transitions spread evenly over time instead of all slots switching together.
 */
export function renderFlap(slots, periodMs, now) {
  if (slots <= 0) return []
  const out = ['# TYPE bench_flap gauge']
  for (let i = 0; i < slots; i++) {
    const shifted = now - EPOCH_MS + Math.floor((i * periodMs) / slots)
    const epoch = Math.floor(shifted / periodMs)
    const on = shifted % periodMs < periodMs / 2
    out.push(`bench_flap{slot="${i}",epoch="${epoch}"} ${on ? 1 : 0}`)
  }
  return out
}

function readBody(req, max = 64 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', c => {
      size += c.length
      if (size > max) req.destroy(new Error('body too large'))
      else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** startTarget serves a target on 127.0.0.1:port (0 = any free port). */
export async function startTarget({ port = 0, deployments = 1, rps = 10, flapSlots = 0, flapPeriodMs = 60_000 } = {}) {
  const target = createTarget({ deployments, rps, flapSlots, flapPeriodMs })
  let scrapes = 0
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const handle = async () => {
      if (url.pathname === '/metrics' && req.method === 'GET') {
        scrapes++
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        res.end(target.render())
      } else if (url.pathname === '/fault' && req.method === 'POST') {
        let body
        try {
          body = JSON.parse(await readBody(req))
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            throw new Error('fault must be a JSON object')
          const at = target.setFault(body)
          sendJson(res, 200, { at, faults: target.faults() })
        } catch (err) {
          sendJson(res, 400, { error: err.message })
        }
      } else if (url.pathname === '/fault' && req.method === 'DELETE') {
        try {
          const at = target.clearFault(url.searchParams.get('deployment') ?? undefined)
          sendJson(res, 200, { at, faults: target.faults() })
        } catch (err) {
          sendJson(res, 400, { error: err.message })
        }
      } else if (url.pathname === '/fault' && req.method === 'GET') {
        sendJson(res, 200, target.faults())
      } else if (url.pathname === '/info' && req.method === 'GET') {
        sendJson(res, 200, { deployments: target.deployments, seriesPerDeployment: SERIES_PER_DEPLOYMENT, scrapes })
      } else if (url.pathname === '/-/ready' || url.pathname === '/healthz') {
        sendJson(res, 200, { status: 'ok' })
      } else {
        sendJson(res, 404, { error: 'not found' })
      }
    }
    handle().catch(err => sendJson(res, 500, { error: String(err) }))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port }, resolve)
  })
  const actual = server.address().port
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    target,
    stop: () =>
      new Promise(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function main() {
  const { values, fail } = cliArgs(import.meta.url, {
    options: {
      port: { type: 'string', default: '0' },
      deployments: { type: 'string', default: '1' },
      rps: { type: 'string', default: '10' },
      'flap-slots': { type: 'string', default: '0' },
      'flap-period': { type: 'string', default: '60' },
    },
  })
  if (!isPort(values.port)) fail(`--port is a port number (0 for a free one), not ${values.port}`)
  if (!/^[1-9]\d*$/.test(values.deployments))
    fail(`--deployments is a positive whole number, not ${values.deployments}`)
  if (!(Number(values.rps) >= 0)) fail(`--rps is a number of requests per second, not ${values.rps}`)
  if (!/^\d+$/.test(values['flap-slots'])) fail(`--flap-slots is a whole number, not ${values['flap-slots']}`)
  if (!(Number(values['flap-period']) > 0)) fail(`--flap-period is seconds above 0, not ${values['flap-period']}`)
  const srv = await startTarget({
    port: Number(values.port),
    deployments: Number(values.deployments),
    rps: Number(values.rps),
    flapSlots: Number(values['flap-slots']),
    flapPeriodMs: Number(values['flap-period']) * 1000,
  })
  process.stdout.write(
    `${JSON.stringify({ url: srv.url, port: srv.port, deployments: srv.target.deployments.length })}\n`,
  )
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void srv.stop().then(() => process.exit(0)))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch(err => {
    process.stderr.write(`bench/synthetic-target.mjs: ${failure(err)}\n`)
    process.exit(1)
  })
}
