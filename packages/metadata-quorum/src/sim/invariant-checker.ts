/**
 * InvariantChecker: the safety properties the simulator checks after every event, over the
 * whole run, including the history of nodes that have since crashed.
 *
 * It owns the global records every node is compared with:
 *   - the leader of each epoch (from leaders' own status and from any node's leaderId);
 *   - each voter's granted vote per epoch (from the vote responses actually sent, and from
 *     the durable hard state);
 *   - the committed log: (epoch, kind, bytes) per offset, from every committed entry any
 *     node hands out and every entry below any node's high watermark;
 *   - the state machine fingerprint per applied offset.
 * The properties (Raft paper §5.2 Election Safety, §5.3 Log Matching, §5.4 Leader
 * Completeness and State Machine Safety; KIP-595 for the high watermark):
 *   - single_leader_per_epoch: at most one leader per epoch, and every node that names a
 *     leader for an epoch names the same one;
 *   - single_vote_per_epoch: a voter grants at most one (non-pre-)vote per epoch, across
 *     restarts;
 *   - monotonic_high_watermark / monotonic_epoch: while a node stays up its commit point and
 *     epoch never move back; the high watermark never passes the log end;
 *   - committed_entries_agree: a committed offset holds the same entry everywhere;
 *   - apply_order: each node applies committed entries in offset order without gaps, and a
 *     snapshot never rewinds its state machine;
 *   - state_machine_agreement: equal applied offsets give equal fingerprints;
 *   - leader_completeness: a new leader's log holds every entry committed in an earlier
 *     epoch (§5.4: "present in the logs of the leaders for all higher-numbered terms"; a
 *     leader of an old epoch elected late, say after a pause, need not have entries a later
 *     epoch committed). The epoch an entry was committed in is bounded from above by the
 *     epoch of every node that reports it committed, so the check never over-demands;
 *   - committed_entry_lost: every committed entry stays durable (in the log or a snapshot)
 *     on a majority of voters;
 *   - observer_never_leads: observers never become leader or candidate;
 *   - acknowledged_proposal: an acknowledged proposal is the committed entry at its offset.
 * The first violation is kept; the simulator stops there and reports it.
 */
import type { NodeId } from '@tributary/protocol'
import type { Epoch, HardState, Offset, RaftEntry, RaftStatus, Snapshot } from '../raft/types.js'
import type { StoredLog } from './sim-raft-store.js'

export type InvariantName =
  | 'single_leader_per_epoch'
  | 'single_vote_per_epoch'
  | 'monotonic_high_watermark'
  | 'monotonic_epoch'
  | 'committed_entries_agree'
  | 'apply_order'
  | 'state_machine_agreement'
  | 'leader_completeness'
  | 'committed_entry_lost'
  | 'observer_never_leads'
  | 'acknowledged_proposal'
  | 'ready_contract'
  | 'store_error'
  | 'node_threw'
  | 'liveness'
  | 'event_budget'

export interface Violation {
  readonly invariant: InvariantName
  readonly message: string
  readonly atMs: number
}

interface NodeTrack {
  up: boolean
  /** -1 until the first status after a (re)start. */
  highWatermark: Offset
  epoch: Epoch
  appliedEnd: Offset
}

export class InvariantChecker {
  private first: Violation | null = null
  private readonly leaderOfEpoch = new Map<Epoch, NodeId>()
  /** epoch -> voter -> candidate */
  private readonly votes = new Map<Epoch, Map<NodeId, NodeId>>()
  // The committed log, indexed by offset (holes only before the first report of an offset).
  private readonly committedEpoch: number[] = []
  private readonly committedKind: Array<RaftEntry['kind']> = []
  private readonly committedData: Uint8Array[] = []
  /** An upper bound of the epoch each entry was committed in: the lowest reporter epoch. */
  private readonly committedInEpoch: number[] = []
  private committedEndOffset: Offset = 0
  private readonly fingerprints = new Map<Offset, string>()
  private readonly nodes = new Map<NodeId, NodeTrack>()
  private maxEpochSeen = 0

  constructor(
    private readonly voterIds: readonly NodeId[],
    observerIds: readonly NodeId[],
  ) {
    for (const id of [...voterIds, ...observerIds]) {
      this.nodes.set(id, { up: true, highWatermark: -1, epoch: 0, appliedEnd: 0 })
    }
  }

