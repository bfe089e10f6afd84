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

/** compileTemplate parses a Prometheus alert template; throws TemplateSyntaxError. name like "__alert_HighErrorRate". */
export function compileTemplate(name: string, source: string): Template {
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
