/**
 * NumberedStream: streams numbered records (values "0", "1", ...) to one partition through a
 * `@tributary/client` Producer, keeping up to `window` send() calls in flight. send() calls
 * are issued in number order, so the producer appends (and, when idempotent, sequences) the
 * records in number order too: the log must hold them in that order.
 *
 * It records, per number, the offset send() resolved to, and every failed send's numbers and
 * error; checkNumberedLog() then compares a read of the partition with what was acknowledged.
 */
import type { Producer } from '@tributary/client'
import { waitFor, WAIT_TIMEOUT_MS } from './controller-cluster.ts'

export interface NumberedStreamOptions {
  /** Records per send() call. */
  readonly recordsPerSend?: number
  /** send() calls awaiting their answer at once. */
  readonly window?: number
}

export interface FailedNumbers {
  readonly from: number
  readonly count: number
  readonly error: string
}

export class NumberedStream {
  /** number -> acknowledged offset. */
  readonly acked = new Map<number, bigint>()
  readonly failed: FailedNumbers[] = []
  /** Numbers handed to send() so far. */
  sent = 0
  private stopping = false
  private loop: Promise<void> | null = null
  private readonly recordsPerSend: number
  private readonly window: number
  private readonly producer: Producer
  readonly topic: string
  readonly partition: number

  constructor(producer: Producer, topic: string, partition: number, options: NumberedStreamOptions = {}) {
    this.producer = producer
    this.topic = topic
    this.partition = partition
    this.recordsPerSend = options.recordsPerSend ?? 5
    this.window = options.window ?? 20
  }

  start(): this {
    this.loop ??= this.run()
    return this
  }

  /** Stops issuing sends and waits for every issued one to settle. */
  async stop(): Promise<void> {
    this.stopping = true
    await this.loop
  }

  /** Waits until at least `count` records are acknowledged in all. */
  async waitForAcked(count: number, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    await waitFor(() => (this.acked.size >= count ? true : null), `${count} acknowledged records (have ${this.acked.size}, failed ${this.failed.length} sends)`, timeoutMs)
  }

  private async run(): Promise<void> {
    const pending = new Set<Promise<void>>()
    while (!this.stopping) {
      if (pending.size >= this.window) {
        await Promise.race(pending)
        continue
      }
      const from = this.sent
      this.sent += this.recordsPerSend
      const records = Array.from({ length: this.recordsPerSend }, (_, i) => ({ value: String(from + i), partition: this.partition }))
      const p: Promise<void> = this.producer.send(this.topic, records).then(
        (metadata) => {
          metadata.forEach((m, i) => this.acked.set(from + i, m.offset))
        },
        (err: unknown) => {
          this.failed.push({ from, count: records.length, error: err instanceof Error ? err.message : String(err) })
        },
      ).finally(() => pending.delete(p))
      pending.add(p)
    }
    await Promise.allSettled([...pending])
  }
}

export interface NumberedLogCheck {
  /** Records read from the partition. */
  readonly read: number
  readonly acknowledged: number
  /** Acknowledged numbers missing from the log. */
  readonly missing: number[]
  /** Numbers that appear more than once in the log. */
  readonly duplicates: number[]
  /** Acknowledged numbers found at another offset than send() resolved to. */
  readonly misplaced: number[]
  /** Places where the log's numbers do not increase (send order broken). */
  readonly outOfOrder: number
  /** Numbers below the highest acknowledged one that are neither acknowledged nor failed (a gap). */
  readonly gaps: number[]
}

/** Compares the partition's records (value = number, with their offsets) with what the stream saw. */
export function checkNumberedLog(stream: NumberedStream, records: readonly { readonly offset: bigint; readonly value: string | null }[]): NumberedLogCheck {
  const seen = new Map<number, bigint[]>()
  let outOfOrder = 0
  let previous = -1
  for (const r of records) {
    const n = Number(r.value)
    if (n <= previous) outOfOrder++
    previous = n
    const offsets = seen.get(n) ?? []
    offsets.push(r.offset)
    seen.set(n, offsets)
  }
  const duplicates = [...seen].filter(([, offsets]) => offsets.length > 1).map(([n]) => n)
  const missing: number[] = []
  const misplaced: number[] = []
  for (const [n, offset] of stream.acked) {
    const at = seen.get(n)
    if (at === undefined) missing.push(n)
    else if (!at.includes(offset)) misplaced.push(n)
  }
  const failed = new Set(stream.failed.flatMap((f) => Array.from({ length: f.count }, (_, i) => f.from + i)))
  let highest = -1
  for (const n of stream.acked.keys()) highest = Math.max(highest, n)
  const gaps: number[] = []
  for (let n = 0; n < highest; n++) if (!stream.acked.has(n) && !failed.has(n)) gaps.push(n)
  return { read: records.length, acknowledged: stream.acked.size, missing, duplicates, misplaced, outOfOrder, gaps }
}
