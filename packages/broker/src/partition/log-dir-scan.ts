/**
 * What the replica manager does with the partition directories it finds at start-up, before
 * it opens any (Kafka's LogManager stray-replica handling, KIP-858 style):
 *   - `<dir>.<topicId>-delete`: a deletion that a crash interrupted; finished now;
 *   - a partition directory the first metadata image assigns to this broker, for the same
 *     topic id (partition.metadata) or with no id recorded: kept, opened by the transitions;
 *   - any other partition directory (topic gone, replica moved away, or a different topic id,
 *     i.e. a deleted topic whose name was reused): renamed to `<dir>.<topicId|unknown>-stray`,
 *     never deleted: data is not thrown away on a guess; an operator removes strays;
 *   - the metadata log (`__cluster_metadata-0`, the Raft log of a combined or broker-only
 *     node, which shares the log dir as in KRaft) is never a data partition: left alone;
 *   - anything else (strays, files): left alone.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { METADATA_LOG_DIR_NAME, type FsSyncOps, type Logger, type MetadataImage } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'
import { parsePartitionDirName } from '../log/partition-dir.js'
import { readPartitionMetadata } from './partition-files.js'

export const DELETE_SUFFIX = '-delete'
export const STRAY_SUFFIX = '-stray'

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Renames `<logDir>/<name>` to a stray name that does not exist yet; returns the new name. */
export async function moveAsideAsStray(logDir: string, name: string, topicId: string | null, syncOps: FsSyncOps, logger: Logger, reason: string): Promise<string> {
  const base = `${name}.${topicId ?? 'unknown'}`
  let target = `${base}${STRAY_SUFFIX}`
  for (let n = 1; await exists(join(logDir, target)); n++) target = `${base}.${n}${STRAY_SUFFIX}`
  await rename(join(logDir, name), join(logDir, target))
  await syncOps.syncDir(logDir)
  logger.warn({ dir: join(logDir, name), movedTo: target, reason }, 'moved a stray partition directory aside')
  return target
}

/** The recorded topic id of a partition directory; 'unreadable' if partition.metadata is damaged. */
export async function recordedTopicId(dir: string, logger: Logger): Promise<string | null | 'unreadable'> {
  try {
    return await readPartitionMetadata(dir)
  } catch (err) {
    logger.error({ dir, err: errorMessage(err) }, 'partition.metadata is unreadable')
    return 'unreadable'
  }
}

/** Cleans `logDir` against the first metadata image (see the module header). */
export async function scanLogDir(logDir: string, image: MetadataImage, brokerId: NodeId, syncOps: FsSyncOps, logger: Logger): Promise<void> {
  await mkdir(logDir, { recursive: true })
  for (const name of await readdir(logDir)) {
    const path = join(logDir, name)
    if (!(await stat(path)).isDirectory()) continue
    if (name.endsWith(DELETE_SUFFIX)) {
      await rm(path, { recursive: true, force: true })
      logger.info({ dir: path }, 'finished deleting a partition directory')
      continue
    }
    const parsed = parsePartitionDirName(name)
    if (parsed === null || name === METADATA_LOG_DIR_NAME || name.startsWith(`${METADATA_LOG_DIR_NAME}.`)) continue
    const topic = image.topicsByName.get(parsed.topic)
    const registration = topic?.partitions.get(parsed.partition)
    const recorded = await recordedTopicId(path, logger)
    const assigned = topic !== undefined && registration !== undefined && registration.replicas.includes(brokerId)
    if (assigned && (recorded === null || recorded === topic.topicId)) continue
    const reason = !assigned ? 'not assigned to this broker by the metadata' : `holds topic id ${recorded}, the metadata has ${topic.topicId}`
    await moveAsideAsStray(logDir, name, recorded === 'unreadable' ? null : recorded, syncOps, logger, reason)
  }
}
