/**
 * One consumer group's coordinator state (KIP-848), pure: requests and ticks go in with the
 * time as `nowMs`; a response and the records to persist come out. State changes only by
 * replaying records (`replay`), and every command replays the records it emits before it
 * returns, so replaying the persisted records later rebuilds the same state.
 *
 * Epochs (KIP-848):
 * - the group epoch bumps when the membership, a member's subscription or assignor, or the
 *   partition counts of the subscribed topics change;
 * - the assignment epoch is the group epoch the target assignment was computed for; whenever
 *   the group epoch is ahead, the target is recomputed (uniform-assignor.ts, sticky);
 * - a member's epoch advances to the assignment epoch once it has revoked what it must give
 *   up (current-assignment.ts). A heartbeat with an epoch the coordinator does not expect is
 *   fenced (FENCED_MEMBER_EPOCH), except the previous epoch when the member owns nothing
 *   beyond its assignment (its last response was lost).
 *
 * Group states: empty (no members), assigning (group epoch > assignment epoch), reconciling
 * (some member is not yet at the assignment epoch or not stable), stable. The target is
 * computed synchronously in the command that bumps the epoch, so `assigning` is only seen
 * between records during a replay (Kafka's may last while a client-side assignor runs).
 *
 * Invariants (asserted on replay): a partition is held (assigned or pending revocation) by at
 * most one member; epochs never decrease.
 *
 * Session deadlines and revocation deadlines are not persisted: after a load, every member gets
 * a fresh session (`resetTimers`), as Kafka's coordinator does on failover.
 */
import { assert } from '@tributary/metadata-quorum'
import type { ErrorCodeInfo } from '@tributary/protocol'
import {
  EMPTY_ASSIGNMENT,
  assignmentsEqual,
  fromTopicPartitions,
  hasPartition,
  partitionKey,
  partitionsOf,
  toTopicPartitions,
  union,
  type Assignment,
  type TopicPartitionsValue,
} from './assignment.js'
import { initialMemberAssignment, reconcile, type MemberAssignmentState } from './current-assignment.js'
import { GroupErrorCode } from './group-error-codes.js'
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  MAX_MEMBER_ID_LENGTH,
  MAX_MEMBERS_PER_GROUP,
  MAX_REBALANCE_TIMEOUT_MS,
  MAX_SUBSCRIBED_TOPICS,
  UNIFORM_ASSIGNOR,
} from './group-limits.js'
import type { GroupRecord, MemberMetadataValue, SubscribedTopicValue } from './group-records.js'
import { uniformAssign } from './uniform-assignor.js'

export type GroupState = 'empty' | 'assigning' | 'reconciling' | 'stable'

/** What the coordinator knows of a topic from the metadata image. */
export interface TopicInfo {
  readonly topicId: string
  readonly numPartitions: number
}
/** Topic name -> topic, as the broker's metadata image has it now. */
export type TopicsView = ReadonlyMap<string, TopicInfo>

export interface ConsumerGroupConfig {
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly maxMembers: number
}

export const DEFAULT_CONSUMER_GROUP_CONFIG: ConsumerGroupConfig = {
  sessionTimeoutMs: DEFAULT_SESSION_TIMEOUT_MS,
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  maxMembers: MAX_MEMBERS_PER_GROUP,
}

/** The heartbeat's fields (proto ConsumerGroupHeartbeatRequest minus the group id). */
export interface HeartbeatRequest {
  readonly memberId: string
  readonly memberEpoch: number
  readonly instanceId?: string | undefined
  readonly rackId?: string | undefined
  readonly rebalanceTimeoutMs: number
  readonly subscribedTopicNames: readonly string[]
  readonly serverAssignor: string
  readonly ownedPartitions: readonly TopicPartitionsValue[]
}

export type HeartbeatOutcome =
  | {
      readonly kind: 'ok'
      readonly memberId: string
      readonly memberEpoch: number
      readonly heartbeatIntervalMs: number
      /** The member's whole current assignment (what it may own now). */
      readonly assignment: readonly TopicPartitionsValue[]
    }
  | { readonly kind: 'left'; readonly memberId: string; readonly memberEpoch: number }
  | { readonly kind: 'error'; readonly error: ErrorCodeInfo; readonly message: string }

