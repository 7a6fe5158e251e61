/**
 * MetadataImage: the cluster metadata as of one offset of the metadata log (Kafka's
 * metadata/image). It owns brokers, topics and their partitions, topic and broker configs,
 * and the next producer id.
 *
 * The image is immutable. `replay(records, offset)` returns a NEW image; the old one stays
 * valid and unchanged (copy-on-write: maps and topics untouched by the records are shared).
 * State changes only through replay, and every controller and broker replays the same
 * records in log order, so they all reach the same image (checked with `fingerprint()`).
 *
 * Invariants (asserted on replay; a record that breaks one is a controller bug):
 * - `offset` never decreases; EMPTY has offset -1.
 * - A broker's epoch strictly increases across registrations; fence/unfence records name
 *   the current epoch and flip the fenced flag (never a no-op).
 * - Topic names and topic ids are unique; topicsById and topicsByName hold the same topics.
 * - A topic's partition ids are exactly 0..n-1 (partitions are only ever appended).
 * - A partition's replicas are distinct and non-empty; its ISR is a non-empty subset of the
 *   replicas (ELR-free Kafka keeps the last ISR member); leader is -1 or an ISR member.
 * - A PartitionChangeRecord bumps partitionEpoch; if it sets the leader it also bumps
 *   leaderEpoch (Kafka's PartitionRegistration.merge).
 * - nextProducerId strictly increases.
 */
import { NO_NODE, type NodeId, type TopicId, metadata } from '@tributary/protocol'
import { assert } from '../util/assert.js'

export interface BrokerRegistration {
  readonly brokerId: NodeId
  /** The offset of the broker's RegisterBrokerRecord; a re-registration fences older epochs. */
  readonly brokerEpoch: bigint
  readonly incarnationId: string
  readonly endpoints: readonly Readonly<metadata.Endpoint>[]
  readonly rack: string
  readonly fenced: boolean
}

export interface PartitionRegistration {
  readonly partitionId: number
  /** Assignment order; the first live ISR member in this order is the preferred leader. */
  readonly replicas: readonly NodeId[]
  readonly isr: readonly NodeId[]
  /** NO_NODE (-1) when the partition has no leader. */
  readonly leader: NodeId
  readonly leaderEpoch: number
  readonly partitionEpoch: number
}

export interface TopicImage {
  readonly name: string
  readonly topicId: TopicId
  /** partition id -> registration; ids are 0..size-1. */
  readonly partitions: ReadonlyMap<number, PartitionRegistration>
}

/** resource name -> (key -> value). */
export type ConfigsImage = ReadonlyMap<string, ReadonlyMap<string, string>>

interface ImageFields {
  readonly offset: number
  readonly brokers: ReadonlyMap<NodeId, BrokerRegistration>
  readonly topicsById: ReadonlyMap<TopicId, TopicImage>
  readonly topicsByName: ReadonlyMap<string, TopicImage>
  readonly topicConfigs: ConfigsImage
  readonly brokerConfigs: ConfigsImage
  readonly nextProducerId: bigint
}

const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/

export class MetadataImage {
  static readonly EMPTY: MetadataImage = new MetadataImage({
    offset: -1,
    brokers: new Map(),
    topicsById: new Map(),
    topicsByName: new Map(),
    topicConfigs: new Map(),
    brokerConfigs: new Map(),
    nextProducerId: 0n,
  })

  /** The last Raft offset replayed into this image; -1 for EMPTY. */
  readonly offset: number
  readonly brokers: ReadonlyMap<NodeId, BrokerRegistration>
  readonly topicsById: ReadonlyMap<TopicId, TopicImage>
  readonly topicsByName: ReadonlyMap<string, TopicImage>
  /** Keyed by topic name, as Kafka's ConfigRecord names a topic resource. */
  readonly topicConfigs: ConfigsImage
  /** Keyed by broker id as a string ('' is the cluster-wide default, as in Kafka). */
  readonly brokerConfigs: ConfigsImage
  /** The first producer id not yet handed out. */
  readonly nextProducerId: bigint

  private fingerprintMemo: string | null = null

