/**
 * Prometheus-compatible alert templating: a Go text/template subset with Prometheus's
 * functions, executed like rules/alerting.go (variable prefix, missingkey=zero, errors
 * rendered as text). Pure: the evaluation time is an argument.
 */

import type { Template, TemplateData } from '../types.js'
import { execute } from './exec.js'
import { checkFunction } from './funcs.js'
import { parseTemplate } from './parser.js'

export { TemplateSyntaxError } from './parser.js'

// Prometheus prepends these definitions to every alert label and annotation template.
const PREFIX = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}'

/**
 * Compiled templates are immutable, so rules sharing a template (the same alert name and text, as in one rule
 * per Deployment generated from a common file) share one parse tree. Bounded; cleared when full.
 */
const cache = new Map<string, Template>()
const CACHE_LIMIT = 10_000

/** compileTemplate parses a Prometheus alert template; throws TemplateSyntaxError. name like "__alert_HighErrorRate". */
export function compileTemplate(name: string, source: string): Template {
  const key = `${name}\u0000${source}`
  let template = cache.get(key)
  if (template === undefined) {
    template = compile(name, source)
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(key, template)
  }
  return template
}

function compile(name: string, source: string): Template {
  if (!source.includes('{{')) return { source, expand: () => source }
  const text = PREFIX + source
  const root = parseTemplate(name, text, checkFunction)
  return {
    source,
    expand(data: TemplateData, evalTime: number): string {
      try {
        return execute(name, text, root, data, evalTime)
      } catch (e) {
        return `<error expanding template: error executing template ${name}: ${(e as Error).message}>`
      }
    },
  }
}
