// Model-based tests: random histories of persist/saveSnapshot/reopen run against FsRaftStore
// and MemRaftStore (the model); after every reopen, what the disk recovers must equal the
// model. Then: any cut of the last segment's tail recovers exactly the whole frames before it.
import { mkdtemp, readFile, readdir, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeId } from '@tributary/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { PersistentState, RaftEntry, Ready } from '../raft/types.js'
import { silentLogger } from '../util/logger.js'
import { FsRaftStore } from './fs-raft-store.js'
import { MemRaftStore } from './mem-raft-store.js'

type Op =
  | { readonly kind: 'append'; readonly count: number; readonly bumpEpoch: boolean; readonly mustSync: boolean; readonly size: number }
  | { readonly kind: 'truncate'; readonly at: number; readonly count: number }
  | { readonly kind: 'snapshot'; readonly at: number }
  | { readonly kind: 'install'; readonly gap: number }
  | { readonly kind: 'vote'; readonly votedFor: number }
  | { readonly kind: 'reopen' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 6 }), bumpEpoch: fc.boolean(), mustSync: fc.boolean(), size: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), count: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('install' as const), gap: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('vote' as const), votedFor: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

function ready(parts: Partial<Ready>): Ready {
  return { snapshot: null, truncateFrom: null, entries: [], hardState: null, mustSync: true, messages: [], applySnapshot: null, committed: [], ...parts }
}

function makeEntries(from: number, count: number, epoch: number, size: number): RaftEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    offset: from + i,
    epoch,
    kind: (from + i) % 7 === 0 ? ('leader_change' as const) : ('data' as const),
    data: new Uint8Array(size).fill((from + i) % 251),
  }))
}

function view(state: PersistentState): unknown {
  return {
    hardState: state.hardState,
    snapshot: state.snapshot === null ? null : { id: state.snapshot.id, data: Buffer.from(state.snapshot.data).toString('hex') },
    entries: state.entries.map((e) => ({ offset: e.offset, epoch: e.epoch, kind: e.kind, data: Buffer.from(e.data).toString('hex') })),
  }
}

async function runHistory(ops: readonly Op[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'trib-raft-model-'))
  const open = async (): Promise<{ store: FsRaftStore; state: PersistentState }> => {
    const store = new FsRaftStore({ dir, logger: silentLogger, segmentBytes: 150 })
    return { store, state: await store.load() }
  }
  try {
    const model = new MemRaftStore()
    let { store } = await open()
    for (const o of ops) {
      const m = model.state()
      const logStart = m.snapshot?.id.endOffset ?? 0
      const logEnd = logStart + m.entries.length
      const lastEpoch = m.entries.at(-1)?.epoch ?? m.snapshot?.id.epoch ?? 0
      let r: Ready | null = null
      switch (o.kind) {
        case 'append':
          r = ready({ entries: makeEntries(logEnd, o.count, Math.max(1, lastEpoch + (o.bumpEpoch ? 1 : 0)), o.size), mustSync: o.mustSync })
          break
        case 'truncate': {
          const at = logStart + Math.floor(o.at * (logEnd - logStart + 1))
          const epochAt = m.entries[at - 1 - logStart]?.epoch ?? m.snapshot?.id.epoch ?? 0
          r = ready({ truncateFrom: Math.min(at, logEnd), entries: makeEntries(Math.min(at, logEnd), o.count, Math.max(1, lastEpoch + 1, epochAt), 3) })
          break
        }
        case 'snapshot': {
          if (logEnd === logStart) break
          const end = Math.min(logEnd, logStart + 1 + Math.floor(o.at * (logEnd - logStart)))
          const epoch = m.entries[end - 1 - logStart].epoch
          const snapshot = { id: { endOffset: end, epoch }, data: new TextEncoder().encode(`image@${end}`) }
          await store.saveSnapshot(snapshot)
          await model.saveSnapshot(snapshot)
          break
        }
        case 'install': {
          const end = logEnd + o.gap + 1
          r = ready({ snapshot: { id: { endOffset: end, epoch: lastEpoch + 1 }, data: new TextEncoder().encode(`leader-image@${end}`) } })
          break
        }
        case 'vote':
          r = ready({ hardState: { epoch: Math.max(1, lastEpoch, m.hardState.epoch) + 1, votedFor: nodeId(o.votedFor), leaderId: null } })
          break
        case 'reopen': {
          await store.close()
          const reopened = await open()
          store = reopened.store
          expect(view(reopened.state)).toEqual(view(model.state()))
          break
        }
      }
      if (r !== null) {
        await store.persist(r)
        await model.persist(r)
      }
    }
    await store.close()
    const last = await open()
    await last.store.close()
    expect(view(last.state)).toEqual(view(model.state()))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('FsRaftStore against the in-memory model', () => {
  it('recovers exactly what was persisted, over random histories', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        await runHistory(ops)
      }),
      { numRuns: 60 },
    )
  })

  it('recovers the whole frames before any cut of the last segment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), async (count, where) => {
        const dir = await mkdtemp(join(tmpdir(), 'trib-raft-cut-'))
        try {
          const store = new FsRaftStore({ dir, logger: silentLogger })
          await store.load()
          await store.persist(ready({ entries: makeEntries(0, count, 1, 5) }))
          await store.close()
          const segment = join(dir, (await readdir(dir)).filter((n) => n.endsWith('.log'))[0])
          const bytes = await readFile(segment)
          const cut = Math.floor(where * bytes.length)
          await truncate(segment, cut)
          // Whole frames before the cut, by walking the length fields of the original bytes.
          let whole = 0
          for (let p = 0; p + 8 <= bytes.length && p + 8 + bytes.readUInt32BE(p) <= cut; p += 8 + bytes.readUInt32BE(p)) whole++
          const again = new FsRaftStore({ dir, logger: silentLogger })
          const state = await again.load()
          await again.close()
          expect(state.entries.map((e) => e.offset)).toEqual(Array.from({ length: whole }, (_, i) => i))
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      }),
      { numRuns: 60 },
    )
  })
})