export interface CommandResult<T> {
  readonly outcome: T
  /** Records to append to __consumer_offsets before the outcome is answered (already replayed). */
  readonly records: readonly GroupRecord[]
}

export type OffsetCommitCheck = { readonly kind: 'ok' } | { readonly kind: 'error'; readonly error: ErrorCodeInfo; readonly message: string }

export interface MemberView {
  readonly memberId: string
  readonly metadata: MemberMetadataValue
  readonly memberEpoch: number
  readonly previousMemberEpoch: number
  readonly state: MemberAssignmentState['state']
  readonly assigned: Assignment
  readonly pendingRevocation: Assignment
  readonly target: Assignment
}

/** Leave epochs (KIP-848): -1 leaves; -2 is a static member's temporary leave. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2
export const JOIN_GROUP_MEMBER_EPOCH = 0

interface Timers {
  sessionDeadlineMs: number
  /** Set while the member is in unrevoked-partitions: past it, the member is removed (rebalance timeout). */
  revocationDeadlineMs: number | null
}

export class ConsumerGroup {
  private groupEpochValue = 0
  private assignmentEpochValue = 0
  private readonly members = new Map<string, MemberMetadataValue>()
  private readonly current = new Map<string, MemberAssignmentState>()
  private readonly target = new Map<string, Assignment>()
  private subscription: readonly SubscribedTopicValue[] = []
  /** Partition key -> the member holding it (assigned or pending revocation). Derived from `current`. */
  private readonly holders = new Map<string, string>()
  private readonly timers = new Map<string, Timers>()

  constructor(
    readonly groupId: string,
    private readonly config: ConsumerGroupConfig = DEFAULT_CONSUMER_GROUP_CONFIG,
  ) {}

  get groupEpoch(): number {
    return this.groupEpochValue
  }
  get assignmentEpoch(): number {
    return this.assignmentEpochValue
  }
  get memberCount(): number {
    return this.members.size
  }
  get isEmpty(): boolean {
    return this.members.size === 0
  }

  state(): GroupState {
    if (this.members.size === 0) return 'empty'
    if (this.groupEpochValue > this.assignmentEpochValue) return 'assigning'
    for (const c of this.current.values()) {
      if (c.memberEpoch !== this.assignmentEpochValue || c.state !== 'stable') return 'reconciling'
    }
    return 'stable'
  }

  memberIds(): string[] {
    return [...this.members.keys()].sort()
  }

  member(memberId: string): MemberView | null {
    const metadata = this.members.get(memberId)
    if (metadata === undefined) return null
    const c = this.current.get(memberId) ?? initialMemberAssignment()
    return { memberId, metadata, ...c, target: this.target.get(memberId) ?? EMPTY_ASSIGNMENT }
  }

  /** The member holding a partition (assigned or pending revocation), or null. */
  holderOf(topicId: string, partition: number): string | null {
    return this.holders.get(partitionKey(topicId, partition)) ?? null
  }

  subscriptionMetadata(): readonly SubscribedTopicValue[] {
    return this.subscription
  }

  // ---- commands ------------------------------------------------------------------------

