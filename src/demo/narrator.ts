/** Narrator prints the demo's story to a terminal: steps, details, and alert states as they change. */
const color = (code: number, text: string, on: boolean): string => (on ? `\x1b[${code}m${text}\x1b[0m` : text)

interface RuleAlert {
  labels: Record<string, string>
  state: string
  value: string
}

/** Narrator writes readable progress lines with elapsed time. */
export class Narrator {
  readonly #start = Date.now()
  readonly #tty: boolean

  constructor(private readonly out: NodeJS.WriteStream) {
    this.#tty = out.isTTY === true
  }

  #line(mark: string, text: string): void {
    const elapsed = ((Date.now() - this.#start) / 1000).toFixed(1).padStart(6)
    this.out.write(`${color(2, `[${elapsed}s]`, this.#tty)} ${mark} ${text}\n`)
  }

  /** step announces what happens next. */
  step(text: string): void {
    this.#line(color(36, '▶', this.#tty), color(1, text, this.#tty))
  }

  /** detail adds an indented line. */
  detail(text: string): void {
    this.#line(' ', color(2, text, this.#tty))
  }

  /** ok reports a success. */
  ok(text: string): void {
    this.#line(color(32, '✔', this.#tty), text)
  }

  /** fail reports why the demo stopped. */
  fail(text: string): void {
    this.#line(color(31, '✘', this.#tty), `demo failed: ${text}`)
  }

  /** done closes the story. */
  done(text: string): void {
    this.#line(color(32, '✔', this.#tty), color(1, text, this.#tty))
  }

  /** until polls fn every 500 ms until it yields a value, bounded by timeoutMs. */
  async until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const value = await fn().catch(() => undefined)
      if (value !== undefined) return value
      await new Promise(r => setTimeout(r, 500))
    }
    throw new Error(`timed out waiting for ${what}`)
  }

  /** untilState waits for rollguard to report the rule's alert in state ('inactive' = no active alert). */
  async untilState(rollguardUrl: string, rule: string, state: string, timeoutMs: number): Promise<void> {
    const alert = await this.until(`${rule} ${state}`, timeoutMs, async () => {
      const alerts = await rollguardAlerts(rollguardUrl, rule)
      if (state === 'inactive') return alerts.length === 0 ? ({ labels: {}, state, value: '' } as RuleAlert) : undefined
      return alerts.find(a => a.state === state)
    })
    const value = alert.value === '' ? '' : ` (value ${Number(alert.value).toFixed(3)})`
    const mark =
      state === 'firing'
        ? color(31, '●', this.#tty)
        : state === 'pending'
          ? color(33, '●', this.#tty)
          : color(32, '●', this.#tty)
    const shown = state === 'inactive' ? 'RESOLVED' : state.toUpperCase()
    this.#line(mark, `rollguard: ${rule} is ${color(1, shown, this.#tty)}${value}`)
  }

  /** watch shows the baseline for a while: no alerts expected. */
  async watch(text: string, ms: number, rollguardUrl: string): Promise<void> {
    this.step(text)
    await new Promise(r => setTimeout(r, ms))
    const alerts = await rollguardAlerts(rollguardUrl)
    this.ok(alerts.length === 0 ? 'no alerts while healthy' : `${alerts.length} alert(s) active at baseline`)
  }
}

async function rollguardAlerts(url: string, rule?: string): Promise<RuleAlert[]> {
  const res = await fetch(`${url}/api/v1/alerts`, { signal: AbortSignal.timeout(3_000) })
  const body = (await res.json()) as { data: { alerts: RuleAlert[] } }
  return body.data.alerts.filter(a => rule === undefined || a.labels.alertname === rule)
}
