/**
 * Converts between the Raft core's message bodies (raft/types.ts: plain numbers, `null` for
 * "no leader") and the wire types generated from proto/quorum.proto (int64 as bigint,
 * leader id -1 for "none"), and to and from the encoded bytes.
 *
 * Owns: the mapping of each core message type to a RaftService method, and the validation of
 * everything that arrives from the network. Invariants:
 *   - encode(decode(x)) is the identity on valid bodies (round-trip tests check it);
 *   - decoding never throws: bytes that do not parse, or fields out of range (a negative
 *     offset, an int64 beyond 2^53, an epoch above RAFT_LIMITS.epochMax, an unknown entry
 *     kind, a missing snapshot id) come back
 *     as `{ kind: 'malformed', reason }`, so a peer sending garbage cannot crash the node;
 *   - the sender id of a request travels inside the request (candidate_id, leader_id,
 *     replica_id, as KIP-595's RPCs do); responses carry no sender, the call they answer
 *     identifies it.
 */
import { quorum, type NodeId } from '@tributary/protocol'
import { assert } from '../util/assert.js'
import { RAFT_LIMITS } from '../raft/raft-limits.js'
import {
  UNKNOWN_HIGH_WATERMARK,
  type Epoch,
  type Offset,
  type RaftEntry,
  type RaftRequest,
  type RaftResponse,
  type SnapshotId,
} from '../raft/types.js'

/** The RaftService methods that carry Raft messages (DescribeQuorum is an admin call). */
export type RaftMethod = 'vote' | 'beginQuorumEpoch' | 'endQuorumEpoch' | 'fetch' | 'fetchSnapshot'

export const RAFT_METHODS: readonly RaftMethod[] = ['vote', 'beginQuorumEpoch', 'endQuorumEpoch', 'fetch', 'fetchSnapshot']

export type DecodeResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'malformed'; readonly reason: string }

/** The wire's "no leader". */
export const NO_LEADER_ID = -1


export function methodOfResponse(body: RaftResponse): RaftMethod {
  switch (body.type) {
    case 'vote_response': return 'vote'
    case 'begin_quorum_epoch_response': return 'beginQuorumEpoch'
    case 'end_quorum_epoch_response': return 'endQuorumEpoch'
    case 'fetch_response': return 'fetch'
    case 'fetch_snapshot_response': return 'fetchSnapshot'
  }
}

// ---- Validation helpers (throw inside this module only; the exported decoders catch) -----

class MalformedError extends Error {}

function malformed(reason: string): never {
  throw new MalformedError(reason)
}

const INT32_MAX = 0x7fffffff

function nonNegativeInt(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > INT32_MAX) malformed(`${field} must be a non-negative int32, got ${value}`)
  return value
}

/**
 * Epochs stop at RAFT_LIMITS.epochMax: a node moved above it could not encode its next
 * pre-vote (epoch + 1 in an int32), so a claim of more is malformed, not a new epoch.
 */
function epochFromWire(value: number, field: string): Epoch {
  const epoch = nonNegativeInt(value, field)
  if (epoch > RAFT_LIMITS.epochMax) malformed(`${field} ${epoch} is above the epoch limit ${RAFT_LIMITS.epochMax}`)
  return epoch
}

function nodeIdFromWire(value: number, field: string): NodeId {
  return nonNegativeInt(value, field) as NodeId
}

function leaderIdFromWire(value: number, field: string): NodeId | null {
  if (value === NO_LEADER_ID) return null
  return nodeIdFromWire(value, field)
}

function leaderIdToWire(value: NodeId | null): number {
  return value === null ? NO_LEADER_ID : value
}

/** int64 on the wire; the core's offsets are numbers, exact up to 2^53. */
function offsetFromWire(value: bigint, field: string): Offset {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) malformed(`${field} must be between 0 and 2^53-1, got ${value}`)
  return Number(value)
}

function offsetToWire(value: Offset): bigint {
  assert(Number.isSafeInteger(value) && value >= 0, `offset must be a non-negative safe integer, got ${value}`)
  return BigInt(value)
}

/** A fetcher's high watermark: an offset, or UNKNOWN_HIGH_WATERMARK (-1). */
function highWatermarkFromWire(value: bigint, field: string): Offset {
  if (value === BigInt(UNKNOWN_HIGH_WATERMARK)) return UNKNOWN_HIGH_WATERMARK
  return offsetFromWire(value, field)
}

