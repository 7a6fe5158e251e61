/**
 * FollowerProgress: what a partition leader knows about one remote replica, Kafka's
 * Replica.scala. Pure and synchronous; time comes in as nowMs.
 *
 * Owns, for one follower and one leader epoch:
 *   - acknowledgedEndOffset: the follower's last fetch offset. A follower only fetches from
 *     its durable log end (fsync mode) or its log end (page-cache mode), so a fetch at offset
 *     N acknowledges every record below N. null until the first fetch of this leader epoch:
 *     a new leader knows nothing about its followers (Kafka's UnknownOffset).
 *   - lastCaughtUpTimeMs: the last time the follower was known to hold everything the leader
 *     had. The ISR shrink rule reads it (now - lastCaughtUpTimeMs > replica.lag.time.max.ms).
 *   - lastFetchLeaderLogEndOffset / lastFetchTimeMs: the leader's log end and the time of the
 *     previous fetch, so that a follower that keeps up with a steadily growing log is still
 *     seen as caught up (it reaches, on each fetch, what the leader had on the previous one).
 *   - brokerEpoch: the follower's broker epoch from its fetches (KIP-903), sent with
 *     AlterPartition so the controller can refuse a replica that restarted in between.
 *
 * Invariants: lastCaughtUpTimeMs never decreases within a leader epoch; the fetch offset of
 * a recorded fetch is never beyond the leader's log end at that fetch (the caller checks).
 */
import { assert } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'

export interface FollowerProgressView {
  readonly replicaId: NodeId
  readonly acknowledgedEndOffset: bigint | null
  readonly lastCaughtUpTimeMs: number
  readonly lastFetchLeaderLogEndOffset: bigint | null
  readonly lastFetchTimeMs: number
  readonly brokerEpoch: bigint | null
}

export class FollowerProgress {
  private acknowledgedEnd: bigint | null = null
  private lastCaughtUpMs: number
  private lastFetchLeaderEnd: bigint | null = null
  private lastFetchMs = 0
  private epochOfBroker: bigint | null = null

  /**
   * A new leader epoch starts every follower afresh (Kafka's Replica.resetReplicaState with
   * isNewLeader): an ISR member is presumed caught up now, so it gets a full
   * replica.lag.time.max.ms to fetch before it can be shrunk; a replica outside the ISR
   * starts at 0, so it never looks caught up until it proves it.
   */
  constructor(
    readonly replicaId: NodeId,
    inSync: boolean,
    nowMs: number,
  ) {
    this.lastCaughtUpMs = inSync ? nowMs : 0
  }

  get acknowledgedEndOffset(): bigint | null {
    return this.acknowledgedEnd
  }

  get lastCaughtUpTimeMs(): number {
    return this.lastCaughtUpMs
  }

  get brokerEpoch(): bigint | null {
    return this.epochOfBroker
  }

  /**
   * Records a fetch at `fetchOffset` while the leader's log ends at `leaderLogEndOffset`.
   * Kafka's Replica.updateFetchStateOrThrow: a fetch that reaches the leader's current end
   * means caught up now; one that reaches the end the leader had at the previous fetch means
   * caught up as of that previous fetch.
   */
  recordFetch(fetchOffset: bigint, leaderLogEndOffset: bigint, nowMs: number, brokerEpoch: bigint | null): void {
    assert(fetchOffset >= 0n && fetchOffset <= leaderLogEndOffset, `fetch offset ${fetchOffset} of replica ${this.replicaId} is outside [0, ${leaderLogEndOffset}]`)
    if (fetchOffset >= leaderLogEndOffset) {
      this.lastCaughtUpMs = Math.max(this.lastCaughtUpMs, nowMs)
    } else if (this.lastFetchLeaderEnd !== null && fetchOffset >= this.lastFetchLeaderEnd) {
      this.lastCaughtUpMs = Math.max(this.lastCaughtUpMs, this.lastFetchMs)
    }
    this.acknowledgedEnd = fetchOffset
    this.lastFetchLeaderEnd = leaderLogEndOffset
    this.lastFetchMs = nowMs
    if (brokerEpoch !== null) this.epochOfBroker = brokerEpoch
  }

  /**
   * Kafka's Replica.isCaughtUp: holds the leader's whole log, or has held everything the
   * leader had within the last replicaLagTimeMaxMs.
   */
  isCaughtUp(leaderLogEndOffset: bigint, nowMs: number, replicaLagTimeMaxMs: number): boolean {
    return this.acknowledgedEnd === leaderLogEndOffset || nowMs - this.lastCaughtUpMs <= replicaLagTimeMaxMs
  }

  view(): FollowerProgressView {
    return {
      replicaId: this.replicaId,
      acknowledgedEndOffset: this.acknowledgedEnd,
      lastCaughtUpTimeMs: this.lastCaughtUpMs,
      lastFetchLeaderLogEndOffset: this.lastFetchLeaderEnd,
      lastFetchTimeMs: this.lastFetchMs,
      brokerEpoch: this.epochOfBroker,
    }
  }
}
