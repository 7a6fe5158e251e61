/**
 * Snapshot files: `<endOffset, 20 digits>-<epoch, 10 digits>.checkpoint`, as KRaft names
 * them, holding [magic u32 BE][crc32c u32 BE][length u32 BE][data].
 *
 * The crc covers the snapshot id taken from the file name, the length and the data, so a
 * file that was torn, bit-flipped or renamed to the wrong id all read as invalid. Whether an
 * invalid file is fatal is the store's decision (it depends on what else is on disk).
 */
import { crc32c } from '@node-rs/crc32'
import type { Snapshot, SnapshotId } from '../raft/types.js'
import { assert } from '../util/assert.js'
import { SNAPSHOT_BYTES_MAX } from './limits.js'

/** "TRS1": Tributary Raft Snapshot, format 1. */
const SNAPSHOT_MAGIC = 0x54525331
export const SNAPSHOT_HEADER_BYTES = 12
export const SNAPSHOT_SUFFIX = '.checkpoint'
const NAME = /^(\d{20})-(\d{10})\.checkpoint$/
const INT32_MAX = 0x7fffffff

export function snapshotFileName(id: SnapshotId): string {
  assert(Number.isSafeInteger(id.endOffset) && id.endOffset >= 0, `snapshot end offset ${id.endOffset} out of range`)
  assert(Number.isInteger(id.epoch) && id.epoch >= 0 && id.epoch <= INT32_MAX, `snapshot epoch ${id.epoch} out of range`)
  return `${String(id.endOffset).padStart(20, '0')}-${String(id.epoch).padStart(10, '0')}${SNAPSHOT_SUFFIX}`
}

/** The id a file name stands for, or null if the name is not a snapshot's. */
export function parseSnapshotFileName(name: string): SnapshotId | null {
  const match = NAME.exec(name)
  if (match === null) return null
  const endOffset = Number(match[1])
  const epoch = Number(match[2])
  if (!Number.isSafeInteger(endOffset) || epoch > INT32_MAX) return null
  return { endOffset, epoch }
}

function checksum(id: SnapshotId, data: Uint8Array): number {
  const prefix = Buffer.alloc(16)
  prefix.writeBigUInt64BE(BigInt(id.endOffset), 0)
  prefix.writeUInt32BE(id.epoch, 8)
  prefix.writeUInt32BE(data.byteLength, 12)
  return crc32c(data, crc32c(prefix))
}

export function encodeSnapshotFile(snapshot: Snapshot): Buffer {
  assert(snapshot.data.byteLength <= SNAPSHOT_BYTES_MAX, `snapshot of ${snapshot.data.byteLength} bytes exceeds ${SNAPSHOT_BYTES_MAX}`)
  const file = Buffer.allocUnsafe(SNAPSHOT_HEADER_BYTES + snapshot.data.byteLength)
  file.writeUInt32BE(SNAPSHOT_MAGIC, 0)
  file.writeUInt32BE(checksum(snapshot.id, snapshot.data), 4)
  file.writeUInt32BE(snapshot.data.byteLength, 8)
  file.set(snapshot.data, SNAPSHOT_HEADER_BYTES)
  return file
}

export type SnapshotDecode =
  | { readonly kind: 'ok'; readonly snapshot: Snapshot }
  | { readonly kind: 'invalid'; readonly reason: string }

export function decodeSnapshotFile(bytes: Buffer, id: SnapshotId): SnapshotDecode {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) return { kind: 'invalid', reason: `short header (${bytes.length} bytes)` }
  if (bytes.readUInt32BE(0) !== SNAPSHOT_MAGIC) return { kind: 'invalid', reason: 'bad magic' }
  const length = bytes.readUInt32BE(8)
  if (length > SNAPSHOT_BYTES_MAX) return { kind: 'invalid', reason: `length ${length} exceeds ${SNAPSHOT_BYTES_MAX}` }
  if (bytes.length !== SNAPSHOT_HEADER_BYTES + length) {
    return { kind: 'invalid', reason: `file has ${bytes.length - SNAPSHOT_HEADER_BYTES} data bytes, header says ${length}` }
  }
  const data = bytes.subarray(SNAPSHOT_HEADER_BYTES)
  if (checksum(id, data) !== bytes.readUInt32BE(4)) return { kind: 'invalid', reason: 'bad CRC (torn write, flipped bits, or a name that does not match the contents)' }
  return { kind: 'ok', snapshot: { id, data } }
}
