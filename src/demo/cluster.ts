/**
 * The demo's SIMULATED Kubernetes cluster: the project's fake API server (test/fixtures/kube, built into
 * .demo/fake-kube by scripts/demo.sh) as a child process on loopback. It speaks the real API over HTTP and runs
 * a deployment controller, but no pods exist: a "kubelet" stand-in here tells the sample service which
 * build its pods run, so a bad revision makes the service fail and a rollback makes it recover.
 * The demo talks to it as kubectl would: plain HTTP requests to the API.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, startProcess, waitForHttp, type ProcessHandle } from './processes.js'

/** Deployment is the part of an apps/v1 Deployment the demo reads. */
export interface Deployment {
  readonly metadata: {
    readonly name: string
    readonly generation?: number
    readonly annotations?: Readonly<Record<string, string>>
  }
  readonly spec: {
    readonly template: {
      readonly spec: { readonly containers: readonly { readonly name: string; readonly image: string }[] }
    }
  }
  readonly status?: {
    readonly observedGeneration?: number
    readonly updatedReplicas?: number
    readonly availableReplicas?: number
    readonly replicas?: number
  }
}

/** KubeEvent is an events.k8s.io/v1 Event as the demo shows it. */
export interface KubeEvent {
  readonly reason?: string
  readonly note?: string
  readonly type?: string
  readonly reportingController?: string
  readonly regarding?: { readonly kind?: string; readonly name?: string }
}

/** SimulatedCluster is a running fake API server and a kubeconfig for it. */
export interface SimulatedCluster {
  readonly url: string
  readonly kubeconfig: string
  createDeployment(namespace: string, manifest: object): Promise<Deployment>
  getDeployment(namespace: string, name: string): Promise<Deployment>
  /** setImage is `kubectl set image deployment/<name> <container>=<image>` (a strategic merge patch). */
  setImage(namespace: string, name: string, container: string, image: string): Promise<Deployment>
  events(namespace: string): Promise<KubeEvent[]>
  /** rolledOut is `kubectl rollout status`'s "successfully rolled out" check, for the demo's narration. */
  rolledOut(d: Deployment): boolean
  stop(): Promise<void>
}

/** startSimulatedCluster starts the fake API server built at `buildDir` and writes a kubeconfig into `workDir`. */
export async function startSimulatedCluster(
  buildDir: string,
  workDir: string,
  logFile: string,
): Promise<SimulatedCluster> {
  const entry = join(buildDir, 'serve.js')
  if (!existsSync(entry))
    throw new Error(
      `${entry} not found: build it with npx tsc -p test/fixtures/kube/tsconfig.build.json (scripts/demo.sh does)`,
    )
  const port = await freePort()
  const kubeconfig = join(workDir, 'kubeconfig.json')
  const proc = await startProcess(process.execPath, [entry, '--port', String(port), '--kubeconfig', kubeconfig], {
    logFile,
    name: 'simulated kube-apiserver',
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/version`, { timeoutMs: 15_000, process: proc })
  return clusterClient(url, kubeconfig, proc)
}

function clusterClient(url: string, kubeconfig: string, proc: ProcessHandle): SimulatedCluster {
  const deployments = (ns: string) => `${url}/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments`
  return {
    url,
    kubeconfig,
    createDeployment: (ns, manifest) => call<Deployment>('POST', deployments(ns), 'application/json', manifest),
    getDeployment: (ns, name) => call<Deployment>('GET', `${deployments(ns)}/${encodeURIComponent(name)}`),
    setImage: (ns, name, container, image) =>
      call<Deployment>(
        'PATCH',
        `${deployments(ns)}/${encodeURIComponent(name)}`,
        'application/strategic-merge-patch+json',
        {
          spec: { template: { spec: { containers: [{ name: container, image }] } } },
        },
      ),
    events: async ns =>
      (
        await call<{ items: KubeEvent[] }>(
          'GET',
          `${url}/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`,
        )
      ).items,
    rolledOut,
    stop: () => proc.stop(5_000),
  }
}

/** rolledOut mirrors kubectl's DeploymentStatusViewer for a Deployment without a progress-deadline failure. */
function rolledOut(d: Deployment): boolean {
  const s = d.status ?? {}
  const generation = d.metadata.generation ?? 0
  const replicas = s.replicas ?? 0
  return (
    (s.observedGeneration ?? 0) >= generation &&
    (s.updatedReplicas ?? 0) === replicas &&
    (s.availableReplicas ?? 0) >= replicas &&
    replicas > 0
  )
}

async function call<T>(method: string, url: string, contentType?: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers:
      contentType === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as T
}

/** imageOf is the image of a Deployment's first container. */
export function imageOf(d: Deployment): string {
  return d.spec.template.spec.containers[0]?.image ?? ''
}

/** Kubelet stands in for the nodes: it polls the Deployment and reports the image its pods now run. */
export class Kubelet {
  #timer: NodeJS.Timeout | undefined
  #last = ''

  constructor(
    private readonly cluster: SimulatedCluster,
    private readonly namespace: string,
    private readonly name: string,
    private readonly onImage: (image: string) => void,
  ) {}

  /** start polls every intervalMs; an image change is reported once the rollout has finished, as pods would switch. */
  start(intervalMs = 200): void {
    const poll = async (): Promise<void> => {
      try {
        const d = await this.cluster.getDeployment(this.namespace, this.name)
        const image = imageOf(d)
        if (image !== this.#last && this.cluster.rolledOut(d)) {
          this.#last = image
          this.onImage(image)
        }
      } catch {
        // The API server is stopping or busy; the next poll tries again.
      }
      if (this.#timer !== undefined) this.#timer = setTimeout(() => void poll(), intervalMs)
    }
    this.#timer = setTimeout(() => void poll(), 0)
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
