/**
 * Single-core rule tests: one RaftCore, messages injected by hand, the Ready inspected.
 * Each pins one rule of KIP-595 / the Raft paper that the scenarios only reach by chance.
 */
import { describe, expect, it } from 'vitest'
import { nodeId, type NodeId } from '@tributary/protocol'
import { RaftCore } from './raft-core.js'
import { DEFAULT_RAFT_TIMING, type FetchResponse, type PersistentState, type RaftBody, type RaftEntry, type Ready, type VoteResponse } from './types.js'
import { SeededRandom } from '../util/random.js'
import { silentLogger } from '../util/logger.js'
import { deliver, entries, step, testCore } from './test-support.js'
import { RaftErrorCode } from './raft-error-codes.js'

const [n1, n2, n3, n9] = [1, 2, 3, 9].map(nodeId)
const core = (id: NodeId, persisted: PersistentState, voters: readonly NodeId[] = [n1, n2, n3]): RaftCore => testCore(id, persisted, voters)

function fetchResponse(r: Ready, to: NodeId): FetchResponse {
  const m = r.messages.find((x) => x.to === to && x.body.type === 'fetch_response')
  if (m === undefined || m.body.type !== 'fetch_response') throw new Error(`no fetch response to ${to}`)
  return m.body
}

/** Node 1 restarted as candidate in `epoch` with `log`; grant it every other voter's vote. */
function electNode1(epoch: number, log: RaftEntry[], voters: readonly NodeId[] = [n1, n2, n3]): RaftCore {
  const c = core(n1, { hardState: { epoch, votedFor: n1, leaderId: null }, snapshot: null, entries: log }, voters)
  const r = step(c)
  for (const m of r.messages) {
    expect(m.body).toMatchObject({ type: 'vote_request', candidateEpoch: epoch, preVote: false })
    const grant: VoteResponse = { type: 'vote_response', errorCode: 0, epoch, leaderId: null, voteGranted: true, preVote: false }
    c.receive({ from: m.to, to: n1, requestId: m.requestId, body: grant }, 0)
  }
  expect(c.status().role).toBe('leader')
  return c
}

/** A Fetch; the fetcher's high watermark defaults to unknown (-1). */
const fetch = (epoch: number, fetchOffset: number, lastFetchedEpoch: number, maxWaitMs = 0, highWatermark = -1): RaftBody => ({
  type: 'fetch_request', replicaEpoch: epoch, fetchOffset, lastFetchedEpoch, maxWaitMs, maxBytes: 1 << 20, highWatermark,
})

