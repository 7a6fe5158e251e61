/**
 * The log cleaner's crash-safe replacement of segments (Kafka's LogCleaner + UnifiedLog
 * replaceSegments, with its `.cleaned` and `.swap` suffixes).
 *
 * A group of consecutive closed segments [B1, B2, ..., Bk] is replaced by one cleaned segment
 * with base B1, in these steps, each followed by a directory fsync:
 *   1. the cleaner writes `<B1>.log.cleaned`, then its `<B1>.index.cleaned` and
 *      `<B1>.timeindex.cleaned`, all fsynced (the old segments are untouched);
 *   2. rename `<B1>.log.cleaned` -> `<B1>.log.swap`: from here on the new segment is committed;
 *   3. delete the segments B2..Bk (log and index files) and B1's index files;
 *   4. rename `<B1>.log.swap` -> `<B1>.log`, which replaces the old B1 log atomically, then the
 *      two `.cleaned` index files to their names (derived data: a crash before they are in
 *      place only makes the next open rebuild them from the log).
 * Only steps 2 to 4 run under the log's exclusive lock.
 *
 * Recovery at open (recoverCleanerSwaps) mirrors Kafka's: every `.cleaned` file is deleted
 * (step 1 never finished, or its indexes were not moved yet: they are rebuilt); a `.swap` file
 * is completed: steps 3 and 4 are redone. The segments a swap covers are the ones whose base lies in [B1, swap end offset):
 * the cleaner always keeps the last batch of a group (as an empty batch if every record of it
 * was cleaned away), so the swap file ends exactly where the group ended. A crash at any step
 * therefore leaves either the old segments or the new one, never a mix that loses a record.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreCorruptionError, type FsSyncOps, type Logger } from '@tributary/metadata-quorum'
import { RecordBatchLayout, RecordBatchLimits, iterateBatches, type CompressionCodecs } from '@tributary/protocol'
import { RECOVERY_READ_CHUNK_BYTES } from '../log-limits.js'
import { isMissing } from '../checkpoint-file.js'
import { LOG_FILE_SUFFIX, OFFSET_INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, parseSegmentFileName, segmentFileStem } from '../log-segment.js'
import { validateStoredBatch } from '../validate-stored-batch.js'

export const CLEANED_FILE_SUFFIX = '.cleaned'
export const SWAP_FILE_SUFFIX = '.swap'

const CLEANER_FILE_NAME = /^(\d{20})\.(log|index|timeindex)\.(cleaned|swap)$/

export function cleanedLogPath(dir: string, baseOffset: bigint): string {
  return join(dir, segmentFileStem(baseOffset) + LOG_FILE_SUFFIX + CLEANED_FILE_SUFFIX)
}

export function swapLogPath(dir: string, baseOffset: bigint): string {
  return join(dir, segmentFileStem(baseOffset) + LOG_FILE_SUFFIX + SWAP_FILE_SUFFIX)
}

async function unlinkIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path)
    return true
  } catch (err) {
    if (isMissing(err)) return false
    throw err
  }
}

/** Removes the cleaner's `.cleaned` files for base `baseOffset` (any that exist): an abandoned pass. */
export async function deleteCleanedFiles(dir: string, baseOffset: bigint): Promise<void> {
  const stem = segmentFileStem(baseOffset)
  for (const suffix of [LOG_FILE_SUFFIX, OFFSET_INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX]) await unlinkIfPresent(join(dir, stem + suffix + CLEANED_FILE_SUFFIX))
}

/** Removes a segment's three files (any that exist). */
export async function deleteSegmentFiles(dir: string, baseOffset: bigint, keepLog = false): Promise<void> {
  const stem = segmentFileStem(baseOffset)
  if (!keepLog) await unlinkIfPresent(join(dir, stem + LOG_FILE_SUFFIX))
  await unlinkIfPresent(join(dir, stem + OFFSET_INDEX_FILE_SUFFIX))
  await unlinkIfPresent(join(dir, stem + TIME_INDEX_FILE_SUFFIX))
}

/**
 * Steps 3 and 4 for a swap file of base `baseOffset` ending at `endOffset` (one past its last
 * batch): every other segment with a base in (baseOffset, endOffset) goes, then the rename.
 */
