// The status page in a real browser: headless Debian Chromium (driven by playwright-core, never downloaded)
// loads rollguard's "/" while real Prometheus and Alertmanager watch a sample service with a 5xx fault and a
// fake Kubernetes cluster gets the rollback. The page must show the firing alert, the recorded rollback and a
// timeline; a label carrying <script> must render as text; a screenshot goes to test-output/. Every wait is bounded.
import t from 'tap'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { stringify } from 'yaml'
import { Daemon } from '../../src/daemon.js'
import type { StatusModel } from '../../src/server/status/view-model.js'
import {
  alertmanager,
  checkoutCluster,
  defaultRulesFast,
  eventually,
  logSink,
  prometheus,
  services,
  sleep,
  tempDir,
} from '../fixtures/e2e.js'
import { writeKubeconfig } from '../fixtures/kubeconfig.js'

const CHROMIUM = '/usr/bin/chromium'
const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url))
const XSS = '<script>alert(1)</script>'
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

const missing = existsSync(CHROMIUM)
  ? false
  : `Debian's chromium is not installed (${CHROMIUM}): run bash scripts/install-system-deps.sh as root`
// CI installs it (scripts/install-system-deps.sh): there a missing browser is a failure, not a skip.
if (missing !== false && process.env['CI']) t.fail(missing)

t.test('the status page shows a firing trigger and the rollback it caused', { skip: missing }, async t => {
  const dir = tempDir(t)
  const [checkout] = await services(t, ['checkout'])
  if (!checkout) throw new Error('service did not start')
  const [prom, am] = await Promise.all([prometheus(t, [checkout]), alertmanager(t)])
  const fake = await checkoutCluster(t)
  // A rule whose label value is markup: the page must show it as text.
  const escapeRules = join(dir, 'escape.yml')
  writeFileSync(
    escapeRules,
    stringify({
      groups: [{ name: 'escaping', rules: [{ alert: 'LabelEscape', expr: 'vector(1) > 0', labels: { note: XSS } }] }],
    }),
  )
  const config = join(dir, 'rollguard.yml')
  writeFileSync(
    config,
    stringify({
      actions: {
        mode: 'execute',
        allow: [{ namespace: 'shop' }],
        verify_timeout: '30s',
        correlation: { settle: '1s' },
      },
      kubernetes: {
        kubeconfig: writeKubeconfig(dir, fake),
        lease: {
          namespace: 'rollguard-system',
          lease_duration: '3s',
          renew_deadline: '2s',
          retry_period: '500ms',
          identity: 'status',
        },
      },
    }),
  )
  const flags = new Map<string, string[]>([
    ['config', [config]],
    ['listen', ['127.0.0.1:0']],
    ['prometheus-url', [prom.url]],
    ['alertmanager-url', [am.url]],
    ['rules', [defaultRulesFast(dir), escapeRules]],
    ['eval-interval', ['1s']],
    ['resend-delay', ['2s']],
    ['external-label', ['run=status-page']],
  ])
  const daemon = await Daemon.start(
    { flags, env: {}, cwd: process.cwd() },
    { version: 'test', logger: logSink().logger, actions: { verifyPollMs: 100 } },
  )
  t.teardown(() => daemon.stop())

  // A few healthy evaluations first, so the timeline shows the error rate going from below the threshold to above it.
  const rate = () =>
    daemon.manager
      .groups()
      .flatMap(g => g.rules)
      .find(r => r.spec.name === 'HighErrorRate')
  const started = Date.now()
  await eventually(
    'healthy evaluations',
    async () => Date.now() - started > 6_000 && rate()?.state.health === 'ok',
    30_000,
  )
  checkout.setFault({ errorRatio: 0.5 })
  await eventually(
    'a verified rollback',
    async () => daemon.actions?.recentDecisions().find(d => d.kind === 'verified'),
    60_000,
  )
  await eventually(
    'HighErrorRate firing',
    async () => [...(rate()?.state.active.values() ?? [])].some(a => a.state === 'firing'),
    30_000,
  )
  await sleep(3_000) // a few values after the rollback, for the picture

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 30_000,
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.setDefaultTimeout(15_000)
  const problems: string[] = []
  page.on('console', m => void (m.type() === 'error' && problems.push(m.text())))
  page.on('pageerror', e => problems.push(String(e)))
  page.on('dialog', d => {
    problems.push(`a dialog opened: ${d.message()}`)
    void d.dismiss()
  })
  const res = await page.goto(`${daemon.address}/`, { waitUntil: 'load', timeout: 15_000 })
  t.equal(res?.status(), 200)
  t.equal(res?.headers()['content-security-policy']?.startsWith("default-src 'none'"), true, 'served with a CSP')

  const alerts = page.locator('#alerts')
  const firingRow = alerts.locator('tr', { hasText: 'HighErrorRate' })
  t.match(
    await firingRow.innerText(),
    /firing[\s\S]*HighErrorRate[\s\S]*Deployment shop\/checkout[\s\S]*alert > 0\.1/,
    'the firing alert, its workload and threshold',
  )
  const decisions = await page.locator('#decisions').innerText()
  t.match(decisions, /rolled back \(revision 2 → 1\)/, 'the rollback')
  t.match(decisions, /rollback verified/)
  t.match(decisions, /kubectl -n shop rollout history deployment\/checkout/)
  t.match(await page.locator('.banner').innerText(), /EXECUTE/)
  t.match(await page.locator('header').innerText(), /leader/)
  const workload = page.locator('article.workload', { hasText: 'Deployment shop/checkout' })
  t.equal(await workload.locator('svg.tl').count(), 1, 'a timeline for the trigger')
  t.ok((await workload.locator('svg.tl polyline.tl-line').count()) >= 1, 'with values')
  t.equal(await workload.locator('svg.tl line.tl-thr').count(), 1, 'and the threshold line')
  t.ok((await workload.locator('svg.tl rect.tl-absent').count()) >= 1, 'below the threshold before the fault')
  t.equal(await workload.locator('svg.tl text.tl-mark-label').textContent(), 'rollback', 'the rollback is marked')
  const model = (await (
    await fetch(`${daemon.address}/status.json`, { signal: AbortSignal.timeout(5_000) })
  ).json()) as StatusModel
  const timeline = model.workloads.find(w => w.ref.name === 'checkout')?.series[0]?.timeline
  const rollback = timeline?.markers.find(mk => mk.text === 'rollback')
  t.ok(
    rollback !== undefined && (timeline?.segments[0]?.[0]?.t ?? Infinity) <= rollback.t,
    'the values start before the rollback mark',
  )
  const escaped = await alerts.locator('tr', { hasText: 'LabelEscape' }).innerText()
  t.match(escaped, XSS, 'the <script> label value is text on the page')
  t.equal(await page.locator('script').count(), 0, 'and no script element')

  mkdirSync(OUTPUT, { recursive: true })
  await page.screenshot({ path: join(OUTPUT, 'status-page.png'), fullPage: true })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.screenshot({ path: join(OUTPUT, 'status-page-dark.png'), fullPage: true })
  t.same(problems, [], 'no console errors (CSP violations included), no dialogs')
})