  private constructor(fields: ImageFields) {
    this.offset = fields.offset
    this.brokers = fields.brokers
    this.topicsById = fields.topicsById
    this.topicsByName = fields.topicsByName
    this.topicConfigs = fields.topicConfigs
    this.brokerConfigs = fields.brokerConfigs
    this.nextProducerId = fields.nextProducerId
  }

  /**
   * The image after `records`, which are the content of the log up to and including
   * `offset`. Never mutates this image.
   */
  replay(records: readonly metadata.MetadataRecord[], offset: number): MetadataImage {
    assert(Number.isSafeInteger(offset) && offset >= this.offset, `replay offset ${offset} is below the image offset ${this.offset}`)
    if (records.length === 0 && offset === this.offset) return this
    const delta = new ImageDelta(this)
    for (const record of records) delta.replay(record)
    return new MetadataImage(delta.build(offset))
  }

  topic(name: string): TopicImage | undefined {
    return this.topicsByName.get(name)
  }

  partition(topicId: TopicId, partitionId: number): PartitionRegistration | undefined {
    return this.topicsById.get(topicId)?.partitions.get(partitionId)
  }

  /** Unfenced brokers, sorted by id. */
  unfencedBrokerIds(): NodeId[] {
    const ids: NodeId[] = []
    for (const b of this.brokers.values()) if (!b.fenced) ids.push(b.brokerId)
    return ids.sort((a, b) => a - b)
  }

  /** A broker that is registered and not fenced may lead partitions. */
  isActiveBroker(id: NodeId): boolean {
    const b = this.brokers.get(id)
    return b !== undefined && !b.fenced
  }

  /**
   * Every fact of the image, one per line, in a canonical order (sorted by id or name), so
   * two images with the same content give the same text whatever order built them.
   */
  canonicalText(): string {
    const lines: string[] = [`offset ${this.offset}`, `nextProducerId ${this.nextProducerId}`]
    for (const id of [...this.brokers.keys()].sort((a, b) => a - b)) {
      const b = this.brokers.get(id)!
      const endpoints = b.endpoints.map((e) => `${JSON.stringify(e.name)}@${JSON.stringify(e.host)}:${e.port}`).join(',')
      lines.push(`broker ${id} epoch=${b.brokerEpoch} incarnation=${JSON.stringify(b.incarnationId)} fenced=${b.fenced} rack=${JSON.stringify(b.rack)} endpoints=[${endpoints}]`)
    }
    for (const name of [...this.topicsByName.keys()].sort()) {
      const t = this.topicsByName.get(name)!
      lines.push(`topic ${JSON.stringify(name)} id=${t.topicId} partitions=${t.partitions.size}`)
      for (let p = 0; p < t.partitions.size; p++) {
        const r = t.partitions.get(p)!
        lines.push(`  partition ${p} replicas=[${r.replicas.join(',')}] isr=[${r.isr.join(',')}] leader=${r.leader} leaderEpoch=${r.leaderEpoch} partitionEpoch=${r.partitionEpoch}`)
      }
    }
    const configLines = (kind: string, configs: ConfigsImage): void => {
      for (const resource of [...configs.keys()].sort()) {
        const kv = configs.get(resource)!
        for (const key of [...kv.keys()].sort()) {
          lines.push(`config ${kind} ${JSON.stringify(resource)} ${JSON.stringify(key)}=${JSON.stringify(kv.get(key))}`)
        }
      }
    }
    configLines('topic', this.topicConfigs)
    configLines('broker', this.brokerConfigs)
    return lines.join('\n')
  }

  /**
   * A 128-bit hash (32 hex characters) of canonicalText(): equal for equal content, so the
   * simulator can compare nodes cheaply. Use canonicalText() to see a difference.
   */
  fingerprint(): string {
    // Memoised: the image is immutable, so the value never changes.
    this.fingerprintMemo ??= hash128(this.canonicalText())
    return this.fingerprintMemo
  }
}

// ---- Replay ----------------------------------------------------------------------------

/**
 * The changes of one replay() call (Kafka's MetadataDelta). Each map of the base image is
 * copied the first time a record touches it, and each topic's partition map the first time
 * one of its partitions changes, so a replay costs what it touches, not the image size.
 * The copies are owned by this delta until build() and never mutated after.
 */
