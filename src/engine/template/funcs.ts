/** Template function table: Go text/template built-ins plus Prometheus's functions. */

import type { TemplateQueries } from '../types.js'
import type { Value } from './values.js'
import { BUILTINS } from './builtins.js'
import { PROMETHEUS_FUNCS } from './prometheus.js'

/** ParamType is a parameter's Go type (any = interface{}, value = reflect.Value, sample(s) = Prometheus query results). */
export type ParamType = 'any' | 'value' | 'string' | 'sample' | 'samples'

/** CallEnv is what functions may read besides their arguments. */
export interface CallEnv {
  readonly evalTime: number
  readonly externalURL: string
  /** queries answers `query`; undefined where no query source is at hand (then `query` fails). */
  readonly queries: TemplateQueries | undefined
}

/** CallFunc is an ordinary function; it throws Error for Go's "error calling <name>: ...". */
export interface CallFunc {
  readonly params: readonly ParamType[]
  readonly variadic?: ParamType
  readonly call: (args: readonly Value[], env: CallEnv, callee: string) => Value
}

/** ShortCircuitFunc is Go's and/or, evaluated lazily by the executor. */
export interface ShortCircuitFunc {
  readonly params: readonly ParamType[]
  readonly variadic: ParamType
  readonly shortCircuit: 'and' | 'or'
}

/** FuncDef is a template function's signature and implementation. */
export type FuncDef = CallFunc | ShortCircuitFunc

/** FUNCS maps every function name a template may call to its definition. */
export const FUNCS: ReadonlyMap<string, FuncDef> = new Map<string, FuncDef>([
  ...Object.entries(BUILTINS),
  ...Object.entries(PROMETHEUS_FUNCS),
])

/** checkFunction returns Go's parse error for an unusable function name, else undefined. */
export function checkFunction(name: string): string | undefined {
  if (FUNCS.has(name)) return undefined
  return `function "${name}" not defined`
}
