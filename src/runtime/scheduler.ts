import { advanceSlot, evalTimestamp, groupOffset } from '../engine/slots.js'

/** SlotTask runs one iteration at a slot; `missed` slots were skipped before it. It must not throw. */
export type SlotTask = (slot: number, missed: number) => Promise<void>

/** Scheduler runs a task on aligned slots (k·interval + stable offset), never overlapping, counting skipped slots. */
export class Scheduler {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false

  constructor(
    private readonly key: { file: string; name: string },
    private readonly intervalMs: number,
    private readonly task: SlotTask,
    private readonly now: () => number = Date.now,
  ) {}

  /** start schedules the first iteration at the next slot, as Prometheus does, and returns that slot. */
  start(): number {
    const offset = groupOffset(this.key.file, this.key.name, this.intervalMs)
    const first = evalTimestamp(this.now(), this.intervalMs, offset) + this.intervalMs
    this.#schedule(first, 0)
    return first
  }

  /** stop cancels the next iteration and waits for a running one. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule(slot: number, missed: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => this.#run(slot, missed), Math.max(0, slot - this.now()))
  }

  #run(slot: number, missed: number): void {
    this.#running = this.task(slot, missed).then(() => {
      const next = advanceSlot(slot, this.now(), this.intervalMs)
      this.#schedule(next.next, next.missed)
    })
  }
}
