/** Go's time.ParseDuration (durations in exporter-toolkit's web config, e.g. rate_limit.interval), in milliseconds. */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** parseGoDuration parses "300ms", "1.5h", "2h45m" or "0"; it throws with Go's message otherwise. */
export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(text)}`)
  const sign = text.startsWith('-') ? -1 : 1
  const rest = text.replace(/^[-+]/, '')
  if (rest === '0') return 0
  if (rest === '') throw invalid()
  let ms = 0
  let consumed = 0
  for (const m of rest.matchAll(/(\d+\.?\d*|\.\d+)([a-zµμ]+)/gy)) {
    const unit = UNIT_MS[m[2] as string]
    if (unit === undefined)
      throw new Error(`time: unknown unit ${JSON.stringify(m[2])} in duration ${JSON.stringify(text)}`)
    ms += Number(m[1]) * unit
    consumed += m[0].length
  }
  if (consumed !== rest.length) throw invalid()
  return sign * ms
}
