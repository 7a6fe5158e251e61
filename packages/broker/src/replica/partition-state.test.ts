// Scripted stories for the leader-side replication state: each test reads like the story
// it checks (Kafka's Partition.scala behaviour: HW, ISR shrink/expand, AlterPartition).
import { AssertionError, silentLogger } from '@tributary/metadata-quorum'
import { ErrorCode, NO_NODE, type NodeId } from '@tributary/protocol'
import { describe, expect, it } from 'vitest'
import { PartitionState, type Durability } from './partition-state.js'

const LAG_MS = 10_000
const ids = (...xs: number[]): NodeId[] => xs as NodeId[]
const N1 = 1 as NodeId
const N2 = 2 as NodeId
const N3 = 3 as NodeId

interface Setup {
  readonly isr?: readonly number[]
  readonly replicas?: readonly number[]
  readonly durability?: Durability
  readonly highWatermark?: bigint
  readonly logEndOffset?: bigint
  readonly leaderEpoch?: number
  readonly nowMs?: number
}

/** Node 1 leads a partition on replicas [1,2,3]. */
function leader(setup: Setup = {}): PartitionState {
  const s = new PartitionState({
    config: { localReplicaId: N1, replicaLagTimeMaxMs: LAG_MS, durability: setup.durability ?? 'fsync' },
    logger: silentLogger,
    highWatermark: setup.highWatermark ?? 0n,
  })
  const end = setup.logEndOffset ?? 0n
  const r = s.becomeLeader({
    leaderEpoch: setup.leaderEpoch ?? 1,
    partitionEpoch: 0,
    replicas: ids(...(setup.replicas ?? [1, 2, 3])),
    isr: ids(...(setup.isr ?? [1, 2, 3])),
    logEndOffset: end,
    durableEndOffset: end,
    nowMs: setup.nowMs ?? 0,
  })
  expect(r.kind).toBe('became_leader')
  return s
}

/** The leader appends up to `end` and fsyncs it. */
function produce(s: PartitionState, end: bigint): void {
  s.onLeaderLogAppend(end)
  s.onLeaderFlushed(end)
}

function fetch(s: PartitionState, replicaId: NodeId, fetchOffset: bigint, nowMs: number) {
  const r = s.onFollowerFetch({ replicaId, fetchOffset, nowMs })
  if (r.kind !== 'ok') throw new Error(`fetch refused: ${r.kind}`)
  return r
}

