import type { FileHandle } from 'node:fs/promises'
import { mkdtemp, readFile, readdir, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeId } from '@tributary/protocol'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { HardState, PersistentState, RaftEntry, Ready, Snapshot } from '../raft/types.js'
import { AssertionError } from '../util/assert.js'
import type { Logger } from '../util/logger.js'
import { type FsSyncOps, FsRaftStore, StoreCorruptionError, metadataLogDir, nodeSyncOps } from './fs-raft-store.js'
import { encodeSnapshotFile, snapshotFileName } from './snapshot-file.js'
import { RaftCore } from '../raft/raft-core.js'
import { DEFAULT_RAFT_TIMING } from '../raft/types.js'
import { SeededRandom } from '../util/random.js'
import { silentLogger } from '../util/logger.js'
import { recordingLogger } from '../util/test-logger.js'

// ---- helpers ----------------------------------------------------------------------------

function entry(offset: number, epoch: number, text = `record-${offset}`): RaftEntry {
  return { offset, epoch, kind: 'data', data: new TextEncoder().encode(text) }
}

function entries(from: number, to: number, epoch: number): RaftEntry[] {
  const out: RaftEntry[] = []
  for (let o = from; o < to; o++) out.push(entry(o, epoch))
  return out
}

function ready(parts: Partial<Ready>): Ready {
  return {
    snapshot: null,
    truncateFrom: null,
    entries: [],
    hardState: null,
    mustSync: true,
    messages: [],
    applySnapshot: null,
    committed: [],
    ...parts,
  }
}

function snapshot(endOffset: number, epoch: number, text = `image@${endOffset}`): Snapshot {
  return { id: { endOffset, epoch }, data: new TextEncoder().encode(text) }
}

class CountingSyncOps implements FsSyncOps {
  datasyncs = 0
  fsyncs = 0
  dirSyncs = 0
  failNextDatasync = false
  async datasync(file: FileHandle, path: string): Promise<void> {
    this.datasyncs++
    if (this.failNextDatasync) {
      this.failNextDatasync = false
      throw Object.assign(new Error(`EIO: i/o error, fdatasync '${path}'`), { code: 'EIO' })
    }
    await nodeSyncOps.datasync(file, path)
  }
  async fsync(file: FileHandle, path: string): Promise<void> {
    this.fsyncs++
    await nodeSyncOps.fsync(file, path)
  }
  async syncDir(dir: string): Promise<void> {
    this.dirSyncs++
    await nodeSyncOps.syncDir(dir)
  }
  reset(): void {
    this.datasyncs = 0
    this.fsyncs = 0
    this.dirSyncs = 0
  }
}

/** Comparable view of a recovered state (Uint8Array → text). */
function view(state: PersistentState): unknown {
  const text = (b: Uint8Array): string => new TextDecoder().decode(b)
  return {
    hardState: state.hardState,
    snapshot: state.snapshot === null ? null : { id: state.snapshot.id, data: text(state.snapshot.data) },
    entries: state.entries.map((e) => ({ offset: e.offset, epoch: e.epoch, kind: e.kind, data: text(e.data) })),
  }
}

/** Byte position of every frame in a segment file, walking the length fields. */
function framePositions(bytes: Buffer): number[] {
  const out: number[] = []
  let p = 0
  while (p + 8 <= bytes.length) {
    out.push(p)
    p += 8 + bytes.readUInt32BE(p)
  }
  return out
}

async function flipByte(path: string, position: number): Promise<void> {
  const bytes = await readFile(path)
  bytes[position] ^= 0xff
  await writeFile(path, bytes)
}

let root: string
let dir: string
const opened: FsRaftStore[] = []

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'trib-raft-store-'))
  dir = metadataLogDir(root)
})

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {})
  await rm(root, { recursive: true, force: true })
})

function newStore(options: { segmentBytes?: number; syncOps?: FsSyncOps; logger?: Logger } = {}): FsRaftStore {
  const store = new FsRaftStore({ dir, logger: options.logger ?? recordingLogger().logger, ...options })
  opened.push(store)
  return store
}

async function reopen(options: { segmentBytes?: number; syncOps?: FsSyncOps; logger?: Logger } = {}): Promise<PersistentState> {
  const store = newStore(options)
  const state = await store.load()
  await store.close()
  return state
}

async function files(suffix: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(suffix)).sort()
}

