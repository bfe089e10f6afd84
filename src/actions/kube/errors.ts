import { ApiException } from '@kubernetes/client-node'

/** FailureReason classifies why a Kubernetes action did not happen. */
export type FailureReason =
  'not_found' | 'forbidden' | 'conflict' | 'invalid' | 'unavailable' | 'paused' | 'no_history' | 'revision_not_found'

/** KubeFailure is an action error as data: reason, a message naming the object, and the HTTP status when there was one. */
export interface KubeFailure {
  readonly kind: 'error'
  readonly reason: FailureReason
  readonly message: string
  readonly status?: number
}

interface StatusBody {
  readonly message?: string
  readonly reason?: string
}

/** failure builds a KubeFailure. */
export function failure(reason: FailureReason, message: string, status?: number): KubeFailure {
  return status === undefined ? { kind: 'error', reason, message } : { kind: 'error', reason, message, status }
}

/** classifyError maps anything thrown by a client-node call to a KubeFailure; `context` names the object and the step. */
export function classifyError(err: unknown, context: string): KubeFailure {
  if (err instanceof ApiException) {
    const code = Number(err.code)
    const status = parseStatus(err.body)
    return failure(reasonForCode(code), `${context}: ${status?.message ?? httpText(code)}`, code)
  }
  return failure('unavailable', `${context}: ${networkText(err)}`)
}

/** isConflict reports whether err is a 409 Conflict (optimistic-lock failure). */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiException && Number(err.code) === 409
}

/** isNotFound reports whether err is a 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && Number(err.code) === 404
}

function reasonForCode(code: number): KubeFailure['reason'] {
  if (code === 404) return 'not_found'
  if (code === 401 || code === 403) return 'forbidden'
  if (code === 409) return 'conflict'
  if (code === 400 || code === 415 || code === 422) return 'invalid'
  return 'unavailable'
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body !== 'string') return typeof body === 'object' && body !== null ? (body as StatusBody) : undefined
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : undefined
  } catch {
    return body.trim() === '' ? undefined : { message: body.trim().slice(0, 300) }
  }
}

function httpText(code: number): string {
  return code === 401 ? 'Unauthorized' : `HTTP ${code}`
}

function networkText(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = (err as { cause?: { code?: unknown } }).cause
  const code = (err as { code?: unknown }).code ?? cause?.code
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return `request aborted or timed out (${err.message})`
  return typeof code === 'string' ? `${err.message} (${code})` : err.message
}
