// The pure core (src/engine; the actions policy, trigger mapping, workload facts, record codec, correlation, backoff and label matchers) must be fully covered: it is cheap to
// test with explicit times, and every branch there decides what alerts fire. tap's global thresholds cover
// the rest of the tree; this checks the core from tap's istanbul summary (.tap/report/coverage-summary.json).
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

const CORE = [
  /^src\/engine\//,
  /^src\/actions\/(policy|selector|cron|policy-config|trigger|facts|matchers|record|correlation|backoff|workload-ref)\.ts$/,
]
const summary = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8'))
const gaps = []
for (const [file, metrics] of Object.entries(summary)) {
  if (file === 'total') continue
  const rel = relative(process.cwd(), file)
  if (!CORE.some(re => re.test(rel))) continue
  for (const kind of ['lines', 'branches', 'functions', 'statements']) {
    const pct = metrics[kind].pct
    if (pct !== 100 && metrics[kind].total > 0) gaps.push(`${rel}: ${kind} ${pct}%`)
  }
}
if (gaps.length > 0) {
  console.log(`pure core coverage below 100%:\n  ${gaps.join('\n  ')}`)
  process.exit(1)
}
console.log('pure core coverage: 100%')