  get violation(): Violation | null {
    return this.first
  }

  get ok(): boolean {
    return this.first === null
  }

  /** One past the highest offset known committed. */
  get committedEnd(): Offset {
    return this.committedEndOffset
  }

  get highestEpoch(): Epoch {
    return this.maxEpochSeen
  }

  committedEpochAt(offset: Offset): Epoch | undefined {
    return this.committedEpoch[offset]
  }

  /** Records a violation found elsewhere (the simulator's own checks). Keeps the first. */
  fail(invariant: InvariantName, message: string, atMs: number): void {
    if (this.first === null) this.first = { invariant, message, atMs }
  }

  // ---- node lifecycle ------------------------------------------------------------------

  nodeCrashed(id: NodeId): void {
    const t = this.track(id)
    t.up = false
  }

  /** A restarted node's state machine holds exactly the restored snapshot (or nothing). */
  nodeRestarted(id: NodeId, restoredSnapshot: Snapshot | null, nowMs: number): void {
    const t = this.track(id)
    t.up = true
    t.highWatermark = -1
    t.epoch = 0
    t.appliedEnd = restoredSnapshot === null ? 0 : restoredSnapshot.id.endOffset
    if (restoredSnapshot !== null) this.checkSnapshotId(id, restoredSnapshot, 'restored', nowMs)
  }

  // ---- status (after every event on a node) --------------------------------------------

  /**
   * Checks a node's status. `log` is what the node has written (its own view of its log),
   * used for the commit-point and leader-completeness checks.
   */
  observeStatus(status: RaftStatus, previousRole: RaftStatus['role'] | null, log: StoredLog, nowMs: number): void {
    const id = status.nodeId
    const t = this.track(id)
    if (status.epoch > this.maxEpochSeen) this.maxEpochSeen = status.epoch

    if (!status.isVoter && (status.role === 'leader' || status.role === 'candidate')) {
      this.fail('observer_never_leads', `observer ${id} is ${status.role} in epoch ${status.epoch}`, nowMs)
    }

    // Election safety: one leader per epoch, and everyone agrees who it is.
    if (status.role === 'leader') {
      this.claimLeader(status.epoch, id, `node ${id} is leader`, nowMs)
      if (status.leaderId !== null && status.leaderId !== id) {
        this.fail('single_leader_per_epoch', `leader ${id} names ${status.leaderId} as leader of epoch ${status.epoch}`, nowMs)
      }
    } else if (status.leaderId !== null) {
      this.claimLeader(status.epoch, status.leaderId, `node ${id} follows ${status.leaderId}`, nowMs)
    }

    if (status.epoch < t.epoch) {
      this.fail('monotonic_epoch', `node ${id} epoch went back from ${t.epoch} to ${status.epoch} while up`, nowMs)
    }
    t.epoch = status.epoch

    const hw = status.highWatermark
    if (t.highWatermark >= 0 && hw < t.highWatermark) {
      this.fail('monotonic_high_watermark', `node ${id} high watermark went back from ${t.highWatermark} to ${hw} while up`, nowMs)
    }
    if (hw > status.logEndOffset) {
      this.fail('monotonic_high_watermark', `node ${id} high watermark ${hw} is past its log end ${status.logEndOffset}`, nowMs)
    }
    if (hw > t.highWatermark) {
      // Everything below the high watermark is committed: it must agree with the record.
      const from = Math.max(t.highWatermark, log.startOffset, 0)
      const to = Math.min(hw, log.endOffset)
      for (let o = from; o < to; o++) {
        const e = log.entryAt(o)
        if (e !== undefined) this.recordCommitted(id, e, status.epoch, 'below its high watermark', nowMs)
      }
      t.highWatermark = hw
    }

    if (status.role === 'leader' && previousRole !== 'leader') this.checkLeaderCompleteness(id, status.epoch, log, nowMs)
  }

  private claimLeader(epoch: Epoch, leader: NodeId, why: string, nowMs: number): void {
    const known = this.leaderOfEpoch.get(epoch)
    if (known === undefined) {
      this.leaderOfEpoch.set(epoch, leader)
    } else if (known !== leader) {
      this.fail('single_leader_per_epoch', `epoch ${epoch} has two leaders: ${known} and ${leader} (${why})`, nowMs)
    }
  }

