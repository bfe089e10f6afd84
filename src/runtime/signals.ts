/** LinkedSignal is a signal that aborts when any of its sources does; dispose detaches it from them. */
export interface LinkedSignal {
  readonly signal: AbortSignal
  dispose(): void
}

/**
 * linkSignals is AbortSignal.any without its leak on Node 20: there every AbortSignal.any call adds an entry to
 * each source's set of dependants that is never removed (measured on 20.20: ~50 bytes a call), so a long-lived
 * source (a stop or leadership signal) collects one per request for the life of the process. The linked signal
 * aborts with the first aborted source's reason. Call dispose when the operation ends (in a finally): it removes
 * the listeners from the sources, which would otherwise hold the linked signal as long as they live.
 */
export function linkSignals(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController()
  const aborted = sources.find(s => s.aborted)
  if (aborted !== undefined) {
    controller.abort(aborted.reason)
    return { signal: controller.signal, dispose: () => {} }
  }
  const dispose = (): void => {
    for (const s of sources) s.removeEventListener('abort', onAbort)
  }
  const onAbort = (event: Event): void => {
    dispose()
    controller.abort((event.target as AbortSignal).reason)
  }
  for (const s of sources) s.addEventListener('abort', onAbort)
  return { signal: controller.signal, dispose }
}

/** sleepFor resolves after ms, or early when the signal aborts. */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
