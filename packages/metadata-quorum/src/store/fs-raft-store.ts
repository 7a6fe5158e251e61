/**
 * FsRaftStore: the metadata log, hard state and snapshots of one node, in one directory
 * (KRaft's <log.dirs>/__cluster_metadata-0/).
 *
 *   <base offset, 20 digits>.log            log segments of frames (frame-codec.ts)
 *   quorum-state                           hard state, JSON + crc (hard-state-file.ts)
 *   <endOffset 20>-<epoch 10>.checkpoint   snapshots (snapshot-file.ts), newest two kept
 *   *.tmp                                  half-written replacements, deleted on load
 *   *.corrupt                              invalid snapshots set aside on load, never read
 *
 * Invariants, between calls:
 *   - segments are sorted by base offset and contiguous: each starts where the previous
 *     ends; only the last (active) one is written to, and it is open as `active`.
 *   - the logical log is [logStartOffset, logEndOffset); logStartOffset is the snapshot's end
 *     (0 without one). The first segment may start below it (a partially covered segment is
 *     kept whole); load() skips those entries.
 *   - `positions`/`epochs` index every entry on disk, so truncation is one ftruncate.
 *   - whatever persist() wrote with mustSync is durable when it resolves: the hard state
 *     first, replaced atomically (tmp, fsync, rename, dir fsync), then one fdatasync for the
 *     log writes of the Ready (group commit) and a directory fsync when a segment file was
 *     created or deleted. The hard state is always written durably: it is small and rare, a
 *     torn one would stop the node from starting, and going first it keeps the durable hard
 *     state's epoch at or above every durable entry's (RaftCore's start-up expects that).
 *   - after any I/O error in persist() or saveSnapshot() the store is failed: an fsync error
 *     leaves the page cache in an unknown state (the "fsyncgate" lesson), so the only safe
 *     move is to restart and recover from what is really on disk.
 *
 * Recovery (load) never drops data that might be committed: it cuts only a torn tail (a bad
 * or short frame at the end of the last segment, with no intact frame after it) and treats
 * every other damage as a StoreCorruptionError naming the file and byte position. It reads
 * and checks everything first and only then changes the directory, so a node that refuses to
 * start leaves the evidence untouched.
 */
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { HardState, Offset, PersistentState, RaftEntry, Ready, Snapshot, SnapshotId } from '../raft/types.js'
import { EMPTY_PERSISTENT_STATE } from '../raft/types.js'
import { assert } from '../util/assert.js'
import type { Logger } from '../util/logger.js'
import { encodeFrames, scanSegment } from './frame-codec.js'
import { HARD_STATE_FILE_NAME, decodeHardState, encodeHardState, sameHardState } from './hard-state-file.js'
import { HARD_STATE_BYTES_MAX, SEGMENT_BYTES_DEFAULT, SNAPSHOT_BYTES_MAX, SNAPSHOTS_RETAINED } from './limits.js'
import { assertAppendable, assertTruncatable } from './log-rules.js'
import type { RaftStore } from './raft-store.js'
import { SNAPSHOT_HEADER_BYTES, decodeSnapshotFile, encodeSnapshotFile, parseSnapshotFileName, snapshotFileName } from './snapshot-file.js'
import { StoreCorruptionError } from './store-corruption-error.js'

export { SEGMENT_BYTES_DEFAULT, FRAME_BYTES_MAX, SNAPSHOT_BYTES_MAX, SNAPSHOTS_RETAINED } from './limits.js'
export { StoreCorruptionError } from './store-corruption-error.js'

/** KRaft's directory for the metadata log under one of log.dirs. */
export const METADATA_LOG_DIR_NAME = '__cluster_metadata-0'

export function metadataLogDir(logDir: string): string {
  return join(logDir, METADATA_LOG_DIR_NAME)
}

/**
 * The three kinds of sync the store issues. Injectable so tests can count them (one
 * fdatasync per Ready) or make them fail; production uses `nodeSyncOps`.
 */
