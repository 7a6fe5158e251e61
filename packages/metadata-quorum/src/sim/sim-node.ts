/**
 * SimNode: one simulated process. It plays the part of the real driver loop around a
 * SimReplica, with a SimRaftStore for a disk:
 *   1. write ready.hardState, then snapshot / truncateFrom / entries, then fsync if mustSync
 *      (three steps: the simulator may crash the node between any two, see CrashPoint);
 *   2. only then send ready.messages;
 *   3-4. apply and advance (the replica does both).
 * A slow disk is modelled by finishing step 1 after a delay; inputs that arrive meanwhile
 * wait in an inbox, as they would in a driver busy on fsync. A paused process (a long GC or
 * SIGSTOP) is the same inbox held for longer: it keeps its state and misses its timers, and
 * on resuming it handles what queued up, with the clock now far ahead.
 *
 * It owns the node's incarnation: every (re)start gets a new one, and closures scheduled
 * for an older incarnation (ticks, disk completions, responses to requests the dead process
 * sent) are ignored. A response is delivered only to the incarnation that sent the request,
 * as a gRPC response only ever returns over the call that carried the request.
 *
 * After every input the node reports its status to the InvariantChecker.
 */
import type { NodeId } from '@tributary/protocol'
import { isRequest, type HardState, type RaftConfig, type RaftMessage, type RaftRole, type Ready } from '../raft/types.js'
import { assert } from '../util/assert.js'
import type { SimClock } from './sim-clock.js'
import type { InvariantChecker } from './invariant-checker.js'
import type { DurableAtCrash, SimRaftStore } from './sim-raft-store.js'
import type { ReplicaFactory, SimCompletion, SimReplica, SimRequest, SubmitOutcome } from './sim-replica.js'
import type { Logger } from '../util/logger.js'
import type { Random } from '../util/random.js'
import { chance, forkRandom } from './sim-random.js'

/** A single input can make the core hand out this many Readies at most (a bound on a loop). */
const READIES_PER_INPUT_MAX = 10_000

export interface NodeHost {
  readonly clock: SimClock
  readonly checker: InvariantChecker
  readonly tracing: boolean
  trace(nodeId: NodeId | null, what: string): void
  send(from: SimNode, message: RaftMessage, tag: number): void
  completed(node: SimNode, completions: readonly SimCompletion[]): void
  /** Crash `node` now, at `point` of a Ready; the host schedules the restart. */
  crashAt(node: SimNode, point: CrashPoint): void
  /** Called after a sync that truncated or replaced the log: the durability check. */
  durableLogShrank(): void
  /** Where (if anywhere) to crash while handling a Ready that must be synced. */
  crashPoint(): CrashPoint
  /** 0 for an immediate fsync, else how long the fsync takes. */
  syncDelayMs(): number
  logger(nodeId: NodeId): Logger
}

/**
 * Crash points inside one Ready that must be synced. Before the fsync the messages never
 * leave, and the disk keeps:
 *   - 'before_sync': nothing of the Ready (the crash hit during the hard-state step);
 *   - 'after_hard_state': the hard state, not the log writes (between the two steps);
 *   - 'log_without_hard_state': the log writes, not the hard state. The persist order rules
 *     this out; it is the disk an older order left, a log epoch above the hard state's, and
 *     RaftCore must start from it (it adopts the log's epoch with no vote).
 * Or 'after_send': right after the messages left (everything they promise must already be
 * durable; state not yet applied is rebuilt on restart).
 */
export type CrashPoint = 'none' | 'before_sync' | 'after_hard_state' | 'log_without_hard_state' | 'after_send'

/** What the disk keeps of a Ready's unsynced writes when the node crashes at `point`. */
export function durableAtCrash(point: CrashPoint): DurableAtCrash {
  switch (point) {
    case 'after_hard_state': return 'hard_state'
    case 'log_without_hard_state': return 'log'
    default: return 'nothing'
  }
}

/** The crash points that come before the Ready's fsync. */
export function crashesBeforeSync(point: CrashPoint): boolean {
  return point === 'before_sync' || point === 'after_hard_state' || point === 'log_without_hard_state'
}

/**
 * The crash point for one Ready that must be synced: none, unless `random` says a crash
 * (with `probability`); then half before the fsync (split over its three shapes), half
 * right after the sends.
 */