class ImageDelta {
  private brokers: Map<NodeId, BrokerRegistration> | null = null
  private topicsById: Map<TopicId, TopicImage> | null = null
  private topicsByName: Map<string, TopicImage> | null = null
  /** Partition maps copied in this delta, by topic id. */
  private readonly ownedPartitions = new Map<TopicId, Map<number, PartitionRegistration>>()
  private topicConfigs: Map<string, ReadonlyMap<string, string>> | null = null
  private brokerConfigs: Map<string, ReadonlyMap<string, string>> | null = null
  private readonly ownedConfigs = new Set<ReadonlyMap<string, string>>()
  private nextProducerId: bigint

  constructor(private readonly base: MetadataImage) {
    this.nextProducerId = base.nextProducerId
  }

  build(offset: number): ImageFields {
    const b = this.base
    return {
      offset,
      brokers: this.brokers ?? b.brokers,
      topicsById: this.topicsById ?? b.topicsById,
      topicsByName: this.topicsByName ?? b.topicsByName,
      topicConfigs: this.topicConfigs ?? b.topicConfigs,
      brokerConfigs: this.brokerConfigs ?? b.brokerConfigs,
      nextProducerId: this.nextProducerId,
    }
  }

  replay(record: metadata.MetadataRecord): void {
    const r = record.record
    assert(r !== undefined, 'a metadata record must have a record type set')
    switch (r.$case) {
      case 'registerBroker':
        return this.registerBroker(r.value)
      case 'fenceBroker':
        return this.setFenced(r.value.brokerId, r.value.brokerEpoch, true)
      case 'unfenceBroker':
        return this.setFenced(r.value.brokerId, r.value.brokerEpoch, false)
      case 'unregisterBroker':
        return this.unregisterBroker(r.value)
      case 'topic':
        return this.topic(r.value)
      case 'partition':
        return this.partition(r.value)
      case 'partitionChange':
        return this.partitionChange(r.value)
      case 'removeTopic':
        return this.removeTopic(r.value)
      case 'config':
        return this.config(r.value)
      case 'producerIds':
        return this.producerIds(r.value)
    }
  }

  // -- brokers

  private brokersView(): ReadonlyMap<NodeId, BrokerRegistration> {
    return this.brokers ?? this.base.brokers
  }

  private mutableBrokers(): Map<NodeId, BrokerRegistration> {
    this.brokers ??= new Map(this.base.brokers)
    return this.brokers
  }

  private registerBroker(rec: metadata.RegisterBrokerRecord): void {
    assert(Number.isInteger(rec.brokerId) && rec.brokerId >= 0, `RegisterBrokerRecord has an invalid broker id ${rec.brokerId}`)
    const id = rec.brokerId as NodeId
    const existing = this.brokersView().get(id)
    assert(existing === undefined || rec.brokerEpoch > existing.brokerEpoch, `broker ${id} re-registered with epoch ${rec.brokerEpoch}, not above its epoch ${existing?.brokerEpoch}`)
    this.mutableBrokers().set(id, Object.freeze({
      brokerId: id,
      brokerEpoch: rec.brokerEpoch,
      incarnationId: rec.incarnationId,
      endpoints: Object.freeze(rec.endpoints.map((e) => Object.freeze({ name: e.name, host: e.host, port: e.port }))),
      rack: rec.rack,
      fenced: rec.fenced,
    }))
  }

  private currentRegistration(brokerId: number, brokerEpoch: bigint, what: string): BrokerRegistration {
    const existing = this.brokersView().get(brokerId as NodeId)
    assert(existing !== undefined, `${what} for unregistered broker ${brokerId}`)
    assert(existing.brokerEpoch === brokerEpoch, `${what} for broker ${brokerId} names epoch ${brokerEpoch}, the current epoch is ${existing.brokerEpoch}`)
    return existing
  }

  private setFenced(brokerId: number, brokerEpoch: bigint, fenced: boolean): void {
    const what = fenced ? 'FenceBrokerRecord' : 'UnfenceBrokerRecord'
    const existing = this.currentRegistration(brokerId, brokerEpoch, what)
    assert(existing.fenced !== fenced, `${what} for broker ${brokerId}, which is already ${fenced ? 'fenced' : 'unfenced'}`)
    this.mutableBrokers().set(existing.brokerId, Object.freeze({ ...existing, fenced }))
  }

