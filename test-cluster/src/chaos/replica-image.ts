/**
 * Reads one node's copy of a partition from disk as a ReplicaImage, for the replica check
 * (check-replicas.ts). The layout is packages/broker's (Kafka's): `<log.dirs>/<topic>-
 * <partition>/` holds segments named by their 20-digit base offset, `*.log` files of
 * RecordBatch v2 batches laid end to end. Index files are not needed: only the batch framing
 * (iterateBatches) is read.
 *
 * It stops at the first batch at or beyond upToOffset (the high watermark), or at a torn or
 * corrupt tail, which it reports rather than throws: a node killed mid-write may leave one
 * until its next start recovers the log. Call it on stopped or idle nodes; a segment being
 * written may end mid-batch, which also shows as a tail.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { iterateBatches } from '@tributary/protocol'
import type { ReplicaBatch, ReplicaImage } from './history.ts'

const SEGMENT_FILE = /^([0-9]{20})\.log$/

export interface SegmentTail {
  readonly file: string
  readonly position: number
  readonly kind: 'truncated' | 'corrupt'
  readonly reason: string
}

export interface ReplicaImageRead {
  readonly image: ReplicaImage
  /** Where reading stopped early on bad bytes; null when every segment framed cleanly. */
  readonly tail: SegmentTail | null
  /**
   * false: the node has no directory for the partition (the image is empty). For a node that
   * is not a replica of the partition that is expected: leave its image out of the history,
   * or the replica check calls it behind. For an assigned replica keep it: it is behind.
   */
  readonly exists: boolean
}

export interface SegmentBatches {
  readonly batches: ReplicaBatch[]
  /** The first batch at or beyond upToOffset was reached: later segments need not be read. */
  readonly reachedLimit: boolean
  readonly tail: Omit<SegmentTail, 'file'> | null
}

/** The batches of one segment's bytes whose base offset is below upToOffset (pure). */
export function segmentBatches(bytes: Buffer, upToOffset: bigint | null): SegmentBatches {
  const batches: ReplicaBatch[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') return { batches, reachedLimit: false, tail: { position: scan.position, kind: scan.kind, reason: scan.reason } }
    const h = scan.header
    if (upToOffset !== null && h.baseOffset >= upToOffset) return { batches, reachedLimit: true, tail: null }
    batches.push({ baseOffset: h.baseOffset, lastOffset: h.lastOffset, bytes: bytes.subarray(scan.position, scan.position + h.sizeBytes) })
  }
  return { batches, reachedLimit: false, tail: null }
}

/** Segment file names of a partition directory, in base-offset order. */
export function segmentFiles(names: readonly string[]): string[] {
  return names.filter((n) => SEGMENT_FILE.test(n)).sort()
}

export interface ReadReplicaImageInput {
  readonly node: number
  /** One of the node's log.dirs. */
  readonly logDir: string
  readonly topic: string
  readonly partition: number
  /** Read batches whose base offset is below this (the high watermark); null: everything. */
  readonly upToOffset: bigint | null
}

export async function readReplicaImage(input: ReadReplicaImageInput): Promise<ReplicaImageRead> {
  const dir = join(input.logDir, `${input.topic}-${input.partition}`)
  const batches: ReplicaBatch[] = []
  let tail: SegmentTail | null = null
  let names: string[]
  let exists = true
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    names = []
    exists = false
  }
  for (const file of segmentFiles(names)) {
    const segment = segmentBatches(await readFile(join(dir, file)), input.upToOffset)
    batches.push(...segment.batches)
    if (segment.tail !== null) {
      tail = { file, ...segment.tail }
      break
    }
    if (segment.reachedLimit) break
  }
  return { image: { node: input.node, topic: input.topic, partition: input.partition, batches }, tail, exists }
}