describe('RaftCore rules', () => {
  it('a new leader does not commit older-epoch entries by counting replicas (Raft §5.4.2)', () => {
    // Node 1 holds three epoch-1 entries and wins epoch 2; it appends leader_change at 3.
    const c = electNode1(2, entries([1, 1, 1]))
    const r = step(c)
    expect(r.entries).toEqual([{ epoch: 2, offset: 3, kind: 'leader_change', data: new Uint8Array(0) }])
    // Node 2 has all the epoch-1 entries: a majority holds offsets 0..2, but they are not ours.
    deliver(c, n2, 1, fetch(2, 3, 1))
    expect(c.status().highWatermark).toBe(0)
    // Once a majority holds the leader_change, everything up to it commits.
    const r2 = deliver(c, n2, 2, fetch(2, 4, 2))
    expect(c.status().highWatermark).toBe(4)
    const r3 = step(c)
    expect([...r2.committed, ...r3.committed].map((e) => e.offset)).toEqual([0, 1, 2, 3])
  })

  it('the leader counts itself only with what advance() said is durable', () => {
    const c = electNode1(2, [])
    const r = c.ready() // leader_change at 0, not yet durable here
    expect(r.entries.length).toBe(1)
    c.receive({ from: n2, to: n1, requestId: 1, body: fetch(2, 1, 2) }, 0)
    expect(c.status().highWatermark).toBe(0) // n2 has it, we do not (yet): no majority
    c.advance(r, 0)
    expect(c.status().highWatermark).toBe(1)
    const p = c.propose(new Uint8Array([7]), 0)
    expect(p).toEqual({ kind: 'ok', offset: 1, epoch: 2 })
    const pending = c.ready()
    c.receive({ from: n3, to: n1, requestId: 5, body: fetch(2, 2, 2) }, 0)
    expect(c.status().highWatermark).toBe(1) // only n3 holds offset 1 durably
    c.advance(pending, 0)
    expect(c.status().highWatermark).toBe(2)
  })

  it('status on the leader shows each replica\'s progress, observers included', () => {
    const c = electNode1(2, [])
    step(c, 0)
    expect(c.status().voters).toEqual([
      { nodeId: n1, logEndOffset: 1, lastFetchTimestampMs: 0, lastCaughtUpTimestampMs: 0 },
      { nodeId: n2, logEndOffset: -1, lastFetchTimestampMs: -1, lastCaughtUpTimestampMs: -1 },
      { nodeId: n3, logEndOffset: -1, lastFetchTimestampMs: -1, lastCaughtUpTimestampMs: -1 },
    ])
    deliver(c, n2, 1, fetch(2, 1, 2), 40)
    deliver(c, n9, 1, fetch(2, 0, 0), 50)
    const st = c.status()
    expect(st.voters[1]).toEqual({ nodeId: n2, logEndOffset: 1, lastFetchTimestampMs: 40, lastCaughtUpTimestampMs: 40 })
    expect(st.observers).toEqual([{ nodeId: n9, logEndOffset: 0, lastFetchTimestampMs: 50, lastCaughtUpTimestampMs: -1 }])
    expect(st.highWatermark).toBe(1)
  })

  it('fetch validation: stale epoch is fenced, divergence names the epoch and its end, old offsets get the snapshot', () => {
    const c = electNode1(3, entries([1, 1, 1, 2, 2]))
    step(c) // leader_change at 5, epoch 3
    const fenced = fetchResponse(deliver(c, n2, 1, fetch(2, 3, 1)), n2)
    expect(fenced).toMatchObject({ errorCode: RaftErrorCode.FENCED_LEADER_EPOCH, epoch: 3, leaderId: n1 })
    // The follower's last epoch is 2 up to offset 7, but ours ends at 5 for epoch 2.
    const div = fetchResponse(deliver(c, n2, 2, fetch(3, 7, 2)), n2)
    expect(div.divergingEpoch).toEqual({ epoch: 2, endOffset: 5 })
    expect(div.entries).toEqual([])
    // Epoch 1 ends at 3 here: a follower at 3 in epoch 1 is fine, one at 6 in epoch 1 is not.
    const div2 = fetchResponse(deliver(c, n3, 3, fetch(3, 3, 1)), n3)
    expect(div2.divergingEpoch).toBeNull()
    const div3 = fetchResponse(deliver(c, n3, 4, fetch(3, 6, 1)), n3)
    expect(div3.divergingEpoch).toEqual({ epoch: 1, endOffset: 3 })
    // A valid fetch gets entries from its offset.
    const ok = fetchResponse(deliver(c, n2, 5, fetch(3, 3, 1)), n2)
    expect(ok.entries.map((e) => e.offset)).toEqual([3, 4, 5])
    // After a snapshot at the HW, an offset below it gets the snapshot id.
    deliver(c, n3, 6, fetch(3, 6, 3))
    expect(c.status().highWatermark).toBe(6)
    step(c)
    c.snapshotTaken({ id: { endOffset: 6, epoch: 3 }, data: new Uint8Array([1, 2, 3]) })
    const snap = fetchResponse(deliver(c, n2, 7, fetch(3, 2, 1)), n2)
    expect(snap.snapshotId).toEqual({ endOffset: 6, epoch: 3 })
    const ok2 = fetchResponse(deliver(c, n3, 8, fetch(3, 6, 3)), n3)
    expect(ok2.snapshotId).toBeNull()
    expect(ok2.divergingEpoch).toBeNull()
  })

  it('a fetch with a higher epoch makes a leader step down', () => {
    const c = electNode1(2, [])
    step(c)
    const r = deliver(c, n2, 1, fetch(5, 0, 0))
    expect(c.status()).toMatchObject({ role: 'unattached', epoch: 5, leaderId: null })
    expect(r.hardState).toEqual({ epoch: 5, votedFor: null, leaderId: null })
    expect(fetchResponse(r, n2).errorCode).toBe(RaftErrorCode.NOT_LEADER_OR_FOLLOWER)
  })

  it('long poll: an up-to-date fetch is held, answered on a new entry, and one parked fetch per replica', () => {
    const c = electNode1(2, [])
    step(c)
    fetchResponse(deliver(c, n2, 1, fetch(2, 1, 2, 200)), n2) // learns HW 1
    const held = deliver(c, n2, 2, fetch(2, 1, 2, 200, 1))
    expect(held.messages).toEqual([])
    // A newer fetch from the same replica: the older one is answered now, empty.
    const replaced = deliver(c, n2, 3, fetch(2, 1, 2, 200, 1))
    expect(replaced.messages.map((m) => m.requestId)).toEqual([2])
    c.propose(new Uint8Array([1]), 10)
    const woke = step(c, 10)
    const answer = woke.messages.find((m) => m.requestId === 3)
    expect(answer?.body).toMatchObject({ type: 'fetch_response', entries: [{ offset: 1 }] })
    // With nothing new, the wait ends after maxWaitMs.
    deliver(c, n3, 4, fetch(2, 2, 2, 200), 20)
    const idle = deliver(c, n3, 5, fetch(2, 2, 2, 200, 2), 20)
    expect(idle.messages.filter((m) => m.requestId === 5)).toEqual([])
    c.tick(219)
    expect(step(c, 219).messages.filter((m) => m.requestId === 5)).toEqual([])
    c.tick(221)
    expect(step(c, 221).messages.filter((m) => m.requestId === 5).length).toBe(1)
  })

  it('KIP-1166: a fetch is held only if the fetcher already knows the high watermark', () => {
    const c = electNode1(2, [])
    step(c)
    // This fetch commits the leader_change (n1 and n2 hold it): HW 1, which n2 did not know.
    expect(fetchResponse(deliver(c, n2, 1, fetch(2, 1, 2, 200)), n2)).toMatchObject({ highWatermark: 1, entries: [] })
    expect(deliver(c, n2, 2, fetch(2, 1, 2, 200, 1)).messages).toEqual([])
    // n2 restarted: same log, but it knows an older high watermark, or none. The leader keeps
    // no memory of what it told n2's past life: both are answered at once, with the HW.
    for (const [requestId, hw] of [[3, 0], [4, -1]] as const) {
      const answers = deliver(c, n2, requestId, fetch(2, 1, 2, 200, hw)).messages.filter((m) => m.requestId === requestId)
      expect(answers.map((m) => m.body)).toMatchObject([{ type: 'fetch_response', errorCode: 0, highWatermark: 1, entries: [] }])
    }
    // Anything below -1 is not a high watermark.
    expect(fetchResponse(deliver(c, n3, 5, fetch(2, 1, 2, 200, -2)), n3).errorCode).toBe(RaftErrorCode.INVALID_REQUEST)
  })

  it('a fetcher that knows a higher HW than its new leader is held until the leader\'s HW passes it', () => {
    const c = electNode1(2, entries([1, 1, 1]), [n1, n2, n3, nodeId(4), nodeId(5)])
    step(c) // leader_change at 3; nothing of epoch 2 is committed yet, so HW 0 (Raft §5.4.2)
    // n2 was told HW 3 by the old leader; it has the whole log once it fetches offset 3.
    expect(fetchResponse(deliver(c, n2, 1, fetch(2, 3, 1, 200, 3)), n2).entries.map((e) => e.offset)).toEqual([3])
    expect(deliver(c, n2, 2, fetch(2, 4, 2, 200, 3)).messages).toEqual([])
    expect(c.status().highWatermark).toBe(0)
    // A third voter at 4 is a majority of five: HW 4, above what n2 knows, so n2 is answered.
    const woke = deliver(c, n3, 3, fetch(2, 4, 2))
    expect(c.status().highWatermark).toBe(4)
    const answer = woke.messages.find((m) => m.to === n2 && m.requestId === 2)
    expect(answer?.body).toMatchObject({ type: 'fetch_response', highWatermark: 4, entries: [] })
  })

  it('a follower whose leader went silent stands after fetchTimeoutMs plus a random delay, not at once', () => {
    const t = DEFAULT_RAFT_TIMING
    const ok: FetchResponse = { type: 'fetch_response', errorCode: 0, epoch: 1, leaderId: n1, highWatermark: 0, logStartOffset: 0, divergingEpoch: null, snapshotId: null, entries: [] }
    const deadline = 10 + t.fetchTimeoutMs
    const standAt: number[] = []
    for (let seed = 1; seed <= 20; seed++) {
      const c = new RaftCore({ ...t, nodeId: n2, voters: [n1, n2, n3] }, { hardState: { epoch: 1, votedFor: null, leaderId: n1 }, snapshot: null, entries: [] }, new SeededRandom(seed), silentLogger, 0)
      const sent = step(c).messages.find((m) => m.body.type === 'fetch_request')!
      deliver(c, n1, sent.requestId, ok, 10)
      let now = 10
      while (c.status().role === 'follower' && now < deadline + 10 * t.electionJitterMs) {
        now++
        c.tick(now)
        step(c, now)
      }
      expect(c.status().role).toBe('prospective')
      standAt.push(now)
    }
    for (const at of standAt) {
      expect(at).toBeGreaterThanOrEqual(deadline)
      expect(at).toBeLessThan(deadline + t.electionJitterMs)
    }
    // Without the delay all twenty would stand at the deadline itself.
    expect(new Set(standAt).size).toBeGreaterThan(10)
  })

  it('a fetch that succeeds during that delay cancels the election, and the follower vouches for its leader again', () => {
    const t = { ...DEFAULT_RAFT_TIMING, electionJitterMs: 10_000 }
    const c = new RaftCore({ ...t, nodeId: n2, voters: [n1, n2, n3] }, { hardState: { epoch: 1, votedFor: null, leaderId: n1 }, snapshot: null, entries: [] }, new SeededRandom(7), silentLogger, 0)
    let lastFetch = 0
    const run = (nowMs: number): void => {
      c.tick(nowMs)
      for (const m of step(c, nowMs).messages) if (m.body.type === 'fetch_request') lastFetch = m.requestId
    }
    run(0)
    const ok: FetchResponse = { type: 'fetch_response', errorCode: 0, epoch: 1, leaderId: n1, highWatermark: 0, logStartOffset: 0, divergingEpoch: null, snapshotId: null, entries: [] }
    const preVote: RaftBody = { type: 'vote_request', candidateEpoch: 2, lastEpoch: 0, lastEndOffset: 0, preVote: true }
    deliver(c, n1, lastFetch, ok, 10)
    expect(deliver(c, n3, 1, preVote, 10).messages[0].body).toMatchObject({ voteGranted: false })
    const deadline = 10 + t.fetchTimeoutMs
    for (let now = 11; now <= deadline; now++) run(now) // the election is scheduled, not started
    expect(c.status().role).toBe('follower')
    expect(deliver(c, n3, 2, preVote, deadline).messages[0].body).toMatchObject({ voteGranted: true })
    deliver(c, n1, lastFetch, ok, deadline + 1)
    expect(deliver(c, n3, 3, preVote, deadline + 1).messages[0].body).toMatchObject({ voteGranted: false })
    for (let now = deadline + 2; now < deadline + t.fetchTimeoutMs; now++) run(now)
    expect(c.status().role).toBe('follower')
  })

  it('a vote grant leaves with the hard state that records it; a pre-vote persists nothing', () => {
    const c = core(n2, { hardState: { epoch: 1, votedFor: null, leaderId: null }, snapshot: null, entries: entries([1]) })
    step(c)
    const pre = deliver(c, n1, 1, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 1, lastEndOffset: 1, preVote: true })
    expect(pre.hardState).toBeNull()
    expect(pre.messages[0].body).toMatchObject({ voteGranted: true, preVote: true, epoch: 1 })
    // A stale log is refused, even with a higher epoch (which we do adopt).
    const stale = deliver(c, n3, 2, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 0, lastEndOffset: 5, preVote: false })
    expect(stale.hardState).toEqual({ epoch: 2, votedFor: null, leaderId: null })
    expect(stale.messages[0].body).toMatchObject({ voteGranted: false, epoch: 2 })
    const vote = deliver(c, n1, 3, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 1, lastEndOffset: 1, preVote: false })
    expect(vote.hardState).toEqual({ epoch: 2, votedFor: n1, leaderId: null })
    expect(vote.mustSync).toBe(true)
    expect(vote.messages[0].body).toMatchObject({ voteGranted: true, epoch: 2 })
    // One vote per epoch; asking again is answered the same (duplicates are fine).
    const other = deliver(c, n3, 4, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 1, lastEndOffset: 9, preVote: false })
    expect(other.messages[0].body).toMatchObject({ voteGranted: false })
    const again = deliver(c, n1, 5, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 1, lastEndOffset: 1, preVote: false })
    expect(again.messages[0].body).toMatchObject({ voteGranted: true })
    expect(again.hardState).toBeNull()
  })

  it('a follower that hears from its leader refuses pre-votes (KIP-996), and observers never vote', () => {
    const c = core(n2, { hardState: { epoch: 1, votedFor: null, leaderId: n1 }, snapshot: null, entries: [] })
    const first = step(c)
    const sent = first.messages.find((m) => m.body.type === 'fetch_request')!
    const ok: FetchResponse = { type: 'fetch_response', errorCode: 0, epoch: 1, leaderId: n1, highWatermark: 0, logStartOffset: 0, divergingEpoch: null, snapshotId: null, entries: [] }
    deliver(c, n1, sent.requestId, ok, 10)
    const pre = deliver(c, n3, 1, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 5, lastEndOffset: 50, preVote: true }, 20)
    expect(pre.messages[0].body).toMatchObject({ voteGranted: false })
    const obs = core(n9, { hardState: { epoch: 1, votedFor: null, leaderId: null }, snapshot: null, entries: [] })
    step(obs)
    const r = deliver(obs, n3, 1, { type: 'vote_request', candidateEpoch: 2, lastEpoch: 5, lastEndOffset: 50, preVote: false })
    expect(r.messages[0].body).toMatchObject({ voteGranted: false, errorCode: RaftErrorCode.INCONSISTENT_VOTER_SET })
    expect(obs.status().epoch).toBe(1)
    obs.tick(100_000)
    expect(step(obs).messages.every((m) => m.body.type === 'fetch_request')).toBe(true)
  })

  it('responses to requests we did not send, or from an older epoch, change nothing', () => {
    const c = core(n2, { hardState: { epoch: 3, votedFor: null, leaderId: n1 }, snapshot: null, entries: entries([1, 2]) })
    const first = step(c)
    const sent = first.messages.find((m) => m.body.type === 'fetch_request')!
    const bogus: FetchResponse = { type: 'fetch_response', errorCode: 0, epoch: 3, leaderId: n1, highWatermark: 2, logStartOffset: 0, divergingEpoch: { epoch: 0, endOffset: 0 }, snapshotId: null, entries: [] }
    deliver(c, n1, sent.requestId + 1, bogus)
    deliver(c, n1, sent.requestId, { ...bogus, epoch: 2 })
    expect(c.status()).toMatchObject({ logEndOffset: 2, highWatermark: 0, epoch: 3 })
    // The real one truncates as told, never below the high watermark.
    const r = deliver(c, n1, sent.requestId, { ...bogus, divergingEpoch: { epoch: 1, endOffset: 1 } })
    expect(r.truncateFrom).toBe(1)
    expect(c.status().logEndOffset).toBe(1)
  })
})
