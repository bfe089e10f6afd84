/**
 * Prometheus-compatible alert templating: Go's text/template (with {{define}}, {{template}} and {{block}}) and
 * Prometheus's functions, executed like rules/alerting.go (variable prefix, missingkey=zero, errors rendered as
 * text). Pure: the evaluation time is an argument, and `query` reads answers the caller ran (TemplateQueries).
 */

import type { Template, TemplateData, TemplateQueries } from '../types.js'
import { execute } from './exec.js'
import { checkFunction } from './funcs.js'
import { parseTemplate } from './parser.js'
import { errorText } from '../../errors.js'

export { TemplateSyntaxError } from './parser.js'

// Prometheus prepends these definitions to every alert label and annotation template. They belong to the
// top-level template only: a {{define}}d template sees none of them, and its dot is what {{template}} passes.
const PREFIX =
  '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}'

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
  // Functions are called by name only, so a template that never names `query` never queries.
  let usesQuery = false
  const trees = parseTemplate(name, text, fn => {
    if (fn === 'query') usesQuery = true
    return checkFunction(fn)
  })
  return {
    source,
    usesQuery,
    expand(data: TemplateData, evalTime: number, queries?: TemplateQueries): string {
      try {
        return execute(name, text, trees, data, evalTime, queries)
      } catch (e) {
        return `<error expanding template: error executing template ${name}: ${errorText(e)}>`
      }
    },
  }
}