describe('PartitionState: the high watermark', () => {
  it('advances only once every ISR follower has acknowledged by fetching past the records', () => {
    const s = leader()
    produce(s, 10n)
    expect(s.highWatermark).toBe(0n)
    // Followers have not fetched in this epoch: nothing is known to be on them.
    fetch(s, N2, 10n, 1)
    expect(s.highWatermark).toBe(0n)
    expect(s.acksAllReady(9n)).toBe(false)
    // Replica 3 fetches from 4: it acknowledges [0, 4).
    expect(fetch(s, N3, 4n, 2)).toMatchObject({ highWatermark: 4n, highWatermarkAdvanced: true })
    expect(s.acksAllReady(3n)).toBe(true)
    expect(s.acksAllReady(4n)).toBe(false)
    expect(fetch(s, N3, 10n, 3)).toMatchObject({ highWatermark: 10n, highWatermarkAdvanced: true })
    expect(s.acksAllReady(9n)).toBe(true)
  })

  it('in fsync mode waits for the leader\'s own fsync, in page-cache mode it does not', () => {
    const fsync = leader()
    fsync.onLeaderLogAppend(10n)
    fetch(fsync, N2, 10n, 1)
    fetch(fsync, N3, 10n, 1)
    expect(fsync.highWatermark).toBe(0n)
    expect(fsync.onLeaderFlushed(6n)).toEqual({ highWatermarkAdvanced: true })
    expect(fsync.highWatermark).toBe(6n)
    fsync.onLeaderFlushed(10n)
    expect(fsync.highWatermark).toBe(10n)

    const pageCache = leader({ durability: 'page-cache' })
    pageCache.onLeaderLogAppend(10n)
    fetch(pageCache, N2, 10n, 1)
    expect(fetch(pageCache, N3, 10n, 1).highWatermark).toBe(10n)
  })

  it('a sole ISR member commits at once', () => {
    const s = leader({ isr: [1] })
    produce(s, 5n)
    expect(s.highWatermark).toBe(5n)
  })

  it('never goes back across leader epochs, and a new leader waits for its followers to fetch', () => {
    const s = leader()
    produce(s, 10n)
    fetch(s, N2, 10n, 1)
    fetch(s, N3, 10n, 1)
    expect(s.highWatermark).toBe(10n)

    // Node 2 takes over at epoch 2; node 1 must find its divergence point first.
    expect(s.becomeFollower({ leaderEpoch: 2, partitionEpoch: 1, leader: N2, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), latestLocalEpoch: 1 })).toEqual({
      kind: 'fetch_from_leader',
      leader: N2,
      leaderEpoch: 2,
      truncation: { kind: 'offsets_for_leader_epoch', currentLeaderEpoch: 2, leaderEpoch: 1 },
    })
    expect(s.isLeader).toBe(false)
    expect(s.acksAllReady(0n)).toBe(false)
    // The new leader's HW lags (it learns it from its own followers): ours stays.
    expect(s.onFollowerHighWatermark(7n, 12n)).toBe(false)
    expect(s.highWatermark).toBe(10n)
    // A follower's HW is capped by its own log end.
    expect(s.onFollowerHighWatermark(15n, 12n)).toBe(true)
    expect(s.highWatermark).toBe(12n)

    // A late message for an older epoch changes nothing.
    expect(s.becomeLeader({ leaderEpoch: 2, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), logEndOffset: 12n, durableEndOffset: 12n, nowMs: 5 })).toEqual({
      kind: 'stale_epoch',
      currentLeaderEpoch: 2,
    })
    expect(s.becomeLeader({ leaderEpoch: 3, partitionEpoch: 2, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), logEndOffset: 12n, durableEndOffset: 12n, nowMs: 5 })).toMatchObject({
      kind: 'became_leader',
      leaderEpochStartOffset: 12n,
      highWatermarkAdvanced: false,
    })
    expect(s.highWatermark).toBe(12n)
    produce(s, 20n)
    // Follower progress restarted with the epoch; replica 3 fetching behind never pulls the HW back.
    fetch(s, N2, 20n, 6)
    expect(fetch(s, N3, 12n, 6)).toMatchObject({ highWatermark: 12n, highWatermarkAdvanced: false })
    fetch(s, N3, 20n, 7)
    expect(s.highWatermark).toBe(20n)
  })

  it('refuses, by assertion, to lead from a log shorter than the HW it knows', () => {
    const s = new PartitionState({ config: { localReplicaId: N1, replicaLagTimeMaxMs: LAG_MS, durability: 'fsync' }, logger: silentLogger, highWatermark: 10n })
    expect(() => s.becomeLeader({ leaderEpoch: 1, partitionEpoch: 0, replicas: ids(1, 2), isr: ids(1, 2), logEndOffset: 9n, durableEndOffset: 9n, nowMs: 0 })).toThrow(AssertionError)
  })
})

describe('PartitionState: follower fetch validation', () => {
  it('answers bad fetches with values', () => {
    const s = leader()
    produce(s, 10n)
    expect(s.onFollowerFetch({ replicaId: 9 as NodeId, fetchOffset: 0n, nowMs: 1 })).toEqual({ kind: 'unknown_replica' })
    expect(s.onFollowerFetch({ replicaId: N2, fetchOffset: 11n, nowMs: 1 })).toEqual({ kind: 'offset_out_of_range', logEndOffset: 10n })
    expect(s.onFollowerFetch({ replicaId: N2, fetchOffset: -1n, nowMs: 1 })).toEqual({ kind: 'offset_out_of_range', logEndOffset: 10n })
    s.becomeFollower({ leaderEpoch: 2, partitionEpoch: 1, leader: N2, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), latestLocalEpoch: 1 })
    expect(s.onFollowerFetch({ replicaId: N2, fetchOffset: 0n, nowMs: 1 })).toEqual({ kind: 'not_leader' })
  })
})