  heartbeat(request: HeartbeatRequest, topics: TopicsView, nowMs: number, newMemberId: () => string): CommandResult<HeartbeatOutcome> {
    const records: GroupRecord[] = []
    const emit = (r: GroupRecord): void => {
      this.replay(r)
      records.push(r)
    }
    const fail = (error: ErrorCodeInfo, message: string): CommandResult<HeartbeatOutcome> => ({ outcome: { kind: 'error', error, message }, records })
    const invalid = validateHeartbeat(request)
    if (invalid !== null) return fail(GroupErrorCode.INVALID_REQUEST, invalid)

    if (request.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || request.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // Static membership's temporary leave (-2) is treated as a leave: the instance's
      // assignment is not held for its return (no KIP-345 replacement yet).
      if (!this.members.has(request.memberId)) return fail(GroupErrorCode.UNKNOWN_MEMBER_ID, `member ${request.memberId} is not in group ${this.groupId}`)
      this.removeMember(request.memberId, emit)
      this.updateTargetAssignment(topics, emit)
      return { outcome: { kind: 'left', memberId: request.memberId, memberEpoch: request.memberEpoch }, records }
    }

    const assignor = request.serverAssignor === '' ? UNIFORM_ASSIGNOR : request.serverAssignor
    if (assignor !== UNIFORM_ASSIGNOR) return fail(GroupErrorCode.UNSUPPORTED_ASSIGNOR, `server assignor ${assignor} is not supported (only ${UNIFORM_ASSIGNOR})`)

    let memberId = request.memberId
    if (request.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
      if (memberId === '') memberId = newMemberId()
      const instanceId = request.instanceId ?? null
      if (instanceId !== null) {
        for (const [otherId, m] of this.members) {
          if (otherId !== memberId && m.instanceId === instanceId) {
            return fail(GroupErrorCode.UNRELEASED_INSTANCE_ID, `instance ${instanceId} is still used by member ${otherId}`)
          }
        }
      }
      if (this.members.has(memberId)) {
        // A member rejoins with epoch 0 after it was fenced: it has given up all its
        // partitions (KIP-848), so its old incarnation is removed and it joins afresh.
        this.removeMember(memberId, emit)
      } else if (this.members.size >= this.config.maxMembers) {
        return fail(GroupErrorCode.GROUP_MAX_SIZE_REACHED, `group ${this.groupId} has ${this.members.size} members (max ${this.config.maxMembers})`)
      }
    } else {
      const c = this.current.get(memberId)
      if (!this.members.has(memberId) || c === undefined) return fail(GroupErrorCode.UNKNOWN_MEMBER_ID, `member ${memberId} is not in group ${this.groupId}`)
      const owned = fromTopicPartitions(request.ownedPartitions)
      const lostResponse = request.memberEpoch === c.previousMemberEpoch && isSubset(owned, c.assigned)
      if (request.memberEpoch !== c.memberEpoch && !lostResponse) {
        return fail(GroupErrorCode.FENCED_MEMBER_EPOCH, `member ${memberId} sent epoch ${request.memberEpoch}, the coordinator expects ${c.memberEpoch}; rejoin with epoch 0`)
      }
    }

    this.timers.set(memberId, { sessionDeadlineMs: nowMs + this.config.sessionTimeoutMs, revocationDeadlineMs: this.timers.get(memberId)?.revocationDeadlineMs ?? null })

    let bump = false
    const metadata: MemberMetadataValue = {
      instanceId: request.instanceId ?? null,
      rackId: request.rackId ?? '',
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: [...new Set(request.subscribedTopicNames)].sort(),
      serverAssignor: assignor,
    }
    const previous = this.members.get(memberId)
    if (previous === undefined || !memberMetadataEqual(previous, metadata)) {
      emit({ type: 'member-metadata', groupId: this.groupId, memberId, value: metadata })
      if (previous === undefined) {
        emit({
          type: 'current-member-assignment',
          groupId: this.groupId,
          memberId,
          value: { memberEpoch: 0, previousMemberEpoch: -1, state: 'stable', assigned: [], pendingRevocation: [] },
        })
      }
      bump = previous === undefined || !sameSubscription(previous, metadata)
    }
    this.refreshSubscription(topics, emit, bump)
    this.updateTargetAssignment(topics, emit)
    this.reconcileMember(memberId, fromTopicPartitions(request.ownedPartitions), nowMs, emit)

    const c = this.current.get(memberId)
    assert(c !== undefined, 'a member that heartbeated has a current assignment')
    return {
      outcome: {
        kind: 'ok',
        memberId,
        memberEpoch: c.memberEpoch,
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        assignment: toTopicPartitions(c.assigned),
      },
      records,
    }
  }

  /** Partition counts or topics changed in the metadata image: bump the epoch if it matters. */
  onMetadataUpdate(topics: TopicsView): GroupRecord[] {
    const records: GroupRecord[] = []
    const emit = (r: GroupRecord): void => {
      this.replay(r)
      records.push(r)
    }
    if (this.members.size === 0) return records
    this.refreshSubscription(topics, emit, false)
    this.updateTargetAssignment(topics, emit)
    return records
  }

