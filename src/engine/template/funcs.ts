/** Template function table: Go text/template built-ins plus Prometheus's functions. */

import { BUILTINS } from './builtins.js'
import type { FuncDef } from './func-types.js'
import { PROMETHEUS_FUNCS } from './prometheus.js'

export type { CallEnv, CallFunc, FuncDef, ParamType, ShortCircuitFunc } from './func-types.js'

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
