/**
 * MetadataCache: the client's view of brokers and partition leaders, from Metadata answers.
 * Pure (time is passed in). A topic's entry is replaced whole by each answer naming it;
 * between answers, a produce or fetch response's leader hint (KIP-951: current_leader on
 * NOT_LEADER_OR_FOLLOWER) may move one partition's leader forward, never back: a hint is
 * taken only when its leader epoch is newer than the cached one.
 */
import { ErrorCode, type broker } from '@tributary/protocol'
import type { BrokerInfo, ClusterInfo, PartitionInfo, TopicInfo } from './types.js'

interface CachedTopic {
  readonly info: TopicInfo
  readonly fetchedAtMs: number
}

export class MetadataCache {
  private brokers = new Map<number, BrokerInfo>()
  private readonly topics = new Map<string, CachedTopic>()
  private clusterId = ''
  private controllerId = -1

  /** Takes a Metadata answer. Topics with an error (UNKNOWN_TOPIC_OR_PARTITION) are dropped. */
  update(response: broker.MetadataResponse, nowMs: number): void {
    if (response.brokers.length > 0) {
      // Metadata lists unfenced brokers only; a fenced one is unknown until it is back.
      const next = new Map<number, BrokerInfo>()
      for (const b of response.brokers) next.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack === '' ? null : b.rack })
      this.brokers = next
    }
    this.clusterId = response.clusterId
    this.controllerId = response.controllerId
    for (const t of response.topics) {
      if (t.errorCode !== ErrorCode.NONE.code) {
        this.topics.delete(t.name)
        continue
      }
      const partitions: PartitionInfo[] = t.partitions
        .map((p) => ({
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicaNodes],
          isr: [...p.isrNodes],
          offlineReplicas: [...p.offlineReplicas],
          errorCode: p.errorCode,
        }))
        .sort((a, b) => a.partition - b.partition)
      this.topics.set(t.name, { info: { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions }, fetchedAtMs: nowMs })
    }
  }

  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name)?.info
  }

  /** Whether the topic is unknown or its entry is older than maxAgeMs. */
  isStale(name: string, nowMs: number, maxAgeMs: number): boolean {
    const t = this.topics.get(name)
    return t === undefined || nowMs - t.fetchedAtMs > maxAgeMs
  }

  knownTopics(): string[] {
    return [...this.topics.keys()]
  }

  partition(topic: string, partition: number): PartitionInfo | undefined {
    return this.topics.get(topic)?.info.partitions.find((p) => p.partition === partition)
  }

  /** The partition's leader and its address, or null when leaderless or the broker is unknown. */
  leader(topic: string, partition: number): { readonly nodeId: number; readonly address: string; readonly leaderEpoch: number } | null {
    const p = this.partition(topic, partition)
    if (p === undefined || p.leader < 0) return null
    const address = this.address(p.leader)
    return address === null ? null : { nodeId: p.leader, address, leaderEpoch: p.leaderEpoch }
  }

  /** KIP-951: a response names a newer leader; returns whether the cache moved to it. */
  applyLeaderHint(topic: string, partition: number, leaderId: number, leaderEpoch: number): boolean {
    const cached = this.topics.get(topic)
    if (cached === undefined || leaderId < 0 || !this.brokers.has(leaderId)) return false
    const index = cached.info.partitions.findIndex((p) => p.partition === partition)
    const p = cached.info.partitions[index]
    if (p === undefined || leaderEpoch <= p.leaderEpoch) return false
    const partitions = [...cached.info.partitions]
    partitions[index] = { ...p, leader: leaderId, leaderEpoch, errorCode: ErrorCode.NONE.code }
    this.topics.set(topic, { info: { ...cached.info, partitions }, fetchedAtMs: cached.fetchedAtMs })
    return true
  }

  /** Forget a topic's partitions (stale leaders): the next use refreshes it. */
  invalidate(topic: string): void {
    this.topics.delete(topic)
  }

  address(nodeId: number): string | null {
    const b = this.brokers.get(nodeId)
    return b === undefined ? null : `${b.host}:${b.port}`
  }

  brokerList(): BrokerInfo[] {
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId)
  }

  cluster(): ClusterInfo {
    return { clusterId: this.clusterId, controllerId: this.controllerId, brokers: this.brokerList() }
  }
}
