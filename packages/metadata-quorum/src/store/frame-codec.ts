/**
 * The log segment frame: [length u32 BE][crc32c u32 BE of the payload][payload], where the
 * payload is one `tributary.quorum.RaftEntry` in protobuf encoding.
 *
 * Owns: encoding entries into frames, and scanning a segment's bytes back into entries.
 * The scan checks every frame on the way back in (TigerBeetle: check both sides of a
 * boundary): CRC, a canonical protobuf encoding (re-encoding gives the same bytes), a known
 * kind, epoch >= 1, and offsets that run on from the segment's base without a gap.
 *
 * A frame that fails the CRC or is cut short is "damage": the caller decides whether it is a
 * torn tail (cut it) or corruption (refuse to start). A frame whose CRC is right but whose
 * contents are wrong is never a torn write, so it is corruption straight away.
 */
import { crc32c } from '@node-rs/crc32'
import { quorum } from '@tributary/protocol'
import type { RaftEntry } from '../raft/types.js'
import { assert } from '../util/assert.js'
import { FRAME_BYTES_MAX } from './limits.js'
import { StoreCorruptionError } from './store-corruption-error.js'

export const FRAME_HEADER_BYTES = 8

/** The protobuf payload of one entry. Never empty: epoch >= 1 always encodes a field. */
export function encodeEntry(entry: RaftEntry): Uint8Array {
  // Epoch 0 has no leader (the first election moves to epoch 1), so a real entry never has
  // it; relying on that keeps every payload non-empty, and an empty payload's CRC is 0,
  // which a zero-filled page would otherwise match.
  assert(Number.isInteger(entry.epoch) && entry.epoch >= 1 && entry.epoch <= 0x7fffffff, `entry epoch ${entry.epoch} must be an int32 >= 1`)
  assert(Number.isSafeInteger(entry.offset) && entry.offset >= 0, `entry offset ${entry.offset} must be a non-negative safe integer`)
  const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength)
  const message: quorum.RaftEntry = {
    epoch: entry.epoch,
    offset: BigInt(entry.offset),
    kind: entry.kind === 'data' ? quorum.RaftEntry_Kind.DATA : quorum.RaftEntry_Kind.LEADER_CHANGE,
    data,
  }
  const payload = quorum.RaftEntry.encode(message).finish()
  assert(payload.byteLength >= 1 && payload.byteLength <= FRAME_BYTES_MAX, `entry at offset ${entry.offset} encodes to ${payload.byteLength} bytes, limit ${FRAME_BYTES_MAX}`)
  return payload
}

/** Frames for `entries`, back to back in one buffer (one write, one fsync), and each frame's size. */
export function encodeFrames(entries: readonly RaftEntry[]): { readonly buffer: Buffer; readonly frameBytes: readonly number[] } {
  const payloads = entries.map(encodeEntry)
  const frameBytes = payloads.map((p) => FRAME_HEADER_BYTES + p.byteLength)
  const buffer = Buffer.allocUnsafe(frameBytes.reduce((a, b) => a + b, 0))
  let position = 0
  for (const payload of payloads) {
    buffer.writeUInt32BE(payload.byteLength, position)
    buffer.writeUInt32BE(crc32c(payload), position + 4)
    buffer.set(payload, position + FRAME_HEADER_BYTES)
    position += FRAME_HEADER_BYTES + payload.byteLength
  }
  assert(position === buffer.length, 'frames fill the buffer exactly')
  return { buffer, frameBytes }
}

/** The first frame that could not be read, and whether intact frames follow it. */
export interface FrameDamage {
  readonly position: number
  readonly reason: string
  /** True if a well-formed frame (right CRC, decodes, later offset) exists after `position`. */
  readonly followedByGoodFrame: boolean
}

export interface SegmentScan {
  readonly entries: readonly RaftEntry[]
  /** File position of each entry's frame, parallel to `entries`. */
  readonly positions: readonly number[]
  /** End of the last good frame: where a torn tail would be cut. */
  readonly validBytes: number
  readonly damage: FrameDamage | null
}

type FrameRead =
  | { readonly kind: 'ok'; readonly payload: Uint8Array; readonly next: number }
  | { readonly kind: 'damaged'; readonly reason: string }

