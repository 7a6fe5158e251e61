import { describe, expect, it } from 'vitest'
import type { NodeId } from '@tributary/protocol'
import { EMPTY_PERSISTENT_STATE, type RaftEntry, type Ready } from '../raft/types.js'
import { SeededRandom } from '../util/random.js'
import { SimRaftStore } from './sim-raft-store.js'

const entry = (offset: number, epoch: number): RaftEntry => ({ offset, epoch, kind: 'data', data: new Uint8Array([offset]) })

function ready(fields: Partial<Ready>): Ready {
  return {
    snapshot: null, truncateFrom: null, entries: [], hardState: null, mustSync: true,
    messages: [], applySnapshot: null, committed: [], ...fields,
  }
}

const store = (): SimRaftStore => new SimRaftStore(EMPTY_PERSISTENT_STATE, new SeededRandom(1))

describe('SimRaftStore', () => {
  it('makes writes durable only on sync', () => {
    const s = store()
    expect(s.write(ready({ entries: [entry(0, 1), entry(1, 1)], hardState: { epoch: 1, votedFor: 1 as NodeId, leaderId: null } }))).toBeNull()
    expect(s.written.endOffset).toBe(2)
    expect(s.durable.endOffset).toBe(0)
    expect(s.sync()).toBeNull()
    expect(s.load().entries.map((e) => e.offset)).toEqual([0, 1])
    expect(s.load().hardState.votedFor).toBe(1)
  })

  it('loses every unsynced write on a crash (a crash between write and sync)', () => {
    const s = store()
    s.write(ready({ entries: [entry(0, 1)] }))
    s.sync()
    s.write(ready({ truncateFrom: 0, entries: [entry(0, 2), entry(1, 2)], hardState: { epoch: 2, votedFor: 3 as NodeId, leaderId: null } }))
    expect(s.crash()).toBe(3)
    const loaded = s.load()
    expect(loaded.entries).toEqual([entry(0, 1)])
    expect(loaded.hardState.epoch).toBe(0)
    expect(s.written.endOffset).toBe(1)
  })

  // A persist is three steps, in the Ready contract's order: hard state, log, fsync.
  const leaderReady = (): Ready =>
    ready({ hardState: { epoch: 1, votedFor: 1 as NodeId, leaderId: 1 as NodeId }, entries: [{ offset: 0, epoch: 1, kind: 'leader_change', data: new Uint8Array(0) }] })

  it('a crash after the hard-state step keeps the hard state and loses the log writes', () => {
    const s = store()
    s.write(leaderReady())
    expect(s.crash('hard_state')).toBe(1)
    expect(s.load()).toMatchObject({ hardState: { epoch: 1, votedFor: 1, leaderId: 1 }, entries: [] })
    expect(s.written.hardState.epoch).toBe(1)
  })

  it('a crash that kept the log writes but not the hard state: a log epoch above the durable hard state', () => {
    // The shape the old persist order could leave; RaftCore must still start from it.
    const s = store()
    s.write(leaderReady())
    expect(s.crash('log')).toBe(1)
    const loaded = s.load()
    expect(loaded.hardState.epoch).toBe(0)
    expect(loaded.entries.map((e) => e.epoch)).toEqual([1])
    expect(s.written.entries.length).toBe(1)
  })

  it('replaces the whole log with a snapshot from the leader, then appends after it', () => {
    const s = store()
    s.write(ready({ entries: [entry(0, 1), entry(1, 1), entry(2, 1)] }))
    s.sync()
    s.write(ready({ snapshot: { id: { endOffset: 10, epoch: 2 }, data: new Uint8Array(1) }, entries: [entry(10, 2)] }))
    s.sync()
    const loaded = s.load()
    expect(loaded.snapshot?.id.endOffset).toBe(10)
    expect(loaded.entries.map((e) => e.offset)).toEqual([10])
  })

  it('compacts the log prefix for a local snapshot, durably at once', () => {
    const s = store()
    s.write(ready({ entries: [entry(0, 1), entry(1, 1), entry(2, 2)] }))
    s.sync()
    expect(s.saveLocalSnapshot({ id: { endOffset: 2, epoch: 1 }, data: new Uint8Array(0) })).toBeNull()
    s.crash()
    expect(s.load().snapshot?.id).toEqual({ endOffset: 2, epoch: 1 })
    expect(s.load().entries.map((e) => e.offset)).toEqual([2])
  })

  it('reports illegal writes as values', () => {
    const s = store()
    expect(s.write(ready({ entries: [entry(1, 1)] }))?.message).toMatch(/append of offset 1 at log end 0/)
    const t = store()
    t.write(ready({ snapshot: { id: { endOffset: 5, epoch: 1 }, data: new Uint8Array(0) } }))
    expect(t.write(ready({ truncateFrom: 3 }))?.message).toMatch(/below the snapshot/)
    const u = store()
    u.write(ready({ entries: [entry(0, 1), entry(1, 2)] }))
    u.sync()
    expect(u.saveLocalSnapshot({ id: { endOffset: 2, epoch: 1 }, data: new Uint8Array(0) })?.message).toMatch(/disagrees/)
  })

  it('with a lying disk, synced writes can still be lost', () => {
    const s = new SimRaftStore(EMPTY_PERSISTENT_STATE, new SeededRandom(1), 1)
    s.write(ready({ entries: [entry(0, 1)] }))
    s.sync()
    s.crash()
    expect(s.load().entries).toEqual([])
  })
})