export function drawCrashPoint(random: Random, probability: number): CrashPoint {
  if (!chance(random, probability)) return 'none'
  const r = random.next()
  if (r < 0.25) return 'before_sync'
  if (r < 0.375) return 'after_hard_state'
  if (r < 0.5) return 'log_without_hard_state'
  return 'after_send'
}

type Input = (replica: SimReplica, nowMs: number) => void

const TICK: Input = (replica, nowMs) => replica.tick(nowMs)

export class SimNode {
  replica: SimReplica | null = null
  incarnation = 0
  /** Waiting for a slow fsync. */
  private busy = false
  private paused = false
  private inbox: Input[] = []
  /** `${requester}:${requestId}` -> the requester's incarnation when it sent the request. */
  private requestTags = new Map<string, number>()
  private role: RaftRole | null = null
  /**
   * The hard state as this process last persisted it (loaded, or written by a synced Ready),
   * as the node believes it: a lying disk does not change it. A granted vote must be in it
   * before the vote leaves (Raft §5.2; the Ready contract's persist before send).
   */
  private persistedHardState: HardState | null = null
  snapshotsTaken = 0

  constructor(
    readonly id: NodeId,
    readonly isVoter: boolean,
    readonly raftConfig: RaftConfig,
    readonly store: SimRaftStore,
    private readonly host: NodeHost,
    private readonly factory: ReplicaFactory,
    private readonly random: Random,
    private readonly snapshotIntervalEntries: number,
    private readonly tickIntervalMs: number,
  ) {}

  get up(): boolean {
    return this.replica !== null
  }

  /** Starts (or restarts) the process from its durable state. */
  start(nowMs: number): void {
    assert(!this.up, 'a running node is not started again')
    this.incarnation++
    const persisted = this.store.load()
    this.busy = false
    this.paused = false
    this.inbox = []
    this.requestTags = new Map()
    this.role = null
    this.persistedHardState = persisted.hardState
    this.host.checker.nodeRestarted(this.id, persisted.snapshot, nowMs)
    try {
      this.replica = this.factory({
        raft: this.raftConfig,
        persisted,
        random: forkRandom(this.random),
        logger: this.host.logger(this.id),
        nowMs,
        snapshotIntervalEntries: this.snapshotIntervalEntries,
      })
    } catch (e) {
      this.host.checker.fail('node_threw', `node ${this.id} failed to start: ${errorText(e)}`, nowMs)
      return
    }
    const inc = this.incarnation
    const tick = (): void => {
      if (this.incarnation !== inc) return
      if (!this.busy && !this.paused) this.input(TICK)
      this.host.clock.scheduleAfter(this.tickIntervalMs, tick)
    }
    // A random phase, so the nodes' ticks are not in lock step.
    this.host.clock.scheduleAfter(1 + Math.floor(this.random.next() * this.tickIntervalMs), tick)
    this.input(() => {})
  }

  /**
   * The process dies: unsynced writes are lost, but for those `kept` says reached the disk.
   * Returns the number of lost write operations.
   */
  crash(kept: DurableAtCrash = 'nothing'): number {
    assert(this.up, 'only a running node crashes')
    this.replica = null
    this.incarnation++
    this.busy = false
    this.paused = false
    this.inbox = []
    this.requestTags = new Map()
    this.role = null
    const lost = this.store.crash(kept)
    // A vote that reached the disk without its sync counts as cast: the restarted node holds it.
    if (this.isVoter) this.host.checker.observeDurableHardState(this.id, this.store.durable.hardState, this.host.clock.nowMs)
    return lost
  }

  deliver(message: RaftMessage, tag: number): void {
    if (!this.up) {
      if (this.host.tracing) this.host.trace(this.id, `lost (node down): ${describeShort(message)}`)
      return
    }
    if (isRequest(message.body)) {
      this.requestTags.set(`${message.from}:${message.requestId}`, tag)
    } else if (tag !== this.incarnation) {
      if (this.host.tracing) this.host.trace(this.id, `lost (sent to a previous incarnation): ${describeShort(message)}`)
      return
    }
    this.input((r, now) => r.receive(message, now))
  }

  resign(): void {
    this.input((r, now) => r.resign(now))
  }

  peerUnreachable(peer: NodeId, incarnation: number): void {
    if (incarnation !== this.incarnation) return
    this.input((r, now) => r.peerUnreachable(peer, now))
  }

  get isPaused(): boolean {
    return this.paused
  }

