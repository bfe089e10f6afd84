#!/usr/bin/env node
// Summarizes V8 CPU profiles (node --cpu-prof, e.g. from `node bench/scale.mjs --profile DIR`): self time by
// package/area and by function, and inclusive time of rollguard's own functions.
//   node bench/profile-summary.mjs DIR-or-FILE... [--top 25] [--json]
//
// Options:
//   --top N    rows per table (default 25)
//   --json     one JSON line per profile instead of the tables
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { cliArgs, oneLine } from './lib/common.mjs'

const { values, positionals, fail } = cliArgs(import.meta.url, {
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } },
})
const TOP = Number(values.top)
if (!/^[1-9]\d*$/.test(values.top)) fail(`--top is a positive whole number, not ${values.top}`)

/** files lists the profiles named: files as given, directories searched for *.cpuprofile. */
function files(paths) {
  const out = []
  for (const p of paths) {
    if (!existsSync(p)) fail(`no such file or directory: ${p}`)
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p, { recursive: true }))
        if (String(f).endsWith('.cpuprofile')) out.push(join(p, String(f)))
    } else out.push(p)
  }
  return out
}

/** area classifies a script URL: an npm package, rollguard's own code, Node internals, or V8 (GC, idle...). */
export function area(url, functionName) {
  if (url === '')
    return functionName === '(garbage collector)'
      ? '(gc)'
      : functionName === '(idle)'
        ? '(idle)'
        : functionName.startsWith('(')
          ? functionName
          : '(native)'
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (nm !== null) return nm[1]
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]
  const dist = /\/dist\/(.+)$/.exec(url)
  if (dist !== null) return `rollguard:${dist[1].split('/').slice(0, -1).join('/') || '.'}`
  return url
}

export function summarize(profile) {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map()
  const dt = profile.timeDeltas ?? []
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)))
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0)
  const byArea = new Map()
  const byFn = new Map()
  const inclusive = new Map()
  for (const [id, us] of self) {
    const n = byId.get(id)
    const cf = n.callFrame
    const a = area(cf.url, cf.functionName)
    byArea.set(a, (byArea.get(a) ?? 0) + us)
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${cf.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    // Inclusive time of rollguard's own functions: walk up once per distinct frame.
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame
      if (!/\/dist\//.test(f.url)) continue
      const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, 'dist/')}:${f.lineNumber + 1}`
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + us)
    }
  }
  const sorted = m => [...m].sort((a, b) => b[1] - a[1])
  const busyUs = totalUs - (byArea.get('(idle)') ?? 0)
  return { totalUs, busyUs, byArea: sorted(byArea), byFn: sorted(byFn), inclusive: sorted(inclusive) }
}

function pct(us, total) {
  return `${((100 * us) / total).toFixed(1).padStart(5)} %`
}

/** readProfile parses one profile, or fails naming the file. */
function readProfile(file) {
  let profile
  try {
    profile = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    fail(`${file} is not a readable JSON file (${oneLine(err.message)})`)
  }
  if (!Array.isArray(profile?.nodes) || !Array.isArray(profile?.samples))
    fail(`${file} is not a V8 CPU profile (no nodes and samples); write one with node --cpu-prof`)
  return profile
}

if (positionals.length === 0) fail('name at least one profile file or directory of them')
const profiles = files(positionals)
if (profiles.length === 0) fail(`no .cpuprofile files in ${positionals.join(', ')}`)
for (const f of profiles) {
  const s = summarize(readProfile(f))
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ file: f, ...s, byFn: s.byFn.slice(0, TOP), inclusive: s.inclusive.slice(0, TOP) })}\n`,
    )
    continue
  }
  const out = [
    `== ${f}`,
    `sampled ${(s.totalUs / 1e6).toFixed(1)} s, busy (not idle) ${(s.busyUs / 1e6).toFixed(1)} s`,
    '',
    'self time by area (share of busy time):',
  ]
  for (const [a, us] of s.byArea.filter(([a]) => a !== '(idle)').slice(0, TOP)) out.push(`  ${pct(us, s.busyUs)}  ${a}`)
  out.push('', 'self time by function:')
  for (const [k, us] of s.byFn.filter(([k]) => !k.startsWith('(idle)')).slice(0, TOP))
    out.push(`  ${pct(us, s.busyUs)}  ${k}`)
  out.push('', "inclusive time of rollguard's functions:")
  for (const [k, us] of s.inclusive.slice(0, TOP)) out.push(`  ${pct(us, s.busyUs)}  ${k}`)
  process.stdout.write(`${out.join('\n')}\n\n`)
}