describe('PartitionState: ISR shrink and expand', () => {
  it('shrinks a lagging follower after replicaLagTimeMaxMs; the HW waits for it until the shrink commits', () => {
    const s = leader()
    produce(s, 10n)
    fetch(s, N2, 10n, 1_000)
    fetch(s, N3, 5n, 1_000)
    produce(s, 20n)
    fetch(s, N2, 20n, 2_000)
    // Replica 3 went quiet at 5. Its last caught-up time is the start of the epoch (0).
    expect(s.tick(LAG_MS).isrChange).toBeNull()
    const shrink = s.tick(LAG_MS + 1).isrChange
    expect(shrink).toMatchObject({ kind: 'shrink', outOfSyncReplicaIds: [N3], request: { leaderEpoch: 1, partitionEpoch: 0, newIsr: [N1, N2] } })
    // Until the controller commits, replica 3 may still be elected: it holds the HW back.
    expect(s.isr).toEqual([N1, N2, N3])
    expect(s.maximalIsr).toEqual([N1, N2, N3])
    expect(s.highWatermark).toBe(5n)
    // One request at a time, handed out once.
    const request = s.takeAlterPartitionRequest()
    expect(request).toBe(shrink?.request)
    expect(s.takeAlterPartitionRequest()).toBeNull()
    expect(s.tick(LAG_MS * 5).isrChange).toBeNull()

    expect(s.onAlterPartitionResponse(request!, { kind: 'committed', leaderEpoch: 1, partitionEpoch: 1, isr: ids(1, 2) })).toEqual({
      kind: 'applied',
      isr: [N1, N2],
      highWatermarkAdvanced: true,
    })
    expect(s.highWatermark).toBe(20n)
    expect(s.view()).toMatchObject({ partitionEpoch: 1, isr: [N1, N2], maximalIsr: [N1, N2], isrState: 'committed' })

    // Replica 3 comes back: below the HW it stays out; at the HW it rejoins.
    expect(fetch(s, N3, 15n, 70_000).isrChange).toBeNull()
    const expand = fetch(s, N3, 20n, 70_001).isrChange
    expect(expand).toMatchObject({ kind: 'expand', replicaId: N3, request: { partitionEpoch: 1, newIsr: [N1, N2, N3] } })
    expect(s.maximalIsr).toEqual([N1, N2, N3])
    expect(s.isr).toEqual([N1, N2])
    const req = s.takeAlterPartitionRequest()!
    s.onAlterPartitionResponse(req, { kind: 'committed', leaderEpoch: 1, partitionEpoch: 2, isr: ids(1, 2, 3) })
    expect(s.isr).toEqual([N1, N2, N3])
  })

  it('never shrinks the leader itself', () => {
    const s = leader({ isr: [1] })
    produce(s, 10n)
    expect(s.tick(LAG_MS * 100).isrChange).toBeNull()
    const t = leader()
    produce(t, 10n)
    fetch(t, N2, 10n, 1)
    fetch(t, N3, 10n, 1)
    expect(t.tick(LAG_MS * 100).isrChange).toBeNull() // everyone holds the whole log
    produce(t, 11n)
    expect(t.tick(LAG_MS * 100).isrChange).toMatchObject({ outOfSyncReplicaIds: [N2, N3], request: { newIsr: [N1] } })
  })

  it('keeps a follower that always reaches what the leader had at its previous fetch (Replica.scala lastCaughtUpTimeMs)', () => {
    const s = leader()
    let end = 0n
    let previousEnd = 0n
    for (let t = 1_000; t <= 100_000; t += 1_000) {
      previousEnd = end
      end += 10n
      produce(s, end)
      // Replica 2 is always one append behind, but holds what the leader had last time.
      fetch(s, N2, previousEnd, t)
      // Replica 3 fell behind at the start and keeps lagging by more.
      fetch(s, N3, previousEnd > 20n ? previousEnd - 20n : 0n, t)
      const shrink = s.tick(t).isrChange
      if (shrink !== null) {
        expect(shrink).toMatchObject({ kind: 'shrink', outOfSyncReplicaIds: [N3] })
        expect(t).toBe(LAG_MS + 1_000)
        return
      }
    }
    expect.unreachable('replica 3 was never shrunk')
  })

  it('during a pending expand the HW already waits for the joining replica (maximal ISR)', () => {
    const s = leader({ isr: [1, 2] })
    produce(s, 10n)
    fetch(s, N2, 10n, 1)
    expect(s.highWatermark).toBe(10n)
    // Replica 3 reaches the HW: it is proposed, and counted from now on.
    expect(fetch(s, N3, 10n, 2).isrChange).toMatchObject({ kind: 'expand', replicaId: N3 })
    expect(s.maximalIsr).toEqual([N1, N2, N3])
    produce(s, 20n)
    fetch(s, N2, 20n, 3)
    expect(s.highWatermark).toBe(10n)
    fetch(s, N3, 15n, 4)
    expect(s.highWatermark).toBe(15n)
    // min.insync.replicas still counts only the committed ISR.
    expect(s.canAcceptAcksAll(3)).toEqual({ kind: 'not_enough_replicas', isrSize: 2, minInsyncReplicas: 3 })
  })

  it('only lets a replica rejoin once it holds this leader epoch\'s history (epoch start offset)', () => {
    const s = leader({ isr: [1, 2], highWatermark: 30n, logEndOffset: 50n, leaderEpoch: 4 })
    expect(s.view().leaderEpochStartOffset).toBe(50n)
    // Replica 2 has not fetched in this epoch yet, so the HW stays at 30.
    // Replica 3 is past the HW but still before this epoch began: it may hold a divergent tail.
    expect(fetch(s, N3, 40n, 2)).toMatchObject({ highWatermark: 30n, isrChange: null })
    expect(fetch(s, N3, 50n, 3).isrChange).toMatchObject({ kind: 'expand', replicaId: N3 })
  })
})