function readFrame(bytes: Buffer, position: number): FrameRead {
  const remaining = bytes.length - position
  if (remaining < FRAME_HEADER_BYTES) return { kind: 'damaged', reason: `short frame header (${remaining} bytes)` }
  const length = bytes.readUInt32BE(position)
  if (length < 1 || length > FRAME_BYTES_MAX) return { kind: 'damaged', reason: `frame length ${length} out of range` }
  if (remaining - FRAME_HEADER_BYTES < length) {
    return { kind: 'damaged', reason: `short frame (${remaining - FRAME_HEADER_BYTES} of ${length} payload bytes)` }
  }
  const start = position + FRAME_HEADER_BYTES
  const payload = bytes.subarray(start, start + length)
  if (crc32c(payload) !== bytes.readUInt32BE(position + 4)) return { kind: 'damaged', reason: 'bad CRC' }
  return { kind: 'ok', payload, next: start + length }
}

type EntryDecode = { readonly kind: 'ok'; readonly entry: RaftEntry } | { readonly kind: 'bad'; readonly reason: string }

function decodeEntry(payload: Uint8Array): EntryDecode {
  let message: quorum.RaftEntry
  try {
    message = quorum.RaftEntry.decode(payload)
  } catch (err) {
    return { kind: 'bad', reason: `undecodable entry (${err instanceof Error ? err.message : String(err)})` }
  }
  let kind: RaftEntry['kind']
  if (message.kind === quorum.RaftEntry_Kind.DATA) kind = 'data'
  else if (message.kind === quorum.RaftEntry_Kind.LEADER_CHANGE) kind = 'leader_change'
  else return { kind: 'bad', reason: `unknown entry kind ${String(message.kind)}` }
  if (message.epoch < 1) return { kind: 'bad', reason: `entry epoch ${message.epoch} < 1` }
  if (message.offset < 0n || message.offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { kind: 'bad', reason: `entry offset ${message.offset} out of range` }
  }
  const entry: RaftEntry = { epoch: message.epoch, offset: Number(message.offset), kind, data: new Uint8Array(message.data) }
  // The generated decoder skips unknown fields and stops at a zero tag without complaint;
  // we wrote this payload with the same encoder, so anything but the same bytes is damage.
  const again = encodeEntry(entry)
  if (Buffer.compare(again, payload) !== 0) return { kind: 'bad', reason: 'entry payload is not in canonical encoding' }
  return { kind: 'ok', entry }
}

/**
 * Is there an intact frame after a damaged one? We cannot trust the damaged frame's length
 * field, so try every later byte position. Bounded by the bytes after the damage: for a torn
 * tail that is at most the last unsynced write, and for real corruption the next frame is
 * usually found one frame length later.
 */
function goodFrameAfter(bytes: Buffer, damagedAt: number, minOffset: number): boolean {
  for (let q = damagedAt + 1; q + FRAME_HEADER_BYTES < bytes.length; q++) {
    const length = bytes.readUInt32BE(q)
    if (length < 1 || length > FRAME_BYTES_MAX || q + FRAME_HEADER_BYTES + length > bytes.length) continue
    const frame = readFrame(bytes, q)
    if (frame.kind !== 'ok') continue
    const decoded = decodeEntry(frame.payload)
    if (decoded.kind === 'ok' && decoded.entry.offset >= minOffset) return true
  }
  return false
}

/**
 * Reads a segment's bytes. Stops at the first damaged frame and reports it; throws
 * StoreCorruptionError for an intact frame with wrong contents (bad payload, an offset that
 * does not follow, an epoch that goes down).
 */
export function scanSegment(bytes: Buffer, path: string, baseOffset: number): SegmentScan {
  const entries: RaftEntry[] = []
  const positions: number[] = []
  let position = 0
  let lastEpoch = 1
  while (position < bytes.length) {
    const expectedOffset = baseOffset + entries.length
    const frame = readFrame(bytes, position)
    if (frame.kind === 'damaged') {
      const damage: FrameDamage = {
        position,
        reason: frame.reason,
        followedByGoodFrame: goodFrameAfter(bytes, position, expectedOffset),
      }
      return { entries, positions, validBytes: position, damage }
    }
    const decoded = decodeEntry(frame.payload)
    if (decoded.kind === 'bad') throw new StoreCorruptionError(path, `${decoded.reason} in frame at byte ${position}`, position)
    const entry = decoded.entry
    if (entry.offset !== expectedOffset) {
      throw new StoreCorruptionError(path, `frame at byte ${position} holds offset ${entry.offset}, expected ${expectedOffset}`, position)
    }
    // Raft log invariant: epochs never decrease along a log (Raft paper §5.3, Log Matching).
    if (entry.epoch < lastEpoch) {
      throw new StoreCorruptionError(path, `frame at byte ${position} (offset ${entry.offset}) has epoch ${entry.epoch} after epoch ${lastEpoch}`, position)
    }
    lastEpoch = entry.epoch
    entries.push(entry)
    positions.push(position)
    position = frame.next
  }
  return { entries, positions, validBytes: position, damage: null }
}