  /** Removes members whose session or rebalance (revocation) timeout passed. */
  tick(nowMs: number, topics: TopicsView): GroupRecord[] {
    const records: GroupRecord[] = []
    const emit = (r: GroupRecord): void => {
      this.replay(r)
      records.push(r)
    }
    for (const memberId of this.memberIds()) {
      const t = this.timers.get(memberId)
      if (t === undefined) continue
      const sessionExpired = nowMs >= t.sessionDeadlineMs
      const revocationExpired = t.revocationDeadlineMs !== null && nowMs >= t.revocationDeadlineMs
      if (sessionExpired || revocationExpired) this.removeMember(memberId, emit)
    }
    if (records.length > 0) this.updateTargetAssignment(topics, emit)
    return records
  }

  /** Gives every member a fresh session; called once the group has been loaded from the log. */
  resetTimers(nowMs: number): void {
    for (const memberId of this.members.keys()) {
      const c = this.current.get(memberId)
      const rebalanceTimeoutMs = this.members.get(memberId)?.rebalanceTimeoutMs ?? 0
      this.timers.set(memberId, {
        sessionDeadlineMs: nowMs + this.config.sessionTimeoutMs,
        revocationDeadlineMs: c?.state === 'unrevoked-partitions' ? nowMs + rebalanceTimeoutMs : null,
      })
    }
  }

  /** KIP-848 offset commits carry the member epoch; a mismatch is STALE_MEMBER_EPOCH. */
  validateOffsetCommit(memberId: string, memberEpoch: number): OffsetCommitCheck {
    if (memberEpoch < 0 && memberId === '') {
      // An admin (or simple consumer) commit: only into a group without members.
      if (this.members.size === 0) return { kind: 'ok' }
      return { kind: 'error', error: GroupErrorCode.UNKNOWN_MEMBER_ID, message: `group ${this.groupId} has members; commits must name one` }
    }
    const c = this.current.get(memberId)
    if (c === undefined) return { kind: 'error', error: GroupErrorCode.UNKNOWN_MEMBER_ID, message: `member ${memberId} is not in group ${this.groupId}` }
    if (memberEpoch !== c.memberEpoch) {
      return { kind: 'error', error: GroupErrorCode.STALE_MEMBER_EPOCH, message: `member ${memberId} committed with epoch ${memberEpoch}, current is ${c.memberEpoch}` }
    }
    return { kind: 'ok' }
  }

  /** Tombstones for every record of the group (DeleteGroups; the caller checks it is empty). */
  deletionRecords(): GroupRecord[] {
    const records: GroupRecord[] = []
    const emit = (r: GroupRecord): void => {
      this.replay(r)
      records.push(r)
    }
    for (const memberId of this.memberIds()) this.removeMember(memberId, emit)
    for (const memberId of [...this.target.keys()].sort()) emit({ type: 'target-assignment-member', groupId: this.groupId, memberId, value: null })
    emit({ type: 'target-assignment-metadata', groupId: this.groupId, value: null })
    emit({ type: 'subscription-metadata', groupId: this.groupId, value: null })
    emit({ type: 'group-metadata', groupId: this.groupId, value: null })
    return records
  }

  // ---- replay --------------------------------------------------------------------------

