// The README's demo end to end (the built dist/demo/main.js, as `npm run demo` runs it): a bad deploy in the
// simulated cluster, HighErrorRate pending → firing, exactly one automatic rollback, verified, resolved.
// Bounded by the demo's own 4-minute limit and this test's timeout.
import { execFile } from 'node:child_process'
import t from 'tap'
import { findBinary } from '../../src/demo/stack.js'
import { ensureBuilt, ROOT } from '../fixtures/build.js'

function hasBinaries(): boolean {
  try {
    findBinary(['prometheus'])
    findBinary(['prometheus-alertmanager', 'alertmanager'])
    return true
  } catch {
    return false
  }
}

t.test('npm run demo: bad deploy → firing → automatic rollback in the simulated cluster → resolved', async t => {
  if (!hasBinaries()) {
    t.plan(0, 'skipped: prometheus/alertmanager are not installed (npm run deps:system)')
    return
  }
  const failure = await ensureBuilt()
  t.equal(failure, '', 'dist/ and the simulated cluster are built')
  if (failure !== '') return
  const run = await new Promise<{ code: number | null; out: string }>(resolve => {
    execFile(
      process.execPath,
      ['dist/demo/main.js'],
      { cwd: ROOT, timeout: 270_000, killSignal: 'SIGTERM', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), out: `${stdout}${stderr}` }),
    )
  })
  t.equal(run.code, 0, 'the demo exits 0')
  if (run.code !== 0) t.comment(run.out.slice(-4000))
  const story = [
    /revision 1 \(shop\/checkout:1\.4\.2\) rolled out/,
    /Deploying revision 2/,
    /pods now run shop\/checkout:1\.5\.0/,
    /HighErrorRate is PENDING/,
    /HighErrorRate is FIRING/,
    /rolled back from revision 2 to revision 1's template \(shop\/checkout:1\.4\.2\), stored as revision 3/,
    /Event Normal RolledBack on Deployment\/checkout/,
    /Event Normal RollbackVerified on Deployment\/checkout/,
    /Alertmanager has RollbackExecuted/,
    /HighErrorRate is RESOLVED/,
    /Demo complete/,
  ]
  let from = 0
  for (const step of story) {
    const at = run.out.slice(from).search(step)
    t.ok(at >= 0, `in order: ${step.source}`)
    if (at >= 0) from += at
  }
  t.equal(run.out.match(/Event Normal RolledBack/g)?.length ?? 0, 1, 'exactly one rollback')
  t.equal(run.out.match(/SIMULATED Kubernetes cluster/g)?.length ?? 0, 1, 'the cluster is labelled simulated')
})