function highWatermarkToWire(value: Offset): bigint {
  return value === UNKNOWN_HIGH_WATERMARK ? BigInt(UNKNOWN_HIGH_WATERMARK) : offsetToWire(value)
}

/** Zero-copy view of the core's bytes as the Buffer the generated code expects. */
function bytesToWire(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Zero-copy view of decoded bytes as a plain Uint8Array, so the core never sees Buffer. */
function bytesFromWire(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function snapshotIdToWire(id: SnapshotId): quorum.SnapshotId {
  return { endOffset: offsetToWire(id.endOffset), epoch: id.epoch }
}

function snapshotIdFromWire(id: quorum.SnapshotId | undefined, field: string): SnapshotId {
  if (id === undefined) malformed(`${field} is missing`)
  return { endOffset: offsetFromWire(id.endOffset, `${field}.end_offset`), epoch: epochFromWire(id.epoch, `${field}.epoch`) }
}

function entryToWire(entry: RaftEntry): quorum.RaftEntry {
  return {
    epoch: entry.epoch,
    offset: offsetToWire(entry.offset),
    kind: entry.kind === 'data' ? quorum.RaftEntry_Kind.DATA : quorum.RaftEntry_Kind.LEADER_CHANGE,
    data: bytesToWire(entry.data),
  }
}

function entryFromWire(entry: quorum.RaftEntry, index: number): RaftEntry {
  const field = `entries[${index}]`
  let kind: RaftEntry['kind']
  if (entry.kind === quorum.RaftEntry_Kind.DATA) kind = 'data'
  else if (entry.kind === quorum.RaftEntry_Kind.LEADER_CHANGE) kind = 'leader_change'
  else malformed(`${field}.kind ${entry.kind} is unknown`)
  return {
    epoch: epochFromWire(entry.epoch, `${field}.epoch`),
    offset: offsetFromWire(entry.offset, `${field}.offset`),
    kind,
    data: bytesFromWire(entry.data),
  }
}

/** Entries of one fetch response must be contiguous; anything else is a corrupt response. */
function checkContiguous(entries: readonly RaftEntry[]): void {
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.offset !== entries[i - 1]!.offset + 1) malformed(`entries are not contiguous at index ${i}`)
    if (entries[i]!.epoch < entries[i - 1]!.epoch) malformed(`entries go back in epoch at index ${i}`)
  }
}

// ---- Requests --------------------------------------------------------------------------

export type ProtoRequest =
  | { readonly method: 'vote'; readonly request: quorum.VoteRequest }
  | { readonly method: 'beginQuorumEpoch'; readonly request: quorum.BeginQuorumEpochRequest }
  | { readonly method: 'endQuorumEpoch'; readonly request: quorum.EndQuorumEpochRequest }
  | { readonly method: 'fetch'; readonly request: quorum.FetchRequest }
  | { readonly method: 'fetchSnapshot'; readonly request: quorum.FetchSnapshotRequest }

export function requestToProto(from: NodeId, body: RaftRequest): ProtoRequest {
  switch (body.type) {
    case 'vote_request':
      return {
        method: 'vote',
        request: {
          candidateId: from,
          candidateEpoch: body.candidateEpoch,
          lastEpoch: body.lastEpoch,
          lastEndOffset: offsetToWire(body.lastEndOffset),
          preVote: body.preVote,
        },
      }
    case 'begin_quorum_epoch_request':
      return { method: 'beginQuorumEpoch', request: { leaderId: from, leaderEpoch: body.leaderEpoch } }
    case 'end_quorum_epoch_request':
      return {
        method: 'endQuorumEpoch',
        request: { leaderId: from, leaderEpoch: body.leaderEpoch, preferredSuccessors: [...body.preferredSuccessors] },
      }
    case 'fetch_request':
      return {
        method: 'fetch',
        request: {
          replicaId: from,
          replicaEpoch: body.replicaEpoch,
          fetchOffset: offsetToWire(body.fetchOffset),
          lastFetchedEpoch: body.lastFetchedEpoch,
          maxWaitMs: body.maxWaitMs,
          maxBytes: body.maxBytes,
          highWatermark: highWatermarkToWire(body.highWatermark),
        },
      }
    case 'fetch_snapshot_request':
      return {
        method: 'fetchSnapshot',
        request: {
          replicaId: from,
          replicaEpoch: body.replicaEpoch,
          snapshotId: snapshotIdToWire(body.snapshotId),
          position: BigInt(body.position),
          maxBytes: body.maxBytes,
        },
      }
  }
}