export interface FsSyncOps {
  /** fdatasync a log segment. */
  datasync(file: FileHandle, path: string): Promise<void>
  /** fsync a whole file (the temp file of a hard state or snapshot before its rename). */
  fsync(file: FileHandle, path: string): Promise<void>
  /** fsync a directory, making creates, renames and deletes in it durable. */
  syncDir(dir: string): Promise<void>
}

export const nodeSyncOps: FsSyncOps = {
  datasync: (file) => file.datasync(),
  fsync: (file) => file.sync(),
  syncDir: async (dir) => {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
}

export interface FsRaftStoreOptions {
  readonly dir: string
  readonly logger: Logger
  /** Roll threshold; defaults to SEGMENT_BYTES_DEFAULT. Small values are for tests. */
  readonly segmentBytes?: number
  readonly syncOps?: FsSyncOps
}

interface Segment {
  readonly baseOffset: Offset
  readonly path: string
  /** File position of the frame of offset baseOffset + i. */
  readonly positions: number[]
  /** Epoch of offset baseOffset + i (checks appends and snapshots against the log). */
  readonly epochs: number[]
  size: number
}

function segmentEnd(segment: Segment): Offset {
  return segment.baseOffset + segment.positions.length
}

const SEGMENT_NAME = /^(\d{20})\.log$/
/** Suffix of the temporary file a durable replace writes first; a leftover one is garbage. */
export const TMP_SUFFIX = '.tmp'
const CORRUPT_SUFFIX = '.corrupt'

function segmentFileName(baseOffset: Offset): string {
  return `${String(baseOffset).padStart(20, '0')}.log`
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position + done)
    assert(bytesWritten > 0, 'a file write makes progress')
    done += bytesWritten
  }
}

/**
 * Replaces `path` durably and atomically: write a temporary file, fsync it, rename it over
 * `path`, fsync `dir`. A crash leaves either the old file or the new one (plus, at worst, a
 * stray temporary file), never a torn one.
 */
export async function replaceFileDurably(path: string, dir: string, bytes: Uint8Array, syncOps: FsSyncOps): Promise<void> {
  const tmp = path + TMP_SUFFIX
  const file = await open(tmp, 'w')
  try {
    await writeAll(file, bytes, 0)
    await syncOps.fsync(file, tmp)
  } finally {
    await file.close()
  }
  await rename(tmp, path)
  await syncOps.syncDir(dir)
}

type Phase = 'new' | 'open' | 'failed' | 'closed'

export class FsRaftStore implements RaftStore {
  private readonly dir: string
  private readonly logger: Logger
  private readonly segmentBytes: number
  private readonly syncOps: FsSyncOps

  private phase: Phase = 'new'
  private failure: unknown = null
  /** One operation at a time: the driver serialises calls. */
  private busy = false

  private segments: Segment[] = []
  private active: FileHandle | null = null
  private logStartOffset: Offset = 0
  private logEndOffset: Offset = 0
  private snapshotId: SnapshotId | null = null
  private hardState: HardState = EMPTY_PERSISTENT_STATE.hardState
  /** The active segment has writes (or a truncation) not yet fdatasync'ed. */
  private logDirty = false
  /** Segment files were created or deleted since the last directory fsync. */
  private dirDirty = false

  constructor(options: FsRaftStoreOptions) {
    const segmentBytes = options.segmentBytes ?? SEGMENT_BYTES_DEFAULT
    assert(Number.isInteger(segmentBytes) && segmentBytes > 0, `segmentBytes ${segmentBytes} must be a positive integer`)
    this.dir = resolve(options.dir)
    this.logger = options.logger
    this.segmentBytes = segmentBytes
    this.syncOps = options.syncOps ?? nodeSyncOps
  }

  // ---- load: recovery -------------------------------------------------------------------

