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

/**
 * KubeApiError is an answer other than 2xx to one of rollguard's own requests (the Lease client). It carries what
 * client-node's ApiException carries, the HTTP status as `code` and the body, so one classification serves both.
 */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    context: string,
  ) {
    super(`${context}: HTTP ${code}`)
    this.name = 'KubeApiError'
  }
}

/** ApiAnswer is what ApiException and KubeApiError have in common. */
interface ApiAnswer {
  readonly code: number
  readonly body: unknown
}

// By shape, not `instanceof ApiException`: importing the class would load all of client-node (~68 MiB) into
// replicas that only keep a Lease. A system error's `code` is a string ('ECONNREFUSED'), never a number.
function apiAnswer(err: unknown): ApiAnswer | undefined {
  if (!(err instanceof Error) || !('body' in err)) return undefined
  const code = (err as { code?: unknown }).code
  return typeof code === 'number' ? { code, body: err.body } : undefined
}

/** classifyError maps anything thrown by an API call to a KubeFailure; `context` names the object and the step. */
export function classifyError(err: unknown, context: string): KubeFailure {
  const answer = apiAnswer(err)
  if (answer !== undefined) {
    const { code } = answer
    const status = parseStatus(answer.body)
    return failure(reasonForCode(code), `${context}: ${status?.message ?? httpText(code)}`, code)
  }
  return failure('unavailable', `${context}: ${networkText(err)}`)
}

/** isConflict reports whether err is a 409 Conflict (optimistic-lock failure). */
export function isConflict(err: unknown): boolean {
  return apiAnswer(err)?.code === 409
}

/** isNotFound reports whether err is a 404. */
export function isNotFound(err: unknown): boolean {
  return apiAnswer(err)?.code === 404
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
