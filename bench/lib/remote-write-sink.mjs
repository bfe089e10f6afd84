// A loopback Prometheus remote-write receiver (POST /api/v1/write: snappy-compressed protobuf WriteRequest) that
// keeps nothing but counts: requests, series, samples, and the timestamps of ALERTS{alertstate="firing"} and
// {alertstate="pending"} per alert (alertname, namespace, deployment) — vmalert's replay writes its results there,
// and the backtest benchmark reads its intervals from them. No dependencies: snappy's block format and the few protobuf
// fields a WriteRequest needs are decoded here.
import { createServer } from 'node:http'

/** snappyDecode decompresses one snappy block (the raw format remote write uses, not the framed one). */
export function snappyDecode(src) {
  let pos = 0
  let length = 0
  for (let shift = 0; ; shift += 7) {
    const b = src[pos++]
    if (b === undefined) throw new Error('snappy: truncated length')
    length += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  const dst = Buffer.allocUnsafe(length)
  let d = 0
  while (pos < src.length) {
    const tag = src[pos++]
    const type = tag & 3
    if (type === 0) {
      let len = tag >>> 2
      if (len >= 60) {
        const bytes = len - 59
        len = 0
        for (let i = 0; i < bytes; i++) len += src[pos++] * 2 ** (8 * i)
      }
      len += 1
      if (pos + len > src.length || d + len > length) throw new Error('snappy: literal out of range')
      src.copy(dst, d, pos, pos + len)
      pos += len
      d += len
      continue
    }
    let len
    let offset
    if (type === 1) {
      len = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | src[pos++]
    } else if (type === 2) {
      len = (tag >>> 2) + 1
      offset = src[pos] | (src[pos + 1] << 8)
      pos += 2
    } else {
      len = (tag >>> 2) + 1
      offset = src.readUInt32LE(pos)
      pos += 4
    }
    if (offset === 0 || offset > d || d + len > length) throw new Error('snappy: copy out of range')
    // Byte by byte: a copy may overlap its own output (runs).
    for (let i = 0; i < len; i++, d++) dst[d] = dst[d - offset]
  }
  if (d !== length) throw new Error(`snappy: ${d} bytes decoded, ${length} announced`)
  return dst
}

/** A minimal protobuf reader: varints, length-delimited fields, skipping the rest. */
class Reader {
  constructor(buf, start = 0, end = buf.length) {
    this.buf = buf
    this.pos = start
    this.end = end
  }
  more() {
    return this.pos < this.end
  }
  varint() {
    let v = 0
    for (let shift = 0; ; shift += 7) {
      const b = this.buf[this.pos++]
      if (b === undefined || shift > 63) throw new Error('protobuf: bad varint')
      v += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return v
    }
  }
  /** tag returns [field, wireType]. */
  tag() {
    const t = this.varint()
    return [Math.floor(t / 8), t & 7]
  }
  bytes() {
    const len = this.varint()
    const start = this.pos
    this.pos += len
    if (this.pos > this.end) throw new Error('protobuf: field out of range')
    return [start, this.pos]
  }
  skip(wire) {
    if (wire === 0) this.varint()
    else if (wire === 1) this.pos += 8
    else if (wire === 2) this.bytes()
    else if (wire === 5) this.pos += 4
    else throw new Error(`protobuf: wire type ${wire}`)
  }
}

/** decodeWriteRequest calls onSeries(labels, samples) for every TimeSeries of a WriteRequest; samples are [ms, value]. */
export function decodeWriteRequest(buf, onSeries) {
  const top = new Reader(buf)
  while (top.more()) {
    const [field, wire] = top.tag()
    if (field !== 1 || wire !== 2) {
      top.skip(wire)
      continue
    }
    const [s, e] = top.bytes()
    const ts = new Reader(buf, s, e)
    const labels = {}
    const samples = []
    while (ts.more()) {
      const [f, w] = ts.tag()
      if (f === 1 && w === 2) {
        const [ls, le] = ts.bytes()
        const l = new Reader(buf, ls, le)
        let name = ''
        let value = ''
        while (l.more()) {
          const [lf, lw] = l.tag()
          if (lw !== 2) {
            l.skip(lw)
            continue
          }
          const [a, b] = l.bytes()
          if (lf === 1) name = buf.toString('utf8', a, b)
          else if (lf === 2) value = buf.toString('utf8', a, b)
        }
        labels[name] = value
      } else if (f === 2 && w === 2) {
        const [ss, se] = ts.bytes()
        const r = new Reader(buf, ss, se)
        let value = 0
        let t = 0
        while (r.more()) {
          const [sf, sw] = r.tag()
          if (sf === 1 && sw === 1) {
            value = buf.readDoubleLE(r.pos)
            r.pos += 8
          } else if (sf === 2 && sw === 0) {
            t = r.varint()
            // int64 in two's complement: timestamps before 1970 never occur here.
          } else r.skip(sw)
        }
        samples.push([t, value])
      } else ts.skip(w)
    }
    onSeries(labels, samples)
  }
}

/** startRemoteWriteSink listens on 127.0.0.1 (a free port) and counts what it receives. */
export async function startRemoteWriteSink() {
  const stats = { requests: 0, series: 0, samples: 0, bytes: 0, errors: 0 }
  /** firing, pending: "alertname\tnamespace\tdeployment" → timestamps (ms) of ALERTS{alertstate=…}. */
  const firing = new Map()
  const pending = new Map()
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      try {
        if (req.method !== 'POST' || !req.url.startsWith('/api/v1/write')) {
          res.writeHead(404).end()
          return
        }
        const body = Buffer.concat(chunks)
        stats.requests++
        stats.bytes += body.length
        decodeWriteRequest(snappyDecode(body), (labels, samples) => {
          stats.series++
          stats.samples += samples.length
          const byState =
            labels.__name__ !== 'ALERTS'
              ? undefined
              : labels.alertstate === 'firing'
                ? firing
                : labels.alertstate === 'pending'
                  ? pending
                  : undefined
          if (byState !== undefined) {
            const key = `${labels.alertname}\t${labels.namespace ?? ''}\t${labels.deployment ?? ''}`
            let list = byState.get(key)
            if (list === undefined) byState.set(key, (list = []))
            for (const [t] of samples) list.push(t)
          }
        })
        res.writeHead(204).end()
      } catch (err) {
        stats.errors++
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err?.message ?? err))
      }
    })
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, resolve)
  })
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    stats,
    firing,
    pending,
    reset() {
      for (const k of Object.keys(stats)) stats[k] = 0
      firing.clear()
      pending.clear()
    },
    stop: () =>
      new Promise(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