describe('PartitionState: AlterPartition answers', () => {
  function shrinkPending(): { s: PartitionState; request: NonNullable<ReturnType<PartitionState['takeAlterPartitionRequest']>> } {
    const s = leader()
    produce(s, 10n)
    fetch(s, N2, 10n, 1)
    s.tick(LAG_MS + 1)
    const request = s.takeAlterPartitionRequest()
    if (request === null) throw new Error('no shrink proposed')
    return { s, request }
  }

  it('a stale partition epoch drops the pending change and proposes nothing until metadata arrives', () => {
    const { s, request } = shrinkPending()
    expect(s.onAlterPartitionResponse(request, { kind: 'error', errorCode: ErrorCode.INVALID_UPDATE_VERSION.code })).toEqual({ kind: 'awaiting_metadata' })
    expect(s.view()).toMatchObject({ isrState: 'awaiting_metadata', isr: [N1, N2, N3], maximalIsr: [N1, N2, N3] })
    expect(s.takeAlterPartitionRequest()).toBeNull()
    expect(s.tick(LAG_MS * 3).isrChange).toBeNull()
    // The same answer again is for a request no longer pending.
    expect(s.onAlterPartitionResponse(request, { kind: 'error', errorCode: ErrorCode.INVALID_UPDATE_VERSION.code }).kind).toBe('ignored')

    // The controller had moved on (it fenced replica 2, say); metadata brings that state.
    expect(s.onMetadataUpdate({ leader: N1, leaderEpoch: 1, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 3) }, LAG_MS * 3)).toEqual({ kind: 'applied', highWatermarkAdvanced: false })
    expect(s.view()).toMatchObject({ isrState: 'committed', partitionEpoch: 1, isr: [N1, N3] })
    // Proposals resume, based on the new partition epoch.
    expect(s.tick(LAG_MS * 3).isrChange).toMatchObject({ kind: 'shrink', outOfSyncReplicaIds: [N3], request: { partitionEpoch: 1, newIsr: [N1] } })
    // Metadata that is not newer is stale.
    expect(s.onMetadataUpdate({ leader: N1, leaderEpoch: 1, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 3) }, 0)).toEqual({ kind: 'stale' })
    expect(s.onMetadataUpdate({ leader: N2, leaderEpoch: 2, partitionEpoch: 2, replicas: ids(1, 2, 3), isr: ids(2, 3) }, 0)).toEqual({ kind: 'role_change_required' })
  })

  it('a stale-view refusal of an expand keeps the expanded maximal ISR, even on a first attempt', () => {
    // The channel may have resent the request to a new controller after the old one had
    // committed it: the refusal can be caused by the change itself (simulator seed 9289).
    const s = leader({ isr: [1, 2] })
    produce(s, 10n)
    fetch(s, N2, 10n, 1)
    fetch(s, N3, 10n, 1)
    const request = s.takeAlterPartitionRequest()!
    expect(s.onAlterPartitionResponse(request, { kind: 'error', errorCode: ErrorCode.INVALID_UPDATE_VERSION.code })).toEqual({ kind: 'awaiting_metadata' })
    expect(s.maximalIsr).toEqual([N1, N2, N3])
    expect(s.takeAlterPartitionRequest()).toBeNull()
  })

  it('an explicit not-applied refusal of an expand shrinks the maximal ISR back at once', () => {
    const s = leader({ isr: [1, 2] })
    produce(s, 10n)
    fetch(s, N2, 10n, 1)
    fetch(s, N3, 10n, 1)
    const request = s.takeAlterPartitionRequest()!
    expect(s.maximalIsr).toEqual([N1, N2, N3])
    expect(s.onAlterPartitionResponse(request, { kind: 'error', errorCode: ErrorCode.INELIGIBLE_REPLICA.code })).toEqual({ kind: 'dropped', awaitingMetadata: false })
    expect(s.maximalIsr).toEqual([N1, N2])
    // Not waiting for metadata: the next fetch proposes again.
    expect(fetch(s, N3, 10n, 2).isrChange).toMatchObject({ kind: 'expand', replicaId: N3 })
  })

  it('a lost answer resends the same request; a refusal after a resend keeps the maximal ISR until metadata', () => {
    const s = leader({ isr: [1, 2] })
    produce(s, 10n)
    fetch(s, N2, 10n, 1)
    fetch(s, N3, 10n, 1)
    const first = s.takeAlterPartitionRequest()!
    expect(s.onAlterPartitionResponse(first, { kind: 'outcome_unknown', reason: 'deadline exceeded' })).toEqual({ kind: 'retry' })
    const second = s.takeAlterPartitionRequest()
    expect(second).toBe(first)
    // The first attempt may have been applied, which would make this one stale.
    expect(s.onAlterPartitionResponse(first, { kind: 'error', errorCode: ErrorCode.INVALID_UPDATE_VERSION.code })).toEqual({ kind: 'awaiting_metadata' })
    expect(s.maximalIsr).toEqual([N1, N2, N3])
    expect(s.isr).toEqual([N1, N2])
    produce(s, 20n)
    fetch(s, N2, 20n, 2)
    expect(s.highWatermark).toBe(10n) // still waits for replica 3
    s.onMetadataUpdate({ leader: N1, leaderEpoch: 1, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 2, 3) }, 3)
    expect(s.view()).toMatchObject({ isrState: 'committed', isr: [N1, N2, N3] })
  })

  it('metadata that commits the change before its answer arrives makes the answer stale', () => {
    const { s, request } = shrinkPending()
    s.onMetadataUpdate({ leader: N1, leaderEpoch: 1, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 2) }, LAG_MS + 2)
    expect(s.highWatermark).toBe(10n)
    expect(s.onAlterPartitionResponse(request, { kind: 'committed', leaderEpoch: 1, partitionEpoch: 1, isr: ids(1, 2) }).kind).toBe('ignored')
    expect(s.view()).toMatchObject({ isrState: 'committed', partitionEpoch: 1, isr: [N1, N2] })
  })

  it('keeps one request on the wire: a superseded one blocks the next until it is answered', () => {
    const { s, request } = shrinkPending()
    // Metadata commits a different change; the proposal it superseded is still in flight.
    s.onMetadataUpdate({ leader: N1, leaderEpoch: 1, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 2, 3) }, LAG_MS + 2)
    expect(s.tick(LAG_MS + 3).isrChange).toMatchObject({ kind: 'shrink', request: { partitionEpoch: 1 } })
    expect(s.takeAlterPartitionRequest()).toBeNull()
    expect(s.onAlterPartitionResponse(request, { kind: 'error', errorCode: ErrorCode.INVALID_UPDATE_VERSION.code })).toMatchObject({ kind: 'ignored' })
    expect(s.view().isrState).toBe('pending_shrink')
    expect(s.takeAlterPartitionRequest()).toMatchObject({ partitionEpoch: 1, newIsr: [N1, N2] })
  })

  it('a new leader epoch forgets a pending change; its answer is ignored', () => {
    const { s, request } = shrinkPending()
    s.becomeLeader({ leaderEpoch: 2, partitionEpoch: 1, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), logEndOffset: 10n, durableEndOffset: 10n, nowMs: LAG_MS + 2 })
    expect(s.onAlterPartitionResponse(request, { kind: 'committed', leaderEpoch: 1, partitionEpoch: 1, isr: ids(1, 2) }).kind).toBe('ignored')
    expect(s.isr).toEqual([N1, N2, N3])
  })
})