export async function completeSwap(dir: string, names: readonly string[], baseOffset: bigint, endOffset: bigint, syncOps: FsSyncOps): Promise<void> {
  for (const name of names) {
    const parsed = parseSegmentFileName(name)
    if (parsed === null || parsed.suffix !== LOG_FILE_SUFFIX) continue
    if (parsed.baseOffset > baseOffset && parsed.baseOffset < endOffset) await deleteSegmentFiles(dir, parsed.baseOffset)
  }
  await deleteSegmentFiles(dir, baseOffset, true)
  await syncOps.syncDir(dir)
  await rename(swapLogPath(dir, baseOffset), join(dir, segmentFileStem(baseOffset) + LOG_FILE_SUFFIX))
  await syncOps.syncDir(dir)
}

/**
 * Checks every batch of a swap file in full, reading it in chunks, and returns one past its
 * last offset. Damage is a StoreCorruptionError naming the file and byte.
 */
async function checkSwapFile(path: string, baseOffset: bigint, codecs: CompressionCodecs | undefined): Promise<bigint> {
  const file = await open(path, 'r')
  try {
    const size = (await file.stat()).size
    let endOffset = baseOffset
    let position = 0
    let want = RECOVERY_READ_CHUNK_BYTES
    while (position < size) {
      const length = Math.min(want, size - position)
      const chunk = Buffer.alloc(length)
      const { bytesRead } = await file.read(chunk, 0, length, position)
      if (bytesRead !== length) throw new StoreCorruptionError(path, `read ${bytesRead} of ${length} bytes at byte ${position}`, position)
      let consumed = 0
      want = RECOVERY_READ_CHUNK_BYTES
      for (const scan of iterateBatches(chunk)) {
        const at = position + scan.position
        if (scan.kind === 'truncated' && position + length < size) {
          // A batch running past this chunk (its framing possibly cut too): read again from its
          // start, big enough to hold it.
          if (chunk.length - scan.position >= RecordBatchLayout.logOverheadBytes) {
            want = Math.max(want, chunk.readInt32BE(scan.position + RecordBatchLayout.batchLengthPos) + RecordBatchLayout.logOverheadBytes)
          }
          break
        }
        if (scan.kind !== 'batch') throw new StoreCorruptionError(path, `damaged batch at byte ${at}: ${scan.reason}`, at)
        const validation = validateStoredBatch(chunk.subarray(scan.position, scan.position + scan.header.sizeBytes), { codecs })
        if (validation.kind === 'corrupt') throw new StoreCorruptionError(path, `damaged batch at byte ${at}: ${validation.reason}`, at)
        if (scan.header.baseOffset < endOffset) throw new StoreCorruptionError(path, `batch at byte ${at} holds offset ${scan.header.baseOffset}, expected at least ${endOffset}`, at)
        endOffset = scan.header.lastOffset + 1n
        consumed = scan.position + scan.header.sizeBytes
      }
      if (consumed === 0 && want <= length) throw new StoreCorruptionError(path, `no whole batch at byte ${position}`, position)
      if (want > RecordBatchLimits.batchBytesMax) throw new StoreCorruptionError(path, `batch at byte ${position + consumed} declares ${want} bytes`, position + consumed)
      position += consumed
    }
    return endOffset
  } finally {
    await file.close()
  }
}

/**
 * Finishes or rolls back whatever a crashed cleaner left in `dir` (see the module header).
 * A swap file is checked in full first (it was fsynced before its rename, so damage there is
 * corruption, reported as such, and nothing is changed).
 */
export async function recoverCleanerSwaps(dir: string, names: readonly string[], syncOps: FsSyncOps, logger: Logger, codecs?: CompressionCodecs): Promise<void> {
  const cleaned: string[] = []
  const swaps: bigint[] = []
  for (const name of names) {
    const match = CLEANER_FILE_NAME.exec(name)
    if (match === null) continue
    if (match[3] === 'cleaned' || match[2] !== 'log') cleaned.push(name)
    else swaps.push(BigInt(match[1]))
  }
  if (cleaned.length === 0 && swaps.length === 0) return
  for (const name of cleaned) {
    logger.warn({ path: join(dir, name) }, 'removing an unfinished cleaned segment; the original segments stay')
    await unlink(join(dir, name))
  }
  if (cleaned.length > 0) await syncOps.syncDir(dir)
  for (const baseOffset of swaps.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = swapLogPath(dir, baseOffset)
    const endOffset = await checkSwapFile(path, baseOffset, codecs)
    logger.warn({ path, baseOffset: String(baseOffset), endOffset: String(endOffset) }, 'completing an interrupted log cleaner swap')
    await completeSwap(dir, await readdir(dir), baseOffset, endOffset, syncOps)
  }
}