  /** The process stops running (but keeps its state) until resume(). */
  pause(): void {
    this.paused = true
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.pump()
  }

  /** A client request; null if the node is down, paused or busy (the client sees a timeout). */
  submit(request: SimRequest): SubmitOutcome | null {
    if (this.replica === null || this.busy || this.paused) return null
    const result: { outcome: SubmitOutcome | null } = { outcome: null }
    this.input((r, now) => {
      result.outcome = r.submit(request, now)
    })
    return result.outcome
  }

  status(): ReturnType<SimReplica['status']> | null {
    return this.replica === null ? null : this.replica.status()
  }

  // ---- the driver loop -----------------------------------------------------------------

  private input(fn: Input): void {
    if (this.replica === null) return
    this.inbox.push(fn)
    this.pump()
  }

  /** Runs queued inputs in order, each followed by its Readies, unless busy or paused. */
  private pump(): void {
    if (this.replica === null || this.busy || this.paused || this.inbox.length === 0) return
    const nowMs = this.host.clock.nowMs
    try {
      while (this.replica !== null && !this.busy && !this.paused && this.inbox.length > 0) {
        const next = this.inbox.shift() as Input
        next(this.replica, nowMs)
        this.drain(nowMs)
      }
    } catch (e) {
      this.host.checker.fail('node_threw', `node ${this.id}: ${errorText(e)}`, nowMs)
      return
    }
    if (this.replica !== null) this.observe(nowMs)
  }

  private drain(nowMs: number): void {
    let count = 0
    for (;;) {
      const replica = this.replica
      if (replica === null || this.busy || !replica.hasReady()) return
      assert(++count <= READIES_PER_INPUT_MAX, 'the core keeps handing out Readies')
      const ready = replica.ready()
      if (!this.write(ready, nowMs)) return
      const point = ready.mustSync ? this.host.crashPoint() : 'none'
      if (crashesBeforeSync(point)) {
        if (this.host.tracing) this.host.trace(this.id, `crash before fsync, ${point} (${describeWrites(ready)})`)
        this.host.crashAt(this, point)
        return
      }
      const delayMs = ready.mustSync ? this.host.syncDelayMs() : 0
      if (delayMs > 0) {
        this.busy = true
        const inc = this.incarnation
        this.host.clock.scheduleAfter(delayMs, () => {
          if (this.incarnation !== inc) return // crashed while syncing: the writes are gone
          this.busy = false
          // The rest of this Ready goes before any input that queued behind the fsync.
          this.inbox.unshift((_r, now) => this.finish(ready, point, now))
          this.pump()
        })
        return
      }
      this.finish(ready, point, nowMs)
    }
  }

  /** Step 1a. False if the write itself was illegal (reported). */
  private write(ready: Ready, nowMs: number): boolean {
    const checker = this.host.checker
    const writes = ready.snapshot !== null || ready.entries.length > 0 || ready.hardState !== null
    if (writes && !ready.mustSync) {
      checker.fail('ready_contract', `node ${this.id} handed out writes (${describeWrites(ready)}) without mustSync`, nowMs)
      return false
    }
    const err = this.store.write(ready)
    if (err !== null) {
      checker.fail('store_error', `node ${this.id}: ${err.message}`, nowMs)
      return false
    }
    return true
  }

