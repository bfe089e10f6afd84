/**
 * A sample "deployed web app" for the demo and integration tests: synthetic, deterministic
 * traffic accounted into prom-client metrics, cAdvisor/kube-state-metrics style memory gauges,
 * a real /healthz, and fault injection over HTTP (POST/GET/DELETE /fault).
 */
import { createHash, randomInt } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { errorText } from '../errors.js'

/** HealthMode: ok → 200, fail → 503, hang → no answer until the mode changes. */
export type HealthMode = 'ok' | 'fail' | 'hang'

/** Fault is the injectable misbehaviour; absent fields mean "normal". */
export interface Fault {
  /** share of simulated requests answered 5xx, 0..1. */
  readonly errorRatio?: number
  /** seconds added to every simulated request duration. */
  readonly latencySeconds?: number
  /** working set / memory limit, 0..1. */
  readonly memoryRatio?: number
  readonly health?: HealthMode
}

/** SampleServiceOptions configures startSampleService; names follow Kubernetes conventions. */
export interface SampleServiceOptions {
  readonly port?: number // 0 (default) = a free port
  readonly host?: string // loopback only; default 127.0.0.1
  readonly namespace?: string // default "default"
  readonly deployment?: string // default "checkout"
  readonly container?: string // default = deployment
  readonly pod?: string // default <deployment>-<pod-template-hash>-<suffix>
  readonly version?: string // default "1.0.0"; also drives the pod-template-hash
  readonly requestsPerSecond?: number // simulated, default 20
  readonly tickMs?: number // accounting period, default 100
  readonly baseLatencySeconds?: number // default 0.05
  readonly baseMemoryRatio?: number // default 0.4
  readonly memoryLimitBytes?: number // default 512 MiB
  readonly fault?: Fault
}

/** SampleService is a running sample service. */
export interface SampleService {
  readonly url: string
  readonly port: number
  readonly namespace: string
  readonly deployment: string
  readonly pod: string
  readonly container: string
  readonly registry: Registry
  /** merges f into the current faults (validated; throws on bad values). */
  setFault(f: Fault): void
  clearFault(): void
  fault(): Fault
  stop(): Promise<void>
}

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789' // Kubernetes' SafeEncodeString alphabet
const ROUTES = [
  { method: 'GET', route: '/api/products' },
  { method: 'GET', route: '/api/cart' },
  { method: 'POST', route: '/api/checkout' },
] as const
const JITTER = [0.6, 0.8, 1.0, 1.2, 1.4] as const

/** podTemplateHash derives a stable ReplicaSet-style hash (10 chars) from the deployment and version. */
export function podTemplateHash(deployment: string, version: string): string {
  const bytes = createHash('sha256').update(`${deployment}@${version}`).digest()
  return Array.from(bytes.subarray(0, 10), b => ALPHABET[b % ALPHABET.length]).join('')
}

function randomSuffix(): string {
  return Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** validateFault checks a fault object (null clears a field) and returns the normalized fault; throws on bad input. */
export function validateFault(input: unknown): Fault & Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new Error('fault must be a JSON object')
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(input)) {
    if (v === null) {
      out[k] = undefined
      if (!['errorRatio', 'latencySeconds', 'memoryRatio', 'health'].includes(k))
        throw new Error(`unknown fault field ${k}`)
      continue
    }
    const ratio = typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1
    if (k === 'errorRatio' || k === 'memoryRatio') {
      if (!ratio) throw new Error(`${k} must be a number in [0, 1]`)
    } else if (k === 'latencySeconds') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 3600)
        throw new Error('latencySeconds must be a number in [0, 3600]')
    } else if (k === 'health') {
      if (v !== 'ok' && v !== 'fail' && v !== 'hang') throw new Error('health must be "ok", "fail" or "hang"')
    } else {
      throw new Error(`unknown fault field ${k}`)
    }
    out[k] = v
  }
  return out
}

