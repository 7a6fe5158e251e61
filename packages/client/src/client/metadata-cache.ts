/**
 * MetadataCache: the client's view of brokers and partition leaders, from Metadata answers.
 * Pure (time is passed in). A topic's entry is rebuilt from each answer naming it;
 * between answers, a produce or fetch response's leader hint (KIP-951: current_leader on
 * NOT_LEADER_OR_FOLLOWER) may move one partition's leader forward, never back: a hint is
 * taken only when its leader epoch is newer than the cached one.
 *
 * KIP-320: the cache remembers, per partition, the entry with the highest leader epoch it has
 * seen (from answers and hints), and never goes back from it. A broker cut off from the
 * controller keeps answering Metadata from its stale view (naming itself leader at an old
 * epoch); such a partition keeps the newer entry, and an answer stale for any partition does
 * not replace the broker list either (Java's Metadata.updateLatestMetadata: "updating the
 * leader epoch only if newer"). The memory survives invalidate(), which only forgets the
 * routing; a new topic id (the topic deleted and created again) starts it afresh.
 */
import { ErrorCode, type broker } from '@tributary/protocol'
import type { BrokerInfo, ClusterInfo, PartitionInfo, TopicInfo } from './types.js'

interface CachedTopic {
  readonly info: TopicInfo
  readonly fetchedAtMs: number
}

/** The newest entry seen per partition of one topic id (KIP-320). */
interface NewestEpochs {
  readonly topicId: string
  readonly partitions: Map<number, PartitionInfo>
}

/** What one Metadata answer did to the cache. */
export interface MetadataUpdateOutcome {
  /** Partitions whose answered leader epoch was older than one already seen: kept as they were. */
  readonly stalePartitions: readonly { readonly topic: string; readonly partition: number; readonly leaderEpoch: number; readonly newestEpoch: number }[]
}

export class MetadataCache {
  private brokers = new Map<number, BrokerInfo>()
  private readonly topics = new Map<string, CachedTopic>()
  private readonly newest = new Map<string, NewestEpochs>()
  private clusterId = ''
  private controllerId = -1

  /**
   * Takes a Metadata answer. Topics with an error (UNKNOWN_TOPIC_OR_PARTITION) are dropped.
   * A partition answered with an older leader epoch than one seen keeps the newer entry; an
   * answer with such a partition is behind this cache, so its broker list is not taken.
   */
  update(response: broker.MetadataResponse, nowMs: number): MetadataUpdateOutcome {
    const stalePartitions: { topic: string; partition: number; leaderEpoch: number; newestEpoch: number }[] = []
    const rebuilt: [string, CachedTopic][] = []
    for (const t of response.topics) {
      if (t.errorCode !== ErrorCode.NONE.code) {
        // The memory of epochs stays: a lagging broker may not know a new topic yet.
        this.topics.delete(t.name)
        continue
      }
      const memory = this.epochMemory(t.name, t.topicId)
      const partitions: PartitionInfo[] = t.partitions
        .map((p) => {
          const answered: PartitionInfo = {
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: [...p.replicaNodes],
            isr: [...p.isrNodes],
            offlineReplicas: [...p.offlineReplicas],
            errorCode: p.errorCode,
          }
          return this.newerOf(t.name, memory, answered, stalePartitions)
        })
        .sort((a, b) => a.partition - b.partition)
      rebuilt.push([t.name, { info: { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions }, fetchedAtMs: nowMs }])
    }
    for (const [name, entry] of rebuilt) this.topics.set(name, entry)
    if (stalePartitions.length === 0) {
      if (response.brokers.length > 0) {
        // Metadata lists unfenced brokers only; a fenced one is unknown until it is back.
        const next = new Map<number, BrokerInfo>()
        for (const b of response.brokers) next.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack === '' ? null : b.rack })
        this.brokers = next
      }
      this.clusterId = response.clusterId
      this.controllerId = response.controllerId
    }
    return { stalePartitions }
  }

  /** The highest leader epoch seen for a partition, or -1. */
  newestLeaderEpoch(topic: string, partition: number): number {
    return this.newest.get(topic)?.partitions.get(partition)?.leaderEpoch ?? -1
  }

  /** The topic's epoch memory, started afresh when the topic id changed (deleted and created again). */
  private epochMemory(topic: string, topicId: string): NewestEpochs {
    const known = this.newest.get(topic)
    if (known !== undefined && (known.topicId === topicId || topicId === '' || known.topicId === '')) {
      if (known.topicId === '' && topicId !== '') {
        const adopted = { topicId, partitions: known.partitions }
        this.newest.set(topic, adopted)
        return adopted
      }
      return known
    }
    const fresh = { topicId, partitions: new Map<number, PartitionInfo>() }
    this.newest.set(topic, fresh)
    return fresh
  }

  /** KIP-320: the answered entry unless an entry with a newer leader epoch was seen (then that one). */
  private newerOf(topic: string, memory: NewestEpochs, answered: PartitionInfo, stale: { topic: string; partition: number; leaderEpoch: number; newestEpoch: number }[]): PartitionInfo {
    const seen = memory.partitions.get(answered.partition)
    // An answer without an epoch (-1) cannot be judged: taken as is, not remembered.
    if (answered.leaderEpoch < 0) return answered
    if (seen !== undefined && seen.leaderEpoch > answered.leaderEpoch) {
      stale.push({ topic, partition: answered.partition, leaderEpoch: answered.leaderEpoch, newestEpoch: seen.leaderEpoch })
      return seen
    }
    memory.partitions.set(answered.partition, answered)
    return answered
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
    const moved = { ...p, leader: leaderId, leaderEpoch, errorCode: ErrorCode.NONE.code }
    partitions[index] = moved
    this.epochMemory(topic, cached.info.topicId).partitions.set(partition, moved)
    this.topics.set(topic, { info: { ...cached.info, partitions }, fetchedAtMs: cached.fetchedAtMs })
    return true
  }

  /** Forget a topic's partitions (stale leaders): the next use refreshes it. The leader epochs seen stay (KIP-320). */
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
