/**
 * Producer: `send(topic, records)` resolves, in order, to each record's partition and offset.
 *
 * Records are appended to per-partition batches (lingerMs, batchBytes). A sender loop takes
 * sealed batches, one per partition per request, groups them by partition leader and sends
 * one ProduceRequest per leader, keeping at most maxInFlight requests per partition.
 * Buffered records are bounded by bufferBytes: send() waits for space (maxBlockMs).
 *
 * Idempotence (KIP-98, on by default with acks 'all'): the producer takes a producer id from
 * the cluster (InitProducerId) and numbers each partition's records; a batch keeps its bytes
 * and base sequence across retries, so the broker answers a retry of an appended batch with
 * the original offset instead of appending it twice.
 *
 * Retries: a retriable error (or a transport failure) puts the batch back at the head of
 * its partition's queue after a backoff (KIP-580 with jitter), refreshing metadata or
 * following the response's leader hint (KIP-951). While a partition has a batch to resend
 * it sends one request at a time until that batch is acknowledged, so batches reach the
 * leader in sequence order again; OUT_OF_ORDER_SEQUENCE_NUMBER on a batch that was sent
 * behind an unanswered one is the consequence of an earlier batch's failure and is retried
 * too (as the Java client). A batch not acknowledged within deliveryTimeoutMs of its
 * creation fails with RetriesExhaustedError carrying every attempt's error.
 *
 * Recovery (KIP-360): a batch that fails for good after it was sent (delivery timeout, a
 * non-retriable error, OUT_OF_ORDER_SEQUENCE_NUMBER on the first batch in flight) leaves a
 * hole in its partition's sequence numbers that the broker would never fill, so every later
 * batch of the partition would fail OUT_OF_ORDER_SEQUENCE_NUMBER. The producer then asks for
 * a new identity: InitProducerId with its current id and epoch (an epoch bump), or, when the
 * broker refuses that with INVALID_REQUEST (Tributary's broker does today, see
 * ProducerIdManager), a fresh producer id. UNKNOWN_PRODUCER_ID does the same and retries the
 * batch. Each partition moves to the new identity on its own once it has nothing in flight:
 * its sequences restart at 0 (a higher epoch must start at 0; an unknown producer may start
 * anywhere). A partition whose batch failed re-encodes its retried batches under the new
 * identity; the others first finish their retries under the old one (it has no hole there),
 * so only the failing partition risks a duplicate, and only for a batch whose earlier
 * attempt ended without an answer (as in the Java client). While the InitProducerId runs,
 * nothing is sent.
 *
 * close({ timeoutMs }) flushes for at most timeoutMs (default 30 s); what is not acknowledged
 * then rejects with ClientClosedError instead of waiting for deliveryTimeoutMs.
 *
 * Not yet (issue 4 follow-ups): the adaptive partitioner of KIP-794, and adjusting later
 * sequences instead of a new identity when the broker certainly did not write the failed
 * batch (the Java client's adjustSequencesDueToFailedBatch).
 */
import { compressionCodecs, encodeRecordBatch, ErrorCode, type broker, type RecordHeader, type RecordInput } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { CLIENT_LIMITS } from '../client/limits.js'
import { asTributaryError, ClientClosedError, kafkaError, RetriesExhaustedError, TributaryError } from '../errors.js'
import { partitionForKey } from '../partitioner/murmur2.js'
import { StickyPartitioner } from '../partitioner/sticky-partitioner.js'
import { backoffMs, retry } from '../retry.js'
import { PRODUCER_DEFAULTS, resolveProducerOptions, type ProducerOptions, type ResolvedProducerOptions } from './options.js'
import { BATCH_OVERHEAD_BYTES, ProducerBatch, recordSizeBytes } from './producer-batch.js'
import type { ProducerRecord, RecordData, RecordMetadata } from './types.js'

interface PartitionQueue {
  readonly topic: string
  readonly partition: number
  open: ProducerBatch | null
  lingerTimer: NodeJS.Timeout | null
  /** Sealed batches to send, in order (retried ones back at the head, in sequence order). */
  readonly ready: ProducerBatch[]
  /** Sent and unanswered, in send order. */
  readonly inFlight: ProducerBatch[]
  nextSequence: number
  /** The producer id and epoch `nextSequence` counts for (-1 before the first batch). */
  producerId: bigint
  producerEpoch: number
  /** A batch of this partition failed for good after it was sent: its retried batches are re-encoded under the next identity. */
  mustReset: boolean
  retryNotBeforeMs: number
  /** A batch waits for a resend: one request at a time until it is acknowledged. */
  recovering: boolean
}

