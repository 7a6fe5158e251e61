import { nodeId } from '@tributary/protocol'
import { describe, expect, it } from 'vitest'
import type { RaftEntry, Ready } from '../raft/types.js'
import { AssertionError } from '../util/assert.js'
import { MemRaftStore } from './mem-raft-store.js'

function entries(from: number, to: number, epoch: number): RaftEntry[] {
  return Array.from({ length: to - from }, (_, i) => ({ offset: from + i, epoch, kind: 'data' as const, data: new Uint8Array([from + i]) }))
}

function ready(parts: Partial<Ready>): Ready {
  return { snapshot: null, truncateFrom: null, entries: [], hardState: null, mustSync: true, messages: [], applySnapshot: null, committed: [], ...parts }
}

const offsets = (es: readonly RaftEntry[]): number[] => es.map((e) => e.offset)

describe('MemRaftStore', () => {
  it('applies hard state, snapshot, truncation and entries in order, and counts syncs', async () => {
    const store = new MemRaftStore()
    expect(await store.load()).toEqual({ hardState: { epoch: 0, votedFor: null, leaderId: null }, snapshot: null, entries: [] })
    await store.persist(ready({ entries: entries(0, 5, 1), hardState: { epoch: 1, votedFor: nodeId(2), leaderId: null } }))
    await store.persist(ready({ truncateFrom: 3, entries: entries(3, 4, 2), mustSync: false }))
    expect(offsets(store.state().entries)).toEqual([0, 1, 2, 3])
    expect(store.state().entries[3].epoch).toBe(2)
    expect({ persists: store.persistCount, syncs: store.syncCount }).toEqual({ persists: 2, syncs: 1 })

    await store.saveSnapshot({ id: { endOffset: 2, epoch: 1 }, data: new Uint8Array([9]) })
    expect(offsets(store.state().entries)).toEqual([2, 3])
    await store.persist(ready({ snapshot: { id: { endOffset: 10, epoch: 3 }, data: new Uint8Array() }, entries: entries(10, 11, 3) }))
    const state = await store.load()
    expect(state.snapshot?.id).toEqual({ endOffset: 10, epoch: 3 })
    expect(offsets(state.entries)).toEqual([10])
    expect(state.hardState).toEqual({ epoch: 1, votedFor: 2, leaderId: null })
  })

  it('writes the hard state before the log, as FsRaftStore does', async () => {
    const store = new MemRaftStore()
    await store.persist(ready({ entries: entries(0, 2, 1) }))
    // The append is refused (a gap), as a crash part-way would stop it: the hard state,
    // written first, is there; nothing of the log is.
    await expect(store.persist(ready({ hardState: { epoch: 2, votedFor: nodeId(1), leaderId: nodeId(1) }, entries: entries(3, 4, 2) }))).rejects.toThrow(AssertionError)
    expect(store.state().hardState).toEqual({ epoch: 2, votedFor: 1, leaderId: 1 })
    expect(offsets(store.state().entries)).toEqual([0, 1])
  })

  it('copies what it stores, so later mutation by the caller does not change it', async () => {
    const store = new MemRaftStore()
    const batch = entries(0, 1, 1)
    await store.persist(ready({ entries: batch }))
    ;(batch[0].data as Uint8Array)[0] = 42
    expect(store.state().entries[0].data[0]).toBe(0)
  })

  it('refuses the same contract violations as FsRaftStore', async () => {
    const store = new MemRaftStore()
    await store.persist(ready({ entries: entries(0, 3, 2) }))
    await expect(store.persist(ready({ entries: entries(4, 5, 2) }))).rejects.toThrow(AssertionError)
    await expect(store.persist(ready({ entries: entries(3, 4, 1) }))).rejects.toThrow(/after epoch 2/)
    await store.persist(ready({ truncateFrom: 7 })) // past the end: removes nothing
    expect(offsets(store.state().entries)).toEqual([0, 1, 2])
    await store.saveSnapshot({ id: { endOffset: 2, epoch: 2 }, data: new Uint8Array() })
    await expect(store.persist(ready({ truncateFrom: 1 }))).rejects.toThrow(/below the log start 2/)
    const pending = store.persist(ready({ entries: entries(3, 4, 2) }))
    await expect(store.persist(ready({ entries: entries(4, 5, 2) }))).rejects.toThrow(/must not overlap/)
    await pending
    await store.close()
    await expect(store.load()).rejects.toThrow(/closed/)
  })
})