  replay(record: GroupRecord): void {
    assert(record.groupId === this.groupId, 'a group replays only its own records')
    switch (record.type) {
      case 'group-metadata':
        if (record.value === null) return
        assert(record.value.groupEpoch >= this.groupEpochValue, 'the group epoch never decreases')
        this.groupEpochValue = record.value.groupEpoch
        return
      case 'member-metadata':
        if (record.value === null) {
          this.members.delete(record.memberId)
          this.timers.delete(record.memberId)
        } else {
          this.members.set(record.memberId, record.value)
        }
        return
      case 'subscription-metadata':
        this.subscription = record.value?.topics ?? []
        return
      case 'target-assignment-member':
        if (record.value === null) this.target.delete(record.memberId)
        else this.target.set(record.memberId, fromTopicPartitions(record.value.partitions))
        return
      case 'target-assignment-metadata':
        if (record.value === null) return
        assert(record.value.assignmentEpoch >= this.assignmentEpochValue, 'the assignment epoch never decreases')
        this.assignmentEpochValue = record.value.assignmentEpoch
        return
      case 'current-member-assignment': {
        const old = this.current.get(record.memberId)
        if (old !== undefined) {
          for (const [t, p] of partitionsOf(union(old.assigned, old.pendingRevocation))) this.holders.delete(partitionKey(t, p))
        }
        if (record.value === null) {
          this.current.delete(record.memberId)
          return
        }
        const next: MemberAssignmentState = {
          memberEpoch: record.value.memberEpoch,
          previousMemberEpoch: record.value.previousMemberEpoch,
          state: record.value.state,
          assigned: fromTopicPartitions(record.value.assigned),
          pendingRevocation: fromTopicPartitions(record.value.pendingRevocation),
        }
        assert(old === undefined || next.memberEpoch >= old.memberEpoch, 'a member epoch never decreases')
        for (const [t, p] of partitionsOf(union(next.assigned, next.pendingRevocation))) {
          const holder = this.holders.get(partitionKey(t, p))
          assert(holder === undefined, `partition ${t}:${p} is held by ${holder} and cannot also go to ${record.memberId}`)
          this.holders.set(partitionKey(t, p), record.memberId)
        }
        this.current.set(record.memberId, next)
        return
      }
      case 'offset-commit':
        assert(false, 'offset commits are replayed by the offset store, not the group')
    }
  }

  // ---- internals -----------------------------------------------------------------------

  private removeMember(memberId: string, emit: (r: GroupRecord) => void): void {
    // Releasing the member's partitions first keeps the holder map consistent at every step.
    emit({ type: 'current-member-assignment', groupId: this.groupId, memberId, value: null })
    if (this.target.has(memberId)) emit({ type: 'target-assignment-member', groupId: this.groupId, memberId, value: null })
    emit({ type: 'member-metadata', groupId: this.groupId, memberId, value: null })
    emit({ type: 'group-metadata', groupId: this.groupId, value: { groupEpoch: this.groupEpochValue + 1 } })
  }

  /** Recomputes the subscribed topics' metadata; bumps the group epoch if it or `bump` says so. */
  private refreshSubscription(topics: TopicsView, emit: (r: GroupRecord) => void, bump: boolean): void {
    const names = new Set<string>()
    for (const m of this.members.values()) for (const n of m.subscribedTopicNames) names.add(n)
    const next: SubscribedTopicValue[] = []
    for (const topicName of [...names].sort()) {
      const info = topics.get(topicName)
      if (info !== undefined) next.push({ topicName, topicId: info.topicId, numPartitions: info.numPartitions })
    }
    const changed = !subscriptionEqual(this.subscription, next)
    if (changed) emit({ type: 'subscription-metadata', groupId: this.groupId, value: { topics: next } })
    if (changed || bump) emit({ type: 'group-metadata', groupId: this.groupId, value: { groupEpoch: this.groupEpochValue + 1 } })
  }

  private updateTargetAssignment(topics: TopicsView, emit: (r: GroupRecord) => void): void {
    if (this.groupEpochValue <= this.assignmentEpochValue) return
    // The subscription metadata must reflect the current members before assigning (a removal
    // changes the subscribed names; a change bumps the epoch once more, which the assignment
    // epoch then follows).
    this.refreshSubscription(topics, emit, false)
    const byName = new Map(this.subscription.map((t) => [t.topicName, t]))
    const members = this.memberIds().map((memberId) => {
      const m = this.members.get(memberId)
      assert(m !== undefined, 'listed members have metadata')
      const subscribedTopicIds = new Set<string>()
      for (const n of m.subscribedTopicNames) {
        const t = byName.get(n)
        if (t !== undefined) subscribedTopicIds.add(t.topicId)
      }
      return { memberId, subscribedTopicIds }
    })
    const partitionCounts = new Map(this.subscription.map((t) => [t.topicId, t.numPartitions]))
    const next = uniformAssign({ members, partitionCounts, previous: this.target })
    for (const [memberId, assignment] of next) {
      const before = this.target.get(memberId)
      if (before === undefined || !assignmentsEqual(before, assignment)) {
        emit({ type: 'target-assignment-member', groupId: this.groupId, memberId, value: { partitions: toTopicPartitions(assignment) } })
      }
    }
    emit({ type: 'target-assignment-metadata', groupId: this.groupId, value: { assignmentEpoch: this.groupEpochValue } })
  }

