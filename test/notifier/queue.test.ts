import t from 'tap'
import { AlertQueue } from '../../src/notifier/queue.js'

/** An alert as the rule engine hands it over: a new object at every resend, the same labels object (its identity). */
interface Item {
  readonly labels: { readonly id: number }
  readonly round: number
}

const keyOf = (item: Item): object => item.labels

/** rng is a small seeded generator (mulberry32), so a failing case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const int = (random: () => number, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1))

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}

interface Scenario {
  readonly alerts: number
  readonly capacity: number
  readonly batchSize: number
  readonly rounds: number
  /** hand-over order of each round (default: the same order every round, as the rule engine hands alerts over). */
  readonly order?: (round: number) => number[]
  /** pushes splits one round's hand-over into several pushes (several rule groups), with partial sends in between. */
  readonly pushes?: (round: number, items: Item[]) => Item[][]
  /** sendBetween is how many batches are sent between two pushes of a round (default none). */
  readonly sendBetween?: () => number
  /** record false: successful requests are not recorded, i.e. Prometheus's plain drop-the-oldest. */
  readonly record?: boolean
}

interface Outcome {
  /** deliveredIn[id] lists the rounds in which alert id was in a request. */
  readonly deliveredIn: number[][]
  readonly pushed: number
  readonly delivered: number
  readonly dropped: number
}

/** simulate hands every alert over each round, sends what the queue holds, and records who was delivered when. */
function simulate(s: Scenario): Outcome {
  const queue = new AlertQueue<Item>(s.capacity, keyOf)
  const labels = Array.from({ length: s.alerts }, (_, id) => ({ id }))
  const deliveredIn: number[][] = labels.map(() => [])
  let pushed = 0
  let delivered = 0
  let dropped = 0
  const send = (round: number, batches: number) => {
    for (let b = 0; b < batches && queue.length > 0; b++) {
      const batch = queue.take(s.batchSize)
      if (s.record !== false) queue.delivered(batch)
      for (const item of batch) deliveredIn[item.labels.id]?.push(round)
      delivered += batch.length
    }
  }
  for (let round = 0; round < s.rounds; round++) {
    const ids = s.order?.(round) ?? labels.map(l => l.id)
    const items = ids.map(id => ({ labels: labels[id] as Item['labels'], round }))
    const pushes = s.pushes?.(round, items) ?? [items]
    pushes.forEach((part, i) => {
      if (i > 0) send(round, s.sendBetween?.() ?? 0)
      pushed += part.length
      dropped += queue.push(part)
    })
    // The bound's premise: what is queued is sent before the next hand-over.
    send(round, Infinity)
  }
  return { deliveredIn, pushed, delivered, dropped }
}

/** longestWait is the largest number of consecutive rounds (from round 0) in which some alert was not delivered. */
function longestWait(outcome: Outcome, rounds: number): { rounds: number; alert: number } {
  let worst = { rounds: 0, alert: -1 }
  outcome.deliveredIn.forEach((got, alert) => {
    let last = -1
    for (const round of [...new Set(got), rounds]) {
      if (round - last - 1 > worst.rounds) worst = { rounds: round - last - 1, alert }
      last = round
    }
  })
  return worst
}

const bound = (alerts: number, capacity: number) => Math.ceil(alerts / capacity)

t.test('every alert is delivered at least once in every ceil(N / C) consecutive hand-overs', async t => {
  const cases = [
    { alerts: 20_000, capacity: 10_000, batchSize: 256 },
    { alerts: 25_000, capacity: 10_000, batchSize: 256 },
    { alerts: 10, capacity: 3, batchSize: 2 },
    { alerts: 100, capacity: 7, batchSize: 3 },
    { alerts: 64, capacity: 64, batchSize: 256 },
    { alerts: 5, capacity: 10, batchSize: 1 },
  ]
  for (const c of cases) {
    const k = bound(c.alerts, c.capacity)
    const rounds = 3 * k + 2
    const outcome = simulate({ ...c, rounds })
    const wait = longestWait(outcome, rounds)
    // A wait of w rounds without delivery means a delivery in every w + 1 consecutive rounds.
    t.ok(
      wait.rounds + 1 <= k,
      `N=${c.alerts} C=${c.capacity}: longest wait ${wait.rounds} round(s), bound ${k} hand-overs`,
    )
    t.equal(
      new Set(outcome.deliveredIn.flatMap((r, id) => (r.some(round => round < k) ? [id] : []))).size,
      c.alerts,
      `N=${c.alerts} C=${c.capacity}: every alert delivered within the first ${k} hand-overs`,
    )
    t.equal(
      outcome.pushed,
      outcome.delivered + outcome.dropped,
      'every alert handed over is either sent or counted as dropped',
    )
    t.equal(outcome.delivered, rounds * Math.min(c.alerts, c.capacity), 'the queue is used to its capacity')
  }
})