  private unregisterBroker(rec: metadata.UnregisterBrokerRecord): void {
    const existing = this.currentRegistration(rec.brokerId, rec.brokerEpoch, 'UnregisterBrokerRecord')
    this.mutableBrokers().delete(existing.brokerId)
  }

  // -- topics and partitions

  private topicsByIdView(): ReadonlyMap<TopicId, TopicImage> {
    return this.topicsById ?? this.base.topicsById
  }

  private topicsByNameView(): ReadonlyMap<string, TopicImage> {
    return this.topicsByName ?? this.base.topicsByName
  }

  private putTopic(topic: TopicImage): void {
    this.topicsById ??= new Map(this.base.topicsById)
    this.topicsByName ??= new Map(this.base.topicsByName)
    this.topicsById.set(topic.topicId, topic)
    this.topicsByName.set(topic.name, topic)
  }

  private topic(rec: metadata.TopicRecord): void {
    assert(TOPIC_ID.test(rec.topicId), `TopicRecord has a malformed topic id '${rec.topicId}'`)
    assert(rec.name.length > 0, 'TopicRecord has an empty name')
    const id = rec.topicId as TopicId
    assert(!this.topicsByIdView().has(id), `TopicRecord reuses topic id ${id}`)
    assert(!this.topicsByNameView().has(rec.name), `TopicRecord reuses topic name '${rec.name}'`)
    const partitions = new Map<number, PartitionRegistration>()
    this.ownedPartitions.set(id, partitions)
    this.putTopic(Object.freeze({ name: rec.name, topicId: id, partitions }))
  }

  /** The topic's partition map, owned by this delta (copied on first use). */
  private mutablePartitions(topicId: string, what: string): Map<number, PartitionRegistration> {
    const topic = this.topicsByIdView().get(topicId as TopicId)
    assert(topic !== undefined, `${what} for unknown topic id ${topicId}`)
    let owned = this.ownedPartitions.get(topic.topicId)
    if (owned === undefined) {
      owned = new Map(topic.partitions)
      this.ownedPartitions.set(topic.topicId, owned)
      this.putTopic(Object.freeze({ name: topic.name, topicId: topic.topicId, partitions: owned }))
    }
    return owned
  }

  private partition(rec: metadata.PartitionRecord): void {
    const partitions = this.mutablePartitions(rec.topicId, 'PartitionRecord')
    assert(rec.partitionId === partitions.size, `PartitionRecord for ${rec.topicId}-${rec.partitionId}: partitions must be added in order, next is ${partitions.size}`)
    const registration: PartitionRegistration = Object.freeze({
      partitionId: rec.partitionId,
      replicas: Object.freeze(rec.replicas.slice() as NodeId[]),
      isr: Object.freeze(rec.isr.slice() as NodeId[]),
      leader: rec.leader as NodeId,
      leaderEpoch: rec.leaderEpoch,
      partitionEpoch: rec.partitionEpoch,
    })
    checkPartition(registration, `${rec.topicId}-${rec.partitionId}`)
    partitions.set(rec.partitionId, registration)
  }

  private partitionChange(rec: metadata.PartitionChangeRecord): void {
    const where = `${rec.topicId}-${rec.partitionId}`
    const partitions = this.mutablePartitions(rec.topicId, 'PartitionChangeRecord')
    const current = partitions.get(rec.partitionId)
    assert(current !== undefined, `PartitionChangeRecord for unknown partition ${where}`)
    const leaderSet = rec.leader !== undefined
    assert(leaderSet || rec.isrSet || rec.replicasSet, `PartitionChangeRecord for ${where} changes nothing`)
    // Kafka's PartitionRegistration.merge: any change bumps the partition epoch; a leader
    // change also bumps the leader epoch, which fences the previous leader's requests.
    const next: PartitionRegistration = Object.freeze({
      partitionId: current.partitionId,
      replicas: rec.replicasSet ? Object.freeze(rec.replicas.slice() as NodeId[]) : current.replicas,
      isr: rec.isrSet ? Object.freeze(rec.isr.slice() as NodeId[]) : current.isr,
      leader: leaderSet ? (rec.leader as NodeId) : current.leader,
      leaderEpoch: leaderSet ? current.leaderEpoch + 1 : current.leaderEpoch,
      partitionEpoch: current.partitionEpoch + 1,
    })
    checkPartition(next, where)
    partitions.set(rec.partitionId, next)
  }