describe('PartitionState: acks=all admission', () => {
  it('refuses with NOT_ENOUGH_REPLICAS when the committed ISR is smaller than min.insync.replicas', () => {
    const s = leader()
    produce(s, 10n)
    expect(s.canAcceptAcksAll(2)).toEqual({ kind: 'ok' })
    s.tick(LAG_MS + 1) // both followers never fetched: shrink to [1] pending
    // A pending shrink has not happened yet.
    expect(s.canAcceptAcksAll(2)).toEqual({ kind: 'ok' })
    const request = s.takeAlterPartitionRequest()!
    expect(request.newIsr).toEqual([N1])
    s.onAlterPartitionResponse(request, { kind: 'committed', leaderEpoch: 1, partitionEpoch: 1, isr: ids(1) })
    expect(s.canAcceptAcksAll(2)).toEqual({ kind: 'not_enough_replicas', isrSize: 1, minInsyncReplicas: 2 })
    expect(s.canAcceptAcksAll(1)).toEqual({ kind: 'ok' })
    // With the ISR at [1], the leader alone commits.
    expect(s.highWatermark).toBe(10n)
    s.becomeFollower({ leaderEpoch: 2, partitionEpoch: 2, leader: NO_NODE, replicas: ids(1, 2, 3), isr: ids(1), latestLocalEpoch: 1 })
    expect(s.canAcceptAcksAll(1)).toEqual({ kind: 'not_leader' })
  })
})

