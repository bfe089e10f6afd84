#!/usr/bin/env node
// The outgoing HTTP layer, measured (issue 16): the silence check (GET /api/v2/silences, parsed) done N times by
// the axios path rollguard used before and by the shared node:http client (dist/actions/silences.js), each in its
// own process so the peak RSS is the client's. The Alertmanager stand-in runs in this process and serves a fixed
// list of silences. axios is no longer a dependency: pass --axios DIR with a directory where it is installed
// (`npm install --prefix DIR axios@1`); without it only the node:http client is measured.
//
//   npm run build && node bench/http-client.mjs [--requests 2000] [--silences 200] [--axios /tmp/axios-bench]
//
// Prints one JSON line per client (p50/p99 latency in ms, peak and after-load RSS in MiB) and writes the result
// file (--out).
//
// Options:
//   --requests N     silence checks per client and round (default 2000)
//   --silences N     silences in the stand-in's list (default 200)
//   --axios DIR      also measure axios, installed in DIR (default: only the node:http client)
//   --out FILE       the result file (default bench/results/http-client.json)
//   --child CLIENT, --url URL   internal: how this script runs itself as the measured child process
import { fork } from 'node:child_process'
import http from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { RESULTS, cliArgs, writeJson } from './lib/common.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: args, fail } = cliArgs(import.meta.url, {
  options: {
    requests: { type: 'string', default: '2000' },
    silences: { type: 'string', default: '200' },
    axios: { type: 'string' },
    out: { type: 'string', default: join(RESULTS, 'http-client.json') },
    child: { type: 'string' },
    url: { type: 'string' },
  },
})
if (!/^[1-9]\d*$/.test(args.requests)) fail(`--requests is a positive whole number, not ${args.requests}`)
if (!/^\d+$/.test(args.silences)) fail(`--silences is a whole number, not ${args.silences}`)

if (args.child !== undefined) await child(args.child, args.url, Number(args.requests))
else await parent()

async function parent() {
  const body = JSON.stringify(silences(Number(args.silences)))
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  const clients = args.axios === undefined ? ['node'] : ['axios', 'node']
  const results = []
  // Alternated, three rounds each, so a busy neighbour on the machine does not land on one client only.
  for (let round = 0; round < 3; round++) {
    for (const client of clients) {
      const result = await run(client, url)
      console.log(JSON.stringify({ round, ...result }))
      results.push({ round, ...result })
    }
  }
  server.close()
  const summary = clients.map(client => {
    const mine = results.filter(r => r.client === client)
    const median = key => mine.map(r => r[key]).sort((a, b) => a - b)[Math.floor(mine.length / 2)]
    return {
      client,
      p50Ms: median('p50Ms'),
      p99Ms: median('p99Ms'),
      loadedRssMiB: median('loadedRssMiB'),
      peakRssMiB: median('peakRssMiB'),
    }
  })
  console.log(JSON.stringify({ summary }))
  writeJson(args.out, {
    requests: Number(args.requests),
    silences: Number(args.silences),
    bodyBytes: body.length,
    node: process.version,
    results,
    summary,
  })
}

function run(client, url) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, AXIOS_DIR: args.axios ?? '' }
    const p = fork(fileURLToPath(import.meta.url), ['--child', client, '--url', url, '--requests', args.requests], {
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    p.once('message', resolve)
    p.once('error', reject)
    p.once('exit', code => code === 0 || reject(new Error(`${client} exited ${code}`)))
  })
}

async function child(client, url, requests) {
  const { parseSilences, AlertmanagerSilences } = await import(pathToFileURL(join(root, 'dist/actions/silences.js')))
  let once
  if (client === 'axios') {
    // The silence check as it was: one axios instance with keep-alive agents, the body as bytes, parsed the same way.
    const require = createRequire(join(process.env.AXIOS_DIR, 'package.json'))
    const axios = (await import(pathToFileURL(require.resolve('axios')))).default
    const instance = axios.create({
      httpAgent: new http.Agent({ keepAlive: true }),
      responseType: 'arraybuffer',
      transformResponse: [data => data],
      validateStatus: () => true,
      maxRedirects: 0,
    })
    once = async () => {
      const res = await instance.get(`${url}/api/v2/silences`, {
        headers: { Accept: 'application/json', 'User-Agent': 'rollguard' },
        signal: AbortSignal.timeout(10_000),
        maxContentLength: 8 * 1024 * 1024,
      })
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`)
      return parseSilences(res.data)
    }
  } else {
    // The silence check as it is: the shared client, a fresh answer every time (no cache).
    const checker = new AlertmanagerSilences({
      access: () => ({ urls: [url], timeoutMs: 10_000 }),
      externalLabels: () => ({}),
    })
    const alert = { name: 'X', labels: { alertname: 'X' }, fingerprint: '0', startsAt: 0 }
    once = async () => {
      const state = await checker.check(alert, { fresh: true, required: true })
      if (state?.state !== 'none') throw new Error(JSON.stringify(state))
    }
  }
  const loadedRssMiB = process.memoryUsage().rss / 2 ** 20
  for (let i = 0; i < 50; i++) await once() // warm-up
  const times = []
  for (let i = 0; i < requests; i++) {
    const started = performance.now()
    await once()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  const at = q => times[Math.min(times.length - 1, Math.floor(q * times.length))]
  process.send(
    {
      client,
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      loadedRssMiB: round(loadedRssMiB),
      peakRssMiB: round(process.resourceUsage().maxRSS / 1024),
    },
    () => process.exit(0),
  )
}

function round(x) {
  return Math.round(x * 100) / 100
}

/** silences are n expired and active silences shaped as Alertmanager 0.25 returns them; none matches alertname X. */
function silences(n) {
  const now = Date.now()
  return Array.from({ length: n }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    status: { state: i % 4 === 0 ? 'active' : 'expired' },
    updatedAt: new Date(now).toISOString(),
    comment: `maintenance window ${i}`,
    createdBy: 'bench',
    startsAt: new Date(now - 3_600_000).toISOString(),
    endsAt: new Date(i % 4 === 0 ? now + 3_600_000 : now - 60_000).toISOString(),
    matchers: [
      { name: 'alertname', value: `Other${i}`, isRegex: false, isEqual: true },
      { name: 'namespace', value: 'shop', isRegex: false, isEqual: true },
    ],
  }))
}
