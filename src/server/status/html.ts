/**
 * HTML building with escaping by default: every value interpolated into an `html` template is escaped, unless
 * it is itself an Html (built by `html` or, for the fixed stylesheet only, `trusted`). There is no other way
 * to put text into the status page, so a label value like `<script>` always renders as text.
 */

/** Html is markup that is safe to emit as is. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

/** HtmlValue is what may be interpolated: text (escaped), numbers, markup, nothing (null, undefined, false) or lists of these. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[]

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** escapeHtml escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ESCAPES[c] as string)
}

/** html is a tagged template that escapes every interpolated value that is not Html. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] as string
  values.forEach((value, i) => (out += toHtml(value) + (strings[i + 1] as string)))
  return new Html(out)
}

/** trusted marks fixed markup written in this package (never data) as safe. */
export function trusted(markup: string): Html {
  return new Html(markup)
}

function toHtml(value: HtmlValue): string {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(toHtml).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(String(value))
}
