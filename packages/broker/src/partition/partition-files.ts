/**
 * The replica manager's own files in a partition directory, beside PartitionLog's:
 *
 *   partition.metadata          the topic id the directory belongs to (Kafka's format:
 *                               "version: 0\ntopic_id: <id>\n"), so a directory left behind
 *                               by a deleted topic is never mistaken for a new topic that
 *                               reuses the name (KIP-516)
 *   high-watermark-checkpoint   the replica's high watermark, Kafka's checkpoint format with
 *                               one entry (Kafka keeps one replication-offset-checkpoint per
 *                               log dir; one per partition keeps a partition self-contained)
 *
 * Both are replaced atomically and durably; a file that does not parse is reported as a
 * StoreCorruptionError naming it, never guessed at.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreCorruptionError, replaceFileDurably, type FsSyncOps } from '@tributary/metadata-quorum'
import { isMissing, parseOffsetField, readCheckpointFile, writeCheckpointFile } from '../log/checkpoint-file.js'

export const PARTITION_METADATA_FILE = 'partition.metadata'
export const HIGH_WATERMARK_CHECKPOINT_FILE = 'high-watermark-checkpoint'

const PARTITION_METADATA_BYTES_MAX = 1024
const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/

/** The topic id recorded in `dir`, or null when the directory has no partition.metadata. */
export async function readPartitionMetadata(dir: string): Promise<string | null> {
  const path = join(dir, PARTITION_METADATA_FILE)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if (isMissing(err)) return null
    throw err
  }
  if (bytes.length > PARTITION_METADATA_BYTES_MAX) throw new StoreCorruptionError(path, `is ${bytes.length} bytes, more than a partition.metadata file holds`)
  const lines = bytes.toString('utf8').split('\n').filter((line) => line.length > 0)
  const fields = new Map<string, string>()
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new StoreCorruptionError(path, `line ${JSON.stringify(line)} is not "key: value"`)
    fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
  }
  if (fields.get('version') !== '0') throw new StoreCorruptionError(path, `unknown version ${JSON.stringify(fields.get('version') ?? null)}`)
  const topicId = fields.get('topic_id')
  if (topicId === undefined || !TOPIC_ID.test(topicId)) throw new StoreCorruptionError(path, `bad topic_id ${JSON.stringify(topicId ?? null)}`)
  return topicId
}

export async function writePartitionMetadata(dir: string, topicId: string, syncOps: FsSyncOps): Promise<void> {
  await replaceFileDurably(join(dir, PARTITION_METADATA_FILE), dir, Buffer.from(`version: 0\ntopic_id: ${topicId}\n`, 'utf8'), syncOps)
}

/** The checkpointed high watermark, or null when there is none yet. */
export async function readHighWatermarkCheckpoint(dir: string): Promise<bigint | null> {
  const path = join(dir, HIGH_WATERMARK_CHECKPOINT_FILE)
  const entries = await readCheckpointFile(path, 1)
  if (entries === null) return null
  if (entries.length !== 1) throw new StoreCorruptionError(path, `holds ${entries.length} entries, expected 1`)
  return parseOffsetField(path, entries[0][0], 'high watermark')
}

export async function writeHighWatermarkCheckpoint(dir: string, highWatermark: bigint, syncOps: FsSyncOps): Promise<void> {
  await writeCheckpointFile(join(dir, HIGH_WATERMARK_CHECKPOINT_FILE), dir, [[highWatermark]], syncOps)
}
