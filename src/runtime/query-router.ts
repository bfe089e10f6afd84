import type { QueryFn } from '../engine/ports.js'
import { compileLocalQuery, isLocalExpression, mayNameProbeMetric, type LocalQuery } from '../sources/local-query.js'
import type { ProbeStore } from '../sources/probe-store.js'

/**
 * MAX_CLASSIFIED bounds the classifications kept: the router lives as long as the process, and reloads that change
 * expressions (generated per-deploy rules) would otherwise add entries forever. Far above any real rule set, so
 * clearing when full costs one re-classification per expression.
 */
export const MAX_CLASSIFIED = 20_000

/**
 * createQueryRouter answers rollguard_probe_* expressions from the local probe store (health checks must not
 * depend on Prometheus being up) and everything else from Prometheus. Expressions that may name a probe metric are
 * classified once (bounded).
 */
export function createQueryRouter(remote: () => QueryFn, store: ProbeStore, maxClassified = MAX_CLASSIFIED): QueryFn {
  const compiled = new Map<string, LocalQuery | Error | null>()
  const classify = (expr: string): LocalQuery | Error | null => {
    // Most expressions cannot name a probe metric: those go out without being parsed or remembered.
    if (!mayNameProbeMetric(expr)) return null
    let entry = compiled.get(expr)
    if (entry === undefined) {
      try {
        entry = isLocalExpression(expr) ? compileLocalQuery(expr) : null
      } catch (err) {
        entry = err as Error
      }
      if (compiled.size >= maxClassified) compiled.clear()
      compiled.set(expr, entry)
    }
    return entry
  }
  return async (expr, at) => {
    const local = classify(expr)
    if (local === null) return remote()(expr, at)
    if (local instanceof Error) throw local
    return { samples: local.evaluate(store, at), warnings: [] }
  }
}
