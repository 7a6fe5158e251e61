/**
 * Kafka's checkpoint file format, shared by `leader-epoch-checkpoint` and
 * `recovery-point-checkpoint`: plain text an operator can read,
 *
 *   0            format version
 *   2            number of entries
 *   0 0          one entry per line, fields separated by one space
 *   3 1500
 *
 * Owns: parsing such a file strictly and replacing one atomically (tmp, fsync, rename,
 * directory fsync), so a reader sees either the old file or the new one, never a torn mix.
 * Because writes are atomic, a file that does not parse is real damage: it is reported as a
 * StoreCorruptionError naming the file and line, never repaired by guessing.
 */
import { readFile, stat } from 'node:fs/promises'
import { StoreCorruptionError, replaceFileDurably, type FsSyncOps } from '@tributary/metadata-quorum'
import { CHECKPOINT_ENTRIES_MAX, CHECKPOINT_FILE_BYTES_MAX } from './log-limits.js'

export const CHECKPOINT_VERSION = 0

const INT32_MAX = 0x7fffffff
const INT64_MAX = (1n << 63n) - 1n
const DIGITS = /^(0|[1-9][0-9]*)$/

/** True for the error fs raises when a file is not there. */
export function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT'
}

/**
 * The entries of a checkpoint file, each a list of exactly `fieldCount` fields, or null when
 * the file does not exist. Throws StoreCorruptionError for anything else that is not a
 * well-formed version-0 file.
 */
export async function readCheckpointFile(path: string, fieldCount: number): Promise<string[][] | null> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    if (isMissing(err)) return null
    throw err
  }
  if (size > CHECKPOINT_FILE_BYTES_MAX) {
    throw new StoreCorruptionError(path, `checkpoint file is ${size} bytes, more than the ${CHECKPOINT_FILE_BYTES_MAX} a real one can hold`)
  }
  const text = (await readFile(path)).toString('utf8')
  const corrupt = (detail: string): StoreCorruptionError => new StoreCorruptionError(path, `${detail} (not a Kafka checkpoint file)`)
  if (!text.endsWith('\n')) throw corrupt('checkpoint file does not end with a newline')
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 2) throw corrupt(`checkpoint file has ${lines.length} line(s), needs a version and a count`)
  if (lines[0] !== String(CHECKPOINT_VERSION)) throw corrupt(`unknown checkpoint version ${JSON.stringify(lines[0])} on line 1`)
  const countText = lines[1]
  if (!DIGITS.test(countText) || Number(countText) > CHECKPOINT_ENTRIES_MAX) throw corrupt(`bad entry count ${JSON.stringify(countText)} on line 2`)
  const count = Number(countText)
  if (lines.length - 2 !== count) throw corrupt(`checkpoint file announces ${count} entries but holds ${lines.length - 2}`)
  return lines.slice(2).map((line, i) => {
    const fields = line.split(' ')
    if (fields.length !== fieldCount || fields.some((f) => f.length === 0)) {
      throw corrupt(`line ${i + 3} has ${JSON.stringify(line)}, expected ${fieldCount} field(s)`)
    }
    return fields
  })
}

/** Parses a checkpoint field that holds an offset (int64 >= 0). */
export function parseOffsetField(path: string, field: string, what: string): bigint {
  if (!DIGITS.test(field) || field.length > 19 || BigInt(field) > INT64_MAX) {
    throw new StoreCorruptionError(path, `bad ${what} ${JSON.stringify(field)} (not an offset)`)
  }
  return BigInt(field)
}

/** Parses a checkpoint field that holds a leader epoch (int32 >= 0). */
export function parseEpochField(path: string, field: string, what: string): number {
  if (!DIGITS.test(field) || field.length > 10 || Number(field) > INT32_MAX) {
    throw new StoreCorruptionError(path, `bad ${what} ${JSON.stringify(field)} (not a leader epoch)`)
  }
  return Number(field)
}

export function encodeCheckpoint(entries: readonly (readonly (string | number | bigint)[])[]): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length), ...entries.map((fields) => fields.map(String).join(' '))]
  return Buffer.from(lines.join('\n') + '\n', 'utf8')
}

/** Replaces `path` durably and atomically: tmp, write, fsync, rename, directory fsync. */
export async function writeCheckpointFile(
  path: string,
  dir: string,
  entries: readonly (readonly (string | number | bigint)[])[],
  syncOps: FsSyncOps,
): Promise<void> {
  await replaceFileDurably(path, dir, encodeCheckpoint(entries), syncOps)
}

