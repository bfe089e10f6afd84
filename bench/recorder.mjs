#!/usr/bin/env node
// A stand-in for Alertmanager's POST /api/v2/alerts that records when alerts arrive, with one path prefix per
// engine: POST /<engine>/api/v2/alerts (e.g. /prom, /vmalert, /rollguard). An alert counts as resolved when its
// endsAt is not after the arrival instant (Alertmanager's own rule), otherwise as firing.
//   GET    /events?engine=rollguard&since=<unix ms>   every recorded arrival (bounded ring of the latest 200,000)
//   GET    /summary                                   per engine: requests, alerts, firing, resolved
//   DELETE /events                                    forget everything
// Loopback only. Run standalone: node bench/recorder.mjs --port 9093
//
// Options:
//   --port N   the loopback port to listen on (default 0: a free one; the URL is printed as JSON)
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { cliArgs, failure, isPort } from './lib/common.mjs'

const MAX_EVENTS = 200_000
const MAX_BODY = 64 * 1024 * 1024

/** classify decides firing/resolved the way Alertmanager does: endsAt set and not in the future = resolved. */
export function classify(alert, arrivedAt) {
  const ends = typeof alert.endsAt === 'string' ? Date.parse(alert.endsAt) : Number.NaN
  // Go's zero time (0001-01-01) and absent endsAt both mean "no end": firing.
  return Number.isFinite(ends) && ends > 0 && ends <= arrivedAt ? 'resolved' : 'firing'
}

/** createRecorder keeps arrivals in memory; record() is what the HTTP handler calls. */
export function createRecorder() {
  let events = []
  const summary = new Map()
  const stats = engine => {
    let s = summary.get(engine)
    if (s === undefined) {
      s = { requests: 0, alerts: 0, firing: 0, resolved: 0, badRequests: 0 }
      summary.set(engine, s)
    }
    return s
  }
  return {
    record(engine, alerts, arrivedAt) {
      const s = stats(engine)
      s.requests++
      for (const a of alerts) {
        const labels =
          a !== null && typeof a === 'object' && typeof a.labels === 'object' && a.labels !== null ? a.labels : {}
        const state = classify(a, arrivedAt)
        s.alerts++
        s[state]++
        events.push({
          engine,
          at: arrivedAt,
          state,
          alertname: labels.alertname ?? '',
          namespace: labels.namespace ?? '',
          deployment: labels.deployment ?? '',
          startsAt: a.startsAt ?? '',
          endsAt: a.endsAt ?? '',
        })
      }
      if (events.length > MAX_EVENTS) events = events.slice(events.length - MAX_EVENTS)
    },
    bad(engine) {
      stats(engine).badRequests++
    },
    events(engine, since = 0) {
      return events.filter(e => (engine === undefined || e.engine === engine) && e.at >= since)
    },
    summary() {
      return Object.fromEntries(summary)
    },
    clear() {
      events = []
      summary.clear()
    },
  }
}

/** startRecorder serves a recorder on 127.0.0.1:port (0 = any free port). */
export async function startRecorder({ port = 0 } = {}) {
  const rec = createRecorder()
  const server = createServer((req, res) => {
    const arrivedAt = Date.now()
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const m = /^\/([A-Za-z0-9_-]+)\/api\/v[12]\/alerts$/.exec(url.pathname)
    if (m !== null && req.method === 'POST') {
      const engine = m[1]
      const chunks = []
      let size = 0
      req.on('data', c => {
        size += c.length
        if (size > MAX_BODY) req.destroy()
        else chunks.push(c)
      })
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          if (!Array.isArray(body)) throw new Error('body must be an array of alerts')
          rec.record(engine, body, arrivedAt)
          res.writeHead(200).end()
        } catch (err) {
          rec.bad(engine)
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message }))
        }
      })
      return
    }
    const json = (status, body) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (url.pathname === '/events' && req.method === 'GET') {
      json(200, rec.events(url.searchParams.get('engine') ?? undefined, Number(url.searchParams.get('since') ?? 0)))
    } else if (url.pathname === '/events' && req.method === 'DELETE') {
      rec.clear()
      json(200, {})
    } else if (url.pathname === '/summary' && req.method === 'GET') {
      json(200, rec.summary())
    } else if (url.pathname === '/-/ready' || url.pathname === '/-/healthy') {
      json(200, { status: 'ok' })
    } else {
      json(404, { error: 'not found' })
    }
  })
  server.keepAliveTimeout = 60_000
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port }, resolve)
  })
  const actual = server.address().port
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    recorder: rec,
    stop: () =>
      new Promise(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function main() {
  const { values, fail } = cliArgs(import.meta.url, { options: { port: { type: 'string', default: '0' } } })
  if (!isPort(values.port)) fail(`--port is a port number (0 for a free one), not ${values.port}`)
  const srv = await startRecorder({ port: Number(values.port) })
  process.stdout.write(`${JSON.stringify({ url: srv.url, port: srv.port })}\n`)
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void srv.stop().then(() => process.exit(0)))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch(err => {
    process.stderr.write(`bench/recorder.mjs: ${failure(err)}\n`)
    process.exit(1)
  })
}
