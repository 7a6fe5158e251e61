/**
 * Scenario tests from an independent Raft safety review: each story once ended in a crashed
 * or unstartable node. Peer-controlled fields (sender ids, epochs, divergence points, snapshot
 * ids) are not authenticated, so bad input must get an error answer or be ignored and logged,
 * never reach an assert; and a node must be able to start from any state a crash leaves.
 */
import { describe, expect, it } from 'vitest'
import { nodeId, type NodeId } from '@tributary/protocol'
import { RaftCore } from './raft-core.js'
import { RAFT_LIMITS } from './raft-limits.js'
import { RaftErrorCode } from './raft-error-codes.js'
import {
  isRequest,
  type FetchResponse,
  type PersistentState,
  type RaftBody,
  type RaftEntry,
  type RaftMessage,
  type Ready,
  type VoteResponse,
} from './types.js'
import type { Logger } from '../util/logger.js'
import { recordingLogger } from '../util/test-logger.js'
import { deliver, entries, step, testCore } from './test-support.js'
import { encodeRequest, encodeResponse, methodOfResponse } from '../transport/raft-message-codec.js'

const [n1, n2, n3, n9] = [1, 2, 3, 9].map(nodeId)
const core = (id: NodeId, persisted: PersistentState, voters: readonly NodeId[] = [n1, n2, n3], logger?: Logger): RaftCore => testCore(id, persisted, voters, logger)

function answerTo(r: Ready, requestId: number): RaftBody | undefined {
  return r.messages.find((m) => m.requestId === requestId && !isRequest(m.body))?.body
}

/** Every message leaves through the real codec: it must encode (int32 fields included). */
function encodeAll(messages: readonly RaftMessage[]): void {
  for (const m of messages) {
    if (isRequest(m.body)) encodeRequest(m.from, m.body)
    else encodeResponse(methodOfResponse(m.body), m.body)
  }
}

const fetch = (epoch: number, fetchOffset: number, lastFetchedEpoch: number): RaftBody => ({
  type: 'fetch_request', replicaEpoch: epoch, fetchOffset, lastFetchedEpoch, maxWaitMs: 0, maxBytes: 1 << 20, highWatermark: -1,
})

/** Node 1 restarted as candidate in `epoch`; every other voter grants it. */
function electNode1(epoch: number, log: RaftEntry[], logger?: Logger): RaftCore {
  const c = core(n1, { hardState: { epoch, votedFor: n1, leaderId: null }, snapshot: null, entries: log }, [n1, n2, n3], logger)
  for (const m of step(c).messages) {
    const grant: VoteResponse = { type: 'vote_response', errorCode: 0, epoch, leaderId: null, voteGranted: true, preVote: false }
    c.receive({ from: m.to, to: n1, requestId: m.requestId, body: grant }, 0)
  }
  expect(c.status().role).toBe('leader')
  step(c)
  return c
}

/** Node 2 following node 1 in `epoch`, its first fetch answered with `hw`; returns the core and the next fetch's id. */
function follower(epoch: number, persisted: Omit<PersistentState, 'hardState'>, hw: number, logger?: Logger): { c: RaftCore; fetchId: number } {
  const c = core(n2, { hardState: { epoch, votedFor: null, leaderId: n1 }, ...persisted }, [n1, n2, n3], logger)
  const first = step(c).messages.find((m) => m.body.type === 'fetch_request')!
  const ok: FetchResponse = {
    type: 'fetch_response', errorCode: 0, epoch, leaderId: n1, highWatermark: hw, logStartOffset: 0, divergingEpoch: null, snapshotId: null, entries: [],
  }
  const r = deliver(c, n1, first.requestId, ok, 10)
  expect(c.status().highWatermark).toBe(hw)
  const next = r.messages.find((m) => m.body.type === 'fetch_request')!
  return { c, fetchId: next.requestId }
}

