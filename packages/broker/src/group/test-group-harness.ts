/**
 * Test support: a GroupCoordinatorShard driven by simulated consumers that follow the KIP-848
 * client rules (own what the last response assigned; keep a revoked partition until they
 * choose to acknowledge the revocation), with a record log and invariant checks after every
 * step: no partition is owned by two live consumers, a consumer owns nothing the coordinator
 * does not hold for it, and epochs never decrease.
 */
import { broker } from '@tributary/protocol'
import { expect } from 'vitest'
import { fromTopicPartitions, intersect, partitionsOf, toTopicPartitions, union, type Assignment } from './assignment.js'
import { DEFAULT_CONSUMER_GROUP_CONFIG, type ConsumerGroup, type ConsumerGroupConfig, type TopicInfo } from './consumer-group.js'
import { GroupCoordinatorShard } from './group-coordinator-shard.js'
import type { GroupRecord } from './group-records.js'

export const GROUP = 'g1'
export const REBALANCE_TIMEOUT_MS = 30_000

export interface SimConsumer {
  readonly memberId: string
  epoch: number
  owned: Assignment
  subscription: string[]
  /** False once crashed: it sends nothing more and its ownership is not checked. */
  alive: boolean
  /** Epochs from its responses since its last join, to check they never go down. */
  lastEpoch: number
  /** The assignment of its last response. */
  lastAssigned: Assignment
}

export function topicIdOf(name: string): string {
  return `id-${name}`
}

export class GroupHarness {
  readonly log: GroupRecord[] = []
  readonly topics = new Map<string, TopicInfo>()
  readonly consumers = new Map<string, SimConsumer>()
  readonly evicted: string[] = []
  readonly shard: GroupCoordinatorShard
  nowMs = 1_000
  private lastGroupEpoch = 0
  private generated = 0

  constructor(topicPartitions: Record<string, number>, readonly config: ConsumerGroupConfig = DEFAULT_CONSUMER_GROUP_CONFIG) {
    for (const [name, n] of Object.entries(topicPartitions)) this.topics.set(name, { topicId: topicIdOf(name), numPartitions: n })
    this.shard = new GroupCoordinatorShard(config, () => `generated-${++this.generated}`)
  }

  get group(): ConsumerGroup {
    const g = this.shard.group(GROUP)
    if (g === null) throw new Error('no group yet')
    return g
  }

  join(memberId: string, subscription: string[] = ['orders']): broker.ConsumerGroupHeartbeatResponse {
    const c: SimConsumer = { memberId, epoch: 0, owned: new Map(), subscription, alive: true, lastEpoch: 0, lastAssigned: new Map() }
    this.consumers.set(memberId, c)
    return this.heartbeat(memberId)
  }

  /**
   * One heartbeat. With `ackRevocation` (the default) the consumer gives up revoked
   * partitions at once (before sending, and as soon as the response revokes more); without,
   * it keeps them (still committing) and reports them as owned.
   */
  heartbeat(memberId: string, ackRevocation = true): broker.ConsumerGroupHeartbeatResponse {
    const c = this.consumer(memberId)
    expect(c.alive, `${memberId} is alive`).toBe(true)
    if (ackRevocation) c.owned = intersect(c.owned, c.lastAssigned)
    const { response, records } = this.shard.heartbeat(
      {
        groupId: GROUP,
        memberId: c.memberId,
        memberEpoch: c.epoch,
        rackId: '',
        rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
        subscribedTopicNames: c.subscription,
        serverAssignor: '',
        topicPartitions: toTopicPartitions(c.owned).map((t) => ({ ...t, topicName: '', partitions: [...t.partitions] })),
      },
      this.topics,
      this.nowMs,
    )
    this.log.push(...records)
    if (response.errorCode === 0) {
      expect(response.memberEpoch, `${memberId}'s epoch never decreases`).toBeGreaterThanOrEqual(c.lastEpoch)
      c.lastEpoch = response.memberEpoch
      c.epoch = response.memberEpoch
      const assigned = fromTopicPartitions(response.assignment)
      c.lastAssigned = assigned
      c.owned = ackRevocation ? assigned : union(assigned, c.owned)
    }
    this.check()
    return response
  }