/** startSampleService starts the HTTP service and its synthetic traffic generator. */
export async function startSampleService(opts: SampleServiceOptions = {}): Promise<SampleService> {
  const host = opts.host ?? '127.0.0.1'
  if (!isLoopback(host)) throw new Error(`sample service binds loopback only, not ${host}`)
  const namespace = opts.namespace ?? 'default'
  const deployment = opts.deployment ?? 'checkout'
  const container = opts.container ?? deployment
  const version = opts.version ?? '1.0.0'
  const pod = opts.pod ?? `${deployment}-${podTemplateHash(deployment, version)}-${randomSuffix()}`
  const rps = opts.requestsPerSecond ?? 20
  const tickMs = opts.tickMs ?? 100
  const baseLatency = opts.baseLatencySeconds ?? 0.05
  const limitBytes = opts.memoryLimitBytes ?? 512 * 1024 * 1024
  const baseMemory = opts.baseMemoryRatio ?? 0.4

  const registry = new Registry()
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Total HTTP requests.',
    labelNames: ['method', 'route', 'code'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds.',
    labelNames: ['method', 'route', 'code'],
    registers: [registry],
  })
  const workingSet = new Gauge({
    name: 'container_memory_working_set_bytes',
    help: 'Current working set of the container in bytes.',
    labelNames: ['namespace', 'pod', 'container'],
    registers: [registry],
  })
  const limits = new Gauge({
    name: 'kube_pod_container_resource_limits',
    help: 'The number of requested limit resource by a container.',
    labelNames: ['namespace', 'pod', 'container', 'resource', 'unit'],
    registers: [registry],
  })
  const info = new Gauge({
    name: 'app_build_info',
    help: 'Build information of the sample service.',
    labelNames: ['version'],
    registers: [registry],
  })
  const podLabels = { namespace, pod, container }
  limits.set({ ...podLabels, resource: 'memory', unit: 'byte' }, limitBytes)
  limits.set({ ...podLabels, resource: 'cpu', unit: 'core' }, 0.5)
  info.set({ version }, 1)
  for (const r of ROUTES) {
    for (const code of ['200', '500']) {
      requests.inc({ ...r, code }, 0) // every series exists from the first scrape
      duration.zero({ ...r, code })
    }
  }

  let fault: Fault = validateFault(opts.fault ?? {})
  const hanging = new Set<ServerResponse>()
  let reqAcc = 0
  let errAcc = 0
  let seq = 0
  let last = Date.now()
  const tick = (): void => {
    const now = Date.now()
    reqAcc += (rps * (now - last)) / 1000
    last = now
    const errorRatio = fault.errorRatio ?? 0
    for (; reqAcc >= 1; reqAcc--, seq++) {
      errAcc += errorRatio
      const failed = errAcc >= 1 - 1e-9
      if (failed) errAcc -= 1
      const r = ROUTES[seq % ROUTES.length] ?? ROUTES[0]
      const labels = { method: r.method, route: r.route, code: failed ? '500' : '200' }
      requests.inc(labels)
      duration.observe(labels, baseLatency * (JITTER[seq % JITTER.length] ?? 1) + (fault.latencySeconds ?? 0))
    }
    workingSet.set(podLabels, Math.round(limitBytes * (fault.memoryRatio ?? baseMemory)))
  }
  tick()
  const timer = setInterval(tick, tickMs)
  timer.unref()

  const answerHealth = (res: ServerResponse): void => {
    const mode = fault.health ?? 'ok'
    if (mode === 'hang') {
      hanging.add(res)
      res.once('close', () => hanging.delete(res))
      return
    }
    send(res, mode === 'ok' ? 200 : 503, { status: mode === 'ok' ? 'ok' : 'unhealthy' })
  }
  const applyFault = (f: Fault): void => {
    fault = Object.fromEntries(Object.entries({ ...fault, ...f }).filter(([, v]) => v !== undefined)) as Fault
    tick()
    if ((fault.health ?? 'ok') !== 'hang') {
      for (const res of [...hanging]) {
        hanging.delete(res)
        answerHealth(res)
      }
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }))
  })
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path === '/metrics' && req.method === 'GET') {
      tick()
      res.writeHead(200, { 'content-type': registry.contentType })
      res.end(await registry.metrics())
    } else if (path === '/healthz' && req.method === 'GET') {
      answerHealth(res)
    } else if (path === '/fault' && req.method === 'GET') {
      send(res, 200, fault)
    } else if (path === '/fault' && req.method === 'DELETE') {
      applyFault({ errorRatio: undefined, latencySeconds: undefined, memoryRatio: undefined, health: undefined })
      send(res, 200, fault)
    } else if (path === '/fault' && req.method === 'POST') {
      let f: Fault
      try {
        f = validateFault(JSON.parse(await readBody(req)))
      } catch (err) {
        send(res, 400, { error: errorText(err) })
        return
      }
      applyFault(f)
      send(res, 200, fault)
    } else if (path === '/' && req.method === 'GET') {
      send(res, 200, { namespace, deployment, pod, container, version })
    } else {
      send(res, 404, { error: 'not found' })
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port: opts.port ?? 0 }, resolve)
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host
  let stopping: Promise<void> | undefined
  return {
    url: `http://${urlHost}:${port}`,
    port,
    namespace,
    deployment,
    pod,
    container,
    registry,
    setFault: f => applyFault(validateFault(f)),
    clearFault: () =>
      applyFault({ errorRatio: undefined, latencySeconds: undefined, memoryRatio: undefined, health: undefined }),
    fault: () => ({ ...fault }),
    stop() {
      stopping ??= new Promise<void>(resolve => {
        clearInterval(timer)
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return stopping
    },
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function readBody(req: IncomingMessage, max = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) req.destroy(new Error('body too large'))
      else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      namespace: { type: 'string' },
      deployment: { type: 'string' },
      pod: { type: 'string' },
      version: { type: 'string' },
      rps: { type: 'string' },
    },
  })
  const svc = await startSampleService({
    port: Number(values.port),
    host: values.host,
    ...(values.namespace !== undefined && { namespace: values.namespace }),
    ...(values.deployment !== undefined && { deployment: values.deployment }),
    ...(values.pod !== undefined && { pod: values.pod }),
    ...(values.version !== undefined && { version: values.version }),
    ...(values.rps !== undefined && { requestsPerSecond: Number(values.rps) }),
  })
  console.log(
    JSON.stringify({ url: svc.url, port: svc.port, namespace: svc.namespace, pod: svc.pod, container: svc.container }),
  )
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void svc.stop().then(() => process.exit(0)))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
