/**
 * SequentialProducer: sends one record at a time to one partition (acks=all by default),
 * each send waiting for its acknowledgment before the next, as the failover tests and
 * benchmarks need: the gap after a kill is then the time to the next acknowledged send.
 *
 * Every value is unique (`<prefix>-<seq>`), so verifyAcknowledged() can check that each
 * acknowledged record is at its acknowledged offset. A send that fails (non-retriable error
 * or delivery timeout, see BrokerClient.produce) is counted in `failures` and the loop goes
 * on with the next record; error responses on the way are in each ack's `errors` (and in the
 * client's attempts).
 */
import { performance } from 'node:perf_hooks'
import { SendFailedError, textRecord, type Attempt, type BrokerClient, type ProduceOptions } from './broker-client.ts'
import { waitFor, WAIT_TIMEOUT_MS } from './controller-cluster.ts'

export interface SentRecord {
  readonly seq: number
  readonly value: string
  readonly offset: bigint
  readonly leaderId: number
  readonly startedAtMs: number
  readonly ackedAtMs: number
  /** Error responses and transport failures this send met before its acknowledgment. */
  readonly errors: readonly Attempt[]
}

export interface FailedSend {
  readonly seq: number
  readonly value: string
  readonly error: string
  readonly attempts: readonly Attempt[]
}

export interface SequentialProducerOptions extends ProduceOptions {
  /** Prefix of every value; defaults to the topic name. */
  readonly valuePrefix?: string
  /** Pause between one acknowledgment and the next send (0: none). */
  readonly intervalMs?: number
  /** Bytes of padding appended to each value (a larger record). */
  readonly paddingBytes?: number
}

export class SequentialProducer {
  readonly acked: SentRecord[] = []
  readonly failures: FailedSend[] = []
  private seq = 0
  private stopping = false
  private loop: Promise<void> | null = null
  private readonly padding: string
  private readonly client: BrokerClient
  readonly topic: string
  readonly partition: number
  private readonly options: SequentialProducerOptions

  constructor(client: BrokerClient, topic: string, partition: number, options: SequentialProducerOptions = {}) {
    this.client = client
    this.topic = topic
    this.partition = partition
    this.options = options
    this.padding = 'x'.repeat(options.paddingBytes ?? 0)
  }

  start(): this {
    if (this.loop !== null) throw new Error('already started')
    this.loop = this.run()
    return this
  }

  /** Stops after the send in flight completes (acknowledged or failed). */
  async stop(): Promise<void> {
    this.stopping = true
    await this.loop
  }

  get sent(): number {
    return this.seq
  }

  /** Waits until `count` more records are acknowledged than when called (or `accept` holds). */
  async waitForAcks(count: number, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    const target = this.acked.length + count
    await waitFor(() => (this.acked.length >= target ? true : null), `${count} more acknowledged sends to ${this.topic}-${this.partition}`, timeoutMs, 5)
  }

  /** The first acknowledgment completed after `sinceMs` (performance.now()) by a node not in `exclude`. */
  firstAckAfter(sinceMs: number, exclude: readonly number[] = []): SentRecord | null {
    return this.acked.find((a) => a.ackedAtMs > sinceMs && !exclude.includes(a.leaderId)) ?? null
  }

  /** Waits for firstAckAfter(sinceMs, exclude). */
  async waitForAckAfter(sinceMs: number, exclude: readonly number[] = [], timeoutMs = WAIT_TIMEOUT_MS): Promise<SentRecord> {
    return waitFor(() => this.firstAckAfter(sinceMs, exclude), `an acknowledged send after t=${sinceMs.toFixed(0)}${exclude.length > 0 ? ` from a node other than ${exclude.join(',')}` : ''}`, timeoutMs, 2)
  }

  /** Error responses and transport failures met by acknowledged sends, by name. */
  errorCounts(): Map<string, number> {
    const out = new Map<string, number>()
    for (const a of this.acked) for (const e of a.errors) out.set(e.name, (out.get(e.name) ?? 0) + 1)
    for (const f of this.failures) for (const e of f.attempts) out.set(e.name, (out.get(e.name) ?? 0) + 1)
    return out
  }

  private async run(): Promise<void> {
    const prefix = this.options.valuePrefix ?? this.topic
    while (!this.stopping) {
      const seq = this.seq++
      const value = `${prefix}-${seq}${this.padding}`
      const startedAtMs = performance.now()
      try {
        const ack = await this.client.produce(this.topic, this.partition, [textRecord(value)], this.options)
        this.acked.push({ seq, value, offset: ack.baseOffset, leaderId: ack.leaderId, startedAtMs, ackedAtMs: ack.ackedAtMs, errors: ack.errors })
      } catch (err) {
        if (!(err instanceof SendFailedError)) throw err
        this.failures.push({ seq, value, error: err.message, attempts: err.attempts })
      }
      if ((this.options.intervalMs ?? 0) > 0) await new Promise((r) => setTimeout(r, this.options.intervalMs))
    }
  }
}

export interface Mismatch {
  readonly seq: number
  readonly offset: bigint
  readonly expected: string
  readonly found: string | null
}

/**
 * Reads the partition from its leader and checks every acknowledged record: the record at
 * its acknowledged offset must carry its value. Returns the mismatches (empty when none was
 * lost or moved), and the high watermark the read went up to.
 */
export async function verifyAcknowledged(client: BrokerClient, topic: string, partition: number, acked: readonly SentRecord[]): Promise<{ mismatches: Mismatch[]; checked: number }> {
  if (acked.length === 0) return { mismatches: [], checked: 0 }
  let from = acked[0]!.offset
  let until = acked[0]!.offset
  for (const a of acked) {
    if (a.offset < from) from = a.offset
    if (a.offset >= until) until = a.offset + 1n
  }
  const records = await client.readRange(topic, partition, from, until)
  const byOffset = new Map<bigint, string | null>()
  for (const r of records) byOffset.set(r.offset, r.value === null ? null : r.value.toString('utf8'))
  const mismatches: Mismatch[] = []
  for (const a of acked) {
    const found = byOffset.get(a.offset) ?? null
    if (found !== a.value) mismatches.push({ seq: a.seq, offset: a.offset, expected: a.value, found })
  }
  return { mismatches, checked: acked.length }
}
