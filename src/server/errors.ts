import type { FastifyReply, FastifyRequest } from 'fastify'

/** ApiErrorType is Prometheus's API errorType vocabulary (the subset rollguard produces). */
export type ApiErrorType = 'bad_data' | 'not_found' | 'internal'

/** ApiError is a client-visible error with an HTTP status; the error handler shows its message for any 4xx. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  readonly statusCode: number

  constructor(statusCode: number, message: string) {
    super(message)
    this.statusCode = statusCode
  }
}

/** badData is Prometheus's 400 bad_data error. */
export function badData(message: string): ApiError {
  return new ApiError(400, message)
}

/** invalidParam is Prometheus's invalidParamError: `invalid parameter "<name>": <message>`. */
export function invalidParam(name: string, message: string): ApiError {
  return badData(`invalid parameter ${JSON.stringify(name)}: ${message}`)
}

/** errorTypeFor maps an HTTP status to the Prometheus errorType shown in the envelope. */
export function errorTypeFor(status: number): ApiErrorType {
  if (status === 404) return 'not_found'
  return status >= 500 ? 'internal' : 'bad_data'
}

/** isApiPath tells whether a request URL belongs to the Prometheus-style JSON API. */
export function isApiPath(url: string): boolean {
  return url === '/api' || url.startsWith('/api/')
}

/** sendError replies with Prometheus's JSON error envelope on /api/ paths, else with Go-style plain text. */
export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
  reply.code(status)
  if (isApiPath(request.url)) {
    return reply.send({ status: 'error', errorType: errorTypeFor(status), error: message })
  }
  return reply.type('text/plain; charset=utf-8').send(`${message}\n`)
}
