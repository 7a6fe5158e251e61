/**
 * ListOffsets and OffsetsForLeaderEpoch on the leader (Kafka's ReplicaManager.fetchOffset and
 * lastOffsetForLeaderEpoch).
 *
 * ListOffsets: -1 (latest) is the high watermark for clients (replica_id -1) and the log end
 * for replicas; -2 (earliest) the log start; a timestamp >= 0 the first record at or after
 * it, hidden from clients when at or above the HW. A new leader whose HW has not reached the
 * start of its epoch answers clients OFFSET_NOT_AVAILABLE (its HW may still be behind an
 * offset a client was already told), as Kafka does.
 *
 * OffsetsForLeaderEpoch (KIP-101/279): the largest epoch <= the asked one in the leader's
 * epoch cache and where it ends; the current epoch ends at the log end.
 */
import { AssertionError, type Logger } from '@tributary/metadata-quorum'
import { ErrorCode, type ErrorCodeInfo, type broker } from '@tributary/protocol'
import type { Partition } from '../partition/partition.js'
import { leaderEpochError } from './fetch-handler.js'

export interface OffsetsHandlerContext {
  readonly logger: Logger
  partition(topic: string, partitionId: number): Partition | undefined
}

const LATEST = -1n
const EARLIEST = -2n

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The error that stops a leader-only request for `partition`, or null. */
function leaderOnlyError(partition: Partition | undefined, currentLeaderEpoch: number): ErrorCodeInfo | null {
  if (partition === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  const unavailable = partition.unavailable()
  if (unavailable !== null) return unavailable
  const epochError = leaderEpochError(currentLeaderEpoch, partition.leaderEpoch)
  if (epochError !== null) return epochError
  if (!partition.isLeader) return ErrorCode.NOT_LEADER_OR_FOLLOWER
  return null
}

export class OffsetsHandler {
  constructor(private readonly context: OffsetsHandlerContext) {}

  async listOffsets(request: broker.ListOffsetsRequest): Promise<broker.ListOffsetsResponse> {
    const isClient = request.replicaId < 0
    const topics: broker.ListOffsetsTopicResponse[] = []
    for (const topic of request.topics) {
      const partitions: broker.ListOffsetsPartitionResponse[] = []
      for (const req of topic.partitions) partitions.push(await this.listOffset(topic.name, req, isClient))
      topics.push({ name: topic.name, partitions })
    }
    return { topics }
  }

  private async listOffset(topic: string, req: broker.ListOffsetsPartition, isClient: boolean): Promise<broker.ListOffsetsPartitionResponse> {
    const none = { partitionIndex: req.partitionIndex, timestamp: -1n, offset: -1n, leaderEpoch: -1 }
    const fail = (error: ErrorCodeInfo): broker.ListOffsetsPartitionResponse => ({ ...none, errorCode: error.code })
    const partition = this.context.partition(topic, req.partitionIndex)
    const error = leaderOnlyError(partition, req.currentLeaderEpoch)
    if (error !== null || partition === undefined) return fail(error ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    const highWatermark = partition.highWatermark
    if (isClient) {
      const epochStart = partition.view().leaderEpochStartOffset
      if (epochStart !== null && highWatermark < epochStart) return fail(ErrorCode.OFFSET_NOT_AVAILABLE)
    }
    try {
      if (req.timestamp === LATEST) {
        const offset = isClient ? highWatermark : partition.logEndOffset
        return { ...none, errorCode: ErrorCode.NONE.code, offset, leaderEpoch: partition.leaderEpoch }
      }
      if (req.timestamp === EARLIEST) {
        const found = await partition.listOffsets({ kind: 'earliest' })
        return { ...none, errorCode: ErrorCode.NONE.code, offset: found?.offset ?? partition.logStartOffset, leaderEpoch: found?.leaderEpoch ?? -1 }
      }
      if (req.timestamp < 0n) return fail(ErrorCode.INVALID_REQUEST)
      const found = await partition.listOffsets({ kind: 'timestamp', timestampMs: req.timestamp })
      if (found === null || (isClient && found.offset >= highWatermark)) return { ...none, errorCode: ErrorCode.NONE.code }
      return { ...none, errorCode: ErrorCode.NONE.code, offset: found.offset, timestamp: found.timestamp, leaderEpoch: found.leaderEpoch ?? -1 }
    } catch (err) {
      if (err instanceof AssertionError) throw err
      this.context.logger.error({ partition: partition.name, err: errorMessage(err) }, 'ListOffsets failed')
      return fail(ErrorCode.KAFKA_STORAGE_ERROR)
    }
  }

  async offsetsForLeaderEpoch(request: broker.OffsetsForLeaderEpochRequest): Promise<broker.OffsetsForLeaderEpochResponse> {
    return {
      topics: request.topics.map((topic) => ({
        topic: topic.topic,
        partitions: topic.partitions.map((req) => {
          const none = { partition: req.partition, leaderEpoch: -1, endOffset: -1n }
          const partition = this.context.partition(topic.topic, req.partition)
          const error = leaderOnlyError(partition, req.currentLeaderEpoch)
          if (error !== null || partition === undefined) return { ...none, errorCode: (error ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).code }
          // No epoch is negative: nothing the leader has can answer it.
          if (req.leaderEpoch < 0) return { ...none, errorCode: ErrorCode.NONE.code }
          try {
            const end = partition.endOffsetForEpoch(req.leaderEpoch)
            return { partition: req.partition, errorCode: ErrorCode.NONE.code, leaderEpoch: end.epoch, endOffset: end.endOffset }
          } catch (err) {
            if (err instanceof AssertionError) throw err
            this.context.logger.error({ partition: partition.name, err: errorMessage(err) }, 'OffsetsForLeaderEpoch failed')
            return { ...none, errorCode: ErrorCode.KAFKA_STORAGE_ERROR.code }
          }
        }),
      })),
    }
  }
}
