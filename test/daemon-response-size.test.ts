// The daemon (dist/main.js as a process) against a stand-in Prometheus that answers 50 MB: with a Content-Length,
// chunked, and as a gzip bomb. The rule is err with the limit and the setting to raise it; /-/healthy answers all
// along; the process's memory comes back to within 50 MB of where it was; the answers are read no further than
// the limit (plus the socket buffers).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { eventually, getJson, sleep, tempDir } from './fixtures/e2e.js'
import { gzipBomb, MiB, serve, stream, type Streamed } from './fixtures/big-answers.js'
import { startRollguardProcess } from './fixtures/rollguard-process.js'

const LIMIT = 32 * MiB
const TOO_LARGE =
  'query failed: too_large: response exceeds 33554432 bytes (32 MiB); raise prometheus.max_response_bytes to accept larger answers'
const EMPTY = Buffer.from('{"status":"success","data":{"resultType":"vector","result":[]}}')

type Mode = 'small' | 'length' | 'chunked' | 'gzip'

interface RulesAnswer {
  data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> }
}

/** rssBytes is the resident memory of pid (Linux: /proc). */
function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) * 1024
}

/** HealthWatch polls url every 50 ms, each request bounded by timeoutMs, until stopped. */
function watchHealth(
  url: string,
  timeoutMs: number,
): { stop(): Promise<{ requests: number; failures: string[]; slowestMs: number }> } {
  let running = true
  const failures: string[] = []
  let requests = 0
  let slowestMs = 0
  const loop = (async () => {
    while (running) {
      const started = performance.now()
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
        await res.arrayBuffer()
        if (res.status !== 200) failures.push(`HTTP ${res.status}`)
      } catch (err) {
        failures.push((err as Error).message)
      }
      requests++
      slowestMs = Math.max(slowestMs, performance.now() - started)
      await sleep(50)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return { requests, failures, slowestMs }
    },
  }
}

t.test('50 MB answers: the rule is err with the limit, /-/healthy answers throughout, memory comes back', async t => {
  let mode: Mode = 'small'
  const sent: Array<Promise<Streamed>> = []
  const bomb = gzipBomb(50 * MiB)
  const prometheus = await serve(t, (req, res) => {
    req.resume()
    req.on('end', () => {
      if (mode === 'small' || req.url !== '/api/v1/query')
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(EMPTY)
      else if (mode === 'gzip')
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(bomb)
      else if (mode === 'length')
        sent.push(
          stream(res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 50 * MiB }), 50 * MiB),
        )
      else sent.push(stream(res.writeHead(200, { 'Content-Type': 'application/json' }), 50 * MiB))
    })
  })
  const dir = tempDir(t)
  const rules = join(dir, 'rules.yml')
  writeFileSync(
    rules,
    stringify({ groups: [{ name: 'careless', rules: [{ alert: 'Everything', expr: '{__name__=~".+"}' }] }] }),
  )
  const rollguard = await startRollguardProcess(t, {
    args: [
      '--rules',
      rules,
      '--prometheus-url',
      prometheus.url,
      '--eval-interval',
      '1s',
      '--restore-window',
      '0s',
      '--no-data-check-interval',
      '0s',
    ],
  })
  const rule = async () => (await getJson<RulesAnswer>(`${rollguard.url}/api/v1/rules`)).data.groups[0]?.rules[0]

  await eventually('a first healthy evaluation', async () => (await rule())?.health === 'ok', 20_000)
  await sleep(3_000)
  const baseline = rssBytes(rollguard.pid)
  let peak = baseline
  const health = watchHealth(`${rollguard.url}/-/healthy`, 2_000)
  for (const next of ['length', 'chunked', 'gzip'] as const) {
    mode = next
    const failed = await eventually(
      `the rule failing on a 50 MB answer (${next})`,
      async () => {
        peak = Math.max(peak, rssBytes(rollguard.pid))
        const r = await rule()
        return r?.health === 'err' && r.lastError === TOO_LARGE ? r : undefined
      },
      30_000,
      100,
    )
    t.equal(failed.lastError, TOO_LARGE, `${next}: lastError names the limit and the setting`)
    // A few more evaluations of the same answer: memory must not pile up.
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, rssBytes(rollguard.pid))
      await sleep(150)
    }
  }
  mode = 'small'
  await eventually('the rule healthy again', async () => (await rule())?.health === 'ok', 20_000)
  const { requests, failures, slowestMs } = await health.stop()
  t.same(
    failures,
    [],
    `/-/healthy answered all ${requests} requests while the big answers streamed (slowest ${slowestMs.toFixed(0)} ms)`,
  )

  let rss = rssBytes(rollguard.pid)
  const settled = await eventually(
    'memory back within 50 MB of the baseline',
    async () => {
      rss = rssBytes(rollguard.pid)
      return rss < baseline + 50 * MiB ? rss : undefined
    },
    // V8 gives memory back in its idle-time collections, seconds apart: on a loaded machine 10s was not always enough.
    30_000,
    250,
  ).catch(() => undefined)
  t.ok(
    settled !== undefined,
    `RSS ${(rss / MiB).toFixed(0)} MiB after, baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB`,
  )

  for (const streamed of await Promise.all(sent)) {
    t.ok(
      streamed.closedEarly && streamed.written < LIMIT + 16 * MiB,
      `the stand-in stopped after ${(streamed.written / MiB).toFixed(1)} MiB of 50`,
    )
  }
})