const INT32_MAX = 0x7fffffff
/** Producer epochs are int16: past this one, an epoch bump is impossible and a new id is needed. */
const PRODUCER_EPOCH_MAX = 0x7fff

/** What the producer did beyond sending, for tests and tools. */
export interface ProducerStats {
  /** Batches sent again after a retriable error. */
  retries: number
  /** New producer identities asked for after a batch failed for good or UNKNOWN_PRODUCER_ID (KIP-360). */
  producerIdResets: number
  /** Batches encoded again with a new producer id or epoch and restarted sequences. */
  resequencedBatches: number
}
const NO_HINT = undefined

export class Producer {
  readonly options: ResolvedProducerOptions
  private readonly partitioner = new StickyPartitioner()
  private readonly queues = new Map<string, PartitionQueue>()
  private readonly outstanding = new Set<ProducerBatch>()
  /** Each batch's place in send order, so a retried batch goes back before later ones. */
  private readonly order = new WeakMap<ProducerBatch, number>()
  private nextOrder = 0
  private bufferedBytes = 0
  private spaceFreed: (() => void) | null = null
  private appendTail: Promise<unknown> = Promise.resolve()
  private producerId = -1n
  private producerEpoch = -1
  /** An InitProducerId is running (the first, or a reset): nothing is sent meanwhile. */
  private initializing: Promise<void> | null = null
  /** The broker refused an epoch bump (INVALID_REQUEST): resets ask for a fresh producer id. */
  private epochBumpUnsupported = false
  /** close() gave up waiting: everything left was failed, nothing more is sent. */
  private abandoned = false
  readonly stats: ProducerStats = { retries: 0, producerIdResets: 0, resequencedBatches: 0 }
  private drainScheduled = false
  /**
   * lingerMs 0: partitions whose open batch goes out as soon as the partition may send
   * (Kafka's linger.ms=0: no timer; while its requests in flight are at maxInFlight the
   * batch keeps taking records, so a busy producer still sends full batches).
   */
  private readonly sendWhenFree = new Set<PartitionQueue>()
  private retryTimer: NodeJS.Timeout | null = null
  private retryAtMs = 0
  private closed: Promise<void> | null = null

  /** @internal Made by Client.producer(). */
  constructor(
    private readonly client: Client,
    options: ProducerOptions,
    private readonly onClosed: () => void,
  ) {
    this.options = resolveProducerOptions(options)
  }

  /** The producer id (idempotent producers, once known), for tests and tools. */
  get idempotence(): { readonly producerId: bigint; readonly producerEpoch: number } | null {
    return this.options.idempotent && this.producerId >= 0n ? { producerId: this.producerId, producerEpoch: this.producerEpoch } : null
  }

