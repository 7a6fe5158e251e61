/**
 * Reads a stopped node's copy of a partition straight from its log directory (DESIGN.md's
 * layout: `<log.dirs>/<topic>-<partition>/<base offset, 20 digits>.log`, RecordBatch v2 laid
 * end to end), so a test can check what a replica holds on disk without making it leader.
 *
 * A torn tail (a SIGKILL mid-write) ends a segment's scan; the node would cut it on recovery.
 * Read-only, and only while the node is not running.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeRecords, iterateBatches, type DecodedRecord } from '@tributary/protocol'

const SEGMENT_FILE = /^\d{20}\.log$/

/** Every record in the partition's segment files, in offset order (segments sorted by base offset). */
export async function readLocalPartition(logDir: string, topic: string, partition: number): Promise<DecodedRecord[]> {
  const dir = join(logDir, `${topic}-${partition}`)
  const files = (await readdir(dir)).filter((f) => SEGMENT_FILE.test(f)).sort()
  const out: DecodedRecord[] = []
  for (const file of files) {
    const bytes = await readFile(join(dir, file))
    for (const scan of iterateBatches(bytes)) {
      if (scan.kind !== 'batch') break
      // Preallocated segment files may end in zeros: iterateBatches reports them as corrupt.
      out.push(...decodeRecords(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes)))
    }
  }
  return out
}
