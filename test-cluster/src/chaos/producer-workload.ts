/**
 * One producer of the chaos workload: an idempotent @tributary/client Producer (acks=all)
 * sending keyed records whose payloads are unique (encodeValue(producer, seq)), one record per
 * send() call so every record gets its own outcome. At most `inFlightMax` sends await their
 * answer at once, and sends are paced to `recordsPerSecond` (a bounded history for a long
 * run). Every send is recorded before it is issued, with its outcome when one arrives:
 * - 'ack' with the offset send() resolved to;
 * - 'fail', always indeterminate (definite: false): the client retries inside its delivery
 *   timeout, so a failed send may have been written by an earlier attempt;
 * - 'pending' when the run ended before an answer (ClientClosedError at close: the client
 *   gave up, the cluster never answered).
 * Sends are issued in seq order, so the producer appends (and sequences) them in that order.
 */
import { ClientClosedError, partitionForKey, type Client, type Producer } from '@tributary/client'
import { encodeValue, type HistoryEntry, type SendOp, type SendOutcome } from './history.ts'
import { chaosNowMs, sleep } from './chaos-clock.ts'
import { DELIVERY_TIMEOUT_MS, KEYS_PER_PRODUCER, PRODUCER_CLOSE_TIMEOUT_MS, REQUEST_TIMEOUT_MS, VALUE_BYTES } from './chaos-limits.ts'

export interface ProducerWorkloadOptions {
  readonly producerId: string
  readonly topic: string
  readonly partitions: number
  readonly inFlightMax: number
  readonly recordsPerSecond: number
}

interface Slot {
  readonly op: SendOp
  outcome: SendOutcome
}

export class ProducerWorkload {
  readonly options: ProducerWorkloadOptions
  private readonly producer: Producer
  private readonly slots: Slot[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private stopping = false
  private loop: Promise<void> | null = null
  acked = 0
  failed = 0
  /** Acknowledgments from a partition other than the one recorded (a client partitioner bug): reported as an error of the run. */
  readonly partitionMismatches: string[] = []

  constructor(client: Client, options: ProducerWorkloadOptions) {
    this.options = options
    this.producer = client.producer({ acks: 'all', idempotent: true, lingerMs: 2, deliveryTimeoutMs: DELIVERY_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS })
  }

  start(): this {
    this.loop ??= this.run()
    return this
  }

  get sent(): number {
    return this.slots.length
  }

  get retries(): number {
    return this.producer.stats.retries
  }

  get producerIdResets(): number {
    return this.producer.stats.producerIdResets
  }

  /**
   * Stops issuing sends; waits (up to PRODUCER_CLOSE_TIMEOUT_MS) for the issued ones to be
   * answered, then closes the producer: whatever is still unanswered becomes 'pending'.
   */
  async stop(): Promise<void> {
    this.stopping = true
    await this.loop
    await this.producer.close({ timeoutMs: PRODUCER_CLOSE_TIMEOUT_MS }).catch(() => undefined)
    await Promise.allSettled([...this.inFlight])
  }

  entries(): HistoryEntry[] {
    return this.slots.map((s) => ({ op: s.op, outcome: s.outcome }))
  }

  private async run(): Promise<void> {
    const { producerId, topic, partitions, inFlightMax, recordsPerSecond } = this.options
    const startMs = chaosNowMs()
    let seq = 0
    while (!this.stopping) {
      if (this.inFlight.size >= inFlightMax) {
        await Promise.race(this.inFlight)
        continue
      }
      const dueMs = startMs + (seq * 1000) / recordsPerSecond
      const waitMs = dueMs - chaosNowMs()
      if (waitMs > 0) {
        await sleep(Math.min(waitMs, 50))
        continue
      }
      const key = `${producerId}-k${seq % KEYS_PER_PRODUCER}`
      const keyBytes = Buffer.from(key)
      const op: SendOp = { producer: producerId, seq, topic, partition: partitionForKey(keyBytes, partitions), key, sentAtMs: chaosNowMs() }
      const slot: Slot = { op, outcome: { kind: 'pending' } }
      this.slots.push(slot)
      seq++
      const p: Promise<void> = this.producer.send(topic, [{ key: keyBytes, value: encodeValue(producerId, op.seq, VALUE_BYTES) }]).then(
        (metadata) => {
          const m = metadata[0]!
          // The partitioner is murmur2 on both sides; a mismatch would be a client bug, and the
          // checker would then look for the record in the wrong partition.
          if (m.partition !== op.partition) this.partitionMismatches.push(`${producerId}:${op.seq} went to partition ${m.partition}, murmur2 says ${op.partition}`)
          slot.outcome = { kind: 'ack', offset: m.offset, atMs: chaosNowMs() }
          this.acked++
        },
        (err: unknown) => {
          if (err instanceof ClientClosedError) return
          slot.outcome = { kind: 'fail', error: err instanceof Error ? err.message : String(err), definite: false, atMs: chaosNowMs() }
          this.failed++
        },
      ).finally(() => this.inFlight.delete(p))
      this.inFlight.add(p)
    }
  }
}
