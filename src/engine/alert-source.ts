/**
 * The alert-source link: the generatorURL of every alert sent to Alertmanager (its "Source" link), rendered from a
 * small Go-template-like string in the manner of vmalert's -external.alert.source. rollguard serves no query page
 * of its own, so the default opens the rule's expression in the configured Prometheus's graph page.
 *
 * Syntax: text with `{{ … }}` actions. An action is one field, optionally passed through functions, Go's way:
 *   {{ .Expr }}   {{ .Expr | queryEscape }}   {{ queryEscape .Expr }}   {{ .Labels.namespace | pathEscape }}
 * Fields: .Expr, .AlertName, .GroupName, .Labels.NAME (empty when the alert lacks the label), .ExternalURL
 * (rollguard's), .PrometheusURL (the one browsers reach). Functions: queryEscape (Go's url.QueryEscape),
 * pathEscape (url.PathEscape), jsonEscape (a JSON string literal, quotes included, as vmalert's).
 * Pure: everything it renders is an argument.
 */

import { queryEscape } from './outbox.js'
import type { Labels } from './types.js'

/** DEFAULT_ALERT_SOURCE opens the rule's expression in Prometheus's graph page, table tab (Prometheus's own generatorURL). */
export const DEFAULT_ALERT_SOURCE = '{{ .PrometheusURL }}/graph?g0.expr={{ .Expr | queryEscape }}&g0.tab=1'

/** AlertSourceData is what an alert-source template sees. */
export interface AlertSourceData {
  readonly expr: string
  readonly alertName: string
  readonly groupName: string
  readonly labels: Labels
  /** rollguard's external URL (web.external_url, without a trailing slash). */
  readonly externalURL: string
  /** The URL browsers reach Prometheus at (prometheus.external_url, else prometheus.url; no trailing slash). */
  readonly prometheusURL: string
}

/** AlertSource is a compiled alert-source template. */
export interface AlertSource {
  readonly source: string
  render(data: AlertSourceData): string
}

/** AlertSourceError is a template that does not compile; its message names the problem. */
export class AlertSourceError extends Error {
  override name = 'AlertSourceError'
}

type Field = (data: AlertSourceData) => string
type Part = string | Field

const FIELDS: Readonly<Record<string, Field>> = {
  '.Expr': d => d.expr,
  '.AlertName': d => d.alertName,
  '.GroupName': d => d.groupName,
  '.ExternalURL': d => d.externalURL,
  '.PrometheusURL': d => d.prometheusURL,
}

const FUNCTIONS: Readonly<Record<string, (s: string) => string>> = {
  queryEscape,
  pathEscape,
  jsonEscape: s => JSON.stringify(s),
}

const FIELD_NAMES = `${Object.keys(FIELDS).join(', ')}, .Labels.NAME`
const FUNCTION_NAMES = Object.keys(FUNCTIONS).join(', ')

/** compileAlertSource parses a template; throws AlertSourceError. */
export function compileAlertSource(source: string): AlertSource {
  const parts: Part[] = []
  let rest = source
  for (;;) {
    const open = rest.indexOf('{{')
    if (open < 0) break
    const close = rest.indexOf('}}', open + 2)
    if (close < 0) throw new AlertSourceError(`unclosed action: ${rest.slice(open)}`)
    if (open > 0) parts.push(rest.slice(0, open))
    parts.push(compileAction(rest.slice(open + 2, close)))
    rest = rest.slice(close + 2)
  }
  if (rest !== '') parts.push(rest)
  return {
    source,
    render: data => parts.map(p => (typeof p === 'string' ? p : p(data))).join(''),
  }
}

function compileAction(text: string): Field {
  const commands = text.split('|').map(c =>
    c
      .trim()
      .split(/\s+/)
      .filter(w => w !== ''),
  )
  const [first = [], ...pipes] = commands
  // `fn .Field` is `.Field | fn`.
  const field = first.length === 2 ? first[1] : first[0]
  const fns: string[] = first.length === 2 ? [first[0] as string] : []
  if (field === undefined || first.length > 2)
    throw new AlertSourceError(`{{${text}}}: want a field, e.g. {{ .Expr | queryEscape }}`)
  for (const pipe of pipes) {
    if (pipe.length !== 1) throw new AlertSourceError(`{{${text}}}: each | takes one function (${FUNCTION_NAMES})`)
    fns.push(pipe[0] as string)
  }
  const get = lookupField(field, text)
  const apply = fns.map(name => {
    const fn = FUNCTIONS[name]
    if (fn === undefined)
      throw new AlertSourceError(`{{${text}}}: unknown function ${name} (functions: ${FUNCTION_NAMES})`)
    return fn
  })
  return data => apply.reduce((value, fn) => fn(value), get(data))
}

function lookupField(name: string, text: string): Field {
  const label = /^\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(name)?.[1]
  if (label !== undefined) return d => d.labels[label] ?? ''
  const field = FIELDS[name]
  if (field === undefined) throw new AlertSourceError(`{{${text}}}: unknown field ${name} (fields: ${FIELD_NAMES})`)
  return field
}

/** pathEscape is Go's url.PathEscape: a path segment, so '/' is escaped too. */
export function pathEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%(24|26|2B|3A|3D|40)/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}
