/**
 * GroupMember: one consumer's membership of a consumer group (KIP-848, the rebalance protocol
 * of proto/broker.proto), the client half of packages/broker/src/group.
 *
 * - The coordinator is found with FindCoordinator (any broker) and found again after
 *   NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS or a transport
 *   failure.
 * - Every heartbeat carries the full subscription and the owned partitions; the response
 *   carries the member's whole assignment. The first heartbeat has epoch 0 (join), the last
 *   -1 (leave). The coordinator's heartbeat_interval_ms wins over the configured one.
 * - Reconciliation is revoke-then-assign: partitions no longer assigned are revoked first
 *   (the host stops fetching them and commits their positions), the next heartbeat (sent at
 *   once) stops listing them, and only then does the coordinator give them to another member
 *   (it assigns a partition only after its previous owner stopped listing it). Partitions
 *   added start at the committed offset (OffsetFetch), else at the host's reset policy.
 * - FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID: every partition is dropped without a commit (the
 *   member's epoch is no longer valid) and the member rejoins with epoch 0 and the same id.
 * - No successful heartbeat within sessionTimeoutMs: the coordinator has evicted the member,
 *   so its partitions are dropped locally (another member may own them now) and it rejoins.
 * - Commits carry the member epoch; STALE_MEMBER_EPOCH and coordinator errors are retried
 *   (a heartbeat refreshes the epoch) within the client's request timeout.
 */
import { randomUUID } from 'node:crypto'
import { ErrorCode, type broker } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { asTributaryError, kafkaError, TributaryError } from '../errors.js'
import { backoffMs, retry } from '../retry.js'
import type { ResolvedConsumerOptions } from './options.js'
import { sleepUntilAborted } from './sleep-until-aborted.js'
import type { TopicPartition } from './types.js'

const JOIN_EPOCH = 0
const LEAVE_EPOCH = -1

/** What the member asks of the consumer that owns it. */
export interface GroupHost {
  /** Start fetching these partitions; `committed` holds the committed offsets known (others reset). */
  onAssigned(partitions: readonly TopicPartition[], committed: ReadonlyMap<string, bigint>): void
  /** Stop fetching these partitions; `commit`: commit their positions first (auto-commit). */
  onRevoked(partitions: readonly TopicPartition[], commit: boolean): Promise<void>
  /** A non-retriable group error (INVALID_GROUP_ID, GROUP_MAX_SIZE_REACHED, ...): the consumer fails with it. */
  onFatal(error: TributaryError): void
}

