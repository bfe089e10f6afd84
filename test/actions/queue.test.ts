import t from 'tap'
import { WorkloadQueue, type Job } from '../../src/actions/queue.js'
import type { RollbackRequest } from '../../src/actions/trigger.js'

const request = (name: string, alert: string): RollbackRequest => ({
  ref: { kind: 'Deployment', namespace: 'shop', name },
  alert: { name: alert, labels: {}, fingerprint: `${alert}/${name}`, startsAt: 0 },
})

function gatedQueue() {
  const started: Job[] = []
  const release = new Map<Job, () => void>()
  const queue = new WorkloadQueue(job => {
    started.push(job)
    return new Promise<void>(resolve => release.set(job, resolve))
  })
  const finish = async (job: Job | undefined) => {
    release.get(job as Job)?.()
    await new Promise(r => setImmediate(r))
  }
  return { queue, started, finish }
}

t.test('one job per workload; later requests wait as one queued job; other workloads run at once', async t => {
  const { queue, started, finish } = gatedQueue()
  t.equal(queue.submit(request('a', 'X')), 'started')
  t.equal(queue.submit(request('a', 'X')), 'duplicate', 'the same alert again')
  t.equal(queue.submit(request('a', 'Y')), 'queued')
  t.equal(queue.submit(request('a', 'Z')), 'coalesced')
  t.equal(queue.submit(request('a', 'Z')), 'duplicate')
  t.equal(queue.submit(request('b', 'X')), 'started')
  t.equal(started.length, 2)
  await finish(started[0])
  t.equal(started.length, 3, 'the queued job starts when the running one ends')
  t.same([...(started[2]?.alerts ?? [])], ['Y/a', 'Z/a'])
  await finish(started[1])
  await finish(started[2])
  await queue.idle()
  t.equal(queue.submit(request('a', 'X')), 'started', 'the slot was freed')
})

t.test('resolve: drops a queued job nobody wants; cancels a running one that has not sent its patch', async t => {
  const { queue, started, finish } = gatedQueue()
  queue.submit(request('a', 'X'))
  queue.submit(request('a', 'Y'))
  queue.submit(request('a', 'Z'))
  t.equal(queue.resolve(request('a', 'Y')), undefined, 'Z still wants the queued job')
  const dropped = queue.resolve(request('a', 'Z'))
  t.match(dropped, { cancelled: false }, 'the dropped queued job is returned')
  t.equal(queue.resolve(request('b', 'X')), undefined, 'nothing for that workload')
  const running = started[0] as Job
  running.sent = true
  t.equal(queue.resolve(request('a', 'X')), undefined, 'a sent patch is not cancelled')
  t.equal(queue.submit(request('a', 'X')), 'queued', 'the alert fires again')
  await finish(running)
  const again = started[1] as Job
  t.equal(queue.resolve(request('a', 'X')), again)
  t.equal(again.cancelled, true)
  t.equal(queue.submit(request('a', 'X')), 'queued', 'a cancelled job does not swallow a new firing')
  t.equal(queue.clear().length, 1)
  await finish(again)
  await queue.idle()
})

t.test('a failing job frees its slot', async t => {
  const queue = new WorkloadQueue(async () => {
    throw new Error('bug')
  })
  queue.submit(request('a', 'X'))
  await queue.idle()
  t.equal(queue.submit(request('a', 'X')), 'started')
  await queue.idle()
})