  /** Steps 1b (sync), 2 (send), 3-4 (apply, advance), then a snapshot if one is due. */
  private finish(ready: Ready, point: CrashPoint, nowMs: number): void {
    const replica = this.replica
    assert(replica !== null, 'finish runs on a live node')
    const checker = this.host.checker
    const tracing = this.host.tracing
    if (ready.mustSync) {
      const err = this.store.sync()
      if (err !== null) {
        checker.fail('store_error', `node ${this.id}: ${err.message}`, nowMs)
        return
      }
      if (ready.hardState !== null) this.persistedHardState = ready.hardState
      if (this.isVoter && ready.hardState !== null) checker.observeDurableHardState(this.id, this.store.durable.hardState, nowMs)
      if (ready.snapshot !== null || ready.truncateFrom !== null) this.host.durableLogShrank()
    }
    if (tracing) {
      if (ready.snapshot !== null) this.host.trace(this.id, `installed snapshot ${ready.snapshot.id.endOffset}@${ready.snapshot.id.epoch}`)
      if (ready.truncateFrom !== null) this.host.trace(this.id, `truncated log from ${ready.truncateFrom}`)
      if (ready.entries.length > 0) {
        this.host.trace(this.id, `appended ${ready.entries[0].offset}..${ready.entries[ready.entries.length - 1].offset} (epoch ${ready.entries[ready.entries.length - 1].epoch})`)
      }
    }
    for (const m of ready.messages) {
      const body = m.body
      let tag: number
      if (isRequest(body)) {
        tag = this.incarnation
      } else {
        tag = this.requestTags.get(`${m.to}:${m.requestId}`) ?? -1
        if (body.type === 'vote_response' && body.voteGranted && !body.preVote && this.isVoter) {
          const hs = this.persistedHardState
          if (hs === null || hs.epoch < body.epoch || (hs.epoch === body.epoch && hs.votedFor !== m.to)) {
            checker.fail('ready_contract', `node ${this.id} sent a vote for ${m.to} in epoch ${body.epoch} that its persisted hard state does not hold ` +
              `(${hs === null ? 'none' : `epoch ${hs.epoch}, vote ${hs.votedFor ?? '-'}`})`, nowMs)
            return
          }
          checker.observeVoteGranted(this.id, body.epoch, m.to, nowMs)
        }
      }
      this.host.send(this, m, tag)
    }
    if (point === 'after_send') {
      if (tracing) this.host.trace(this.id, `crash after fsync and send, before apply (${ready.messages.length} messages sent)`)
      this.host.crashAt(this, point)
      return
    }
    const applying = ready.applySnapshot !== null || ready.committed.length > 0
    if (ready.applySnapshot !== null) {
      checker.observeApplySnapshot(this.id, ready.applySnapshot, nowMs)
      if (tracing) this.host.trace(this.id, `applied snapshot ${ready.applySnapshot.id.endOffset}@${ready.applySnapshot.id.epoch}`)
    }
    if (ready.committed.length > 0) {
      checker.observeCommitted(this.id, ready.committed, replica.status().epoch, nowMs)
      if (tracing) this.host.trace(this.id, `committed ${ready.committed[0].offset}..${ready.committed[ready.committed.length - 1].offset}`)
    }
    const completions = replica.applyAndAdvance(ready, nowMs)
    if (applying) checker.observeFingerprint(this.id, replica.appliedEndOffset(), replica.fingerprint(), nowMs)
    if (completions.length > 0) this.host.completed(this, completions)
    const snapshot = replica.snapshotDue(nowMs)
    if (snapshot !== null) {
      const err = this.store.saveLocalSnapshot(snapshot)
      if (err !== null) {
        checker.fail('store_error', `node ${this.id}: ${err.message}`, nowMs)
        return
      }
      this.snapshotsTaken++
      if (tracing) this.host.trace(this.id, `took snapshot ${snapshot.id.endOffset}@${snapshot.id.epoch} (${snapshot.data.length} bytes)`)
      replica.snapshotSaved(snapshot, nowMs)
    }
  }

  private observe(nowMs: number): void {
    const replica = this.replica
    if (replica === null) return
    const status = replica.status()
    const previous = this.role
    this.host.checker.observeStatus(status, previous, this.store.written, nowMs)
    if (status.role !== previous) {
      this.role = status.role
      if (this.host.tracing) {
        this.host.trace(this.id, `became ${status.role} in epoch ${status.epoch}` +
          (status.leaderId !== null && status.role !== 'leader' ? ` (leader ${status.leaderId})` : '') +
          ` hw ${status.highWatermark} log ${status.logStartOffset}..${status.logEndOffset}`)
      }
    }
  }
}

function describeWrites(ready: Ready): string {
  const parts: string[] = []
  if (ready.hardState !== null) parts.push(`hard state epoch ${ready.hardState.epoch} vote ${ready.hardState.votedFor ?? '-'}`)
  if (ready.snapshot !== null) parts.push(`snapshot ${ready.snapshot.id.endOffset}`)
  if (ready.truncateFrom !== null) parts.push(`truncate ${ready.truncateFrom}`)
  if (ready.entries.length > 0) parts.push(`${ready.entries.length} entries`)
  return parts.join(', ') || 'nothing'
}

function describeShort(m: RaftMessage): string {
  return `${m.body.type} from n${m.from} #${m.requestId}`
}

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const where = e.stack?.split('\n')[1]?.trim() ?? ''
    return `${e.name}: ${e.message}${where === '' ? '' : ` (${where})`}`
  }
  return String(e)
}