  private reconcileMember(memberId: string, owned: Assignment, nowMs: number, emit: (r: GroupRecord) => void): void {
    const current = this.current.get(memberId)
    assert(current !== undefined, 'a reconciled member has a current assignment')
    const next = reconcile({
      current,
      targetEpoch: this.assignmentEpochValue,
      target: this.target.get(memberId) ?? EMPTY_ASSIGNMENT,
      owned,
      heldByOther: (topicId, partition) => {
        const holder = this.holders.get(partitionKey(topicId, partition))
        return holder !== undefined && holder !== memberId
      },
    })
    if (next === current) return
    emit({
      type: 'current-member-assignment',
      groupId: this.groupId,
      memberId,
      value: {
        memberEpoch: next.memberEpoch,
        previousMemberEpoch: next.previousMemberEpoch,
        state: next.state,
        assigned: toTopicPartitions(next.assigned),
        pendingRevocation: toTopicPartitions(next.pendingRevocation),
      },
    })
    const t = this.timers.get(memberId)
    if (t !== undefined) {
      if (next.state === 'unrevoked-partitions' && current.state !== 'unrevoked-partitions') {
        t.revocationDeadlineMs = nowMs + (this.members.get(memberId)?.rebalanceTimeoutMs ?? 0)
      } else if (next.state !== 'unrevoked-partitions') {
        t.revocationDeadlineMs = null
      }
    }
  }
}

function validateHeartbeat(r: HeartbeatRequest): string | null {
  if (r.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) return `member epoch ${r.memberEpoch} is invalid`
  if (r.memberId.length > MAX_MEMBER_ID_LENGTH) return `member id longer than ${MAX_MEMBER_ID_LENGTH}`
  if (r.memberEpoch !== JOIN_GROUP_MEMBER_EPOCH && r.memberId === '') return 'member id is required unless joining (epoch 0)'
  if (r.instanceId !== undefined && (r.instanceId === '' || r.instanceId.length > MAX_MEMBER_ID_LENGTH)) return 'instance id must be non-empty and short'
  if (r.memberEpoch >= 0) {
    if (r.rebalanceTimeoutMs <= 0 || r.rebalanceTimeoutMs > MAX_REBALANCE_TIMEOUT_MS) return `rebalance timeout ${r.rebalanceTimeoutMs} ms is outside (0, ${MAX_REBALANCE_TIMEOUT_MS}]`
    if (r.subscribedTopicNames.length > MAX_SUBSCRIBED_TOPICS) return `more than ${MAX_SUBSCRIBED_TOPICS} subscribed topics`
    if (r.subscribedTopicNames.some((n) => n === '')) return 'a subscribed topic name is empty'
  }
  for (const tp of r.ownedPartitions) {
    if (tp.partitions.some((p) => !Number.isInteger(p) || p < 0)) return 'an owned partition index is negative'
  }
  return null
}

function isSubset(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) for (const p of ps) if (!hasPartition(b, t, p)) return false
  return true
}

function memberMetadataEqual(a: MemberMetadataValue, b: MemberMetadataValue): boolean {
  return a.instanceId === b.instanceId && a.rackId === b.rackId && a.rebalanceTimeoutMs === b.rebalanceTimeoutMs && sameSubscription(a, b)
}

function sameSubscription(a: MemberMetadataValue, b: MemberMetadataValue): boolean {
  return a.serverAssignor === b.serverAssignor && a.subscribedTopicNames.length === b.subscribedTopicNames.length &&
    a.subscribedTopicNames.every((n, i) => n === b.subscribedTopicNames[i])
}

function subscriptionEqual(a: readonly SubscribedTopicValue[], b: readonly SubscribedTopicValue[]): boolean {
  return a.length === b.length && a.every((t, i) => {
    const u = b[i]
    return u !== undefined && t.topicName === u.topicName && t.topicId === u.topicId && t.numPartitions === u.numPartitions
  })
}