  async load(): Promise<PersistentState> {
    assert(this.phase === 'new', `load() once, on a new store (phase ${this.phase})`)
    this.busy = true
    try {
      const state = await this.recover()
      this.phase = 'open'
      return state
    } catch (err) {
      await this.closeActiveQuietly()
      this.phase = 'failed'
      this.failure = err
      throw err
    } finally {
      this.busy = false
    }
  }

  private async recover(): Promise<PersistentState> {
    const created = await mkdir(this.dir, { recursive: true })
    if (created !== undefined) {
      // A new directory's own entry must be durable too, or a crash could take the whole
      // directory, votes included, with it: fsync each parent up to the first one created.
      for (let path = this.dir; dirname(path) !== path; path = dirname(path)) {
        await this.syncOps.syncDir(dirname(path))
        if (path === created) break
      }
    }
    const names = await readdir(this.dir)

    // 1. Read and check everything; change nothing on disk yet.
    const hardState = await this.readHardState(names)

    const snapshotFiles = names
      .map((name) => ({ name, id: parseSnapshotFileName(name) }))
      .filter((f): f is { name: string; id: SnapshotId } => f.id !== null)
      .sort((a, b) => b.id.endOffset - a.id.endOffset || b.id.epoch - a.id.epoch)
    let snapshot: Snapshot | null = null
    const invalidSnapshots: { name: string; id: SnapshotId; reason: string }[] = []
    for (const file of snapshotFiles) {
      const decoded = await this.readSnapshotFile(file.name, file.id)
      if (decoded.kind === 'ok') {
        snapshot = decoded.snapshot
        break
      }
      invalidSnapshots.push({ ...file, reason: decoded.reason })
    }
    const startOffset = snapshot?.id.endOffset ?? 0

    const segmentFiles = names
      .map((name) => ({ name, match: SEGMENT_NAME.exec(name) }))
      .filter((f): f is { name: string; match: RegExpExecArray } => f.match !== null)
      .map((f) => ({ path: join(this.dir, f.name), baseOffset: Number(f.match[1]) }))
      .sort((a, b) => a.baseOffset - b.baseOffset)
    for (const f of segmentFiles) {
      if (!Number.isSafeInteger(f.baseOffset)) throw new StoreCorruptionError(f.path, 'segment base offset out of range')
    }
    // A segment followed by one that starts at or below the snapshot end holds only
    // entries the snapshot covers: a leftover of compaction or of a snapshot install.
    const covered = segmentFiles.filter((f, i) => i + 1 < segmentFiles.length && segmentFiles[i + 1].baseOffset <= startOffset)
    const toScan = segmentFiles.slice(covered.length)

    const segments: Segment[] = []
    const entries: RaftEntry[] = []
    let tornTail: { path: string; validBytes: number; position: number; reason: string; size: number } | null = null
    for (const [i, file] of toScan.entries()) {
      const bytes = await readFile(file.path)
      const scan = scanSegment(bytes, file.path, file.baseOffset)
      if (scan.damage !== null) {
        const { position, reason, followedByGoodFrame } = scan.damage
        const last = i === toScan.length - 1
        if (!last || followedByGoodFrame) {
          const where = last ? 'intact frames follow it' : 'it is not the last segment'
          throw new StoreCorruptionError(file.path, `${reason} in frame at byte ${position}, and ${where}: refusing to drop data that may be committed`, position)
        }
        tornTail = { path: file.path, validBytes: scan.validBytes, position, reason, size: bytes.length }
      }
      const previous = segments.at(-1)
      if (previous !== undefined) {
        if (file.baseOffset !== segmentEnd(previous)) {
          throw new StoreCorruptionError(file.path, `segment starts at offset ${file.baseOffset} but the previous segment ends at ${segmentEnd(previous)}`)
        }
        const first = scan.entries[0]
        const lastEpoch = previous.epochs.at(-1)
        if (first !== undefined && lastEpoch !== undefined && first.epoch < lastEpoch) {
          throw new StoreCorruptionError(file.path, `first entry has epoch ${first.epoch}, below epoch ${lastEpoch} at the end of the previous segment`, 0)
        }
      }
      segments.push({
        baseOffset: file.baseOffset,
        path: file.path,
        positions: [...scan.positions],
        epochs: scan.entries.map((e) => e.epoch),
        size: scan.validBytes,
      })
      // A loop, not push(...): a segment of small entries can hold more than the engine's
      // argument limit.
      for (const e of scan.entries) entries.push(e)
    }
    const physicalStart = segments[0]?.baseOffset ?? startOffset
    let logEnd = segments.length > 0 ? segmentEnd(segments[segments.length - 1]) : startOffset

    // An invalid newest snapshot is survivable only if an older one is valid and the log
    // still holds every entry between the two: then replaying the log rebuilds the state.
    if (invalidSnapshots.length > 0) {
      const bad = invalidSnapshots[0]
      const badPath = join(this.dir, bad.name)
      if (snapshot === null) {
        throw new StoreCorruptionError(badPath, `invalid snapshot (${bad.reason}) and no older valid snapshot to fall back on`)
      }
      const needEnd = Math.max(...invalidSnapshots.map((s) => s.id.endOffset))
      if (physicalStart > snapshot.id.endOffset || logEnd < needEnd) {
        throw new StoreCorruptionError(
          badPath,
          `invalid snapshot (${bad.reason}); the older snapshot ends at ${snapshot.id.endOffset} but the log covers only [${physicalStart}, ${logEnd}), not up to ${needEnd}`,
        )
      }
    }
    if (physicalStart > startOffset) {
      const where = snapshot === null ? 'there is no snapshot' : `the snapshot ends at ${startOffset}`
      throw new StoreCorruptionError(segments[0].path, `log starts at offset ${physicalStart} but ${where}: a gap`)
    }

    // Raft paper §7: keep the log after a snapshot only if it agrees with the snapshot's
    // last entry; otherwise it is the rest of a history the snapshot replaced (a crash in
    // the middle of installing a snapshot from the leader), and all of it goes.
    let discardLog = false
    if (snapshot !== null && logEnd > startOffset) {
      // `entries` runs contiguously from physicalStart.
      const atSnapshotEnd = startOffset - 1 >= physicalStart ? entries[startOffset - 1 - physicalStart] : undefined
      const afterSnapshot = entries[startOffset - physicalStart]
      discardLog =
        (atSnapshotEnd !== undefined && atSnapshotEnd.epoch !== snapshot.id.epoch) ||
        (afterSnapshot !== undefined && afterSnapshot.epoch < snapshot.id.epoch)
    }
    // All entries below the snapshot end: the segments are only leftovers.
    const allCovered = logEnd <= startOffset

    // 2. Checks passed: now repair. Each step leaves a directory that loads the same way.
    let dirChanged = false
    for (const name of names.filter((n) => n.endsWith(TMP_SUFFIX))) {
      this.logger.info({ path: join(this.dir, name) }, 'deleted leftover temp file')
      await unlink(join(this.dir, name))
      dirChanged = true
    }
    for (const file of covered) {
      await unlink(file.path)
      dirChanged = true
    }
    for (const bad of invalidSnapshots) {
      const path = join(this.dir, bad.name)
      this.logger.warn({ path, reason: bad.reason, fallbackEndOffset: startOffset }, 'ignored invalid snapshot; the log covers the gap')
      await rename(path, path + CORRUPT_SUFFIX)
      dirChanged = true
    }
    if (tornTail !== null) {
      this.logger.warn(
        { path: tornTail.path, position: tornTail.position, reason: tornTail.reason, bytesCut: tornTail.size - tornTail.validBytes },
        'cut torn tail of the metadata log',
      )
      const file = await open(tornTail.path, 'r+')
      try {
        await file.truncate(tornTail.validBytes)
        await this.syncOps.datasync(file, tornTail.path)
      } finally {
        await file.close()
      }
    }
    if (discardLog || allCovered) {
      if (discardLog) {
        this.logger.warn({ snapshotEndOffset: startOffset, logEndOffset: logEnd }, 'discarded log that does not match the snapshot')
      }
      for (const segment of segments) await unlink(segment.path)
      dirChanged = dirChanged || segments.length > 0
      segments.length = 0
      entries.length = 0
      logEnd = startOffset
    }
    if (dirChanged) await this.syncOps.syncDir(this.dir)

    this.segments = segments
    this.logStartOffset = startOffset
    this.logEndOffset = logEnd
    this.snapshotId = snapshot?.id ?? null
    this.hardState = hardState
    const last = segments.at(-1)
    if (last !== undefined) this.active = await open(last.path, 'r+')

    const retained = entries.filter((e) => e.offset >= startOffset)
    assert(retained.length === logEnd - startOffset, 'recovered entries fill [logStartOffset, logEndOffset)')
    this.logger.info(
      { dir: this.dir, epoch: hardState.epoch, snapshotEndOffset: snapshot?.id.endOffset ?? null, logEndOffset: logEnd, segments: segments.length },
      'loaded metadata log',
    )
    return { hardState, snapshot, entries: retained }
  }