t.test('the bound is reached: N = 2C + 1 leaves some alert waiting two hand-overs', async t => {
  const outcome = simulate({ alerts: 21, capacity: 10, batchSize: 4, rounds: 12 })
  t.equal(longestWait(outcome, 12).rounds + 1, bound(21, 10))
})

t.test('the bound holds for any hand-over order, several pushes per round and sends in between', async t => {
  const random = rng(20260817)
  for (let trial = 0; trial < 300; trial++) {
    const alerts = int(random, 1, 400)
    const capacity = int(random, 1, alerts + 5)
    const batchSize = int(random, 1, capacity + 3)
    const k = bound(alerts, capacity)
    const rounds = 2 * k + 3
    const ids = Array.from({ length: alerts }, (_, i) => i)
    const outcome = simulate({
      alerts,
      capacity,
      batchSize,
      rounds,
      order: () => shuffle([...ids], random),
      pushes: (_round, items) => {
        const parts: Item[][] = []
        for (let i = 0; i < items.length;) {
          const n = int(random, 1, Math.max(1, Math.ceil(items.length / 2)))
          parts.push(items.slice(i, i + n))
          i += n
        }
        return parts
      },
      sendBetween: () => int(random, 0, 2),
    })
    const wait = longestWait(outcome, rounds)
    if (wait.rounds + 1 > k) {
      t.fail(
        `trial ${trial}: N=${alerts} C=${capacity} batch=${batchSize}: alert ${wait.alert} waited ${wait.rounds} rounds, bound ${k}`,
      )
      return
    }
    if (outcome.pushed !== outcome.delivered + outcome.dropped) {
      t.fail(`trial ${trial}: ${outcome.pushed} handed over, ${outcome.delivered} sent, ${outcome.dropped} dropped`)
      return
    }
  }
  t.pass('300 random scenarios within the bound')
})

t.test('without delivery records (drop the oldest, as Prometheus) the same alerts lose every time', async t => {
  const outcome = simulate({ alerts: 20, capacity: 10, batchSize: 4, rounds: 6, record: false })
  const never = outcome.deliveredIn.flatMap((r, id) => (r.length === 0 ? [id] : []))
  t.same(never, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the first half of every hand-over is never sent')
})

t.test('overflow: ties drop the oldest, newer copies replace older ones, failed requests keep their place', async t => {
  const ids = Array.from({ length: 8 }, (_, id) => ({ id }))
  const item = (id: number, round = 0): Item => ({ labels: ids[id] as Item['labels'], round })
  const names = (items: Item[]) => items.map(i => `${i.labels.id}@${i.round}`)

  const q = new AlertQueue<Item>(3, keyOf)
  t.equal(q.push([item(0), item(1)]), 0)
  t.equal(q.push([item(2), item(3)]), 1, 'nothing delivered yet: the oldest goes')
  t.same(names(q.take(10)), ['1@0', '2@0', '3@0'])

  q.delivered([item(1), item(2)])
  t.equal(q.push([item(1, 1), item(2, 1), item(3, 1), item(4, 1)]), 1)
  t.same(
    names(q.take(10)),
    ['2@1', '3@1', '4@1'],
    'of the two delivered alike, the older copy goes; never-delivered 3 and 4 stay',
  )

  t.equal(q.push([item(5, 2), item(6, 2), item(5, 3), item(7, 3)]), 1)
  t.same(names(q.take(10)), ['6@2', '5@3', '7@3'], 'an alert queued twice keeps its newest copy')

  // A failed request is not recorded: those alerts rank as never delivered.
  q.delivered([item(6), item(7)])
  t.equal(q.push([item(6, 4), item(7, 4), item(0, 4), item(5, 4)]), 1)
  t.same(names(q.take(10)), ['7@4', '0@4', '5@4'], 'alert 5 (request failed) and 0 (never) outrank 6 and 7 (delivered)')
})

t.test('take keeps queue order across compactions; clear and capacity checks', async t => {
  const q = new AlertQueue<Item>(10_000, keyOf)
  const items = Array.from({ length: 10_000 }, (_, id) => ({ labels: { id }, round: 0 }))
  q.push(items.slice(0, 6_000))
  const taken: number[] = []
  for (let i = 0; i < 20; i++) taken.push(...q.take(256).map(x => x.labels.id))
  q.push(items.slice(6_000))
  while (q.length > 0) taken.push(...q.take(256).map(x => x.labels.id))
  t.same(
    taken,
    items.map(x => x.labels.id),
    'first in, first out',
  )
  t.same(q.take(5), [])

  q.push(items.slice(0, 3))
  t.equal(q.clear(), 3)
  t.equal(q.length, 0)
  t.throws(() => new AlertQueue<Item>(0, keyOf), /positive integer/)
})
