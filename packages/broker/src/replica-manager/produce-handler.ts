/**
 * The leader's Produce (Kafka's ReplicaManager.appendRecords with DelayedProduce).
 *
 * Whole request: acks must be 0, 1 or -1 (else every partition answers INVALID_REQUIRED_ACKS);
 * a transactional id is refused (no transactions here). Per partition: the partition must be
 * here and led here (NOT_LEADER_OR_FOLLOWER names the leader we know), an acks=all produce
 * needs an ISR of at least min.insync.replicas (NOT_ENOUGH_REPLICAS), idempotent batches are
 * checked (a retry answers its original offsets), then the log appends.
 *
 * acks=1 answers after the append; acks=all waits until the HW passes the batch (the
 * "delayed produce" purgatory, at most DELAYED_PRODUCES_MAX waiting), or timeout_ms passes
 * (REQUEST_TIMED_OUT), or the replica stops leading in that epoch (NOT_LEADER_OR_FOLLOWER);
 * acks=0 resolves null once appended. An idempotent retry (duplicate) is answered with the
 * original offsets, and with acks=all only once the HW passes them too, as Kafka's
 * DelayedProduce does: the original may have timed out before it committed.
 */
import type { Logger } from '@tributary/metadata-quorum'
import { ErrorCode, NO_NODE, RecordBatchLayout, type ErrorCodeInfo, type broker } from '@tributary/protocol'
import type { Partition } from '../partition/partition.js'
import type { RecentAppends } from './recent-appends.js'
import { DELAYED_PRODUCES_MAX, PRODUCE_TIMEOUT_MS_MAX } from './replica-limits.js'

export interface ProduceHandlerContext {
  readonly logger: Logger
  partition(topic: string, partitionId: number): Partition | undefined
  /** Where appended bytes are kept for followers fetching at the tail. */
  readonly recentAppends?: RecentAppends
}

interface Waiter {
  readonly finish: (error: ErrorCodeInfo) => void
}

function answer(partitionIndex: number, error: ErrorCodeInfo, message = '', extra: Partial<broker.ProducePartitionResponse> = {}): broker.ProducePartitionResponse {
  return {
    partitionIndex,
    errorCode: error.code,
    errorMessage: message,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    currentLeaderId: NO_NODE,
    currentLeaderEpoch: -1,
    ...extra,
  }
}

export class ProduceHandler {
  private readonly context: ProduceHandlerContext
  private readonly waiters = new Set<Waiter>()
  private closed = false

  constructor(context: ProduceHandlerContext) {
    this.context = context
  }

  get delayedCount(): number {
    return this.waiters.size
  }

  async produce(request: broker.ProduceRequest): Promise<broker.ProduceResponse | null> {
    const acks = request.acks
    const refuse = (error: ErrorCodeInfo, message: string): broker.ProduceResponse => ({
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => answer(p.partitionIndex, error, message)) })),
    })
    if (acks !== 0 && acks !== 1 && acks !== -1) return refuse(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1 (all), not ${acks}.`)
    if (request.transactionalId.length > 0) return refuse(ErrorCode.INVALID_REQUEST, 'Transactions are not supported: transactional_id must be empty.')
    const timeoutMs = Math.min(Math.max(0, request.timeoutMs), PRODUCE_TIMEOUT_MS_MAX)
    const seen = new Set<string>()
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map((data) => {
            const key = `${topic.name}-${data.partitionIndex}`
            if (seen.has(key)) return answer(data.partitionIndex, ErrorCode.INVALID_REQUEST, `Partition ${key} appears twice in one request.`)
            seen.add(key)
            return this.producePartition(topic.name, data, acks, timeoutMs)
          }),
        ),
      })),
    )
    return acks === 0 ? null : { topics }
  }

  private async producePartition(topic: string, data: broker.ProducePartitionData, acks: number, timeoutMs: number): Promise<broker.ProducePartitionResponse> {
    const index = data.partitionIndex
    const partition = this.context.partition(topic, index)
    if (partition === undefined) return answer(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if (this.closed) return answer(index, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    // Refuse before writing anything when the purgatory is full: the client retries later.
    if (acks === -1 && this.waiters.size >= DELAYED_PRODUCES_MAX) return answer(index, ErrorCode.REQUEST_TIMED_OUT, 'Too many acks=all produces are waiting.')
    const outcome = await partition.appendAsLeader(data.records, acks)
    switch (outcome.kind) {
      case 'error':
        return answer(index, outcome.error, outcome.message)
      case 'not_leader':
        return answer(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, '', { currentLeaderId: outcome.leaderId, currentLeaderEpoch: outcome.leaderEpoch })
      case 'appended':
        this.keepRecent(partition, data.records, outcome.firstOffset, outcome.lastOffset, outcome.leaderEpoch)
        break
      case 'duplicate':
        break
    }
    const ok = answer(index, ErrorCode.NONE, '', { baseOffset: outcome.firstOffset, logStartOffset: outcome.logStartOffset })
    if (acks !== -1) return ok
    const error = await this.awaitHighWatermark(partition, outcome.lastOffset, outcome.leaderEpoch, timeoutMs)
    if (error === ErrorCode.NONE) return ok
    if (error === ErrorCode.NOT_LEADER_OR_FOLLOWER) return answer(index, error, '', { currentLeaderId: partition.leaderId, currentLeaderEpoch: partition.leaderEpoch })
    return answer(index, error)
  }

  /**
   * Offers the appended bytes to RecentAppends. The log stamped the offsets and the leader
   * epoch into this very buffer and wrote it as is; checked here on the first batch's header,
   * so a log that ever wrote a copy instead leaves nothing to serve rather than other bytes.
   */
  private keepRecent(partition: Partition, records: Buffer, firstOffset: bigint, lastOffset: bigint, leaderEpoch: number): void {
    const recent = this.context.recentAppends
    if (recent === undefined || records.length < RecordBatchLayout.headerBytes) return
    if (records.readBigInt64BE(RecordBatchLayout.baseOffsetPos) !== firstOffset || records.readInt32BE(RecordBatchLayout.partitionLeaderEpochPos) !== leaderEpoch) return
    recent.add(partition, leaderEpoch, firstOffset, lastOffset, records)
  }

  /** Kafka's DelayedProduce for one partition. */
  private async awaitHighWatermark(partition: Partition, lastOffset: bigint, leaderEpoch: number, timeoutMs: number): Promise<ErrorCodeInfo> {
    const now = partition.acksAllStatus(lastOffset, leaderEpoch, partition.settings.minInsyncReplicas)
    if (now.kind === 'done') return now.error
    if (this.closed) return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return new Promise<ErrorCodeInfo>((resolve) => {
      let settled = false
      const waiter: Waiter = {
        finish: (error) => {
          if (settled) return
          settled = true
          unsubscribe()
          clearTimeout(timer)
          this.waiters.delete(waiter)
          resolve(error)
        },
      }
      const unsubscribe = partition.subscribe(() => {
        const status = partition.acksAllStatus(lastOffset, leaderEpoch, partition.settings.minInsyncReplicas)
        if (status.kind === 'done') waiter.finish(status.error)
      })
      const timer = setTimeout(() => waiter.finish(ErrorCode.REQUEST_TIMED_OUT), timeoutMs)
      this.waiters.add(waiter)
    })
  }

  /** Every waiting produce answers NOT_LEADER_OR_FOLLOWER (the broker is going away). */
  close(): void {
    this.closed = true
    for (const waiter of [...this.waiters]) waiter.finish(ErrorCode.NOT_LEADER_OR_FOLLOWER)
  }
}