describe('RaftCore under the safety review scenarios', () => {
  describe('1. a log epoch above the hard state epoch (entries durable, hard state not)', () => {
    it('a one-voter node whose first leader Ready was half persisted starts, and elects itself again', () => {
      // Start 1 wrote leader_change(1) but not {1, self, self}: the disk holds a log at epoch 1
      // and the hard state of epoch 0. This once failed the constructor's assert forever.
      const leaderChange: RaftEntry = { epoch: 1, offset: 0, kind: 'leader_change', data: new Uint8Array(0) }
      const { logger, lines } = recordingLogger()
      const c = core(n1, { hardState: { epoch: 0, votedFor: null, leaderId: null }, snapshot: null, entries: [leaderChange] }, [n1], logger)
      expect(lines.some((l) => l.level === 'warn' && /above the hard state/.test(l.msg))).toBe(true)
      expect(c.status()).toMatchObject({ role: 'leader', epoch: 2, logEndOffset: 2 })
      const first = step(c)
      expect(first.hardState).toEqual({ epoch: 2, votedFor: n1, leaderId: n1 })
      expect(first.mustSync).toBe(true)
      expect(first.entries).toEqual([{ epoch: 2, offset: 1, kind: 'leader_change', data: new Uint8Array(0) }])
    })

    it('a voter adopts the log epoch with no vote and no leader, and persists that in its first Ready', () => {
      const c = core(n2, { hardState: { epoch: 1, votedFor: n1, leaderId: n1 }, snapshot: null, entries: entries([1, 1, 3]) })
      expect(c.status()).toMatchObject({ role: 'unattached', epoch: 3, leaderId: null, votedFor: null })
      const first = step(c)
      expect(first.hardState).toEqual({ epoch: 3, votedFor: null, leaderId: null })
      expect(first.mustSync).toBe(true)
      // No vote of epoch 3 left this node (a vote leaves only after its hard state is durable),
      // so it may grant one now, once.
      const vote = deliver(c, n3, 1, { type: 'vote_request', candidateEpoch: 3, lastEpoch: 3, lastEndOffset: 3, preVote: false })
      expect(vote.hardState).toEqual({ epoch: 3, votedFor: n3, leaderId: null })
      expect(answerTo(vote, 1)).toMatchObject({ voteGranted: true, epoch: 3 })
    })

    it('the same holds for a snapshot above the hard state epoch', () => {
      const c = core(n2, { hardState: { epoch: 2, votedFor: null, leaderId: null }, snapshot: { id: { endOffset: 4, epoch: 4 }, data: new Uint8Array(0) }, entries: [] })
      expect(c.status()).toMatchObject({ epoch: 4, logStartOffset: 4 })
      expect(step(c).hardState).toEqual({ epoch: 4, votedFor: null, leaderId: null })
    })
  })

  describe('2. a higher epoch from a non-voter, and the epoch limit', () => {
    it('an observer\'s Fetch with a huge epoch gets UNKNOWN_LEADER_EPOCH and changes nothing', () => {
      const c = electNode1(2, [])
      const r = deliver(c, n9, 7, fetch(0x7fffffff - 1, 0, 0))
      expect(answerTo(r, 7)).toMatchObject({ type: 'fetch_response', errorCode: RaftErrorCode.UNKNOWN_LEADER_EPOCH, epoch: 2, leaderId: n1 })
      expect(r.hardState).toBeNull()
      expect(c.status()).toMatchObject({ role: 'leader', epoch: 2 })
      // Not even a tracked observer: it was never validated.
      expect(c.status().observers).toEqual([])
    })

    it('an observer\'s FetchSnapshot with a higher epoch gets UNKNOWN_LEADER_EPOCH and changes nothing', () => {
      const c = electNode1(2, [])
      const r = deliver(c, n9, 8, { type: 'fetch_snapshot_request', replicaEpoch: 40, snapshotId: { endOffset: 1, epoch: 2 }, position: 0, maxBytes: 10 })
      expect(answerTo(r, 8)).toMatchObject({ type: 'fetch_snapshot_response', errorCode: RaftErrorCode.UNKNOWN_LEADER_EPOCH, epoch: 2 })
      expect(r.hardState).toBeNull()
      expect(c.status()).toMatchObject({ role: 'leader', epoch: 2 })
    })

    it('a follower does not move to a higher epoch on an observer\'s Fetch either', () => {
      const { c } = follower(3, { snapshot: null, entries: [] }, 0)
      const r = deliver(c, n9, 9, fetch(1000, 0, 0), 20)
      expect(answerTo(r, 9)).toMatchObject({ errorCode: RaftErrorCode.UNKNOWN_LEADER_EPOCH, epoch: 3 })
      expect(c.status()).toMatchObject({ role: 'follower', epoch: 3, leaderId: n1 })
    })

    it('the epoch limit leaves room for a pre-vote inside int32', () => {
      expect(RAFT_LIMITS.epochMax).toBeLessThanOrEqual(0x7fffffff - 1)
    })

    it('a message above the epoch limit is ignored, even from a voter', () => {
      const { logger, lines } = recordingLogger()
      const c = electNode1(2, [], logger)
      const r = deliver(c, n2, 7, fetch(RAFT_LIMITS.epochMax + 1, 0, 0))
      expect(r.messages).toEqual([])
      expect(r.hardState).toBeNull()
      expect(c.status()).toMatchObject({ role: 'leader', epoch: 2 })
      expect(lines.some((l) => l.level === 'error' && /epoch limit/.test(l.msg))).toBe(true)
    })

    it('a voter at the epoch limit stands for no election: it logs, stays, and sends nothing that cannot be encoded', () => {
      const { logger, lines } = recordingLogger()
      const max = RAFT_LIMITS.epochMax
      // A voter's Vote legitimately brings it to the limit...
      const c = core(n2, { hardState: { epoch: 5, votedFor: null, leaderId: null }, snapshot: null, entries: [] }, [n1, n2, n3], logger)
      step(c)
      const r = deliver(c, n3, 1, { type: 'vote_request', candidateEpoch: max, lastEpoch: 0, lastEndOffset: 0, preVote: false })
      encodeAll(r.messages)
      expect(c.status()).toMatchObject({ epoch: max, votedFor: n3 })
      // ...but not past it: however long it waits, no epoch above the limit leaves it.
      for (let now = 1; now <= 5000; now += 10) {
        c.tick(now)
        const out = step(c, now)
        encodeAll(out.messages)
        for (const m of out.messages) {
          if (m.body.type === 'vote_request') expect(m.body.candidateEpoch).toBeLessThanOrEqual(max)
        }
      }
      expect(c.status().epoch).toBe(max)
      expect(lines.some((l) => l.level === 'error' && /epoch limit/.test(l.msg))).toBe(true)
    })

    it('a single voter restarted at the epoch limit stays unattached instead of crashing', () => {
      const c = core(n1, { hardState: { epoch: RAFT_LIMITS.epochMax, votedFor: null, leaderId: null }, snapshot: null, entries: [] }, [n1])
      expect(c.status()).toMatchObject({ role: 'unattached', epoch: RAFT_LIMITS.epochMax })
      c.tick(10_000)
      encodeAll(step(c, 10_000).messages)
      expect(c.status().epoch).toBe(RAFT_LIMITS.epochMax)
    })
  })

  describe('3. BeginQuorumEpoch naming a second leader for our epoch', () => {
    it('at the leader: INVALID_REQUEST, still the leader', () => {
      const { logger, lines } = recordingLogger()
      const c = electNode1(2, [], logger)
      const r = deliver(c, n2, 5, { type: 'begin_quorum_epoch_request', leaderEpoch: 2 })
      expect(answerTo(r, 5)).toMatchObject({ type: 'begin_quorum_epoch_response', errorCode: RaftErrorCode.INVALID_REQUEST, epoch: 2, leaderId: n1 })
      expect(r.hardState).toBeNull()
      expect(c.status()).toMatchObject({ role: 'leader', epoch: 2, leaderId: n1 })
      expect(lines.some((l) => l.level === 'error')).toBe(true)
    })

    it('at a resigned leader: INVALID_REQUEST, still resigned', () => {
      const c = electNode1(2, [])
      c.resign(0)
      step(c)
      const r = deliver(c, n3, 6, { type: 'begin_quorum_epoch_request', leaderEpoch: 2 })
      expect(answerTo(r, 6)).toMatchObject({ errorCode: RaftErrorCode.INVALID_REQUEST, epoch: 2 })
      expect(c.status()).toMatchObject({ role: 'resigned', epoch: 2 })
    })

    it('at a follower of another leader in that epoch: INVALID_REQUEST, still following it', () => {
      const { c } = follower(3, { snapshot: null, entries: [] }, 0)
      const r = deliver(c, n3, 7, { type: 'begin_quorum_epoch_request', leaderEpoch: 3 }, 20)
      expect(answerTo(r, 7)).toMatchObject({ errorCode: RaftErrorCode.INVALID_REQUEST, epoch: 3, leaderId: n1 })
      expect(r.hardState).toBeNull()
      expect(c.status()).toMatchObject({ role: 'follower', epoch: 3, leaderId: n1 })
    })

    it('at a voter that knows another leader of that epoch but is standing for the next: INVALID_REQUEST', () => {
      const c = core(n2, { hardState: { epoch: 3, votedFor: null, leaderId: n1 }, snapshot: null, entries: [] })
      step(c)
      c.tick(100_000) // the leader is silent: the follower schedules an election
      step(c, 100_000)
      c.tick(200_000)
      step(c, 200_000)
      expect(c.status()).toMatchObject({ role: 'prospective', epoch: 3 })
      const r = deliver(c, n3, 8, { type: 'begin_quorum_epoch_request', leaderEpoch: 3 }, 200_000)
      expect(answerTo(r, 8)).toMatchObject({ errorCode: RaftErrorCode.INVALID_REQUEST })
      expect(c.status()).toMatchObject({ role: 'prospective', epoch: 3 })
    })

    it('from the leader we follow, or for a higher epoch, it is still accepted', () => {
      const { c } = follower(3, { snapshot: null, entries: [] }, 0)
      expect(answerTo(deliver(c, n1, 9, { type: 'begin_quorum_epoch_request', leaderEpoch: 3 }, 20), 9)).toMatchObject({ errorCode: 0 })
      expect(answerTo(deliver(c, n3, 10, { type: 'begin_quorum_epoch_request', leaderEpoch: 4 }, 20), 10)).toMatchObject({ errorCode: 0, leaderId: n3 })
      expect(c.status()).toMatchObject({ role: 'follower', epoch: 4, leaderId: n3 })
    })
  })

  describe('4. a divergence point below what is committed', () => {
    it('below the high watermark: logged, ignored, fetched again after a backoff', () => {
      const { logger, lines } = recordingLogger()
      const { c, fetchId } = follower(3, { snapshot: null, entries: entries([1, 1, 2, 2]) }, 3, logger)
      const bad: FetchResponse = {
        type: 'fetch_response', errorCode: 0, epoch: 3, leaderId: n1, highWatermark: 3, logStartOffset: 0,
        divergingEpoch: { epoch: 1, endOffset: 1 }, snapshotId: null, entries: [],
      }
      const r = deliver(c, n1, fetchId, bad, 20)
      expect(r.truncateFrom).toBeNull()
      expect(r.messages.filter((m) => m.body.type === 'fetch_request')).toEqual([])
      expect(c.status()).toMatchObject({ role: 'follower', logEndOffset: 4, highWatermark: 3 })
      expect(lines.some((l) => l.level === 'error' && /below the high watermark/.test(l.msg))).toBe(true)
      c.tick(20 + RAFT_LIMITS.fetchErrorBackoffMs)
      expect(step(c, 20 + RAFT_LIMITS.fetchErrorBackoffMs).messages.some((m) => m.body.type === 'fetch_request')).toBe(true)
    })

    it('below the log start (inside our snapshot): ignored too', () => {
      const snap = { id: { endOffset: 5, epoch: 2 }, data: new Uint8Array([1]) }
      const { c, fetchId } = follower(3, { snapshot: snap, entries: entries([2, 3], 5) }, 5)
      const bad: FetchResponse = {
        type: 'fetch_response', errorCode: 0, epoch: 3, leaderId: n1, highWatermark: 5, logStartOffset: 0,
        divergingEpoch: { epoch: 1, endOffset: 2 }, snapshotId: null, entries: [],
      }
      const r = deliver(c, n1, fetchId, bad, 20)
      expect(r.truncateFrom).toBeNull()
      expect(c.status()).toMatchObject({ logStartOffset: 5, logEndOffset: 7 })
    })
  })

  describe('5. an offered snapshot that cannot be the leader\'s', () => {
    it('a snapshot id with an epoch above the response epoch is ignored', () => {
      const { logger, lines } = recordingLogger()
      const { c, fetchId } = follower(3, { snapshot: null, entries: entries([1]) }, 0, logger)
      const offer: FetchResponse = {
        type: 'fetch_response', errorCode: 0, epoch: 3, leaderId: n1, highWatermark: 9, logStartOffset: 9,
        divergingEpoch: null, snapshotId: { endOffset: 9, epoch: 7 }, entries: [],
      }
      const r = deliver(c, n1, fetchId, offer, 20)
      expect(r.messages.filter((m) => m.body.type === 'fetch_snapshot_request')).toEqual([])
      expect(lines.some((l) => l.level === 'error' && /snapshot/.test(l.msg))).toBe(true)
      // It fetches again after the backoff, from where it is.
      c.tick(20 + RAFT_LIMITS.fetchErrorBackoffMs)
      const again = step(c, 20 + RAFT_LIMITS.fetchErrorBackoffMs).messages.find((m) => m.body.type === 'fetch_request')
      expect(again?.body).toMatchObject({ fetchOffset: 1, lastFetchedEpoch: 1 })
    })

    it('a snapshot of the response epoch is still downloaded', () => {
      const { c, fetchId } = follower(3, { snapshot: null, entries: entries([1]) }, 0)
      const offer: FetchResponse = {
        type: 'fetch_response', errorCode: 0, epoch: 3, leaderId: n1, highWatermark: 9, logStartOffset: 9,
        divergingEpoch: null, snapshotId: { endOffset: 9, epoch: 3 }, entries: [],
      }
      const r = deliver(c, n1, fetchId, offer, 20)
      expect(r.messages.filter((m) => m.body.type === 'fetch_snapshot_request').length).toBe(1)
    })
  })

  describe('responses from nodes we never ask', () => {
    it('a response from a non-voter is dropped, whatever epoch it claims', () => {
      const { c } = follower(3, { snapshot: null, entries: [] }, 0)
      const r = deliver(c, n9, 1, { type: 'vote_response', errorCode: 0, epoch: 50, leaderId: null, voteGranted: true, preVote: false }, 20)
      expect(r.hardState).toBeNull()
      expect(c.status()).toMatchObject({ role: 'follower', epoch: 3, leaderId: n1 })
    })
  })
})
