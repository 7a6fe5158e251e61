import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { quorum, type NodeId } from '@tributary/protocol'
import type { RaftEntry, RaftRequest, RaftResponse } from '../raft/types.js'
import { RAFT_LIMITS } from '../raft/raft-limits.js'
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  methodOfResponse,
  requestFromProto,
  requestToProto,
  responseFromProto,
  responseToProto,
} from './raft-message-codec.js'

const node = (n: number): NodeId => n as NodeId

// ---- generators of valid core bodies ---------------------------------------------------

// Valid epochs stop at the epoch limit; above it is malformed (tested below).
const epoch = fc.integer({ min: 0, max: RAFT_LIMITS.epochMax })
const offset = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
const nodeIdArb = fc.integer({ min: 0, max: 0x7fffffff }).map(node)
const leaderId = fc.option(nodeIdArb, { nil: null })
const errorCode = fc.integer({ min: -1, max: 120 })
const bytes = fc.uint8Array({ maxLength: 64 })
const snapshotId = fc.record({ endOffset: offset, epoch })

const entries: fc.Arbitrary<RaftEntry[]> = fc
  .tuple(fc.integer({ min: 0, max: 1_000_000 }), epoch, fc.array(fc.tuple(fc.boolean(), bytes, fc.integer({ min: 0, max: 2 })), { maxLength: 8 }))
  .map(([start, firstEpoch, items]) => {
    let e = firstEpoch
    return items.map(([isData, data, bump], i) => {
      e = Math.min(RAFT_LIMITS.epochMax, e + bump)
      return { epoch: e, offset: start + i, kind: isData ? 'data' : 'leader_change', data: isData ? data : new Uint8Array(0) } as RaftEntry
    })
  })

const request: fc.Arbitrary<RaftRequest> = fc.oneof(
  fc.record({ type: fc.constant('vote_request' as const), candidateEpoch: epoch, lastEpoch: epoch, lastEndOffset: offset, preVote: fc.boolean() }),
  fc.record({ type: fc.constant('begin_quorum_epoch_request' as const), leaderEpoch: epoch }),
  fc.record({ type: fc.constant('end_quorum_epoch_request' as const), leaderEpoch: epoch, preferredSuccessors: fc.array(nodeIdArb, { maxLength: 5 }) }),
  fc.record({
    type: fc.constant('fetch_request' as const),
    replicaEpoch: epoch,
    fetchOffset: offset,
    lastFetchedEpoch: epoch,
    maxWaitMs: fc.integer({ min: 0, max: 10_000 }),
    maxBytes: fc.integer({ min: 0, max: 1 << 24 }),
    highWatermark: fc.oneof(fc.constant(-1), offset),
  }),
  fc.record({
    type: fc.constant('fetch_snapshot_request' as const),
    replicaEpoch: epoch,
    snapshotId,
    position: offset,
    maxBytes: fc.integer({ min: 0, max: 1 << 24 }),
  }),
)

const response: fc.Arbitrary<RaftResponse> = fc.oneof(
  fc.record({ type: fc.constant('vote_response' as const), errorCode, epoch, leaderId, voteGranted: fc.boolean(), preVote: fc.boolean() }),
  fc.record({ type: fc.constant('begin_quorum_epoch_response' as const), errorCode, epoch, leaderId }),
  fc.record({ type: fc.constant('end_quorum_epoch_response' as const), errorCode, epoch, leaderId }),
  fc.record({
    type: fc.constant('fetch_response' as const),
    errorCode,
    epoch,
    leaderId,
    highWatermark: offset,
    logStartOffset: offset,
    divergingEpoch: fc.option(fc.record({ epoch, endOffset: offset }), { nil: null }),
    snapshotId: fc.option(snapshotId, { nil: null }),
    entries,
  }),
  fc
    .record({ errorCode, epoch, leaderId, snapshotId, chunk: bytes, position: fc.integer({ min: 0, max: 1 << 30 }), extra: fc.integer({ min: 0, max: 1000 }) })
    .map(({ extra, ...r }): RaftResponse => ({ type: 'fetch_snapshot_response', ...r, size: r.position + r.chunk.byteLength + extra })),
)

/** Compare bytes as plain arrays so Buffer vs Uint8Array does not matter. */
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Array.from(value) }
  if (Array.isArray(value)) return value.map(normalize)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]))
  return value
}

