import { describe, expect, it } from 'vitest'
import type { NodeId } from '@tributary/protocol'
import { EMPTY_PERSISTENT_STATE, type RaftEntry, type RaftStatus } from '../raft/types.js'
import { InvariantChecker } from './invariant-checker.js'
import { StoredLog } from './sim-raft-store.js'

const n = (i: number): NodeId => i as NodeId
const entry = (offset: number, epoch: number, byte = offset): RaftEntry => ({ offset, epoch, kind: 'data', data: new Uint8Array([byte]) })
const voters = [n(1), n(2), n(3)]

function status(fields: Partial<RaftStatus> & { nodeId: NodeId }): RaftStatus {
  return {
    role: 'follower', isVoter: true, epoch: 1, leaderId: null, votedFor: null, highWatermark: 0,
    logStartOffset: 0, logEndOffset: 0, voters: [], observers: [], ...fields,
  }
}

function log(entries: RaftEntry[]): StoredLog {
  return new StoredLog({ ...EMPTY_PERSISTENT_STATE, entries })
}

describe('InvariantChecker', () => {
  it('accepts a consistent history', () => {
    const c = new InvariantChecker(voters, [])
    const l = log([entry(0, 1), entry(1, 1)])
    c.observeStatus(status({ nodeId: n(1), role: 'leader', leaderId: n(1), logEndOffset: 2, highWatermark: 2 }), null, l, 0)
    c.observeStatus(status({ nodeId: n(2), leaderId: n(1), logEndOffset: 2, highWatermark: 1 }), null, l, 0)
    c.observeCommitted(n(2), [entry(0, 1), entry(1, 1)], 1, 0)
    c.observeFingerprint(n(2), 2, 'x', 0)
    c.observeFingerprint(n(1), 0, 'empty', 0)
    expect(c.violation).toBeNull()
    expect(c.committedEnd).toBe(2)
  })

  it('catches two leaders in one epoch, also across a crash', () => {
    const c = new InvariantChecker(voters, [])
    c.observeStatus(status({ nodeId: n(1), role: 'leader', epoch: 3, leaderId: n(1) }), null, log([]), 0)
    c.nodeCrashed(n(1))
    c.observeStatus(status({ nodeId: n(2), role: 'leader', epoch: 3, leaderId: n(2) }), null, log([]), 5)
    expect(c.violation?.invariant).toBe('single_leader_per_epoch')
  })

  it('catches a follower naming a different leader for an epoch', () => {
    const c = new InvariantChecker(voters, [])
    c.observeStatus(status({ nodeId: n(1), role: 'leader', epoch: 3, leaderId: n(1) }), null, log([]), 0)
    c.observeStatus(status({ nodeId: n(3), epoch: 3, leaderId: n(2) }), null, log([]), 0)
    expect(c.violation?.invariant).toBe('single_leader_per_epoch')
  })

  it('catches a double vote in one epoch', () => {
    const c = new InvariantChecker(voters, [])
    c.observeVoteGranted(n(3), 4, n(1), 0)
    c.observeDurableHardState(n(3), { epoch: 4, votedFor: n(1), leaderId: null }, 0)
    expect(c.violation).toBeNull()
    c.observeVoteGranted(n(3), 4, n(2), 1)
    expect(c.violation?.invariant).toBe('single_vote_per_epoch')
  })

  it('catches a high watermark moving back while up, but not across a restart', () => {
    const c = new InvariantChecker(voters, [])
    const l = log([entry(0, 1), entry(1, 1), entry(2, 1)])
    c.observeStatus(status({ nodeId: n(2), highWatermark: 3, logEndOffset: 3 }), null, l, 0)
    c.nodeCrashed(n(2))
    c.nodeRestarted(n(2), null, 1)
    c.observeStatus(status({ nodeId: n(2), highWatermark: 0, logEndOffset: 3 }), null, l, 1)
    expect(c.violation).toBeNull()
    c.observeStatus(status({ nodeId: n(2), highWatermark: 2, logEndOffset: 3 }), null, l, 2)
    c.observeStatus(status({ nodeId: n(2), highWatermark: 1, logEndOffset: 3 }), null, l, 3)
    expect(c.violation?.invariant).toBe('monotonic_high_watermark')
  })

  it('catches committed entries that differ between nodes', () => {
    const c = new InvariantChecker(voters, [])
    c.observeCommitted(n(1), [entry(0, 1), entry(1, 1)], 1, 0)
    c.observeCommitted(n(2), [entry(0, 1), entry(1, 1, 99)], 1, 1)
    expect(c.violation?.invariant).toBe('committed_entries_agree')
  })

  it('catches an entry below a high watermark that differs from the committed one', () => {
    const c = new InvariantChecker(voters, [])
    c.observeCommitted(n(1), [entry(0, 1), entry(1, 2)], 1, 0)
    c.observeStatus(status({ nodeId: n(3), highWatermark: 2, logEndOffset: 2 }), null, log([entry(0, 1), entry(1, 1)]), 1)
    expect(c.violation?.invariant).toBe('committed_entries_agree')
  })

  it('catches gaps in apply order and differing state machines', () => {
    const c = new InvariantChecker(voters, [])
    c.observeCommitted(n(1), [entry(0, 1), entry(2, 1)], 1, 0)
    expect(c.violation?.invariant).toBe('apply_order')
    const d = new InvariantChecker(voters, [])
    d.observeCommitted(n(1), [entry(0, 1)], 1, 0)
    d.observeFingerprint(n(1), 1, 'a', 0)
    d.observeCommitted(n(2), [entry(0, 1)], 1, 0)
    d.observeFingerprint(n(2), 1, 'b', 0)
    expect(d.violation?.invariant).toBe('state_machine_agreement')
  })

  it('catches a new leader that misses a committed entry', () => {
    const c = new InvariantChecker(voters, [])
    c.observeCommitted(n(1), [entry(0, 1), entry(1, 1)], 1, 0)
    c.observeStatus(status({ nodeId: n(2), role: 'leader', epoch: 2, leaderId: n(2), logEndOffset: 1 }), 'candidate', log([entry(0, 1)]), 1)
    expect(c.violation?.invariant).toBe('leader_completeness')
  })

  it('does not demand entries committed in a later epoch from a late leader of an older one', () => {
    const c = new InvariantChecker(voters, [])
    // Entry 1 of epoch 3 is committed while the node reports epoch 3.
    c.observeCommitted(n(1), [entry(0, 1), entry(1, 3)], 3, 0)
    // A candidate of epoch 2 that was paused wins its old election afterwards (§5.4 only
    // binds leaders of higher epochs).
    c.observeStatus(status({ nodeId: n(2), role: 'leader', epoch: 2, leaderId: n(2), logEndOffset: 1 }), 'candidate', log([entry(0, 1)]), 1)
    expect(c.violation).toBeNull()
    c.observeStatus(status({ nodeId: n(3), role: 'leader', epoch: 4, leaderId: n(3), logEndOffset: 1 }), 'candidate', log([entry(0, 1)]), 2)
    expect(c.violation?.invariant).toBe('leader_completeness')
  })

  it('catches a committed entry held durably by fewer than a majority', () => {
    const c = new InvariantChecker(voters, [])
    c.observeCommitted(n(1), [entry(0, 1), entry(1, 1)], 1, 0)
    const full = log([entry(0, 1), entry(1, 1)])
    const stale = log([entry(0, 1), entry(1, 7)])
    c.checkDurability(new Map([[n(1), full], [n(2), full], [n(3), stale]]), 1)
    expect(c.violation).toBeNull()
    c.checkDurability(new Map([[n(1), full], [n(2), log([entry(0, 1)])], [n(3), stale]]), 2)
    expect(c.violation?.invariant).toBe('committed_entry_lost')
  })

  it('counts a snapshot as holding the entries it covers', () => {
    const c = new InvariantChecker(voters, [])
    c.observeCommitted(n(1), [entry(0, 1), entry(1, 1)], 1, 0)
    const snap = new StoredLog({ ...EMPTY_PERSISTENT_STATE, snapshot: { id: { endOffset: 2, epoch: 1 }, data: new Uint8Array(0) } })
    c.checkDurability(new Map([[n(1), snap], [n(2), snap], [n(3), log([])]]), 1)
    expect(c.violation).toBeNull()
  })

  it('catches an observer that leads and an acknowledgement of an uncommitted offset', () => {
    const c = new InvariantChecker(voters, [n(101)])
    c.observeStatus(status({ nodeId: n(101), isVoter: false, role: 'leader', leaderId: n(101) }), null, log([]), 0)
    expect(c.violation?.invariant).toBe('observer_never_leads')
    const d = new InvariantChecker(voters, [])
    d.observeAcknowledged(n(1), 5, 1, 0)
    expect(d.violation?.invariant).toBe('acknowledged_proposal')
  })
})
