/**
 * The registry's metrics in the Prometheus text format (0.0.4), written in chunks.
 *
 * prom-client's Registry.metrics() builds every line of every metric, then joins them into one string: at 4,000
 * rules (~34,000 series) a 4.7 MB text and ~30 MiB of resident memory at every scrape. Here the values are
 * gathered first, as client_golang's Gather does (every collect callback runs, an error fails the scrape before
 * a byte is sent), and the lines are formatted as the response is read, a chunk at a time. The text is byte for
 * byte what prom-client writes (test/telemetry/exposition.test.ts compares both).
 */

import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client'

/** CHUNK_CHARS is about how much text one chunk of /metrics holds before it is handed to the response. */
const CHUNK_CHARS = 64 * 1024

/** Gathered holds every metric's series as gather found them (a counter incremented meanwhile shows its new value). */
export type Gathered = readonly MetricObjectWithValues<MetricValue<string>>[]

/**
 * gather reads every metric of a text-format registry (the type's default; OpenMetrics would name counters
 * differently), running its collect callbacks; it rejects as Registry.metrics() would.
 */
export async function gather(registry: Registry): Promise<Gathered> {
  const metrics = registry.getMetricsAsArray().flatMap(({ name }) => registry.getSingleMetric(name) ?? [])
  return Promise.all(metrics.map(metric => metric.get()))
}

/** textChunks formats gathered metrics as prom-client's text format, in chunks of about chunkChars characters. */
export function* textChunks(metrics: Gathered, chunkChars = CHUNK_CHARS): Generator<string> {
  let chunk = ''
  for (let i = 0; i < metrics.length; i++) {
    const metric = metrics[i] as Gathered[number]
    const name = escapeString(metric.name)
    chunk += `${i === 0 ? '' : '\n\n'}# HELP ${name} ${escapeString(metric.help)}\n# TYPE ${name} ${metric.type}`
    for (const value of metric.values) {
      chunk += `\n${sampleLine(name, value)}`
      if (chunk.length >= chunkChars) {
        yield chunk
        chunk = ''
      }
    }
  }
  yield `${chunk}\n`
}

/** The optional fields prom-client's histograms and summaries set on a value. */
interface ValueExtras {
  readonly metricName?: string
  readonly sharedLabels?: Readonly<Record<string, string | number>>
}

function sampleLine(name: string, sample: MetricValue<string> & ValueExtras): string {
  const own = formatLabels(sample.labels, sample.sharedLabels)
  const shared = sample.sharedLabels === undefined ? '' : formatLabels(sample.sharedLabels, undefined)
  const labels = own === '' ? shared : shared === '' ? own : `${own},${shared}`
  return `${sample.metricName ?? name}${labels === '' ? '' : `{${labels}}`} ${valueText(sample.value)}`
}

/** formatLabels writes name="value" pairs in the object's order, skipping names in exclude (prom-client's order). */
function formatLabels(
  labels: Readonly<Record<string, string | number | undefined>> | undefined,
  exclude: Readonly<Record<string, unknown>> | undefined,
): string {
  let text = ''
  if (labels === undefined) return text
  for (const labelName in labels) {
    if (!Object.hasOwn(labels, labelName) || (exclude !== undefined && Object.hasOwn(exclude, labelName))) continue
    const value = labels[labelName]
    text += `${text === '' ? '' : ','}${labelName}="${typeof value === 'string' ? escapeLabelValue(value) : String(value)}"`
  }
  return text
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return `${value}`
}

function escapeString(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabelValue(text: string): string {
  return escapeString(text).replace(/"/g, '\\"')
}