function requestFromProtoUnchecked(p: ProtoRequest): { from: NodeId; body: RaftRequest } {
  switch (p.method) {
    case 'vote': {
      const r = p.request
      return {
        from: nodeIdFromWire(r.candidateId, 'candidate_id'),
        body: {
          type: 'vote_request',
          candidateEpoch: epochFromWire(r.candidateEpoch, 'candidate_epoch'),
          lastEpoch: epochFromWire(r.lastEpoch, 'last_epoch'),
          lastEndOffset: offsetFromWire(r.lastEndOffset, 'last_end_offset'),
          preVote: r.preVote,
        },
      }
    }
    case 'beginQuorumEpoch': {
      const r = p.request
      return {
        from: nodeIdFromWire(r.leaderId, 'leader_id'),
        body: { type: 'begin_quorum_epoch_request', leaderEpoch: epochFromWire(r.leaderEpoch, 'leader_epoch') },
      }
    }
    case 'endQuorumEpoch': {
      const r = p.request
      return {
        from: nodeIdFromWire(r.leaderId, 'leader_id'),
        body: {
          type: 'end_quorum_epoch_request',
          leaderEpoch: epochFromWire(r.leaderEpoch, 'leader_epoch'),
          preferredSuccessors: r.preferredSuccessors.map((id, i) => nodeIdFromWire(id, `preferred_successors[${i}]`)),
        },
      }
    }
    case 'fetch': {
      const r = p.request
      return {
        from: nodeIdFromWire(r.replicaId, 'replica_id'),
        body: {
          type: 'fetch_request',
          replicaEpoch: epochFromWire(r.replicaEpoch, 'replica_epoch'),
          fetchOffset: offsetFromWire(r.fetchOffset, 'fetch_offset'),
          lastFetchedEpoch: epochFromWire(r.lastFetchedEpoch, 'last_fetched_epoch'),
          maxWaitMs: nonNegativeInt(r.maxWaitMs, 'max_wait_ms'),
          maxBytes: nonNegativeInt(r.maxBytes, 'max_bytes'),
          highWatermark: highWatermarkFromWire(r.highWatermark, 'high_watermark'),
        },
      }
    }
    case 'fetchSnapshot': {
      const r = p.request
      return {
        from: nodeIdFromWire(r.replicaId, 'replica_id'),
        body: {
          type: 'fetch_snapshot_request',
          replicaEpoch: epochFromWire(r.replicaEpoch, 'replica_epoch'),
          snapshotId: snapshotIdFromWire(r.snapshotId, 'snapshot_id'),
          position: offsetFromWire(r.position, 'position'),
          maxBytes: nonNegativeInt(r.maxBytes, 'max_bytes'),
        },
      }
    }
  }
}

export function requestFromProto(p: ProtoRequest): DecodeResult<{ readonly from: NodeId; readonly body: RaftRequest }> {
  return guarded(() => requestFromProtoUnchecked(p))
}

// ---- Responses -------------------------------------------------------------------------

export type ProtoResponse =
  | { readonly method: 'vote'; readonly response: quorum.VoteResponse }
  | { readonly method: 'beginQuorumEpoch'; readonly response: quorum.BeginQuorumEpochResponse }
  | { readonly method: 'endQuorumEpoch'; readonly response: quorum.EndQuorumEpochResponse }
  | { readonly method: 'fetch'; readonly response: quorum.FetchResponse }
  | { readonly method: 'fetchSnapshot'; readonly response: quorum.FetchSnapshotResponse }