  private removeTopic(rec: metadata.RemoveTopicRecord): void {
    const topic = this.topicsByIdView().get(rec.topicId as TopicId)
    assert(topic !== undefined, `RemoveTopicRecord for unknown topic id ${rec.topicId}`)
    this.topicsById ??= new Map(this.base.topicsById)
    this.topicsByName ??= new Map(this.base.topicsByName)
    this.topicsById.delete(topic.topicId)
    this.topicsByName.delete(topic.name)
    this.ownedPartitions.delete(topic.topicId)
    // Kafka deletes a topic's configs with the topic, so a new topic of the same name
    // starts from the defaults.
    if ((this.topicConfigs ?? this.base.topicConfigs).has(topic.name)) {
      this.topicConfigs ??= new Map(this.base.topicConfigs)
      this.topicConfigs.delete(topic.name)
    }
  }

  // -- configs and producer ids

  private config(rec: metadata.ConfigRecord): void {
    const isTopic = rec.resourceType === metadata.ConfigRecord_ResourceType.TOPIC
    assert(isTopic || rec.resourceType === metadata.ConfigRecord_ResourceType.BROKER, `ConfigRecord has an unsupported resource type ${rec.resourceType}`)
    assert(rec.name.length > 0, `ConfigRecord for ${rec.resourceName} has an empty key`)
    let all: Map<string, ReadonlyMap<string, string>>
    if (isTopic) {
      this.topicConfigs ??= new Map(this.base.topicConfigs)
      all = this.topicConfigs
    } else {
      this.brokerConfigs ??= new Map(this.base.brokerConfigs)
      all = this.brokerConfigs
    }
    const current = all.get(rec.resourceName)
    let kv: Map<string, string>
    if (current !== undefined && this.ownedConfigs.has(current)) {
      kv = current as Map<string, string>
    } else {
      kv = new Map(current)
      this.ownedConfigs.add(kv)
      all.set(rec.resourceName, kv)
    }
    if (rec.value === undefined) kv.delete(rec.name)
    else kv.set(rec.name, rec.value)
    if (kv.size === 0) all.delete(rec.resourceName)
  }

  private producerIds(rec: metadata.ProducerIdsRecord): void {
    assert(rec.nextProducerId > this.nextProducerId, `ProducerIdsRecord moves the next producer id from ${this.nextProducerId} to ${rec.nextProducerId}; it must increase`)
    this.nextProducerId = rec.nextProducerId
  }
}

function checkPartition(p: PartitionRegistration, where: string): void {
  assert(p.replicas.length > 0, `partition ${where} has no replicas`)
  assert(p.replicas.every((r) => Number.isInteger(r) && r >= 0), `partition ${where} has an invalid replica id in [${p.replicas.join(',')}]`)
  assert(new Set(p.replicas).size === p.replicas.length, `partition ${where} has duplicate replicas [${p.replicas.join(',')}]`)
  assert(p.isr.length > 0, `partition ${where} has an empty ISR`)
  assert(new Set(p.isr).size === p.isr.length, `partition ${where} has duplicate ISR members [${p.isr.join(',')}]`)
  assert(p.isr.every((r) => p.replicas.includes(r)), `partition ${where}: ISR [${p.isr.join(',')}] is not a subset of replicas [${p.replicas.join(',')}]`)
  assert(p.leader === NO_NODE || p.isr.includes(p.leader), `partition ${where}: leader ${p.leader} is not in the ISR [${p.isr.join(',')}]`)
  assert(p.leaderEpoch >= 0 && p.partitionEpoch >= 0, `partition ${where} has a negative epoch`)
}

// ---- Hashing ---------------------------------------------------------------------------

/**
 * Two independent 64-bit cyrb53-style hashes of the UTF-16 code units, as 32 hex chars.
 * Not cryptographic: it only has to make accidental collisions between diverging images
 * vanishingly unlikely. Pure (no node:crypto) because the image is pure code.
 */
function hash128(text: string): string {
  return hash64(text, 0x9e3779b9) + hash64(text, 0x85ebca6b)
}

function hash64(text: string, seed: number): string {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0')
}