  /** Resolves once every record is acknowledged, in order: one entry per record. */
  async send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closed !== null || this.client.isClosed) throw new ClientClosedError('the producer')
    if (records.length === 0) return []
    const startedAtMs = Date.now()
    const appended = this.appendTail.then(() => this.appendAll(topic, records, startedAtMs))
    this.appendTail = appended.catch(() => undefined)
    return acknowledgments(topic, await appended)
  }

  /** Sends every buffered record now and resolves when all records sent before it are answered. */
  async flush(): Promise<void> {
    await this.appendTail
    for (const q of this.queues.values()) this.seal(q)
    this.scheduleDrain()
    const waiting = [...this.outstanding].map((b) => b.done)
    await Promise.allSettled(waiting)
  }

  /**
   * Flushes, then refuses further sends. Idempotent. Records not acknowledged within
   * `timeoutMs` (default PRODUCER_DEFAULTS.closeTimeoutMs) reject with ClientClosedError;
   * their batches may or may not have been written.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? PRODUCER_DEFAULTS.closeTimeoutMs
    this.closed ??= (async () => {
      let timer: NodeJS.Timeout | null = null
      const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), timeoutMs)))
      const outcome = await Promise.race([this.flush().then(() => 'flushed' as const), expired])
      if (timer !== null) clearTimeout(timer)
      if (outcome === 'expired') this.abandon(timeoutMs)
      if (this.retryTimer !== null) clearTimeout(this.retryTimer)
      this.onClosed()
    })()
    return this.closed
  }

  /** Fails every batch not yet acknowledged (close() timed out); late answers are ignored. */
  private abandon(timeoutMs: number): void {
    this.abandoned = true
    this.sendWhenFree.clear()
    const error = new ClientClosedError(`the producer (close() gave up after ${timeoutMs} ms; the record was not acknowledged and may or may not be written)`)
    for (const q of this.queues.values()) {
      if (q.lingerTimer !== null) clearTimeout(q.lingerTimer)
      q.lingerTimer = null
      q.open = null
      q.ready.length = 0
      q.inFlight.length = 0
    }
    for (const b of [...this.outstanding]) this.failBatch(b, error)
  }

  // ---- appending ----------------------------------------------------------------------

  /**
   * Appends the records, in order; returns where they went as runs of consecutive records in
   * one batch (one promise per batch, not per record: at 10^5-10^6 records/s the per-record
   * promises and awaits were the producer's largest cost).
   */
  private async appendAll(topic: string, records: readonly ProducerRecord[], startedAtMs: number): Promise<BatchRun[]> {
    const topicInfo = await this.client.topicMetadata(topic, startedAtMs + this.options.maxBlockMs)
    const numPartitions = topicInfo.partitions.length
    // Records without a timestamp get send()'s time (the Java client stamps them in send()).
    const now = BigInt(startedAtMs)
    // Every record is checked before any is appended: a bad one fails the whole send, not its tail.
    const inputs = records.map((record) => toRecordInput(record, now))
    const partitions = records.map((record, i) => this.choosePartition(topic, record, inputs[i], numPartitions))
    const runs: BatchRun[] = []
    let run: BatchRun | null = null
    let queue: PartitionQueue | null = null
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]
      const size = recordSizeBytes(input)
      // Waits only when the buffer is full (an await per record costs more than the append).
      if (!this.reserveNow(size)) await this.reserve(size, startedAtMs + this.options.maxBlockMs)
      // Records of one send() mostly share a partition: look its queue up once.
      if (queue === null || queue.partition !== partitions[i]) queue = this.queueFor(topic, partitions[i])
      if (queue.open !== null && !queue.open.fits(size, this.options.batchBytes)) this.seal(queue)
      const batch = queue.open ?? this.openBatch(queue, startedAtMs)
      const index = batch.append(input, size)
      if (run !== null && run.batch === batch && run.firstIndex + run.count === index) run.count++
      else {
        run = { batch, partition: partitions[i], firstIndex: index, count: 1 }
        runs.push(run)
      }
      if (batch.sizeBytes >= this.options.batchBytes) this.seal(queue)
    }
    return runs
  }

  private choosePartition(topic: string, record: ProducerRecord, input: RecordInput, numPartitions: number): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= numPartitions) {
        throw kafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, `send to ${topic}`, `partition ${record.partition} of ${numPartitions}`)
      }
      return record.partition
    }
    if (input.key !== null) return partitionForKey(input.key, numPartitions)
    return this.partitioner.partition(topic, numPartitions)
  }

  /** Takes `size` bytes of the buffer if they fit now (an empty buffer takes any record). */
  private reserveNow(size: number): boolean {
    if (this.bufferedBytes > 0 && this.bufferedBytes + size > this.options.bufferBytes) return false
    this.bufferedBytes += size
    return true
  }

  /** Waits until `size` bytes fit in the buffer (an empty buffer takes any record). */
  private async reserve(size: number, deadlineMs: number): Promise<void> {
    while (this.bufferedBytes > 0 && this.bufferedBytes + size > this.options.bufferBytes) {
      // Full: whatever lingers goes out now, so space frees up.
      for (const q of this.queues.values()) this.seal(q)
      const waitMs = deadlineMs - Date.now()
      if (waitMs <= 0) throw new TributaryError(ErrorCode.REQUEST_TIMED_OUT, `no buffer space for ${size} bytes within maxBlockMs (${this.bufferedBytes} of ${this.options.bufferBytes} bytes in use)`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        this.spaceFreed = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.spaceFreed = null
    }
    this.bufferedBytes += size
  }

  private release(batch: ProducerBatch): void {
    if (!this.outstanding.delete(batch)) return
    this.bufferedBytes -= batch.sizeBytes - BATCH_OVERHEAD_BYTES
    this.spaceFreed?.()
  }

  private queueFor(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`
    let q = this.queues.get(key)
    if (q === undefined) {
      q = { topic, partition, open: null, lingerTimer: null, ready: [], inFlight: [], nextSequence: 0, producerId: -1n, producerEpoch: -1, mustReset: false, retryNotBeforeMs: 0, recovering: false }
      this.queues.set(key, q)
    }
    return q
  }

  private openBatch(queue: PartitionQueue, startedAtMs: number): ProducerBatch {
    const batch = new ProducerBatch(queue.topic, queue.partition, startedAtMs, startedAtMs + this.options.deliveryTimeoutMs)
    queue.open = batch
    this.outstanding.add(batch)
    if (this.options.lingerMs <= 0) {
      this.sendWhenFree.add(queue)
      this.scheduleDrain()
    } else {
      queue.lingerTimer = setTimeout(() => {
        if (queue.open === batch) this.seal(queue)
      }, this.options.lingerMs)
    }
    return batch
  }

  private seal(queue: PartitionQueue, drainAfter = true): void {
    const batch = queue.open
    if (batch === null) return
    this.sendWhenFree.delete(queue)
    if (queue.lingerTimer !== null) clearTimeout(queue.lingerTimer)
    queue.lingerTimer = null
    queue.open = null
    batch.sealed = true
    this.order.set(batch, this.nextOrder++)
    queue.ready.push(batch)
    const partitions = this.client.cachedPartitions(queue.topic).length
    if (partitions > 0) this.partitioner.onBatchSealed(queue.topic, queue.partition, partitions)
    if (drainAfter) this.scheduleDrain()
  }

  // ---- sending ------------------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.drainScheduled) return
    this.drainScheduled = true
    setImmediate(() => {
      this.drainScheduled = false
      this.drain()
    })
  }

  /** Drains again at `atMs` (the earliest of the pending wake-ups wins). */
  private scheduleRetry(atMs: number): void {
    if (this.retryTimer !== null && this.retryAtMs <= atMs) return
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.retryAtMs = atMs
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.scheduleDrain()
    }, Math.max(0, atMs - Date.now()))
  }

  /** Seals the open lingerMs-0 batches whose partition may send one now (nothing sealed waits, a request slot is free). */
  private sealSendWhenFree(): void {
    for (const q of this.sendWhenFree) {
      if (q.ready.length === 0 && q.inFlight.length < (q.recovering ? 1 : this.options.maxInFlight)) this.seal(q, false)
    }
  }

  private drain(): void {
    if (this.abandoned) return
    const now = Date.now()
    for (const q of this.queues.values()) this.expire(q, now)
    this.sealSendWhenFree()
    if (this.options.idempotent && (this.producerId < 0n || this.initializing !== null)) {
      if (this.producerId < 0n && [...this.queues.values()].some((q) => q.ready.length > 0)) this.initProducerId(null)
      return
    }
    const unknownLeaders = new Set<string>()
    let nextRetryMs = Number.POSITIVE_INFINITY
    // Rounds: each takes at most one batch per partition (the broker refuses several
    // idempotent batches in one partition's data), grouped into one request per leader.
    for (;;) {
      const round = new Map<string, ProducerBatch[]>()
      for (const q of this.queues.values()) {
        if (q.ready.length === 0) continue
        if (now < q.retryNotBeforeMs) {
          nextRetryMs = Math.min(nextRetryMs, q.retryNotBeforeMs)
          continue
        }
        const limit = q.recovering ? 1 : this.options.maxInFlight
        if (q.inFlight.length >= limit) continue
        if (this.options.idempotent && !this.onCurrentIdentity(q)) continue
        const leader = this.client.cache.leader(q.topic, q.partition)
        if (leader === null) {
          unknownLeaders.add(q.topic)
          continue
        }
        const batch = q.ready.shift()!
        try {
          this.prepare(q, batch)
        } catch (err) {
          // The records cannot form a batch (MESSAGE_TOO_LARGE): the send fails, nothing went out.
          this.failBatch(batch, asTributaryError(err))
          // A lingerMs-0 batch behind it waited for this one (ready not empty): it may go now.
          this.scheduleDrain()
          continue
        }
        batch.sentBehind = q.inFlight.length > 0
        if (batch.attempts > 0) this.stats.retries++
        batch.attempts++
        q.inFlight.push(batch)
        const group = round.get(leader.address)
        if (group === undefined) round.set(leader.address, [batch])
        else group.push(batch)
      }
      if (round.size === 0) break
      for (const [address, batches] of round) this.sendRequest(address, batches)
      // A lingerMs-0 batch that waited behind one just sent may go in the next round.
      this.sealSendWhenFree()
    }
    if (unknownLeaders.size > 0) {
      // Leaderless (an election) or not yet known: refresh, then look again after a backoff,
      // so an election does not turn into a loop of Metadata calls.
      const again = (): void => this.scheduleRetry(Date.now() + this.client.options.retryBackoffMs)
      this.client.refreshMetadata([...unknownLeaders]).then(again, again)
    } else if (nextRetryMs !== Number.POSITIVE_INFINITY) {
      this.scheduleRetry(nextRetryMs)
    }
  }

  /**
   * Whether the partition's head batch may go out now under the producer's identity, moving
   * the partition to a new identity when it can (KIP-360): once nothing of it is in flight,
   * and, unless a batch of it failed for good, once its retries under the old identity are
   * done. Moving restarts its sequences at 0 and re-encodes the batches sent before.
   */
  private onCurrentIdentity(q: PartitionQueue): boolean {
    if (q.producerId === this.producerId && q.producerEpoch === this.producerEpoch) return true
    // The old identity has no hole in this partition: its retries finish under it.
    if (!q.mustReset && q.ready[0]!.encoded !== null) return true
    if (q.inFlight.length > 0) return false
    q.producerId = this.producerId
    q.producerEpoch = this.producerEpoch
    q.nextSequence = 0
    q.mustReset = false
    for (const b of q.ready) {
      if (b.encoded === null) continue
      b.unfreeze()
      this.stats.resequencedBatches++
    }
    return true
  }

  /** Freezes a batch at its first send: sequence numbers and bytes. */
  private prepare(queue: PartitionQueue, batch: ProducerBatch): void {
    if (batch.encoded !== null) return
    const baseSequence = this.options.idempotent ? queue.nextSequence : -1
    batch.encoded = encodeRecordBatch({
      records: batch.records,
      compression: this.options.compression,
      ...(this.options.idempotent ? { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence } : {}),
    }, { codecs: compressionCodecs })
    if (this.options.idempotent) {
      // The sequence is taken only once the batch encodes: a batch that cannot leaves no hole.
      batch.baseSequence = baseSequence
      batch.producerId = this.producerId
      batch.producerEpoch = this.producerEpoch
      // Sequences wrap at int32 max (Kafka's DefaultRecordBatch.incrementSequence).
      queue.nextSequence = (baseSequence + batch.records.length) % (INT32_MAX + 1)
    }
  }

  /** Fails batches that waited past their delivery timeout without being sent again. */
  private expire(queue: PartitionQueue, now: number): void {
    while (queue.ready.length > 0 && queue.ready[0]!.deadlineMs <= now) {
      const batch = queue.ready.shift()!
      const timeout = kafkaError(ErrorCode.REQUEST_TIMED_OUT.code, `produce to ${batch.topic}-${batch.partition}`, `not acknowledged within deliveryTimeoutMs (${this.options.deliveryTimeoutMs} ms)`)
      this.failBatch(batch, batch.errors.length === 0 ? timeout : new RetriesExhaustedError(`produce to ${batch.topic}-${batch.partition} timed out`, [...batch.errors, timeout]))
    }
  }

  private sendRequest(address: string, batches: readonly ProducerBatch[]): void {
    const byTopic = new Map<string, broker.ProducePartitionData[]>()
    for (const b of batches) {
      const list = byTopic.get(b.topic) ?? []
      list.push({ partitionIndex: b.partition, records: b.encoded! })
      byTopic.set(b.topic, list)
    }
    const request: broker.ProduceRequest = {
      acks: this.options.acks,
      timeoutMs: this.options.requestTimeoutMs,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      transactionalId: '',
    }
    const timeoutMs = this.options.requestTimeoutMs + CLIENT_LIMITS.produceDeadlineSlackMs
    this.client.call(address, (s) => s.produce.bind(s), request, 'Produce', timeoutMs).then(
      (res) => {
        for (const b of batches) {
          const p = res.topics.find((t) => t.name === b.topic)?.partitions.find((x) => x.partitionIndex === b.partition)
          if (p === undefined) {
            if (this.options.acks === 0) this.completeBatch(b, -1n)
            else this.batchError(b, kafkaError(ErrorCode.UNKNOWN_SERVER_ERROR.code, `produce to ${b.topic}-${b.partition}`, 'the answer left the partition out'), NO_HINT)
          } else if (p.errorCode === ErrorCode.NONE.code) {
            this.completeBatch(b, this.options.acks === 0 ? -1n : p.baseOffset)
          } else {
            this.batchError(b, kafkaError(p.errorCode, `produce to ${b.topic}-${b.partition} at node ${address}`, p.errorMessage), { leaderId: p.currentLeaderId, leaderEpoch: p.currentLeaderEpoch })
          }
        }
        this.scheduleDrain()
      },
      (err: unknown) => {
        for (const b of batches) this.batchError(b, asTributaryError(err), NO_HINT)
        this.scheduleDrain()
      },
    )
  }

  private queueOf(batch: ProducerBatch): PartitionQueue {
    return this.queueFor(batch.topic, batch.partition)
  }

  private completeBatch(batch: ProducerBatch, baseOffset: bigint): void {
    if (batch.settled) return
    const q = this.queueOf(batch)
    removeFrom(q.inFlight, batch)
    if (q.recovering && q.inFlight.length === 0 && !q.ready.some((b) => b.encoded !== null)) q.recovering = false
    batch.succeed(baseOffset)
    this.release(batch)
  }

  private batchError(batch: ProducerBatch, error: TributaryError, hint: { leaderId: number; leaderEpoch: number } | undefined): void {
    if (batch.settled) return
    const q = this.queueOf(batch)
    removeFrom(q.inFlight, batch)
    batch.errors.push(error)
    let retriable = error.retriable
    if (error.code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code) {
      // Behind an unanswered batch: the consequence of that one's failure, retried (as the
      // Java client). Under an identity being replaced: the hole is left behind by the reset.
      const replaced = this.initializing !== null || !this.isCurrent(batch)
      if (replaced) q.mustReset = true
      retriable = batch.sentBehind || replaced
    } else if (error.code === ErrorCode.UNKNOWN_PRODUCER_ID.code && this.options.idempotent) {
      // The broker lost this producer's state for the partition (KIP-360): a new identity, then the batch again.
      q.mustReset = true
      if (this.isCurrent(batch)) this.resetProducerId()
      retriable = true
    }
    const now = Date.now()
    const waitMs = backoffMs(batch.attempts - 1, this.client.backoff, Math.random)
    if (retriable && now + waitMs < batch.deadlineMs) {
      this.client.onPartitionError(batch.topic, batch.partition, error.code, hint !== undefined && hint.leaderId >= 0 ? hint : undefined)
      // Transport failures say nothing about leadership, but the broker may be gone: refresh.
      if (error.code === ErrorCode.NETWORK_EXCEPTION.code || error.code === ErrorCode.REQUEST_TIMED_OUT.code) this.client.cache.invalidate(batch.topic)
      const order = this.order.get(batch)!
      let at = q.ready.findIndex((b) => (this.order.get(b) ?? 0) > order)
      if (at < 0) at = q.ready.length
      q.ready.splice(at, 0, batch)
      q.recovering = true
      q.retryNotBeforeMs = Math.max(q.retryNotBeforeMs, now + waitMs)
      return
    }
    this.failBatch(batch, batch.errors.length === 1 ? error : new RetriesExhaustedError(`produce to ${batch.topic}-${batch.partition}`, [...batch.errors]))
  }

  private failBatch(batch: ProducerBatch, error: Error): void {
    if (batch.settled) return
    batch.fail(error)
    this.release(batch)
    if (this.options.idempotent && batch.encoded !== null && !this.abandoned) {
      // Sent and failed for good: its sequence numbers may be a hole the broker never fills (KIP-360).
      this.queueOf(batch).mustReset = true
      if (this.isCurrent(batch)) this.resetProducerId()
    }
  }

  private isCurrent(batch: ProducerBatch): boolean {
    return batch.producerId === this.producerId && batch.producerEpoch === this.producerEpoch
  }

  /** A new identity after a batch failed for good or UNKNOWN_PRODUCER_ID (once per identity). */
  private resetProducerId(): void {
    if (this.initializing !== null || this.producerId < 0n || this.abandoned) return
    this.stats.producerIdResets++
    this.initProducerId({ producerId: this.producerId, producerEpoch: this.producerEpoch })
  }

  /**
   * InitProducerId: a new producer id (previous null), or an epoch bump of `previous`
   * (KIP-360), falling back to a new id when the broker refuses bumps or the epoch is at its
   * maximum. Partitions move to the new identity on their own (onCurrentIdentity).
   */
  private initProducerId(previous: { readonly producerId: bigint; readonly producerEpoch: number } | null): void {
    if (this.initializing !== null) return
    const ask = (producerId: bigint, producerEpoch: number): Promise<broker.InitProducerIdResponse> =>
      this.client.callAny((s) => s.initProducerId.bind(s), { transactionalId: '', transactionTimeoutMs: 0, producerId, producerEpoch }, 'InitProducerId')
    this.initializing = this.client.track(retry(async () => {
      let res: broker.InitProducerIdResponse | null = null
      if (previous !== null && !this.epochBumpUnsupported && previous.producerEpoch < PRODUCER_EPOCH_MAX) {
        res = await ask(previous.producerId, previous.producerEpoch)
        if (res.errorCode === ErrorCode.INVALID_REQUEST.code) {
          // This broker cannot bump epochs (Tributary's answers so to a named producer id): a fresh id does.
          this.epochBumpUnsupported = true
          res = null
        }
      }
      res ??= await ask(-1n, -1)
      if (res.errorCode !== ErrorCode.NONE.code) throw kafkaError(res.errorCode, 'InitProducerId')
      return res
    }, { deadlineMs: Date.now() + this.options.deliveryTimeoutMs, backoff: this.client.backoff, what: 'InitProducerId', signal: this.client.closeSignal })).then(
      (res) => {
        this.producerId = res.producerId
        this.producerEpoch = res.producerEpoch
        this.initializing = null
        this.scheduleDrain()
      },
      (err: unknown) => {
        // Without a producer id nothing can be sent idempotently: fail what waits, start again on the next send.
        this.producerId = -1n
        this.producerEpoch = -1
        this.initializing = null
        const error = asTributaryError(err)
        for (const q of this.queues.values()) for (const b of q.ready.splice(0)) this.failBatch(b, error)
        // lingerMs-0 batches opened meanwhile waited behind those (ready not empty): theirs is a new start.
        if (this.sendWhenFree.size > 0) this.scheduleDrain()
      },
    )
  }
}

/** Consecutive records of one send() that went into one batch: records firstIndex.. of it. */
interface BatchRun {
  readonly batch: ProducerBatch
  readonly partition: number
  readonly firstIndex: number
  count: number
}

/** Each record's partition and offset, in order, once every batch holding them is acknowledged. */
async function acknowledgments(topic: string, runs: readonly BatchRun[]): Promise<RecordMetadata[]> {
  // Rejects as soon as any batch fails, as a Promise.all over per-record promises did.
  const deliveries = await Promise.all(runs.map((run) => run.batch.done))
  const out: RecordMetadata[] = []
  runs.forEach((run, i) => {
    const base = deliveries[i].baseOffset
    if (base < 0n) {
      for (let k = 0; k < run.count; k++) out.push({ topic, partition: run.partition, offset: -1n })
      return
    }
    let offset = base + BigInt(run.firstIndex)
    for (let k = 0; k < run.count; k++, offset++) out.push({ topic, partition: run.partition, offset })
  })
  return out
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item)
  if (i >= 0) list.splice(i, 1)
}

function toBytes(data: RecordData): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

const NO_HEADERS: readonly RecordHeader[] = []

function toRecordInput(record: ProducerRecord, now: bigint): RecordInput {
  let headers = NO_HEADERS
  if (record.headers !== undefined) {
    const list: RecordHeader[] = []
    for (const [key, value] of Object.entries(record.headers)) list.push({ key, value: value === null ? null : toBytes(value) })
    headers = list
  }
  const timestamp = record.timestamp === undefined ? now : BigInt(record.timestamp)
  return {
    key: record.key === undefined || record.key === null ? null : toBytes(record.key),
    value: record.value === null ? null : toBytes(record.value),
    headers,
    timestamp,
  }
}
