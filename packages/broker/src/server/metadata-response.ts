/**
 * The Metadata answer, from the broker's metadata image (Kafka's KRaftMetadataCache): the
 * unfenced brokers with their endpoint on the listener clients use, and for each asked topic
 * its partitions with leader, leader epoch, replicas, ISR and the replicas that are offline
 * (on fenced or unknown brokers). Pure.
 *
 * Kafka's rules kept: an empty topic list with all_topics is every topic, without it none; an
 * unknown topic is UNKNOWN_TOPIC_OR_PARTITION (no auto-creation); a partition without a
 * leader is LEADER_NOT_AVAILABLE (leader -1); brokers that lack the listener are left out.
 */
import type { MetadataImage, PartitionRegistration } from '@tributary/metadata-quorum'
import { ErrorCode, NO_NODE, type broker, type NodeId } from '@tributary/protocol'

export interface MetadataContext {
  readonly clusterId: string
  /** The active controller as this node knows it, -1 if unknown. */
  readonly controllerId: number
  /** The listener whose endpoints clients get (the one the request came in on). */
  readonly listenerName: string
}

/** Kafka's internal topics (Topic.isInternal). */
const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state'])

export function metadataResponse(image: MetadataImage, request: broker.MetadataRequest, context: MetadataContext): broker.MetadataResponse {
  const brokers: broker.MetadataBroker[] = []
  for (const id of image.unfencedBrokerIds()) {
    const registration = image.brokers.get(id)!
    const endpoint = registration.endpoints.find((e) => e.name === context.listenerName)
    if (endpoint === undefined) continue
    brokers.push({ nodeId: id, host: endpoint.host, port: endpoint.port, rack: registration.rack })
  }
  const names = request.topics.length === 0 && request.allTopics ? [...image.topicsByName.keys()].sort() : request.topics
  const topics: broker.MetadataTopic[] = []
  const seen = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) continue
    seen.add(name)
    const topic = image.topicsByName.get(name)
    if (topic === undefined) {
      topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, name, topicId: '', isInternal: false, partitions: [] })
      continue
    }
    const partitions = [...topic.partitions.values()].map((p) => partitionMetadata(image, p))
    topics.push({ errorCode: ErrorCode.NONE.code, name, topicId: topic.topicId, isInternal: INTERNAL_TOPICS.has(name), partitions })
  }
  return { brokers, clusterId: context.clusterId, controllerId: context.controllerId, topics, metadataOffset: BigInt(image.offset) }
}

function partitionMetadata(image: MetadataImage, p: PartitionRegistration): broker.MetadataPartition {
  const offline = p.replicas.filter((r: NodeId) => !image.isActiveBroker(r))
  return {
    errorCode: p.leader === NO_NODE ? ErrorCode.LEADER_NOT_AVAILABLE.code : ErrorCode.NONE.code,
    partitionIndex: p.partitionId,
    leaderId: p.leader,
    leaderEpoch: p.leaderEpoch,
    replicaNodes: p.replicas.slice(),
    isrNodes: p.isr.slice(),
    offlineReplicas: offline,
  }
}