  private async readHardState(names: readonly string[]): Promise<HardState> {
    const path = join(this.dir, HARD_STATE_FILE_NAME)
    if (!names.includes(HARD_STATE_FILE_NAME)) {
      this.logger.info({ path }, 'no quorum-state file; starting at epoch 0')
      return EMPTY_PERSISTENT_STATE.hardState
    }
    const { size } = await stat(path)
    if (size > HARD_STATE_BYTES_MAX) throw new StoreCorruptionError(path, `quorum-state is ${size} bytes, limit ${HARD_STATE_BYTES_MAX}`)
    return decodeHardState(await readFile(path), path)
  }

  private async readSnapshotFile(name: string, id: SnapshotId): Promise<ReturnType<typeof decodeSnapshotFile>> {
    const path = join(this.dir, name)
    const { size } = await stat(path)
    if (size > SNAPSHOT_HEADER_BYTES + SNAPSHOT_BYTES_MAX) return { kind: 'invalid', reason: `file is ${size} bytes, limit ${SNAPSHOT_BYTES_MAX}` }
    return decodeSnapshotFile(await readFile(path), id)
  }

  // ---- persist ------------------------------------------------------------------------

  async persist(ready: Ready): Promise<void> {
    await this.run(async () => {
      // Hard state first, durably (raft/types.ts, the Ready contract): a crash anywhere below
      // leaves a hard state at or ahead of the log's epoch, never behind it. The other way
      // round, a one-voter node that crashed between its first leader_change entry and the
      // hard state of that epoch found a log above its hard state and could not start.
      if (ready.hardState !== null && !sameHardState(ready.hardState, this.hardState)) {
        await this.writeFileDurably(HARD_STATE_FILE_NAME, encodeHardState(ready.hardState))
        this.hardState = ready.hardState
      }
      if (ready.snapshot !== null) await this.installSnapshot(ready.snapshot)
      if (ready.truncateFrom !== null) await this.truncate(ready.truncateFrom)
      if (ready.entries.length > 0) await this.append(ready.entries)
      if (ready.mustSync && this.logDirty) await this.syncActive()
      if (ready.mustSync && this.dirDirty) await this.syncDir()
    })
  }