describe('PartitionState: becoming a follower', () => {
  it('asks for nothing to truncate with an empty log, and keeps fetching on a same-epoch ISR change', () => {
    const s = new PartitionState({ config: { localReplicaId: N3, replicaLagTimeMaxMs: LAG_MS, durability: 'fsync' }, logger: silentLogger, highWatermark: 0n })
    expect(s.becomeFollower({ leaderEpoch: 1, partitionEpoch: 0, leader: N1, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), latestLocalEpoch: null })).toEqual({
      kind: 'fetch_from_leader',
      leader: N1,
      leaderEpoch: 1,
      truncation: { kind: 'none' },
    })
    expect(s.becomeFollower({ leaderEpoch: 1, partitionEpoch: 1, leader: N1, replicas: ids(1, 2, 3), isr: ids(1, 3), latestLocalEpoch: null })).toEqual({ kind: 'unchanged' })
    expect(s.isr).toEqual([N1, N3])
    expect(s.onMetadataUpdate({ leader: N1, leaderEpoch: 1, partitionEpoch: 2, replicas: ids(1, 2, 3), isr: ids(1) }, 0)).toEqual({ kind: 'applied', highWatermarkAdvanced: false })
    expect(s.isr).toEqual([N1])
    expect(s.becomeFollower({ leaderEpoch: 0, partitionEpoch: 0, leader: N2, replicas: ids(1, 2, 3), isr: ids(1, 2, 3), latestLocalEpoch: null })).toEqual({ kind: 'stale_epoch', currentLeaderEpoch: 1 })
  })
})
