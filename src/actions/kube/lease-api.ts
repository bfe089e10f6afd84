/**
 * coordination.k8s.io/v1 Leases as plain JSON: what leader election and the shard members need (get, create,
 * update, list by label), sent over http-send.ts. Not client-node's generated CoordinationV1Api, whose module
 * graph (all of the generated API, ~68 MiB of RSS) a replica that only keeps a member Lease would otherwise load.
 * The objects stay as the server sent them, so an update writes back fields this version does not know.
 */

import type { ApiEndpoint } from './endpoint.js'
import { KubeApiError } from './errors.js'
import { sendRequest } from './http-send.js'
import { linkSignals } from '../../runtime/signals.js'

/** LeaseSpec is a Lease's spec; times are MicroTime strings (RFC 3339 with six fractional digits). */
export interface LeaseSpec {
  holderIdentity?: string
  leaseDurationSeconds?: number
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
  [field: string]: unknown
}

/** LeaseMetadata is the part of ObjectMeta rollguard reads and writes; the rest is carried along. */
export interface LeaseMetadata {
  name?: string
  namespace?: string
  resourceVersion?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [field: string]: unknown
}

/** Lease is a coordination.k8s.io/v1 Lease. */
export interface Lease {
  apiVersion?: string
  kind?: string
  metadata?: LeaseMetadata
  spec?: LeaseSpec
  [field: string]: unknown
}

/** LeaseApi is the Lease verbs rollguard uses; errors are KubeApiError (an answer) or the transport's (none). */
export interface LeaseApi {
  read(namespace: string, name: string, signal?: AbortSignal): Promise<Lease>
  create(namespace: string, lease: Lease, signal?: AbortSignal): Promise<Lease>
  replace(namespace: string, name: string, lease: Lease, signal?: AbortSignal): Promise<Lease>
  list(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<Lease[]>
}

/** LeaseClientOptions bound each request in time (kubernetes.request_timeout) and size (max_response_bytes). */
export interface LeaseClientOptions {
  readonly requestTimeoutMs: number
  readonly maxResponseBytes: number
}

const GROUP_VERSION = 'coordination.k8s.io/v1'

/** LeaseClient is the LeaseApi over the API server's REST paths, as kubectl and client-go send them. */
export class LeaseClient implements LeaseApi {
  constructor(
    private readonly endpoint: ApiEndpoint,
    private readonly opts: LeaseClientOptions,
  ) {}

  read(namespace: string, name: string, signal?: AbortSignal): Promise<Lease> {
    return this.#call<Lease>('GET', leasesPath(namespace, name), undefined, signal)
  }

  create(namespace: string, lease: Lease, signal?: AbortSignal): Promise<Lease> {
    return this.#call<Lease>('POST', leasesPath(namespace), withKind(lease), signal)
  }

  replace(namespace: string, name: string, lease: Lease, signal?: AbortSignal): Promise<Lease> {
    return this.#call<Lease>('PUT', leasesPath(namespace, name), withKind(lease), signal)
  }

  async list(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<Lease[]> {
    const path = `${leasesPath(namespace)}?labelSelector=${encodeURIComponent(labelSelector)}`
    const list = await this.#call<{ items?: Lease[] | null }>('GET', path, undefined, signal)
    return list.items ?? []
  }

  async #call<T>(method: string, path: string, body: Lease | undefined, signal: AbortSignal | undefined): Promise<T> {
    const auth = await this.endpoint.authorize()
    const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs)
    // Not AbortSignal.any: on Node 20 each request would leave an entry on the long-lived signal (see linkSignals).
    const request = linkSignals(signal === undefined ? [timeout] : [signal, timeout])
    try {
      const headers: Record<string, string> = { ...auth.headers, Accept: 'application/json' }
      if (body !== undefined) headers['Content-Type'] = 'application/json'
      const res = await sendRequest(
        {
          url: new URL(this.endpoint.server + path),
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          agent: auth.agent,
          signal: request.signal,
        },
        this.opts.maxResponseBytes,
      )
      const text = res.body.toString('utf8')
      if (res.status < 200 || res.status > 299) throw new KubeApiError(res.status, text, `${method} ${path}`)
      return parseObject<T>(text, `${method} ${path}`)
    } finally {
      request.dispose()
    }
  }
}

/** microTime is a MicroTime as the API server requires it: exactly six fractional digits (a Date's three get 400). */
export function microTime(at: Date): string {
  return `${at.toISOString().slice(0, -1)}000Z`
}

function leasesPath(namespace: string, name?: string): string {
  const base = `/apis/${GROUP_VERSION}/namespaces/${encodeURIComponent(namespace)}/leases`
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`
}

function withKind(lease: Lease): Lease {
  return { ...lease, apiVersion: GROUP_VERSION, kind: 'Lease' }
}

function parseObject<T>(text: string, context: string): T {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new Error(`${context}: the API server answered with a body that is not JSON`, { cause: err })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${context}: the API server answered with JSON that is not an object`)
  return parsed as T
}