  /** Leader Completeness (Raft §5.4): the new leader's log holds every entry committed before its epoch. */
  private checkLeaderCompleteness(id: NodeId, epoch: Epoch, log: StoredLog, nowMs: number): void {
    const end = this.committedEndOffset
    if (log.snapshot !== null) this.checkSnapshotId(id, log.snapshot, 'leader snapshot', nowMs)
    for (let o = log.startOffset; o < end; o++) {
      const committed = this.committedEpoch[o]
      if (committed === undefined || this.committedInEpoch[o] >= epoch) continue
      const e = log.entryAt(o)
      if (e === undefined || e.epoch !== committed || !sameBytes(e.data, this.committedData[o])) {
        this.fail('leader_completeness',
          `node ${id} became leader of epoch ${epoch} but its entry at ${o} is ${describe(e)}; ` +
          `${this.committedKind[o]}@${committed} was committed there by epoch ${this.committedInEpoch[o]}`, nowMs)
        return
      }
    }
  }

  // ---- votes ---------------------------------------------------------------------------

  /** A voter sent a granted (non-pre-)vote for `candidate` in `epoch`. */
  observeVoteGranted(voter: NodeId, epoch: Epoch, candidate: NodeId, nowMs: number): void {
    this.recordVote(voter, epoch, candidate, 'sent a vote', nowMs)
  }

  /** A voter's hard state became durable. */
  observeDurableHardState(voter: NodeId, hardState: HardState, nowMs: number): void {
    if (hardState.votedFor !== null) this.recordVote(voter, hardState.epoch, hardState.votedFor, 'durable vote', nowMs)
  }

  private recordVote(voter: NodeId, epoch: Epoch, candidate: NodeId, why: string, nowMs: number): void {
    let byVoter = this.votes.get(epoch)
    if (byVoter === undefined) {
      byVoter = new Map()
      this.votes.set(epoch, byVoter)
    }
    const known = byVoter.get(voter)
    if (known === undefined) {
      byVoter.set(voter, candidate)
    } else if (known !== candidate) {
      this.fail('single_vote_per_epoch', `voter ${voter} voted for ${known} and then ${candidate} in epoch ${epoch} (${why})`, nowMs)
    }
  }

  // ---- apply (per Ready) ---------------------------------------------------------------

  /** Ready.applySnapshot was handed to the node's state machine. */
  observeApplySnapshot(id: NodeId, snapshot: Snapshot, nowMs: number): void {
    const t = this.track(id)
    if (snapshot.id.endOffset < t.appliedEnd) {
      this.fail('apply_order', `node ${id} applied snapshot ending ${snapshot.id.endOffset} below its applied offset ${t.appliedEnd}`, nowMs)
    }
    this.checkSnapshotId(id, snapshot, 'applied', nowMs)
    t.appliedEnd = snapshot.id.endOffset
  }

  /**
   * Ready.committed entries, handed to the node's state machine in this order. `epoch` is
   * the node's epoch as it hands them out.
   */
  observeCommitted(id: NodeId, entries: readonly RaftEntry[], epoch: Epoch, nowMs: number): void {
    const t = this.track(id)
    for (const e of entries) {
      if (e.offset !== t.appliedEnd) {
        this.fail('apply_order', `node ${id} applies offset ${e.offset}, expected ${t.appliedEnd}`, nowMs)
        return
      }
      t.appliedEnd = e.offset + 1
      this.recordCommitted(id, e, epoch, 'committed', nowMs)
    }
  }

  /** The node's state machine after applying up to `appliedEnd`. */
  observeFingerprint(id: NodeId, appliedEnd: Offset, fingerprint: string, nowMs: number): void {
    const t = this.track(id)
    if (appliedEnd !== t.appliedEnd) {
      this.fail('apply_order', `node ${id} state machine is at ${appliedEnd}, but was handed entries up to ${t.appliedEnd}`, nowMs)
      return
    }
    if (appliedEnd === 0) return
    const known = this.fingerprints.get(appliedEnd)
    if (known === undefined) {
      this.fingerprints.set(appliedEnd, fingerprint)
    } else if (known !== fingerprint) {
      this.fail('state_machine_agreement', `node ${id} at applied offset ${appliedEnd} has state ${fingerprint}, others had ${known}`, nowMs)
    }
  }