interface Owned extends TopicPartition {
  readonly topicId: string
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`

export interface CommitOffset extends TopicPartition {
  readonly offset: bigint
}

export class GroupMember {
  memberId: string = randomUUID()
  memberEpoch = JOIN_EPOCH
  private readonly owned = new Map<string, Owned>()
  private coordinator: string | null = null
  private topics: readonly string[] = []
  private intervalMs: number
  private lastHeartbeatMs = Date.now()
  private loop: Promise<void> | null = null
  private readonly stopping = new AbortController()
  private wake: AbortController = new AbortController()
  /** Heartbeats answered without error (tests wait on it). */
  heartbeats = 0
  private sentHeartbeat = false

  constructor(
    private readonly client: Client,
    readonly groupId: string,
    private readonly options: ResolvedConsumerOptions,
    private readonly host: GroupHost,
  ) {
    this.intervalMs = options.heartbeatIntervalMs
  }

  /** The partitions the member owns now (what its heartbeats list). */
  ownedPartitions(): TopicPartition[] {
    return [...this.owned.values()].map((o) => ({ topic: o.topic, partition: o.partition }))
  }

  owns(topic: string, partition: number): boolean {
    return this.owned.has(tpKey(topic, partition))
  }

  /** Joins (or changes the subscription of a member that has joined) and starts heartbeating. */
  subscribe(topics: readonly string[]): void {
    this.topics = [...new Set(topics)].sort()
    this.lastHeartbeatMs = Date.now()
    this.loop ??= this.run()
    this.poke()
  }

  /** Stops heartbeating and leaves the group (epoch -1); best effort, bounded by the request timeout. */
  async leave(): Promise<void> {
    this.stopping.abort()
    this.poke()
    await this.loop
    // Nothing to leave when no heartbeat was ever sent (one in flight at stop counts as sent).
    if (!this.sentHeartbeat) return
    try {
      const address = await this.findCoordinator()
      await this.client.call(address, (s) => s.consumerGroupHeartbeat.bind(s), this.request(LEAVE_EPOCH), 'ConsumerGroupHeartbeat')
    } catch {
      // The session timeout removes the member when the leave cannot be sent.
    }
    this.owned.clear()
  }

  /** Commits offsets of owned partitions with the member epoch. Offsets of partitions not owned are skipped. */
  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    const deadlineMs = Date.now() + this.client.options.requestTimeoutMs
    await retry(async () => {
      const mine = offsets.filter((o) => this.owned.has(tpKey(o.topic, o.partition)))
      if (mine.length === 0) return
      const byTopic = new Map<string, broker.OffsetCommitRequestPartition[]>()
      for (const o of mine) {
        byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: '' }])
      }
      const request: broker.OffsetCommitRequest = {
        groupId: this.groupId,
        generationIdOrMemberEpoch: this.memberEpoch,
        memberId: this.memberId,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      }
      const res = await this.atCoordinator((address) => this.client.call(address, (s) => s.offsetCommit.bind(s), request, 'OffsetCommit'))
      const code = res.errorCode !== 0 ? res.errorCode : (res.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== 0)?.errorCode ?? 0)
      if (code === 0) return
      this.onCoordinatorError(code)
      if (code === ErrorCode.STALE_MEMBER_EPOCH.code) {
        // The epoch moved on in a heartbeat in flight; the next attempt carries the new one.
        throw new TributaryError(ErrorCode.REQUEST_TIMED_OUT, `OffsetCommit: stale member epoch ${this.memberEpoch}`)
      }
      throw kafkaError(code, 'OffsetCommit')
    }, { deadlineMs, backoff: this.client.backoff, what: `commit for group ${this.groupId}`, signal: this.client.closeSignal })
  }

  /** The committed offsets of these partitions (absent: none committed). */
  async fetchCommitted(partitions: readonly TopicPartition[]): Promise<Map<string, bigint>> {
    const byTopic = new Map<string, number[]>()
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition])
    const request: broker.OffsetFetchRequest = {
      groupId: this.groupId,
      topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      allTopics: false,
      memberId: this.memberId,
      memberEpoch: this.memberEpoch,
    }
    const res = await this.atCoordinator((address) => this.client.call(address, (s) => s.offsetFetch.bind(s), request, 'OffsetFetch'))
    if (res.errorCode !== 0) {
      this.onCoordinatorError(res.errorCode)
      if (res.errorCode === ErrorCode.STALE_MEMBER_EPOCH.code || res.errorCode === ErrorCode.FENCED_MEMBER_EPOCH.code || res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID.code) {
        // The member's epoch moved (or it was fenced): not fatal; the next heartbeat tells which,
        // and the partitions are taken again then (they were not added to the owned set).
        throw new TributaryError(ErrorCode.REQUEST_TIMED_OUT, `OffsetFetch: member epoch ${this.memberEpoch} refused (${res.errorCode})`)
      }
      throw kafkaError(res.errorCode, 'OffsetFetch')
    }
    const out = new Map<string, bigint>()
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw kafkaError(p.errorCode, `OffsetFetch ${t.name}-${p.partitionIndex}`)
        if (p.committedOffset >= 0n) out.set(tpKey(t.name, p.partitionIndex), p.committedOffset)
      }
    }
    return out
  }

  // ---- the heartbeat loop ---------------------------------------------------------------

  private poke(): void {
    this.wake.abort()
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.stopping.signal.aborted) {
      this.wake = new AbortController()
      let delayMs: number
      try {
        delayMs = await this.heartbeat()
        failures = 0
      } catch (err) {
        const error = asTributaryError(err)
        if (!error.retriable) {
          this.host.onFatal(error)
          return
        }
        this.coordinator = null
        delayMs = backoffMs(failures++, this.client.backoff, Math.random)
      }
      if (this.owned.size > 0 && Date.now() - this.lastHeartbeatMs > this.options.sessionTimeoutMs) {
        // The coordinator has evicted this member by now: another member may own its partitions.
        await this.dropAll()
      }
      if (this.stopping.signal.aborted) return
      await sleepUntilAborted(delayMs, AbortSignal.any([this.wake.signal, this.stopping.signal]))
    }
  }

  /** One heartbeat and its reconciliation; returns how long to wait before the next. */
  private async heartbeat(): Promise<number> {
    const address = await this.findCoordinator()
    this.sentHeartbeat = true
    const res = await this.client.call(address, (s) => s.consumerGroupHeartbeat.bind(s), this.request(this.memberEpoch), 'ConsumerGroupHeartbeat')
    if (this.stopping.signal.aborted) return 0
    if (res.errorCode === ErrorCode.FENCED_MEMBER_EPOCH.code || res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID.code) {
      await this.dropAll()
      return 0
    }
    if (res.errorCode !== 0) {
      this.onCoordinatorError(res.errorCode)
      throw kafkaError(res.errorCode, `ConsumerGroupHeartbeat of group ${this.groupId}`, res.errorMessage)
    }
    this.heartbeats++
    this.lastHeartbeatMs = Date.now()
    if (res.memberId !== '') this.memberId = res.memberId
    this.memberEpoch = res.memberEpoch
    if (res.heartbeatIntervalMs > 0) this.intervalMs = res.heartbeatIntervalMs
    const target = new Map<string, Owned>()
    for (const t of res.assignment) {
      const topic = t.topicName !== '' ? t.topicName : this.topicName(t.topicId)
      if (topic === null) continue
      for (const partition of t.partitions) target.set(tpKey(topic, partition), { topic, partition, topicId: t.topicId })
    }
    const revoked = [...this.owned].filter(([k]) => !target.has(k)).map(([, o]) => o)
    if (revoked.length > 0) {
      // Revoke first; the next heartbeat (at once) releases them to their new owner.
      await this.host.onRevoked(revoked, this.options.autoCommit)
      for (const o of revoked) this.owned.delete(tpKey(o.topic, o.partition))
      return 0
    }
    const added = [...target].filter(([k]) => !this.owned.has(k)).map(([, o]) => o)
    if (added.length > 0) {
      const committed = await this.fetchCommitted(added)
      for (const o of added) this.owned.set(tpKey(o.topic, o.partition), o)
      this.host.onAssigned(added.map((o) => ({ topic: o.topic, partition: o.partition })), committed)
    }
    return this.intervalMs
  }

  private async dropAll(): Promise<void> {
    const all = [...this.owned.values()]
    this.owned.clear()
    this.memberEpoch = JOIN_EPOCH
    if (all.length > 0) await this.host.onRevoked(all, false)
  }

  private request(memberEpoch: number): broker.ConsumerGroupHeartbeatRequest {
    const byTopic = new Map<string, number[]>()
    for (const o of this.owned.values()) byTopic.set(o.topicId, [...(byTopic.get(o.topicId) ?? []), o.partition])
    return {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch,
      rackId: '',
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      subscribedTopicNames: [...this.topics],
      serverAssignor: '',
      topicPartitions: [...byTopic].map(([topicId, partitions]) => ({ topicId, topicName: '', partitions: partitions.sort((a, b) => a - b) })),
    }
  }

  private topicName(topicId: string): string | null {
    for (const t of this.topics) if (this.client.cache.topic(t)?.topicId === topicId) return t
    return null
  }

  private onCoordinatorError(code: number): void {
    if (code === ErrorCode.NOT_COORDINATOR.code || code === ErrorCode.COORDINATOR_NOT_AVAILABLE.code) this.coordinator = null
  }

  private async atCoordinator<T>(call: (address: string) => Promise<T>): Promise<T> {
    const address = await this.findCoordinator()
    try {
      return await call(address)
    } catch (err) {
      if (asTributaryError(err).retriable) this.coordinator = null
      throw err
    }
  }

  private async findCoordinator(): Promise<string> {
    if (this.coordinator !== null) return this.coordinator
    const res = await this.client.callAny((s) => s.findCoordinator.bind(s), { key: this.groupId, keyType: 0 }, 'FindCoordinator')
    if (res.errorCode !== 0) throw kafkaError(res.errorCode, `FindCoordinator for group ${this.groupId}`, res.errorMessage)
    this.coordinator = `${res.host}:${res.port}`
    return this.coordinator
  }
}
