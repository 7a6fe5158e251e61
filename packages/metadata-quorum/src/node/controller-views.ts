/**
 * Read-only views a controller serves: DescribeQuorum (KIP-595/KIP-836) from the Raft status,
 * and DescribeMetadata from the committed MetadataImage. Pure mapping, no I/O.
 */
import { ErrorCode, NO_NODE, controller, quorum } from '@tributary/protocol'
import type { MetadataImage } from '../image/metadata-image.js'
import type { RaftStatus, ReplicaProgress } from '../raft/types.js'

function replicaState(p: ReplicaProgress): quorum.ReplicaState {
  return {
    replicaId: p.nodeId,
    logEndOffset: BigInt(p.logEndOffset),
    lastFetchTimestamp: BigInt(p.lastFetchTimestampMs),
    lastCaughtUpTimestamp: BigInt(p.lastCaughtUpTimestampMs),
  }
}

/**
 * `clusterId`: meta.properties' cluster.id, which kafka-metadata-quorum prints as ClusterId
 * (empty when the node was started without it).
 * Only the leader knows every replica's progress (Kafka answers DescribeQuorum on the leader
 * alone); elsewhere the answer is NOT_LEADER_OR_FOLLOWER with the leader it knows of.
 */
export function describeQuorumFromStatus(status: RaftStatus, clusterId = ''): quorum.DescribeQuorumResponse {
  if (status.role !== 'leader') {
    return {
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER.code,
      leaderId: status.leaderId ?? NO_NODE,
      leaderEpoch: status.epoch,
      highWatermark: BigInt(status.highWatermark),
      voters: [],
      observers: [],
      clusterId,
    }
  }
  return {
    errorCode: ErrorCode.NONE.code,
    leaderId: status.nodeId,
    leaderEpoch: status.epoch,
    highWatermark: BigInt(status.highWatermark),
    voters: status.voters.map(replicaState),
    observers: status.observers.map(replicaState),
    clusterId,
  }
}

/** The committed image as DescribeMetadata reports it; an unknown topic gets UNKNOWN_TOPIC_OR_PARTITION. */
export function describeMetadataFromImage(
  image: MetadataImage,
  request: controller.DescribeMetadataRequest,
  controllerId: number,
): controller.DescribeMetadataResponse {
  const brokers: controller.BrokerDescription[] = [...image.brokers.values()]
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((b) => ({
      brokerId: b.brokerId,
      brokerEpoch: b.brokerEpoch,
      endpoints: b.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
      fenced: b.fenced,
      rack: b.rack,
    }))
  const names = request.topics.length > 0 ? [...new Set(request.topics)] : [...image.topicsByName.keys()].sort()
  const topics: controller.TopicDescription[] = names.map((name) => {
    const topic = image.topicsByName.get(name)
    if (topic === undefined) return { name, topicId: '', partitions: [], errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code }
    const partitions = [...topic.partitions.values()]
      .sort((a, b) => a.partitionId - b.partitionId)
      .map((p) => ({
        partitionId: p.partitionId,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        replicas: [...p.replicas],
        isr: [...p.isr],
      }))
    return { name, topicId: topic.topicId, partitions, errorCode: ErrorCode.NONE.code }
  })
  return { errorCode: ErrorCode.NONE.code, controllerId, metadataOffset: BigInt(image.offset), brokers, topics }
}