const hs = (epoch: number, votedFor: number | null, leaderId: number | null): HardState => ({
  epoch,
  votedFor: votedFor === null ? null : nodeId(votedFor),
  leaderId: leaderId === null ? null : nodeId(leaderId),
})

// ---- tests ------------------------------------------------------------------------------

describe('FsRaftStore', () => {
  it('starts empty in a new directory', async () => {
    const state = await reopen()
    expect(state).toEqual({ hardState: { epoch: 0, votedFor: null, leaderId: null }, snapshot: null, entries: [] })
    expect(dir.endsWith('__cluster_metadata-0')).toBe(true)
  })

  it('round-trips entries, hard state and a snapshot across close and reopen', async () => {
    const store = newStore()
    await store.load()
    await store.persist(ready({ hardState: hs(1, 1, null) }))
    await store.persist(ready({ entries: [{ offset: 0, epoch: 1, kind: 'leader_change', data: new Uint8Array() }, ...entries(1, 6, 1)], hardState: hs(1, 1, 1) }))
    await store.persist(ready({ entries: entries(6, 9, 2), hardState: hs(2, null, 3) }))
    await store.saveSnapshot(snapshot(4, 1))
    await store.close()

    const state = await reopen()
    expect(view(state)).toEqual({
      hardState: { epoch: 2, votedFor: null, leaderId: 3 },
      snapshot: { id: { endOffset: 4, epoch: 1 }, data: 'image@4' },
      entries: [...entries(4, 6, 1), ...entries(6, 9, 2)].map((e) => ({ offset: e.offset, epoch: e.epoch, kind: 'data', data: `record-${e.offset}` })),
    })
    // A second reopen reads the same thing: load() repaired nothing it should not have.
    expect(view(await reopen())).toEqual(view(state))
  })

  it('truncates then appends, within a segment and across segments', async () => {
    const store = newStore({ segmentBytes: 100 })
    await store.load()
    await store.persist(ready({ entries: entries(0, 4, 1) }))
    await store.persist(ready({ entries: entries(4, 8, 1) }))
    await store.persist(ready({ entries: entries(8, 12, 1) }))
    expect(await files('.log')).toEqual(['00000000000000000000.log', '00000000000000000004.log', '00000000000000000008.log'])

    await store.persist(ready({ truncateFrom: 10, entries: entries(10, 11, 2) }))
    await store.persist(ready({ truncateFrom: 6, entries: entries(6, 7, 3) }))
    await store.close()
    expect(await files('.log')).toEqual(['00000000000000000000.log', '00000000000000000004.log'])

    const state = await reopen({ segmentBytes: 100 })
    expect(state.entries.map((e) => [e.offset, e.epoch])).toEqual([...entries(0, 6, 1), entry(6, 3)].map((e) => [e.offset, e.epoch]))
  })

  it('truncates to the start of a segment and keeps appending there', async () => {
    const store = newStore({ segmentBytes: 100 })
    await store.load()
    await store.persist(ready({ entries: entries(0, 4, 1) }))
    await store.persist(ready({ entries: entries(4, 8, 1) }))
    await store.persist(ready({ truncateFrom: 4, entries: entries(4, 5, 2) }))
    await store.persist(ready({ truncateFrom: 9 })) // past the end: removes nothing
    await store.persist(ready({ truncateFrom: 0 }))
    await store.persist(ready({ entries: entries(0, 2, 5) }))
    await store.close()
    const state = await reopen({ segmentBytes: 100 })
    expect(state.entries.map((e) => [e.offset, e.epoch])).toEqual([
      [0, 5],
      [1, 5],
    ])
  })

  it('compacts on saveSnapshot: deletes whole segments below it and keeps the newest two snapshots', async () => {
    const store = newStore({ segmentBytes: 100 })
    await store.load()
    for (let base = 0; base < 16; base += 4) await store.persist(ready({ entries: entries(base, base + 4, 1) }))
    expect((await files('.log')).length).toBe(4)

    await store.saveSnapshot(snapshot(3, 1))
    expect((await files('.log')).length).toBe(4) // the first segment is only partly covered
    await store.saveSnapshot(snapshot(9, 1))
    expect(await files('.log')).toEqual(['00000000000000000008.log', '00000000000000000012.log'])
    await store.saveSnapshot(snapshot(14, 1))
    expect(await files('.log')).toEqual(['00000000000000000012.log'])
    expect(await files('.checkpoint')).toEqual([snapshotFileName({ endOffset: 9, epoch: 1 }), snapshotFileName({ endOffset: 14, epoch: 1 })])
    // Not newer than the current one: ignored, nothing deleted.
    await store.saveSnapshot(snapshot(12, 1))
    expect((await files('.checkpoint')).length).toBe(2)
    await store.close()

    const state = await reopen({ segmentBytes: 100 })
    expect(state.snapshot?.id).toEqual({ endOffset: 14, epoch: 1 })
    expect(state.entries.map((e) => e.offset)).toEqual([14, 15])
  })

  it('keeps a fully covered active segment until the next load, which drops it', async () => {
    const store = newStore()
    await store.load()
    await store.persist(ready({ entries: entries(0, 5, 1) }))
    await store.saveSnapshot(snapshot(5, 1))
    await store.persist(ready({ entries: entries(5, 6, 2) }))
    await store.close()
    expect(await files('.log')).toEqual(['00000000000000000000.log'])
    const state = await reopen()
    expect(state.snapshot?.id).toEqual({ endOffset: 5, epoch: 1 })
    expect(state.entries.map((e) => [e.offset, e.epoch])).toEqual([[5, 2]])
  })

  it('replaces the whole log with a snapshot installed from the leader', async () => {
    const store = newStore({ segmentBytes: 100 })
    await store.load()
    await store.persist(ready({ entries: entries(0, 10, 1) }))
    await store.persist(ready({ snapshot: snapshot(20, 3), hardState: hs(4, null, 2) }))
    expect(await files('.log')).toEqual([])
    await store.persist(ready({ entries: entries(20, 23, 4) }))
    await store.close()
    expect(await files('.log')).toEqual(['00000000000000000020.log'])

    const state = await reopen({ segmentBytes: 100 })
    expect(state.snapshot?.id).toEqual({ endOffset: 20, epoch: 3 })
    expect(state.hardState).toEqual({ epoch: 4, votedFor: null, leaderId: 2 })
    expect(state.entries.map((e) => [e.offset, e.epoch])).toEqual([
      [20, 4],
      [21, 4],
      [22, 4],
    ])
  })

  it('issues one fdatasync per Ready with mustSync (group commit), none without', async () => {
    const sync = new CountingSyncOps()
    const store = newStore({ syncOps: sync })
    await store.load()
    await store.persist(ready({ entries: entries(0, 1, 1) })) // creates the first segment
    sync.reset()

    for (let o = 1; o < 51; o += 10) await store.persist(ready({ entries: entries(o, o + 10, 1) }))
    expect({ datasyncs: sync.datasyncs, fsyncs: sync.fsyncs, dirSyncs: sync.dirSyncs }).toEqual({ datasyncs: 5, fsyncs: 0, dirSyncs: 0 })

    sync.reset()
    await store.persist(ready({ entries: entries(51, 60, 2), hardState: hs(2, 1, 1) }))
    // The log: one fdatasync. The hard state: its temp file fsync and the directory fsync.
    expect({ datasyncs: sync.datasyncs, fsyncs: sync.fsyncs, dirSyncs: sync.dirSyncs }).toEqual({ datasyncs: 1, fsyncs: 1, dirSyncs: 1 })

    sync.reset()
    await store.persist(ready({ entries: entries(60, 70, 2), mustSync: false }))
    expect(sync.datasyncs + sync.fsyncs + sync.dirSyncs).toBe(0)
    // The next synced Ready covers the earlier unsynced writes with its one fdatasync.
    await store.persist(ready({ hardState: hs(2, 1, 1) })) // unchanged hard state: not rewritten
    expect({ datasyncs: sync.datasyncs, fsyncs: sync.fsyncs, dirSyncs: sync.dirSyncs }).toEqual({ datasyncs: 1, fsyncs: 0, dirSyncs: 0 })
  })

  it('loads a segment of a few hundred thousand small entries', async () => {
    const store = newStore()
    await store.load()
    const many: RaftEntry[] = []
    for (let o = 0; o < 300_000; o++) many.push({ offset: o, epoch: 1, kind: 'data', data: new Uint8Array(0) })
    await store.persist(ready({ entries: many }))
    await store.close()
    const state = await reopen()
    expect(state.entries.length).toBe(300_000)
    expect(state.entries[299_999].offset).toBe(299_999)
  })

  it('writes one Ready with a single write into one segment', async () => {
    const store = newStore({ segmentBytes: 64 })
    await store.load()
    await store.persist(ready({ entries: entries(0, 10, 1) }))
    await store.persist(ready({ entries: entries(10, 12, 1) }))
    await store.close()
    // The first Ready overshoots the bound rather than splitting; the next one rolls.
    expect(await files('.log')).toEqual(['00000000000000000000.log', '00000000000000000010.log'])
    expect((await reopen({ segmentBytes: 64 })).entries.length).toBe(12)
  })

  describe('recovery', () => {
    async function writeLog(segmentBytes = 1 << 20): Promise<void> {
      const store = newStore({ segmentBytes })
      await store.load()
      await store.persist(ready({ entries: entries(0, 5, 1), hardState: hs(1, 1, 1) }))
      await store.persist(ready({ entries: entries(5, 10, 1) }))
      await store.close()
    }

    async function lastSegment(): Promise<string> {
      const logs = await files('.log')
      return join(dir, logs[logs.length - 1])
    }

    it('cuts a tail torn mid-frame and keeps the entries before it', async () => {
      await writeLog()
      const path = await lastSegment()
      const positions = framePositions(await readFile(path))
      const lastFrame = positions[9]
      await truncate(path, lastFrame + 5)

      const { logger, lines } = recordingLogger()
      const state = await reopen({ logger })
      expect(state.entries.map((e) => e.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
      const warning = lines.find((l) => l.level === 'warn')
      expect(warning?.msg).toBe('cut torn tail of the metadata log')
      expect(warning?.fields).toMatchObject({ path, position: lastFrame, bytesCut: 5 })
      expect((await stat(path)).size).toBe(lastFrame)

      // The log continues from the cut, and a later reload sees no damage.
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(9, 11, 2) }))
      await store.close()
      const { logger: quiet, lines: quietLines } = recordingLogger()
      expect((await reopen({ logger: quiet })).entries.map((e) => [e.offset, e.epoch]).slice(-3)).toEqual([
        [8, 1],
        [9, 2],
        [10, 2],
      ])
      expect(quietLines.filter((l) => l.level === 'warn')).toEqual([])
    })

    it('cuts a tail whose last frame has flipped bytes', async () => {
      await writeLog()
      const path = await lastSegment()
      const positions = framePositions(await readFile(path))
      await flipByte(path, positions[9] + 10)
      const state = await reopen()
      expect(state.entries.map((e) => e.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    })

    it('cuts a torn frame header and trailing zeros', async () => {
      await writeLog()
      const path = await lastSegment()
      const size = (await stat(path)).size
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0, 0, 0])]))
      expect((await reopen()).entries.length).toBe(10)
      expect((await stat(path)).size).toBe(size)
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(4096)]))
      expect((await reopen()).entries.length).toBe(10)
      expect((await stat(path)).size).toBe(size)
    })

    it('refuses a bad frame followed by good ones, naming the file and byte position', async () => {
      await writeLog()
      const path = await lastSegment()
      const before = await readFile(path)
      const positions = framePositions(before)
      await flipByte(path, positions[3] + 9)
      const error = await reopen().catch((err: unknown) => err)
      expect(error).toBeInstanceOf(StoreCorruptionError)
      expect((error as StoreCorruptionError).message).toContain(path)
      expect((error as StoreCorruptionError).message).toContain(`byte ${positions[3]}`)
      expect((error as StoreCorruptionError).position).toBe(positions[3])
      // Nothing was repaired on disk.
      expect(Buffer.compare(await readFile(path), before)).not.toBe(0)
      expect((await stat(path)).size).toBe(before.length)
    })

    it('refuses a damaged length field in the middle (cannot find the next frame from it)', async () => {
      await writeLog()
      const path = await lastSegment()
      const positions = framePositions(await readFile(path))
      await flipByte(path, positions[2])
      await expect(reopen()).rejects.toThrow(StoreCorruptionError)
    })

    it('refuses damage at the end of a segment that is not the last', async () => {
      await writeLog(100)
      const logs = await files('.log')
      expect(logs.length).toBeGreaterThan(1)
      const first = join(dir, logs[0])
      const positions = framePositions(await readFile(first))
      await flipByte(first, positions[positions.length - 1] + 9)
      await expect(reopen({ segmentBytes: 100 })).rejects.toThrow(/not the last segment/)
    })

    it('refuses a gap between segments', async () => {
      const store = newStore({ segmentBytes: 100 })
      await store.load()
      for (let base = 0; base < 12; base += 4) await store.persist(ready({ entries: entries(base, base + 4, 1) }))
      await store.close()
      await unlink(join(dir, '00000000000000000004.log'))
      await expect(reopen({ segmentBytes: 100 })).rejects.toThrow(/00000000000000000008\.log: segment starts at offset 8 but the previous segment ends at 4/)
    })

    it('refuses an intact frame whose offset does not follow', async () => {
      await writeLog()
      // A segment whose name says 3 but whose first entry is offset 0.
      const path = await lastSegment()
      await writeFile(join(dir, '00000000000000000003.log'), await readFile(path))
      await unlink(path)
      await expect(reopen()).rejects.toThrow(/holds offset 0, expected 3/)
    })

    it('refuses a corrupt quorum-state instead of forgetting the vote', async () => {
      await writeLog()
      const path = join(dir, 'quorum-state')
      const good = await readFile(path, 'utf8')
      expect(JSON.parse(good)).toMatchObject({ epoch: 1, votedFor: 1, leaderId: 1 })

      await writeFile(path, good.replace('"votedFor":1', '"votedFor":2'))
      await expect(reopen()).rejects.toThrow(new RegExp(`^${path}: quorum-state crc mismatch`))
      await writeFile(path, good.slice(0, 20))
      const error = await reopen().catch((err: unknown) => err)
      expect(error).toBeInstanceOf(StoreCorruptionError)
      expect((error as Error).message).toContain(path)
      expect((error as Error).message).toContain('not valid JSON')
      await writeFile(path, '')
      await expect(reopen()).rejects.toThrow(StoreCorruptionError)
      await writeFile(path, good)
      expect((await reopen()).hardState).toEqual({ epoch: 1, votedFor: 1, leaderId: 1 })
    })

    it('removes a leftover temp file from a crash mid-write', async () => {
      await writeLog()
      await writeFile(join(dir, 'quorum-state.tmp'), '{"half')
      expect((await reopen()).hardState.epoch).toBe(1)
      expect(await files('.tmp')).toEqual([])
    })
  })

  describe('snapshot recovery', () => {
    it('falls back to the older snapshot when the newest is torn and the log covers the gap', async () => {
      const store = newStore() // one big segment: compaction keeps it, so the log covers [0, 12)
      await store.load()
      await store.persist(ready({ entries: entries(0, 12, 1) }))
      await store.saveSnapshot(snapshot(5, 1))
      await store.saveSnapshot(snapshot(9, 1))
      await store.close()
      const newest = join(dir, snapshotFileName({ endOffset: 9, epoch: 1 }))
      await truncate(newest, 14)

      const { logger, lines } = recordingLogger()
      const state = await reopen({ logger })
      expect(state.snapshot?.id).toEqual({ endOffset: 5, epoch: 1 })
      expect(state.entries.map((e) => e.offset)).toEqual([5, 6, 7, 8, 9, 10, 11])
      expect(lines.find((l) => l.level === 'warn')?.fields).toMatchObject({ path: newest })
      // Set aside, so it is not considered again.
      expect(await files('.checkpoint')).toEqual([snapshotFileName({ endOffset: 5, epoch: 1 })])
    })

    it('refuses a torn newest snapshot when the log no longer covers the gap', async () => {
      const store = newStore({ segmentBytes: 100 })
      await store.load()
      for (let base = 0; base < 16; base += 4) await store.persist(ready({ entries: entries(base, base + 4, 1) }))
      await store.saveSnapshot(snapshot(5, 1))
      await store.saveSnapshot(snapshot(13, 1))
      await store.close()
      const newest = join(dir, snapshotFileName({ endOffset: 13, epoch: 1 }))
      await flipByte(newest, 13)
      await expect(reopen({ segmentBytes: 100 })).rejects.toThrow(new RegExp(`^${newest}: invalid snapshot \\(bad CRC`))
    })

    it('refuses a torn snapshot with no older one to fall back on', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 4, 1) }))
      await store.saveSnapshot(snapshot(3, 1))
      await store.close()
      await flipByte(join(dir, snapshotFileName({ endOffset: 3, epoch: 1 })), 0)
      await expect(reopen()).rejects.toThrow(/invalid snapshot \(bad magic\) and no older valid snapshot/)
    })

    it('treats a snapshot file renamed to another id as invalid', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 4, 1) }))
      await store.saveSnapshot(snapshot(3, 1))
      await store.close()
      await writeFile(join(dir, snapshotFileName({ endOffset: 4, epoch: 1 })), await readFile(join(dir, snapshotFileName({ endOffset: 3, epoch: 1 }))))
      // The older, valid one is used, and the log covers [3, 4).
      expect((await reopen()).snapshot?.id).toEqual({ endOffset: 3, epoch: 1 })
    })

    it('refuses a log that starts after the snapshot end', async () => {
      const store = newStore({ segmentBytes: 100 })
      await store.load()
      for (let base = 0; base < 12; base += 4) await store.persist(ready({ entries: entries(base, base + 4, 1) }))
      await store.close()
      await unlink(join(dir, '00000000000000000000.log'))
      await expect(reopen({ segmentBytes: 100 })).rejects.toThrow(/log starts at offset 4 but there is no snapshot: a gap/)
    })

    it('after a crash mid-install, drops the old log if it disagrees with the snapshot (Raft §7)', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 10, 1) }))
      await store.close()
      // The install wrote the snapshot, then the process died before deleting the log.
      await writeFile(join(dir, snapshotFileName({ endOffset: 6, epoch: 2 })), encodeSnapshotFile(snapshot(6, 2)))
      const { logger, lines } = recordingLogger()
      const state = await reopen({ logger })
      expect(state.snapshot?.id).toEqual({ endOffset: 6, epoch: 2 })
      expect(state.entries).toEqual([])
      expect(lines.some((l) => l.msg === 'discarded log that does not match the snapshot')).toBe(true)
      expect(await files('.log')).toEqual([])
    })

    it('after a crash mid-install, keeps the log after the snapshot if it agrees with it', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 10, 1) }))
      await store.close()
      await writeFile(join(dir, snapshotFileName({ endOffset: 6, epoch: 1 })), encodeSnapshotFile(snapshot(6, 1)))
      expect((await reopen()).entries.map((e) => e.offset)).toEqual([6, 7, 8, 9])
    })
  })

  describe('persist order: hard state first', () => {
    /** Records each sync in order; `dieAt` makes that sync throw, as if the process died there. */
    class OrderedSyncOps implements FsSyncOps {
      readonly calls: string[] = []
      constructor(private readonly dieAt: ((call: string) => boolean) | null = null) {}
      private note(call: string): void {
        this.calls.push(call)
        if (this.dieAt?.(call) === true) throw new Error(`crash at ${call}`)
      }
      async datasync(file: FileHandle, path: string): Promise<void> {
        this.note(`datasync ${path.split('/').at(-1)}`)
        await nodeSyncOps.datasync(file, path)
      }
      async fsync(file: FileHandle, path: string): Promise<void> {
        this.note(`fsync ${path.split('/').at(-1)}`)
        await nodeSyncOps.fsync(file, path)
      }
      async syncDir(d: string): Promise<void> {
        this.note('syncDir')
        await nodeSyncOps.syncDir(d)
      }
    }

    // A one-voter node's first Ready after a start: the new epoch's hard state and its
    // leader_change entry together.
    const firstLeaderReady = (): Ready =>
      ready({ hardState: hs(1, 1, 1), entries: [{ offset: 0, epoch: 1, kind: 'leader_change', data: new Uint8Array() }] })

    it('makes the hard state durable before it writes the log', async () => {
      const sync = new OrderedSyncOps()
      const store = newStore({ syncOps: sync })
      await store.load()
      sync.calls.length = 0
      await store.persist(firstLeaderReady())
      const hardStateSync = sync.calls.indexOf('fsync quorum-state.tmp')
      const logSync = sync.calls.findIndex((c) => c.startsWith('datasync') && c.endsWith('.log'))
      expect(hardStateSync).toBeGreaterThanOrEqual(0)
      expect(logSync).toBeGreaterThan(hardStateSync)
      // The segment created after the hard state's directory fsync gets one of its own.
      expect(sync.calls.at(-1)).toBe('syncDir')
    })

    it('a crash while writing the hard state leaves no log epoch above the durable hard state', async () => {
      const store = newStore({ syncOps: new OrderedSyncOps((c) => c === 'fsync quorum-state.tmp') })
      await store.load()
      await expect(store.persist(firstLeaderReady())).rejects.toThrow(/crash at fsync quorum-state.tmp/)
      await store.close()
      const state = await reopen()
      const logEpoch = state.entries.at(-1)?.epoch ?? state.snapshot?.id.epoch ?? 0
      expect(logEpoch).toBeLessThanOrEqual(state.hardState.epoch)
      expect(state.entries).toEqual([])
      // And a one-voter core starts from it and elects itself (it once asserted forever).
      const core = new RaftCore({ ...DEFAULT_RAFT_TIMING, nodeId: nodeId(1), voters: [nodeId(1)] }, state, new SeededRandom(1), silentLogger, 0)
      expect(core.status().role).toBe('leader')
    })

    it('a crash after the hard state and before the log fsync leaves the new hard state and an older log', async () => {
      const store = newStore({ syncOps: new OrderedSyncOps((c) => c.startsWith('datasync')) })
      await store.load()
      await expect(store.persist(firstLeaderReady())).rejects.toThrow(/crash at datasync/)
      await store.close()
      const state = await reopen()
      expect(state.hardState).toEqual(hs(1, 1, 1))
      // The entry was written but not synced: here the page cache kept it; either way its
      // epoch is not above the hard state's.
      expect(state.entries.every((e) => e.epoch <= state.hardState.epoch)).toBe(true)
    })
  })

  describe('failures and contract', () => {
    it('fails for good after an fsync error', async () => {
      const sync = new CountingSyncOps()
      const store = newStore({ syncOps: sync })
      await store.load()
      await store.persist(ready({ entries: entries(0, 2, 1) }))
      sync.failNextDatasync = true
      await expect(store.persist(ready({ entries: entries(2, 3, 1) }))).rejects.toThrow(/EIO/)
      await expect(store.persist(ready({ entries: entries(3, 4, 1) }))).rejects.toThrow(/failed earlier \(EIO.*restart the node/)
      await expect(store.saveSnapshot(snapshot(1, 1))).rejects.toThrow(/failed earlier/)
    })

    it('refuses overlapping calls and appends with a gap', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 4, 2) }))
      const first = store.persist(ready({ entries: entries(4, 5, 2) }))
      await expect(store.persist(ready({ entries: entries(5, 6, 2) }))).rejects.toThrow(AssertionError)
      await first
      await expect(store.persist(ready({ entries: entries(6, 7, 2) }))).rejects.toThrow(/append of offset 6 where the log ends at 5/)
    })

    it('refuses truncation below the log start', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 4, 2) }))
      await store.saveSnapshot(snapshot(2, 2))
      await expect(store.persist(ready({ truncateFrom: 1 }))).rejects.toThrow(/below the log start 2/)
    })

    it('refuses an epoch that goes down and a snapshot whose epoch disagrees with the log', async () => {
      const store = newStore()
      await store.load()
      await store.persist(ready({ entries: entries(0, 4, 2) }))
      await expect(store.saveSnapshot(snapshot(2, 1))).rejects.toThrow(/snapshot epoch 1 but the entry at 1 has epoch 2/)
      await store.close()
      const again = newStore()
      await again.load()
      await expect(again.persist(ready({ entries: entries(4, 5, 1) }))).rejects.toThrow(/append of epoch 1 at offset 4 after epoch 2/)
    })

    it('refuses to load twice or write before load', async () => {
      const store = newStore()
      await expect(store.persist(ready({}))).rejects.toThrow(/call load\(\) first/)
      const other = newStore()
      await other.load()
      await expect(other.load()).rejects.toThrow(AssertionError)
    })
  })

  it('creates nothing outside the directory it was given', async () => {
    await reopen()
    expect((await readdir(root)).sort()).toEqual(['__cluster_metadata-0'])
  })
})

describe('FsRaftStore directory creation', () => {
  it('fsyncs the parents of the directories it creates, up to the first one that existed', async () => {
    const base = await mkdtemp(join(tmpdir(), 'trib-raft-mkdir-'))
    try {
      const synced: string[] = []
      const syncOps: FsSyncOps = { ...nodeSyncOps, syncDir: async (d) => { synced.push(d); await nodeSyncOps.syncDir(d) } }
      const target = join(base, 'a', 'b')
      const store = new FsRaftStore({ dir: target, logger: recordingLogger().logger, syncOps })
      await store.load()
      await store.close()
      expect(synced).toEqual([join(base, 'a'), base])
    } finally {
      await rm(base, { recursive: true, force: true })
    }
  })
})