describe('raft message codec', () => {
  it('round-trips every request through proto types and through bytes', () => {
    fc.assert(
      fc.property(nodeIdArb, request, (from, body) => {
        const viaProto = requestFromProto(requestToProto(from, body))
        expect(viaProto).toEqual({ kind: 'ok', value: { from, body } })
        const { method, bytes: wire } = encodeRequest(from, body)
        const viaBytes = decodeRequest(method, wire)
        expect(normalize(viaBytes)).toEqual(normalize({ kind: 'ok', value: { from, body } }))
      }),
    )
  })

  it('round-trips every response through proto types and through bytes', () => {
    fc.assert(
      fc.property(response, (body) => {
        expect(normalize(responseFromProto(responseToProto(body)))).toEqual(normalize({ kind: 'ok', value: body }))
        const method = methodOfResponse(body)
        const decoded = decodeResponse(method, encodeResponse(method, body))
        expect(normalize(decoded)).toEqual(normalize({ kind: 'ok', value: body }))
      }),
    )
  })

  it('hands the core plain Uint8Arrays, not Buffers', () => {
    const body: RaftResponse = {
      type: 'fetch_response', errorCode: 0, epoch: 3, leaderId: node(1), highWatermark: 1, logStartOffset: 0,
      divergingEpoch: null, snapshotId: null, entries: [{ epoch: 3, offset: 0, kind: 'data', data: new Uint8Array([1, 2, 3]) }],
    }
    const decoded = decodeResponse('fetch', encodeResponse('fetch', body))
    expect(decoded.kind).toBe('ok')
    if (decoded.kind !== 'ok' || decoded.value.type !== 'fetch_response') throw new Error('unreachable')
    expect(Buffer.isBuffer(decoded.value.entries[0]!.data)).toBe(false)
    expect(Array.from(decoded.value.entries[0]!.data)).toEqual([1, 2, 3])
  })

  it('maps "no leader" to -1 on the wire and back to null', () => {
    const body: RaftResponse = { type: 'begin_quorum_epoch_response', errorCode: 0, epoch: 2, leaderId: null }
    expect(responseToProto(body)).toEqual({ method: 'beginQuorumEpoch', response: { errorCode: 0, epoch: 2, leaderId: -1 } })
  })

  it('takes the sender from the request fields', () => {
    const wire = quorum.FetchRequest.encode({ replicaId: 7, replicaEpoch: 1, fetchOffset: 5n, lastFetchedEpoch: 1, maxWaitMs: 100, maxBytes: 10, highWatermark: -1n }).finish()
    const decoded = decodeRequest('fetch', wire)
    expect(decoded.kind === 'ok' && decoded.value.from).toBe(7)
  })

  it('accepts an epoch at the limit', () => {
    const wire = quorum.BeginQuorumEpochRequest.encode({ leaderId: 1, leaderEpoch: RAFT_LIMITS.epochMax }).finish()
    expect(decodeRequest('beginQuorumEpoch', wire)).toEqual({ kind: 'ok', value: { from: 1, body: { type: 'begin_quorum_epoch_request', leaderEpoch: RAFT_LIMITS.epochMax } } })
  })

  it('refuses to answer a call with a response of another method', () => {
    expect(() => encodeResponse('vote', { type: 'begin_quorum_epoch_response', errorCode: 0, epoch: 1, leaderId: null })).toThrow(/cannot answer/)
  })

  describe('malformed input is a value, never an exception', () => {
    const cases: Array<[string, () => ReturnType<typeof decodeRequest> | ReturnType<typeof decodeResponse>, RegExp]> = [
      ['truncated bytes', () => decodeRequest('vote', new Uint8Array([0x08])), /cannot parse/],
      ['an invalid wire type', () => decodeRequest('fetch', new Uint8Array([0x0f, 0x01])), /cannot parse/],
      ['random garbage', () => decodeResponse('fetch', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), /cannot parse/],
      [
        'a negative candidate id',
        () => decodeRequest('vote', quorum.VoteRequest.encode({ candidateId: -3, candidateEpoch: 1, lastEpoch: 0, lastEndOffset: 0n, preVote: false }).finish()),
        /candidate_id/,
      ],
      [
        'a negative offset',
        () => decodeRequest('fetch', quorum.FetchRequest.encode({ replicaId: 1, replicaEpoch: 1, fetchOffset: -1n, lastFetchedEpoch: 0, maxWaitMs: 0, maxBytes: 0, highWatermark: 0n }).finish()),
        /fetch_offset/,
      ],
      [
        'a fetcher high watermark below -1 (unknown)',
        () => decodeRequest('fetch', quorum.FetchRequest.encode({ replicaId: 1, replicaEpoch: 1, fetchOffset: 0n, lastFetchedEpoch: 0, maxWaitMs: 0, maxBytes: 0, highWatermark: -2n }).finish()),
        /high_watermark/,
      ],
      [
        'an offset beyond 2^53',
        () => decodeRequest('vote', quorum.VoteRequest.encode({ candidateId: 1, candidateEpoch: 1, lastEpoch: 0, lastEndOffset: 1n << 60n, preVote: false }).finish()),
        /last_end_offset/,
      ],
      [
        'a leader id below -1',
        () => decodeResponse('vote', quorum.VoteResponse.encode({ errorCode: 0, epoch: 1, leaderId: -2, voteGranted: false, preVote: false }).finish()),
        /leader_id/,
      ],
      [
        'a fetch epoch above the epoch limit (a pre-vote after it would not fit in int32)',
        () => decodeRequest('fetch', quorum.FetchRequest.encode({ replicaId: 9, replicaEpoch: 0x7fffffff, fetchOffset: 0n, lastFetchedEpoch: 0, maxWaitMs: 0, maxBytes: 0, highWatermark: -1n }).finish()),
        /replica_epoch .*epoch limit/,
      ],
      [
        'a vote response epoch above the epoch limit',
        () => decodeResponse('vote', quorum.VoteResponse.encode({ errorCode: 0, epoch: RAFT_LIMITS.epochMax + 1, leaderId: 1, voteGranted: false, preVote: false }).finish()),
        /epoch .*epoch limit/,
      ],
      [
        'an entry epoch above the epoch limit',
        () =>
          decodeResponse(
            'fetch',
            quorum.FetchResponse.encode({
              errorCode: 0, epoch: 1, leaderId: 1, highWatermark: 0n, logStartOffset: 0n, diverging: false, divergingEpoch: 0, divergingEndOffset: 0n,
              snapshotId: undefined, entries: [{ epoch: 0x7fffffff, offset: 0n, kind: quorum.RaftEntry_Kind.DATA, data: Buffer.alloc(0) }],
            }).finish(),
          ),
        /entries\[0\]\.epoch .*epoch limit/,
      ],
      [
        'a fetch snapshot request without snapshot id',
        () => decodeRequest('fetchSnapshot', quorum.FetchSnapshotRequest.encode({ replicaId: 1, replicaEpoch: 1, snapshotId: undefined, position: 0n, maxBytes: 1 }).finish()),
        /snapshot_id is missing/,
      ],
      [
        'an unknown entry kind',
        () =>
          decodeResponse(
            'fetch',
            quorum.FetchResponse.encode({
              errorCode: 0, epoch: 1, leaderId: 1, highWatermark: 0n, logStartOffset: 0n, diverging: false, divergingEpoch: 0, divergingEndOffset: 0n,
              snapshotId: undefined, entries: [{ epoch: 1, offset: 0n, kind: 7 as quorum.RaftEntry_Kind, data: Buffer.alloc(0) }],
            }).finish(),
          ),
        /kind 7 is unknown/,
      ],
      [
        'entries with a gap',
        () =>
          decodeResponse(
            'fetch',
            quorum.FetchResponse.encode({
              errorCode: 0, epoch: 1, leaderId: 1, highWatermark: 0n, logStartOffset: 0n, diverging: false, divergingEpoch: 0, divergingEndOffset: 0n,
              snapshotId: undefined,
              entries: [
                { epoch: 1, offset: 0n, kind: quorum.RaftEntry_Kind.DATA, data: Buffer.alloc(0) },
                { epoch: 1, offset: 2n, kind: quorum.RaftEntry_Kind.DATA, data: Buffer.alloc(0) },
              ],
            }).finish(),
          ),
        /not contiguous/,
      ],
      [
        'a snapshot chunk past its size',
        () =>
          decodeResponse(
            'fetchSnapshot',
            quorum.FetchSnapshotResponse.encode({
              errorCode: 0, epoch: 1, leaderId: 1, snapshotId: { endOffset: 10n, epoch: 1 }, size: 2n, position: 0n, chunk: Buffer.from([1, 2, 3]),
            }).finish(),
          ),
        /past size/,
      ],
    ]
    for (const [name, run, reason] of cases) {
      it(`rejects ${name}`, () => {
        const result = run()
        expect(result.kind).toBe('malformed')
        if (result.kind === 'malformed') expect(result.reason).toMatch(reason)
      })
    }

    it('never throws on arbitrary bytes for any method', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('vote', 'beginQuorumEpoch', 'endQuorumEpoch', 'fetch', 'fetchSnapshot' as const), (wire, method) => {
          const req = decodeRequest(method, wire)
          const res = decodeResponse(method, wire)
          expect(['ok', 'malformed']).toContain(req.kind)
          expect(['ok', 'malformed']).toContain(res.kind)
        }),
      )
    })
  })
})