export function responseToProto(body: RaftResponse): ProtoResponse {
  switch (body.type) {
    case 'vote_response':
      return {
        method: 'vote',
        response: {
          errorCode: body.errorCode,
          epoch: body.epoch,
          leaderId: leaderIdToWire(body.leaderId),
          voteGranted: body.voteGranted,
          preVote: body.preVote,
        },
      }
    case 'begin_quorum_epoch_response':
      return {
        method: 'beginQuorumEpoch',
        response: { errorCode: body.errorCode, epoch: body.epoch, leaderId: leaderIdToWire(body.leaderId) },
      }
    case 'end_quorum_epoch_response':
      return {
        method: 'endQuorumEpoch',
        response: { errorCode: body.errorCode, epoch: body.epoch, leaderId: leaderIdToWire(body.leaderId) },
      }
    case 'fetch_response':
      return {
        method: 'fetch',
        response: {
          errorCode: body.errorCode,
          epoch: body.epoch,
          leaderId: leaderIdToWire(body.leaderId),
          highWatermark: offsetToWire(body.highWatermark),
          logStartOffset: offsetToWire(body.logStartOffset),
          diverging: body.divergingEpoch !== null,
          divergingEpoch: body.divergingEpoch?.epoch ?? 0,
          divergingEndOffset: body.divergingEpoch === null ? 0n : offsetToWire(body.divergingEpoch.endOffset),
          snapshotId: body.snapshotId === null ? undefined : snapshotIdToWire(body.snapshotId),
          entries: body.entries.map(entryToWire),
        },
      }
    case 'fetch_snapshot_response':
      return {
        method: 'fetchSnapshot',
        response: {
          errorCode: body.errorCode,
          epoch: body.epoch,
          leaderId: leaderIdToWire(body.leaderId),
          snapshotId: snapshotIdToWire(body.snapshotId),
          size: offsetToWire(body.size),
          position: offsetToWire(body.position),
          chunk: bytesToWire(body.chunk),
        },
      }
  }
}

function responseFromProtoUnchecked(p: ProtoResponse): RaftResponse {
  switch (p.method) {
    case 'vote': {
      const r = p.response
      return {
        type: 'vote_response',
        errorCode: r.errorCode,
        epoch: epochFromWire(r.epoch, 'epoch'),
        leaderId: leaderIdFromWire(r.leaderId, 'leader_id'),
        voteGranted: r.voteGranted,
        preVote: r.preVote,
      }
    }
    case 'beginQuorumEpoch': {
      const r = p.response
      return {
        type: 'begin_quorum_epoch_response',
        errorCode: r.errorCode,
        epoch: epochFromWire(r.epoch, 'epoch'),
        leaderId: leaderIdFromWire(r.leaderId, 'leader_id'),
      }
    }
    case 'endQuorumEpoch': {
      const r = p.response
      return {
        type: 'end_quorum_epoch_response',
        errorCode: r.errorCode,
        epoch: epochFromWire(r.epoch, 'epoch'),
        leaderId: leaderIdFromWire(r.leaderId, 'leader_id'),
      }
    }
    case 'fetch': {
      const r = p.response
      const entries = r.entries.map(entryFromWire)
      checkContiguous(entries)
      return {
        type: 'fetch_response',
        errorCode: r.errorCode,
        epoch: epochFromWire(r.epoch, 'epoch'),
        leaderId: leaderIdFromWire(r.leaderId, 'leader_id'),
        highWatermark: offsetFromWire(r.highWatermark, 'high_watermark'),
        logStartOffset: offsetFromWire(r.logStartOffset, 'log_start_offset'),
        divergingEpoch: r.diverging
          ? {
              epoch: epochFromWire(r.divergingEpoch, 'diverging_epoch'),
              endOffset: offsetFromWire(r.divergingEndOffset, 'diverging_end_offset'),
            }
          : null,
        snapshotId: r.snapshotId === undefined ? null : snapshotIdFromWire(r.snapshotId, 'snapshot_id'),
        entries,
      }
    }
    case 'fetchSnapshot': {
      const r = p.response
      const size = offsetFromWire(r.size, 'size')
      const position = offsetFromWire(r.position, 'position')
      const chunk = bytesFromWire(r.chunk)
      if (position + chunk.byteLength > size) malformed(`chunk [${position}, ${position + chunk.byteLength}) goes past size ${size}`)
      return {
        type: 'fetch_snapshot_response',
        errorCode: r.errorCode,
        epoch: epochFromWire(r.epoch, 'epoch'),
        leaderId: leaderIdFromWire(r.leaderId, 'leader_id'),
        snapshotId: snapshotIdFromWire(r.snapshotId, 'snapshot_id'),
        size,
        position,
        chunk,
      }
    }
  }
}