  appliedEnd(id: NodeId): Offset {
    return this.track(id).appliedEnd
  }

  private recordCommitted(id: NodeId, e: RaftEntry, reporterEpoch: Epoch, why: string, nowMs: number): void {
    const o = e.offset
    const epoch = this.committedEpoch[o]
    if (epoch === undefined) {
      this.committedEpoch[o] = e.epoch
      this.committedKind[o] = e.kind
      this.committedData[o] = e.data
      this.committedInEpoch[o] = reporterEpoch
      if (o + 1 > this.committedEndOffset) this.committedEndOffset = o + 1
      return
    }
    if (reporterEpoch < this.committedInEpoch[o]) this.committedInEpoch[o] = reporterEpoch
    if (epoch !== e.epoch || this.committedKind[o] !== e.kind || !sameBytes(this.committedData[o], e.data)) {
      this.fail('committed_entries_agree',
        `node ${id} has ${describe(e)} ${why} at offset ${o}, but the committed entry there is ` +
        `${this.committedKind[o]}@${epoch} (${this.committedData[o].length} bytes)`, nowMs)
    }
  }

  private checkSnapshotId(id: NodeId, snapshot: Snapshot, what: string, nowMs: number): void {
    const end = snapshot.id.endOffset
    if (end === 0) return
    if (end > this.committedEndOffset) {
      this.fail('committed_entries_agree', `node ${id} has a ${what} snapshot ending at ${end}, past the committed end ${this.committedEndOffset}`, nowMs)
      return
    }
    const epoch = this.committedEpoch[end - 1]
    if (epoch !== undefined && epoch !== snapshot.id.epoch) {
      this.fail('committed_entries_agree', `node ${id} has a ${what} snapshot ${end}@${snapshot.id.epoch}, but the committed entry at ${end - 1} is epoch ${epoch}`, nowMs)
    }
  }

  // ---- durability ----------------------------------------------------------------------

  /**
   * Every committed entry must survive on a majority of voters' disks (a snapshot covering
   * it, or the same entry). Checked after crashes and after durable truncations.
   */
  checkDurability(durableLogs: ReadonlyMap<NodeId, StoredLog>, nowMs: number): void {
    const end = this.committedEndOffset
    if (end === 0) return
    // covered[v]: voter v durably holds every committed entry below this offset. By Log
    // Matching an entry that agrees on epoch at offset o means the whole prefix agrees.
    const covered: number[] = []
    for (const v of this.voterIds) {
      const log = durableLogs.get(v)
      if (log === undefined) continue
      let k = log.startOffset
      for (let o = Math.min(end, log.endOffset) - 1; o >= log.startOffset; o--) {
        const e = log.entryAt(o)
        if (e !== undefined && this.committedEpoch[o] === e.epoch) {
          k = o + 1
          break
        }
      }
      covered.push(k)
    }
    covered.sort((a, b) => b - a)
    const majority = Math.floor(this.voterIds.length / 2) + 1
    const safe = covered.length >= majority ? covered[majority - 1] : 0
    if (safe < end) {
      this.fail('committed_entry_lost',
        `committed entries [${safe}, ${end}) are durable on fewer than ${majority} voters (durable prefixes: ${covered.join(', ')})`, nowMs)
    }
  }

  // ---- client --------------------------------------------------------------------------

  /** A proposal appended at (offset, epoch) was acknowledged to the client as committed. */
  observeAcknowledged(id: NodeId, offset: Offset, epoch: Epoch, nowMs: number): void {
    const committed = this.committedEpoch[offset]
    if (committed === undefined) {
      this.fail('acknowledged_proposal', `node ${id} acknowledged offset ${offset} that is not known committed`, nowMs)
    } else if (committed !== epoch) {
      this.fail('acknowledged_proposal', `node ${id} acknowledged offset ${offset} from epoch ${epoch}, but epoch ${committed} committed there`, nowMs)
    }
  }

  private track(id: NodeId): NodeTrack {
    const t = this.nodes.get(id)
    if (t === undefined) throw new Error(`unknown node ${id}`)
    return t
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function describe(e: RaftEntry | undefined): string {
  return e === undefined ? 'missing' : `${e.kind}@${e.epoch} (${e.data.length} bytes)`
}
