/**
 * The `quorum-state` file: the Raft hard state (epoch, votedFor, leaderId) as one JSON
 * object with a CRC32C, like KRaft's quorum-state file (which is JSON too, so an operator
 * can read it).
 *
 *   {"version":1,"epoch":5,"votedFor":2,"leaderId":2,"crc":1234567890}
 *
 * The crc covers the canonical JSON of the other fields in that order. A file that does not
 * parse, fails the crc or holds impossible values is a StoreCorruptionError: resetting it
 * would forget a vote, and a node that forgets its vote can vote twice in one epoch (Raft
 * paper §5.2, one vote per term).
 */
import { crc32c } from '@node-rs/crc32'
import { nodeId } from '@tributary/protocol'
import type { HardState } from '../raft/types.js'
import { assert } from '../util/assert.js'
import { StoreCorruptionError } from './store-corruption-error.js'

export const HARD_STATE_FILE_NAME = 'quorum-state'
const HARD_STATE_VERSION = 1
const INT32_MAX = 0x7fffffff

function body(hardState: HardState): string {
  // Fixed key order: this string is what the crc covers.
  return JSON.stringify({
    version: HARD_STATE_VERSION,
    epoch: hardState.epoch,
    votedFor: hardState.votedFor,
    leaderId: hardState.leaderId,
  })
}

function validNodeId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= INT32_MAX
}

export function encodeHardState(hardState: HardState): Buffer {
  assert(Number.isInteger(hardState.epoch) && hardState.epoch >= 0 && hardState.epoch <= INT32_MAX, `hard state epoch ${hardState.epoch} must be an int32 >= 0`)
  assert(hardState.votedFor === null || validNodeId(hardState.votedFor), `votedFor ${String(hardState.votedFor)} is not a node id`)
  assert(hardState.leaderId === null || validNodeId(hardState.leaderId), `leaderId ${String(hardState.leaderId)} is not a node id`)
  const text = body(hardState)
  const crc = crc32c(text)
  return Buffer.from(`${text.slice(0, -1)},"crc":${crc}}\n`, 'utf8')
}

export function decodeHardState(bytes: Buffer, path: string): HardState {
  const corrupt = (detail: string): StoreCorruptionError =>
    new StoreCorruptionError(path, `${detail}; refusing to start (a lost vote could let this node vote twice in one epoch)`)
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw corrupt('quorum-state is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw corrupt('quorum-state is not a JSON object')
  const record = parsed as Record<string, unknown>
  const { version, epoch, votedFor, leaderId, crc } = record
  if (version !== HARD_STATE_VERSION) throw corrupt(`unknown quorum-state version ${JSON.stringify(version)}`)
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0 || epoch > INT32_MAX) throw corrupt(`bad epoch ${JSON.stringify(epoch)}`)
  if (votedFor !== null && !validNodeId(votedFor)) throw corrupt(`bad votedFor ${JSON.stringify(votedFor)}`)
  if (leaderId !== null && !validNodeId(leaderId)) throw corrupt(`bad leaderId ${JSON.stringify(leaderId)}`)
  if (typeof crc !== 'number') throw corrupt('quorum-state has no crc')
  const keys = Object.keys(record).sort().join(',')
  if (keys !== 'crc,epoch,leaderId,version,votedFor') throw corrupt(`unexpected quorum-state fields ${keys}`)
  const hardState: HardState = {
    epoch,
    votedFor: votedFor === null ? null : nodeId(votedFor),
    leaderId: leaderId === null ? null : nodeId(leaderId),
  }
  if (crc32c(body(hardState)) !== crc) throw corrupt('quorum-state crc mismatch')
  return hardState
}

export function sameHardState(a: HardState, b: HardState): boolean {
  return a.epoch === b.epoch && a.votedFor === b.votedFor && a.leaderId === b.leaderId
}
