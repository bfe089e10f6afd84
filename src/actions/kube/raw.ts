import {
  Observable,
  ResponseContext,
  SelfDecodingBody,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
} from '@kubernetes/client-node'
import type { RawList } from './model.js'

/** CallOptions are the per-request extras rollguard needs on top of the generated client. */
export interface CallOptions {
  /** Overrides the Content-Type (patch strategy); the generator's default for patches is JSON patch. */
  readonly contentType?: string
  /** Aborts the request (in addition to the client's request timeout). */
  readonly signal?: AbortSignal | undefined
  /** Receives the response JSON exactly as the server sent it, before the typed models drop unknown fields. */
  readonly capture?: (json: unknown, status: number) => void
}

/** timeoutMiddleware aborts any request that takes longer than ms (node-fetch would wait forever on a hung server). */
export function timeoutMiddleware(ms: number): ObservableMiddleware {
  return {
    pre: ctx => {
      addSignal(ctx, AbortSignal.timeout(ms))
      return new Observable(Promise.resolve(ctx))
    },
    post: rsp => new Observable(Promise.resolve(rsp)),
  }
}

function addSignal(ctx: RequestContext, signal: AbortSignal): void {
  const current = ctx.getSignal()
  ctx.setSignal(current ? AbortSignal.any([current, signal]) : signal)
}

/** callOptions turns CallOptions into client-node ConfigurationOptions that keep the client's own middleware. */
export function callOptions(opts: CallOptions): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware[] = [
    { pre: ctx => new Observable(Promise.resolve(prepare(ctx, opts))), post: rsp => postProcess(rsp, opts) },
  ]
  // 'append' keeps the static timeout middleware; ours runs after it, so its header and signal win.
  return { middleware, middlewareMergeStrategy: 'append' }
}

function prepare(ctx: RequestContext, opts: CallOptions): RequestContext {
  if (opts.contentType !== undefined) ctx.setHeaderParam('Content-Type', opts.contentType)
  if (opts.signal) addSignal(ctx, opts.signal)
  return ctx
}

function postProcess(rsp: ResponseContext, opts: CallOptions): Observable<ResponseContext> {
  const capture = opts.capture
  if (!capture) return new Observable(Promise.resolve(rsp))
  return new Observable(
    (async () => {
      const text = await rsp.body.text()
      capture(parseJson(text), rsp.httpStatusCode)
      return new ResponseContext(
        rsp.httpStatusCode,
        rsp.headers,
        new SelfDecodingBody(Promise.resolve(Buffer.from(text))),
      )
    })(),
  )
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** withRaw runs one client call and returns the successful response's raw JSON instead of the typed (lossy) model. */
export async function withRaw<T>(
  call: (options: ConfigurationOptions<ObservableMiddleware>) => Promise<unknown>,
  opts: Omit<CallOptions, 'capture'> = {},
): Promise<T> {
  let raw: unknown
  let seen = false
  await call(
    callOptions({
      ...opts,
      capture: (json, status) => {
        if (status < 200 || status > 299) return
        raw = json
        seen = true
      },
    }),
  )
  if (!seen || raw === undefined) throw new Error('the API server answered without a JSON body')
  return raw as T
}

// A bound on paging, so a server that keeps returning continue tokens cannot keep us busy forever.
const MAX_PAGES = 100

/** listAllRaw returns the raw items of a list, following `continue` tokens should the server page (kubectl sends no limit). */
export async function listAllRaw<T>(
  page: (cont: string | undefined, options: ConfigurationOptions<ObservableMiddleware>) => Promise<unknown>,
  opts: Omit<CallOptions, 'capture'> = {},
): Promise<T[]> {
  const items: T[] = []
  let cont: string | undefined
  for (let i = 0; i < MAX_PAGES; i++) {
    const list = await withRaw<RawList<T>>(options => page(cont, options), opts)
    items.push(...(list.items ?? []))
    cont = list.metadata?.continue || undefined
    if (!cont) return items
  }
  throw new Error(`list did not finish within ${MAX_PAGES} pages`)
}
