/**
 * AlterPartitionSender: carries the ISR changes that partition leaders propose to the active
 * controller (Kafka's AlterPartitionManager). Partitions with a request ready are queued;
 * one AlterPartition is on the wire at a time and carries every ready partition (up to
 * ALTER_PARTITION_BATCH_MAX), so a burst of shrinks after a broker dies costs one round trip.
 *
 * Protocol with PartitionState (see partition-state.ts): each request taken with
 * takeAlterPartitionRequest() gets exactly one answer through onAlterPartitionResponse:
 * 'committed' with the controller's ISR and partition epoch, 'error' with the partition's
 * (or the whole request's) error code, or 'outcome_unknown' when no answer came (the channel
 * rejected, or ALTER_PARTITION_TIMEOUT_MS passed). An unknown outcome is retried after
 * ALTER_PARTITION_RETRY_BACKOFF_MS with the same request, as the state offers it again.
 */
import type { Logger } from '@tributary/metadata-quorum'
import { ErrorCode, type NodeId, type controller } from '@tributary/protocol'
import type { Partition } from '../partition/partition.js'
import type { AlterPartitionRequest } from '../replica/isr-state.js'
import type { AlterPartitionResponse } from '../replica/partition-state.js'
import { ALTER_PARTITION_BATCH_MAX, ALTER_PARTITION_RETRY_BACKOFF_MS, ALTER_PARTITION_TIMEOUT_MS } from './replica-limits.js'
import type { ControllerChannel } from './types.js'

export interface AlterPartitionSenderOptions {
  readonly brokerId: NodeId
  readonly brokerEpoch: () => bigint
  readonly channel: ControllerChannel
  readonly logger: Logger
}

interface Taken {
  readonly partition: Partition
  readonly request: AlterPartitionRequest
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export class AlterPartitionSender {
  private readonly options: AlterPartitionSenderOptions
  private readonly ready = new Set<Partition>()
  private sending: Promise<void> | null = null
  private closed = false
  private backoffTimer: NodeJS.Timeout | null = null

  constructor(options: AlterPartitionSenderOptions) {
    this.options = options
  }

  /** `partition` may have a request to send. */
  offer(partition: Partition): void {
    if (this.closed) return
    this.ready.add(partition)
    this.kick()
  }

  /** Starts a send round unless one runs or a back-off waits; a round that ends with work left starts another. */
  private kick(): void {
    if (this.closed || this.sending !== null || this.backoffTimer !== null) return
    this.sending = this.sendAll().finally(() => {
      this.sending = null
      if (this.ready.size > 0) this.kick()
    })
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer)
    this.backoffTimer = null
    this.ready.clear()
    await this.sending
  }

  private async sendAll(): Promise<void> {
    // Let the proposals of this turn of the event loop (an ISR check over every partition,
    // a burst of follower fetches) gather, so they travel in one request.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (!this.closed) {
      const batch: Taken[] = []
      for (const partition of [...this.ready]) {
        if (batch.length >= ALTER_PARTITION_BATCH_MAX) break
        this.ready.delete(partition)
        const request = partition.takeAlterPartitionRequest()
        if (request !== null) batch.push({ partition, request })
      }
      if (batch.length === 0) return
      const retry = await this.sendOne(batch)
      if (retry.length > 0 && !this.closed) {
        for (const partition of retry) this.ready.add(partition)
        // Back off, then go again (offer() does not start a send while the timer is set).
        this.backoffTimer = setTimeout(() => {
          this.backoffTimer = null
          this.kick()
        }, ALTER_PARTITION_RETRY_BACKOFF_MS)
        return
      }
    }
  }

  /** Sends one request for `batch`; returns the partitions whose outcome is unknown (to retry). */
  private async sendOne(batch: readonly Taken[]): Promise<Partition[]> {
    const byTopic = new Map<string, controller.AlterPartitionTopic>()
    for (const { partition, request } of batch) {
      let topic = byTopic.get(partition.topicId)
      if (topic === undefined) {
        topic = { topicId: partition.topicId, partitions: [] }
        byTopic.set(partition.topicId, topic)
      }
      topic.partitions.push({
        partitionId: partition.partitionId,
        leaderEpoch: request.leaderEpoch,
        partitionEpoch: request.partitionEpoch,
        newIsr: request.newIsr.map((brokerId) => ({
          brokerId,
          brokerEpoch: brokerId === this.options.brokerId ? this.options.brokerEpoch() : (request.brokerEpochs.get(brokerId) ?? -1n),
        })),
      })
    }
    const wire: controller.AlterPartitionRequest = { brokerId: this.options.brokerId, brokerEpoch: this.options.brokerEpoch(), topics: [...byTopic.values()] }
    let response: controller.AlterPartitionResponse | null = null
    let failure = ''
    try {
      response = await withTimeout(this.options.channel.alterPartition(wire), ALTER_PARTITION_TIMEOUT_MS)
    } catch (err) {
      failure = errorMessage(err)
    }
    if (response === null) this.options.logger.warn({ partitions: batch.length, err: failure }, 'AlterPartition got no answer; will resend')
    const retry: Partition[] = []
    for (const { partition, request } of batch) {
      const answer = answerFor(response, failure, partition)
      const outcome = partition.onAlterPartitionResponse(request, answer)
      this.options.logger.debug({ partition: partition.name, newIsr: request.newIsr, answer: answer.kind, outcome: outcome.kind }, 'AlterPartition answered')
      if (outcome.kind === 'retry') retry.push(partition)
    }
    return retry
  }
}

function answerFor(response: controller.AlterPartitionResponse | null, failure: string, partition: Partition): AlterPartitionResponse {
  if (response === null) return { kind: 'outcome_unknown', reason: failure }
  if (response.errorCode !== ErrorCode.NONE.code) return { kind: 'error', errorCode: response.errorCode }
  const result = response.topics.find((t) => t.topicId === partition.topicId)?.partitions.find((p) => p.partitionId === partition.partitionId)
  if (result === undefined) return { kind: 'outcome_unknown', reason: 'the answer does not name the partition' }
  if (result.errorCode !== ErrorCode.NONE.code) return { kind: 'error', errorCode: result.errorCode }
  return { kind: 'committed', leaderEpoch: result.leaderEpoch, partitionEpoch: result.partitionEpoch, isr: result.isr as NodeId[] }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
