/**
 * Helpers for the partition log tests: valid RecordBatch v2 batches built with the protocol's
 * encoder, temporary directories, a sync-ops double that counts and can fail syncs, and a
 * logger that records what it was told. Test-only: not exported from the package.
 */
import type { FileHandle } from 'node:fs/promises'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeSyncOps, type FsSyncOps, type Logger } from '@tributary/metadata-quorum'
import { decodeRecords, encodeRecordBatch, iterateBatches, validateBatch, type RecordBatchHeader } from '@tributary/protocol'
import { PartitionLog, type PartitionLogConfig } from './partition-log.js'

export interface BatchSpec {
  /** Number of records; default 1. */
  readonly records?: number
  /** Timestamp of the first record; later records add 1 ms each. Default 1_000_000. */
  readonly timestamp?: bigint
  /** Explicit timestamps, one per record (overrides records/timestamp). */
  readonly timestamps?: readonly bigint[]
  /** Bytes per record value; default 16. */
  readonly valueBytes?: number
  /** A tag written into every value, to tell batches apart. */
  readonly tag?: string
  readonly baseOffset?: bigint
  readonly partitionLeaderEpoch?: number
}

/** One valid batch, as a producer (or, with baseOffset and epoch, a leader) would send it. */
export function makeBatch(spec: BatchSpec = {}): Buffer {
  const base = spec.timestamp ?? 1_000_000n
  const timestamps = spec.timestamps ?? Array.from({ length: spec.records ?? 1 }, (_, i) => base + BigInt(i))
  const valueBytes = spec.valueBytes ?? 16
  const tag = spec.tag ?? 'v'
  return encodeRecordBatch({
    baseOffset: spec.baseOffset ?? 0n,
    partitionLeaderEpoch: spec.partitionLeaderEpoch ?? -1,
    records: timestamps.map((timestamp, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(`${tag}-${i}-`.padEnd(valueBytes, 'x')),
      headers: [],
      timestamp,
    })),
  })
}

export function concat(...buffers: Buffer[]): Buffer {
  return Buffer.concat(buffers)
}

/** Headers of the batches in `bytes`, checking that every one is whole and valid. */
export function batchesIn(bytes: Buffer): RecordBatchHeader[] {
  const headers: RecordBatchHeader[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') throw new Error(`not a whole batch at ${scan.position}: ${scan.reason}`)
    const validation = validateBatch(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes))
    if (validation.kind !== 'ok') throw new Error(`invalid batch at ${scan.position}: ${validation.kind}`)
    headers.push(scan.header)
  }
  return headers
}

/** Offsets and values of every record in `bytes`. */
export function recordsIn(bytes: Buffer): { offset: bigint; value: string }[] {
  const out: { offset: bigint; value: string }[] = []
  for (const scan of iterateBatches(bytes)) {
    if (scan.kind !== 'batch') throw new Error(`not a whole batch at ${scan.position}`)
    for (const r of decodeRecords(bytes.subarray(scan.position, scan.position + scan.header.sizeBytes))) {
      out.push({ offset: r.offset, value: r.value === null ? '' : r.value.toString() })
    }
  }
  return out
}

/** Every offset in the log; a read returns data from one segment, so this reads until the end. */
export async function offsetsIn(log: PartitionLog): Promise<bigint[]> {
  const out: bigint[] = []
  let next = log.logStartOffset
  while (next < log.logEndOffset) {
    const read = await log.read(next, 1 << 20)
    if (read.kind !== 'ok') throw new Error(read.kind)
    out.push(...recordsIn(read.bytes).map((r) => r.offset))
    next = read.nextOffset
  }
  return out
}

export interface RecordingLogger extends Logger {
  readonly lines: { level: string; msg: string; fields: object }[]
  messages(level: string): string[]
}

export function recordingLogger(): RecordingLogger {
  const lines: { level: string; msg: string; fields: object }[] = []
  const at =
    (level: string) =>
    (fields: object, msg: string): void => {
      lines.push({ level, msg, fields })
    }
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => lines.filter((l) => l.level === level).map((l) => l.msg),
  }
}

/** Real syncs, counted; `failing` makes every later sync throw EIO (a dying disk). */
export class CountingSyncOps implements FsSyncOps {
  datasyncs = 0
  fsyncs = 0
  dirSyncs = 0
  failing = false

  private check(): void {
    if (this.failing) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })
  }

  async datasync(file: FileHandle, path: string): Promise<void> {
    this.check()
    this.datasyncs++
    await nodeSyncOps.datasync(file, path)
  }

  async fsync(file: FileHandle, path: string): Promise<void> {
    this.check()
    this.fsyncs++
    await nodeSyncOps.fsync(file, path)
  }

  async syncDir(dir: string): Promise<void> {
    this.check()
    this.dirSyncs++
    await nodeSyncOps.syncDir(dir)
  }
}

export interface TestLogDir {
  readonly dir: string
  readonly logger: RecordingLogger
  readonly syncOps: CountingSyncOps
  /** The wall clock the logs see; tests move it. */
  nowMs: number
  open(config?: Partial<PartitionLogConfig>): Promise<PartitionLog>
  /**
   * Simulates SIGKILL: the log's files are closed without a flush, index files or the
   * clean-shutdown marker (a failing sync makes close() give up, as a dying process would).
   * Written bytes stay in the page cache, as they do after a process kill.
   */
  crash(log: PartitionLog): Promise<void>
  cleanup(): Promise<void>
}

export async function testLogDir(): Promise<TestLogDir> {
  const root = await mkdtemp(join(tmpdir(), 'tributary-log-'))
  const dir = join(root, 'orders-0')
  const logger = recordingLogger()
  const syncOps = new CountingSyncOps()
  const state: TestLogDir = {
    dir,
    logger,
    syncOps,
    nowMs: 1_700_000_000_000,
    open: (config) => PartitionLog.open({ dir, logger, syncOps, config, clock: () => state.nowMs }),
    crash: async (log) => {
      syncOps.failing = true
      try {
        await log.close()
      } catch {
        // Expected: the failing sync is the "kill".
      }
      await log.close()
      syncOps.failing = false
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  }
  return state
}
