// No silent rules at run time, against a real Prometheus scraping the sample service: a rule selecting a metric
// that does not exist is flagged "no data" (API, metrics, one log line, the status page in Debian's Chromium), a
// rule selecting an existing metric is not, and a probe rule without probes is flagged until a reload configures
// a probe. Durations are scaled down (checks every second, no_data_for 3s); every wait is bounded; loopback only.
import t from 'tap'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { stringify } from 'yaml'
import { eventually, getJson, logSink, prometheus, rollguard, services, sleep, tempDir } from '../fixtures/e2e.js'

const CHROMIUM = '/usr/bin/chromium'
const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url))
// A closed network: without these, Chromium keeps trying to reach Google's services.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const noBrowser = existsSync(CHROMIUM)
  ? false
  : `Debian's chromium is not installed (${CHROMIUM}): run bash scripts/install-system-deps.sh as root`

interface ApiRule {
  name: string
  health: string
  noData?: { since: string; selectors: string[] }
}
type RulesResponse = { data: { groups: Array<{ rules: ApiRule[] }> } }

t.test(
  'a rule selecting a metric that does not exist is flagged "no data"; one selecting an existing metric is not',
  async t => {
    const dir = tempDir(t)
    const [checkout] = await services(t, ['checkout'])
    if (!checkout) throw new Error('service did not start')
    const prom = await prometheus(t, [checkout])
    // The existing metric must exist before rollguard counts it, or the first counts would (rightly) find nothing.
    await eventually(
      'http_requests_total in Prometheus',
      async () => {
        const r = await getJson<{ data?: { result?: unknown[] } }>(
          `${prom.url}/api/v1/query?query=count(http_requests_total)`,
        )
        return (r.data?.result?.length ?? 0) > 0
      },
      30_000,
    )

    const rules = join(dir, 'rules.yml')
    writeFileSync(
      rules,
      stringify({
        groups: [
          {
            name: 'watched',
            rules: [
              // What a new user's rule looks like when the service's series are named differently.
              {
                alert: 'RenamedMetric',
                expr: 'sum by (namespace) (rate(http_server_requests_seconds_count{status=~"5.."}[1m])) > 1',
              },
              { alert: 'ExistingMetric', expr: 'sum by (namespace) (rate(http_requests_total[1m])) > 1e9' },
              { alert: 'HealthCheckFailing', expr: 'rollguard_probe_success == 0' },
            ],
          },
        ],
      }),
    )
    const config = join(dir, 'rollguard.yml')
    writeFileSync(config, stringify({ rules: { no_data_check_interval: '1s', no_data_for: '3s' } }))
    const log = logSink()
    const daemon = await rollguard(t, { config, 'prometheus-url': prom.url, rules, 'eval-interval': '1s' }, log)

    const byName = async () =>
      Object.fromEntries(
        (await getJson<RulesResponse>(`${daemon.address}/api/v1/rules`)).data.groups
          .flatMap(g => g.rules)
          .map(r => [r.name, r]),
      )
    const flagged = await eventually(
      'RenamedMetric flagged as no data',
      async () => {
        const rs = await byName()
        return rs['RenamedMetric']?.noData !== undefined && rs['HealthCheckFailing']?.noData !== undefined
          ? rs
          : undefined
      },
      30_000,
    )
    t.same(flagged['RenamedMetric']?.noData?.selectors, ['http_server_requests_seconds_count{status=~"5.."}[1m]'])
    t.equal(
      flagged['RenamedMetric']?.health,
      'ok',
      "the rule's health stays Prometheus's: the query works, it just finds nothing",
    )
    t.equal(flagged['ExistingMetric']?.noData, undefined, 'the existing metric is not flagged')
    t.same(
      flagged['HealthCheckFailing']?.noData?.selectors,
      ['rollguard_probe_success'],
      'probe selectors are counted in the local probe store',
    )

    await sleep(3_000) // three more checks: nothing changes, nothing is logged again
    const later = await byName()
    t.equal(later['ExistingMetric']?.noData, undefined)
    t.equal(
      later['RenamedMetric']?.noData?.since,
      flagged['RenamedMetric']?.noData?.since,
      'since stays where the data went missing',
    )
    const started = log.lines().filter(l => String(l['msg']).includes('has no data'))
    t.same(
      started.map(l => l['rule']).sort(),
      ['HealthCheckFailing', 'RenamedMetric'],
      'one log line per rule, not one per check',
    )
    t.ok(
      log.lines().some(l => l['level'] === 40 && String(l['msg']).includes('no health probes are configured')),
      'the startup warning about probe rules',
    )

    const metrics = await (await fetch(`${daemon.address}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
    t.match(metrics, /rollguard_rule_no_data\{rule_group="[^"]*rules\.yml;watched",alertname="RenamedMetric"\} 1/)
    t.match(metrics, /rollguard_rule_no_data\{rule_group="[^"]*rules\.yml;watched",alertname="ExistingMetric"\} 0/)
    t.match(metrics, /rollguard_rule_last_evaluation_samples\{rule_group="[^"]*",alertname="ExistingMetric"\} 0/)
    t.match(metrics, /rollguard_rule_last_samples_timestamp_seconds\{rule_group="[^"]*",alertname="RenamedMetric"\} 0/)

    await t.test('the status page shows it', { skip: noBrowser }, async t => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
        timeout: 30_000,
      })
      t.teardown(() => browser.close())
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
      page.setDefaultTimeout(15_000)
      await page.goto(`${daemon.address}/`, { waitUntil: 'load', timeout: 15_000 })
      t.match(await page.locator('.summary').innerText(), /2 of 3 rules see no data/)
      const rules = page.locator('#rules')
      const renamed = rules.locator('tr', { hasText: 'RenamedMetric' })
      t.equal(await renamed.locator('.chip.nodata').innerText(), 'no data', 'a "no data" badge, not "ok"')
      t.match(
        await renamed.innerText(),
        /no series match http_server_requests_seconds_count\{status=~"5\.\."\}\[1m\] since/,
      )
      t.equal(await rules.locator('tr', { hasText: 'ExistingMetric' }).locator('.chip.ok').innerText(), 'ok')
      t.match(await rules.locator('tr', { hasText: 'HealthCheckFailing' }).innerText(), /no probes configured/)
      const colour = await renamed
        .locator('.chip.nodata')
        .evaluate(el => el.ownerDocument.defaultView?.getComputedStyle(el).backgroundColor)
      const ok = await rules
        .locator('tr', { hasText: 'ExistingMetric' })
        .locator('.chip.ok')
        .evaluate(el => el.ownerDocument.defaultView?.getComputedStyle(el).backgroundColor)
      t.not(colour, ok, 'a colour of its own')
      mkdirSync(OUTPUT, { recursive: true })
      await page.screenshot({ path: join(OUTPUT, 'status-page-no-data.png'), fullPage: true })
    })

    // A reload that configures a probe: the probe rule sees series again, which is logged once.
    writeFileSync(
      config,
      stringify({
        rules: { no_data_check_interval: '1s', no_data_for: '3s' },
        probes: [
          {
            name: 'checkout-healthz',
            url: `${checkout.url}/healthz`,
            interval: '1s',
            labels: { namespace: 'shop', deployment: 'checkout' },
          },
        ],
      }),
    )
    t.same(await daemon.reload(), { ok: true })
    await eventually(
      'HealthCheckFailing has data again',
      async () =>
        log.lines().some(l => l['rule'] === 'HealthCheckFailing' && String(l['msg']).includes('has data again')),
      20_000,
    )
    const after = await byName()
    t.equal(after['HealthCheckFailing']?.noData, undefined)
    t.ok(after['RenamedMetric']?.noData, 'the renamed metric still has none')
  },
)