  /** A snapshot from the leader replaces the whole log (KIP-595 FetchSnapshot; Raft §7). */
  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const current = this.snapshotId?.endOffset ?? 0
    assert(snapshot.id.endOffset >= current, `installing snapshot ending at ${snapshot.id.endOffset} below the current one at ${current}`)
    // Snapshot durable first, log removed second: a crash between leaves a log that load()
    // either drops as covered or checks against the snapshot (Raft §7).
    await this.writeFileDurably(snapshotFileName(snapshot.id), encodeSnapshotFile(snapshot))
    await this.closeActive()
    for (const segment of this.segments) await unlink(segment.path)
    if (this.segments.length > 0) this.dirDirty = true
    this.segments = []
    this.logDirty = false
    this.snapshotId = snapshot.id
    this.logStartOffset = snapshot.id.endOffset
    this.logEndOffset = snapshot.id.endOffset
    await this.pruneSnapshots()
    this.logger.info({ snapshotEndOffset: snapshot.id.endOffset, snapshotEpoch: snapshot.id.epoch }, 'installed snapshot from the leader')
  }

  private async truncate(truncateFrom: Offset): Promise<void> {
    assertTruncatable(truncateFrom, this.logStartOffset)
    if (truncateFrom >= this.logEndOffset) return
    // The last segment with base <= truncateFrom holds it (it cannot be past the end).
    let keep = this.segments.length - 1
    while (keep > 0 && this.segments[keep].baseOffset > truncateFrom) keep--
    assert(keep >= 0 && this.segments[keep].baseOffset <= truncateFrom, 'a segment holds every offset in [logStartOffset, logEndOffset)')
    if (keep < this.segments.length - 1) {
      await this.closeActive()
      // Newest first, so a crash part-way leaves a contiguous prefix.
      for (const segment of this.segments.slice(keep + 1).reverse()) await unlink(segment.path)
      this.segments.length = keep + 1
      this.dirDirty = true
      this.active = await open(this.segments[keep].path, 'r+')
    }
    const segment = this.segments[keep]
    const index = truncateFrom - segment.baseOffset
    const position = segment.positions[index]
    assert(position !== undefined, 'truncation point is indexed')
    await active(this.active).truncate(position)
    segment.positions.length = index
    segment.epochs.length = index
    segment.size = position
    this.logEndOffset = truncateFrom
    this.logDirty = true
    this.logger.info({ truncateFrom }, 'truncated metadata log')
  }

  private lastEpoch(): number {
    return this.segments.at(-1)?.epochs.at(-1) ?? this.snapshotId?.epoch ?? 0
  }

  private async append(entries: readonly RaftEntry[]): Promise<void> {
    assertAppendable(entries, this.logEndOffset, this.lastEpoch())
    const { buffer, frameBytes } = encodeFrames(entries)
    let segment = this.segments.at(-1)
    if (segment === undefined || (segment.size > 0 && segment.size + buffer.length > this.segmentBytes)) {
      segment = await this.roll(this.logEndOffset)
    }
    const start = segment.size
    await writeAll(active(this.active), buffer, start)
    let position = start
    for (const [i, entry] of entries.entries()) {
      segment.positions.push(position)
      segment.epochs.push(entry.epoch)
      position += frameBytes[i]
    }
    segment.size = position
    this.logEndOffset += entries.length
    this.logDirty = true
  }

  private async roll(baseOffset: Offset): Promise<Segment> {
    if (this.logDirty) await this.syncActive()
    await this.closeActive()
    const path = join(this.dir, segmentFileName(baseOffset))
    // 'wx': a file of that name would be a segment this store does not know about.
    this.active = await open(path, 'wx')
    this.dirDirty = true
    const segment: Segment = { baseOffset, path, positions: [], epochs: [], size: 0 }
    this.segments.push(segment)
    this.logger.debug({ path }, 'rolled metadata log segment')
    return segment
  }

  // ---- snapshots ------------------------------------------------------------------------

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await this.run(async () => {
      const { endOffset, epoch } = snapshot.id
      const current = this.snapshotId
      if (current !== null && endOffset <= current.endOffset) {
        this.logger.info({ snapshotEndOffset: endOffset, currentEndOffset: current.endOffset }, 'ignored snapshot not newer than the current one')
        return
      }
      assert(endOffset >= this.logStartOffset && endOffset <= this.logEndOffset, `snapshot end ${endOffset} outside the log [${this.logStartOffset}, ${this.logEndOffset})`)
      const entryEpoch = this.epochAt(endOffset - 1)
      assert(entryEpoch === null || entryEpoch === epoch, `snapshot epoch ${epoch} but the entry at ${endOffset - 1} has epoch ${entryEpoch}`)

      await this.writeFileDurably(snapshotFileName(snapshot.id), encodeSnapshotFile(snapshot))
      this.snapshotId = snapshot.id
      this.logStartOffset = endOffset
      // Bound the log: drop whole segments below the snapshot, oldest first, never the active one.
      while (this.segments.length > 1 && segmentEnd(this.segments[0]) <= endOffset) {
        const [oldest] = this.segments.splice(0, 1)
        await unlink(oldest.path)
        this.dirDirty = true
      }
      await this.pruneSnapshots()
      if (this.dirDirty) await this.syncDir()
      this.logger.info({ snapshotEndOffset: endOffset, snapshotEpoch: epoch, segments: this.segments.length }, 'saved snapshot')
    })
  }

  private epochAt(offset: Offset): number | null {
    for (const segment of this.segments) {
      const i = offset - segment.baseOffset
      if (i >= 0 && i < segment.epochs.length) return segment.epochs[i]
    }
    return null
  }

  /** Keeps the newest SNAPSHOTS_RETAINED snapshot files. */
  private async pruneSnapshots(): Promise<void> {
    const files = (await readdir(this.dir))
      .map((name) => ({ name, id: parseSnapshotFileName(name) }))
      .filter((f): f is { name: string; id: SnapshotId } => f.id !== null)
      .sort((a, b) => b.id.endOffset - a.id.endOffset || b.id.epoch - a.id.epoch)
    for (const file of files.slice(SNAPSHOTS_RETAINED)) {
      await unlink(join(this.dir, file.name))
      this.dirDirty = true
    }
  }

  // ---- close and plumbing -----------------------------------------------------------------

  async close(): Promise<void> {
    assert(!this.busy, 'close() while another store call is running')
    this.phase = 'closed'
    await this.closeActive()
  }

  /** Runs one mutating call: one at a time, on an open store; any failure fails the store. */
  private async run(body: () => Promise<void>): Promise<void> {
    assert(!this.busy, 'store calls must not overlap: await each one')
    if (this.phase === 'failed') {
      const why = this.failure instanceof Error ? this.failure.message : String(this.failure)
      throw new Error(`raft store ${this.dir} failed earlier (${why}); restart the node to recover from disk`, { cause: this.failure })
    }
    assert(this.phase === 'open', `store is ${this.phase}: call load() first, and nothing after close()`)
    this.busy = true
    try {
      await body()
    } catch (err) {
      this.phase = 'failed'
      this.failure = err
      this.logger.error({ dir: this.dir, err: err instanceof Error ? err.message : String(err) }, 'raft store failed; it refuses further writes')
      await this.closeActiveQuietly()
      throw err
    } finally {
      this.busy = false
    }
  }

  /** tmp, fsync, rename, directory fsync: the file is either the old one or the new one. */
  private async writeFileDurably(name: string, bytes: Buffer): Promise<void> {
    await replaceFileDurably(join(this.dir, name), this.dir, bytes, this.syncOps)
    this.dirDirty = false
  }

  private async syncActive(): Promise<void> {
    const segment = this.segments.at(-1)
    assert(segment !== undefined && this.active !== null, 'dirty log has an active segment')
    await this.syncOps.datasync(this.active, segment.path)
    this.logDirty = false
  }

  private async syncDir(): Promise<void> {
    await this.syncOps.syncDir(this.dir)
    this.dirDirty = false
  }

  private async closeActive(): Promise<void> {
    const file = this.active
    this.active = null
    if (file !== null) await file.close()
  }

  private async closeActiveQuietly(): Promise<void> {
    try {
      await this.closeActive()
    } catch (err) {
      this.logger.warn({ dir: this.dir, err: err instanceof Error ? err.message : String(err) }, 'could not close segment file')
    }
  }
}

function active(file: FileHandle | null): FileHandle {
  assert(file !== null, 'the last segment is open for writing')
  return file
}