export function responseFromProto(p: ProtoResponse): DecodeResult<RaftResponse> {
  return guarded(() => responseFromProtoUnchecked(p))
}

// ---- Bytes -----------------------------------------------------------------------------

export function encodeRequest(from: NodeId, body: RaftRequest): { readonly method: RaftMethod; readonly bytes: Buffer } {
  const p = requestToProto(from, body)
  return { method: p.method, bytes: Buffer.from(encodeProtoRequest(p)) }
}

function encodeProtoRequest(p: ProtoRequest): Uint8Array {
  switch (p.method) {
    case 'vote': return quorum.VoteRequest.encode(p.request).finish()
    case 'beginQuorumEpoch': return quorum.BeginQuorumEpochRequest.encode(p.request).finish()
    case 'endQuorumEpoch': return quorum.EndQuorumEpochRequest.encode(p.request).finish()
    case 'fetch': return quorum.FetchRequest.encode(p.request).finish()
    case 'fetchSnapshot': return quorum.FetchSnapshotRequest.encode(p.request).finish()
  }
}

function decodeProtoRequest(method: RaftMethod, bytes: Uint8Array): ProtoRequest {
  switch (method) {
    case 'vote': return { method, request: quorum.VoteRequest.decode(bytes) }
    case 'beginQuorumEpoch': return { method, request: quorum.BeginQuorumEpochRequest.decode(bytes) }
    case 'endQuorumEpoch': return { method, request: quorum.EndQuorumEpochRequest.decode(bytes) }
    case 'fetch': return { method, request: quorum.FetchRequest.decode(bytes) }
    case 'fetchSnapshot': return { method, request: quorum.FetchSnapshotRequest.decode(bytes) }
  }
}

export function decodeRequest(method: RaftMethod, bytes: Uint8Array): DecodeResult<{ readonly from: NodeId; readonly body: RaftRequest }> {
  return guarded(() => requestFromProtoUnchecked(decodeProtoRequest(method, bytes)))
}

/** The response must answer `method`: a mismatch is a bug in the caller, not bad input. */
export function encodeResponse(method: RaftMethod, body: RaftResponse): Buffer {
  const p = responseToProto(body)
  assert(p.method === method, `a ${body.type} cannot answer a ${method} call`)
  return Buffer.from(encodeProtoResponse(p))
}

function encodeProtoResponse(p: ProtoResponse): Uint8Array {
  switch (p.method) {
    case 'vote': return quorum.VoteResponse.encode(p.response).finish()
    case 'beginQuorumEpoch': return quorum.BeginQuorumEpochResponse.encode(p.response).finish()
    case 'endQuorumEpoch': return quorum.EndQuorumEpochResponse.encode(p.response).finish()
    case 'fetch': return quorum.FetchResponse.encode(p.response).finish()
    case 'fetchSnapshot': return quorum.FetchSnapshotResponse.encode(p.response).finish()
  }
}

function decodeProtoResponse(method: RaftMethod, bytes: Uint8Array): ProtoResponse {
  switch (method) {
    case 'vote': return { method, response: quorum.VoteResponse.decode(bytes) }
    case 'beginQuorumEpoch': return { method, response: quorum.BeginQuorumEpochResponse.decode(bytes) }
    case 'endQuorumEpoch': return { method, response: quorum.EndQuorumEpochResponse.decode(bytes) }
    case 'fetch': return { method, response: quorum.FetchResponse.decode(bytes) }
    case 'fetchSnapshot': return { method, response: quorum.FetchSnapshotResponse.decode(bytes) }
  }
}

export function decodeResponse(method: RaftMethod, bytes: Uint8Array): DecodeResult<RaftResponse> {
  return guarded(() => responseFromProtoUnchecked(decodeProtoResponse(method, bytes)))
}

/**
 * Turns a parse failure (the generated decoder throws on truncated input, bad varints and
 * unknown wire types) or a failed range check into a value: bytes from the network must
 * never throw out of this module.
 */
function guarded<T>(decode: () => T): DecodeResult<T> {
  try {
    return { kind: 'ok', value: decode() }
  } catch (err) {
    if (err instanceof MalformedError) return { kind: 'malformed', reason: err.message }
    return { kind: 'malformed', reason: `cannot parse: ${err instanceof Error ? err.message : String(err)}` }
  }
}