  /** A clean leave (close()): gives up everything and sends epoch -1. */
  leave(memberId: string): broker.ConsumerGroupHeartbeatResponse {
    const c = this.consumer(memberId)
    const { response, records } = this.shard.heartbeat(
      { groupId: GROUP, memberId, memberEpoch: -1, rackId: '', rebalanceTimeoutMs: 0, subscribedTopicNames: [], serverAssignor: '', topicPartitions: [] },
      this.topics,
      this.nowMs,
    )
    this.log.push(...records)
    c.alive = false
    c.owned = new Map()
    this.consumers.delete(memberId)
    this.check()
    return response
  }

  crash(memberId: string): void {
    const c = this.consumer(memberId)
    c.alive = false
    this.consumers.delete(memberId)
  }

  /**
   * Time passes; the coordinator evicts members past their session or rebalance timeout. An
   * evicted consumer learns it on its next heartbeat (UNKNOWN_MEMBER_ID) and drops everything;
   * its offset commits are refused from now on (epoch check), so it leaves the checks here.
   */
  advance(ms: number): GroupRecord[] {
    this.nowMs += ms
    const records = this.shard.tick(this.nowMs, this.topics)
    this.log.push(...records)
    for (const id of [...this.consumers.keys()]) {
      if (this.shard.group(GROUP)?.member(id) == null) {
        this.evicted.push(id)
        this.consumers.delete(id)
      }
    }
    this.check()
    return records
  }

  setPartitions(topic: string, numPartitions: number): void {
    this.topics.set(topic, { topicId: topicIdOf(topic), numPartitions })
    this.log.push(...this.shard.onMetadataUpdate(this.topics))
    this.check()
  }

  /** Heartbeats every live consumer, in member-id order, until the group is stable. */
  settle(maxRounds = 10): number {
    for (let round = 1; round <= maxRounds; round++) {
      for (const id of [...this.consumers.keys()].sort()) this.heartbeat(id)
      if (this.group.state() === 'stable' || this.group.state() === 'empty') return round
    }
    throw new Error(`group not stable after ${maxRounds} rounds: ${this.group.state()}`)
  }

  owned(memberId: string): number[] {
    return [...partitionsOf(this.consumer(memberId).owned)].map(([, p]) => p)
  }

  counts(): number[] {
    return [...this.consumers.values()].map((c) => [...partitionsOf(c.owned)].length).sort((a, b) => a - b)
  }

  /** Every partition of the topics, as owned by live consumers: key -> member. */
  ownership(): Map<string, string> {
    const out = new Map<string, string>()
    for (const c of this.consumers.values()) for (const [t, p] of partitionsOf(c.owned)) out.set(`${t}:${p}`, c.memberId)
    return out
  }

  /** A fresh shard rebuilt from the records so far (optionally compacted first). */
  replayed(records: readonly GroupRecord[] = this.log): GroupCoordinatorShard {
    const s = new GroupCoordinatorShard(this.config)
    for (const r of records) s.replay(r)
    return s
  }

  consumer(memberId: string): SimConsumer {
    const c = this.consumers.get(memberId)
    if (c === undefined) throw new Error(`no consumer ${memberId}`)
    return c
  }

  check(): void {
    const seen = new Map<string, string>()
    const group = this.shard.group(GROUP)
    for (const c of this.consumers.values()) {
      for (const [t, p] of partitionsOf(c.owned)) {
        const key = `${t}:${p}`
        const other = seen.get(key)
        expect(other, `${key} owned by ${other} and ${c.memberId}`).toBeUndefined()
        seen.set(key, c.memberId)
        // A consumer owns only what the coordinator holds for it (assigned or pending revocation).
        expect(group?.holderOf(t, p), `${key} owned by ${c.memberId}`).toBe(c.memberId)
      }
    }
    const epoch = group?.groupEpoch ?? this.lastGroupEpoch
    expect(epoch).toBeGreaterThanOrEqual(this.lastGroupEpoch)
    this.lastGroupEpoch = epoch
  }
}

/** Every partition of the topic is owned by exactly one live consumer. */
export function expectFullyOwned(h: GroupHarness, topic: string): void {
  const info = h.topics.get(topic)
  if (info === undefined) throw new Error(`no topic ${topic}`)
  const ownership = h.ownership()
  for (let p = 0; p < info.numPartitions; p++) expect(ownership.has(`${info.topicId}:${p}`), `${topic}-${p} owned`).toBe(true)
}

