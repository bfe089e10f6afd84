/** The shapes of template functions, apart from the table (funcs.ts) so that the function modules need not import it. */

import type { TemplateQueries } from '../types.js'
import type { Value } from './values.js'

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
