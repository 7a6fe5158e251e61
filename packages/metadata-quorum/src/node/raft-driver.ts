/**
 * RaftDriver: the single loop that connects the pure controller (Raft core + controller state
 * machine) to real disk (RaftStore), the network (Transport), a real clock and real
 * randomness.
 *
 * One step of the loop, following the contract in raft/types.ts:
 *   1. feed what queued up into the controller: a finished snapshot save (snapshotTaken), a
 *      requested resign, then every queued Raft input (received messages, unreachable
 *      peers) in arrival order, then at most SUBMISSIONS_PER_PASS client submissions, then
 *      a due tick;
 *   2. if it hasReady(): take ready(); if the Ready writes anything, `await persist(ready)`
 *      (fsync when mustSync) through the StoreQueue;
 *   3. only then send ready.messages (persist before send: etcd-raft; Raft paper §5.1),
 *   4. advance(ready): completions settle the submissions waiting on those offsets;
 *   5. if the state machine offers a snapshot, start saving it and go on: the save runs
 *      behind the loop, and step 1 of a later pass feeds snapshotTaken() once it is durable.
 *
 * Why the tick goes last in step 1: while the loop waited on the disk, followers' fetches
 * queued up. Fed after the tick, a leader would judge check-quorum (KIP-595's fetch timeout)
 * without them and resign although every follower had fetched.
 *
 * Why Raft inputs and submissions queue apart: one shared queue let 2,000 concurrent client
 * requests fill it, so followers' fetches were dropped, and the pass that fed them all took
 * long enough for followers to miss the fetch timeout and the leader to resign. Raft inputs
 * are never crowded out by clients, and a burst of submissions is spread over several passes.
 *
 * Why a command that writes nothing can still wait: it was decided against the speculative
 * image, which holds uncommitted writes. Answering at once could tell a client "topic already
 * exists" about a topic whose record then never commits. QuorumController makes it wait for
 * the highest offset in flight (Kafka's ControllerWriteEvent), so several submissions may
 * wait on one offset.
 *
 * Why the snapshot save runs behind the loop: writing a large image can take hundreds of
 * milliseconds, longer than the fetch timeout; awaiting it stopped Raft from ticking,
 * receiving and answering. A Ready with nothing to write skips the store and goes out at
 * once; one that writes waits its turn behind the save (the store takes one call at a time).
 *
 * Invariants:
 *   - at most one Ready is in flight; inputs that arrive while it is persisted are queued
 *     (MAX_QUEUED_RAFT_INPUTS, MAX_QUEUED_SUBMISSIONS) and fed in before the next ready(), so
 *     the controller never sees an input between ready() and advance();
 *   - every submission accepted by submit() is answered exactly once: with its response, an
 *     error, or NOT_CONTROLLER when the loop stops before it was fed in or committed;
 *   - store calls never overlap and run in the order asked (StoreQueue): a Ready persisted
 *     after a snapshot save was started is written after that snapshot;
 *   - at most one snapshot save is outstanding, from takeSnapshot() until snapshotTaken();
 *     a save that finishes is always fed in (it does not go through the bounded input queue);
 *   - a failure of the store or a broken invariant in the core is fatal: the loop stops, the
 *     waiting submissions are answered, and onFatal tells the process to exit (a restart
 *     recovers from disk; after a failed fsync nothing in memory can be trusted).
 */
import type { Logger as PinoLogger } from 'pino'
import { ErrorCode, type NodeId } from '@tributary/protocol'
import type { Completion, SubmitResult } from '../controller/quorum-controller.js'
import type { ControllerCommand, ControllerResponse } from '../controller/types.js'
import type { MetadataImage } from '../image/metadata-image.js'
import type { RaftMessage, RaftRole, RaftStatus, Ready, Snapshot } from '../raft/types.js'
import type { RaftStore } from '../store/raft-store.js'
import type { Transport } from '../transport/transport.js'
import { errorResponse } from '../controller/controller-responses.js'
import { StoreQueue } from './store-queue.js'
import {
  MAX_PENDING_SUBMISSIONS,
  MAX_QUEUED_RAFT_INPUTS,
  MAX_QUEUED_SUBMISSIONS,
  SHUTDOWN_DRAIN_MS,
  SUBMISSIONS_PER_PASS,
  SUBMISSION_TIMEOUT_MS,
  TICK_INTERVAL_MS,
} from './node-limits.js'

/**
 * What the driver drives: QuorumController (which satisfies this structurally), seen through
 * a narrow interface so the loop can be tested with a scripted fake.
 */
export interface DrivenController {
  tick(nowMs: number): void
  receive(message: RaftMessage, nowMs: number): void
  submit(command: ControllerCommand, nowMs: number): SubmitResult
  peerUnreachable(peer: NodeId, nowMs: number): void
  resign(nowMs: number): void
  hasReady(): boolean
  ready(): Ready
  advance(ready: Ready, nowMs: number): readonly Completion[]
  /** A snapshot of the committed image the state machine wants persisted, or null. */
  takeSnapshot(nowMs: number): Snapshot | null
  snapshotTaken(snapshot: Snapshot, nowMs: number): void
  status(): RaftStatus
  committedImage(): MetadataImage
  isActive(): boolean
  /** BrokerSession stream events (issue 3 §5); absent on controllers that do not track sessions. */
  brokerSessionOpened?(brokerId: NodeId, brokerEpoch: bigint, nowMs: number): void
  brokerSessionClosed?(brokerId: NodeId, brokerEpoch: bigint, nowMs: number): void
}

export interface StateChange {
  readonly role: RaftRole
  readonly epoch: number
  readonly leaderId: NodeId | null
  /** A short human sentence: "became leader in epoch 3". */
  readonly sentence: string
}

export interface RaftDriverOptions {
  readonly store: RaftStore
  readonly transport: Transport
  readonly logger: PinoLogger
  /** Builds the controller from what the store recovered. */
  readonly createController: (persisted: Awaited<ReturnType<RaftStore['load']>>, nowMs: number) => DrivenController
  /** Milliseconds since the epoch; defaults to a monotonic clock anchored at Date.now(). */
  readonly clock?: () => number
  readonly tickIntervalMs?: number
  readonly onStateChange?: (change: StateChange) => void
  /** The loop stopped for good (store failure, broken invariant). The process should exit. */
  readonly onFatal?: (err: unknown) => void
  /**
   * The committed image changed (after a pass of the loop; several commits in one pass are
   * reported once, with the newest image). Called first with the image recovered at start
   * if it is not empty. Runs on the loop: it must be quick and must not throw.
   */
  readonly onCommittedImage?: (image: MetadataImage) => void
}

/**
 * Wall-clock milliseconds that never go backwards: Date.now() at start plus the monotonic
 * performance.now(). Raft timeouts must not jump when NTP steps the clock, and the
 * timestamps DescribeQuorum reports still read as epoch milliseconds.
 */
export function monotonicEpochClock(): () => number {
  const base = Date.now() - performance.now()
  return () => Math.floor(base + performance.now())
}

/** A submission accepted by submit() and not yet fed into the controller. */
interface QueuedSubmission {
  readonly command: ControllerCommand
  readonly resolve: (response: ControllerResponse) => void
}

/** A submission fed in, waiting for an offset to commit before `response` is sent. */
interface Waiter {
  readonly command: ControllerCommand
  readonly response: ControllerResponse
  readonly resolve: (response: ControllerResponse) => void
  timer: NodeJS.Timeout | null
}

type Input = (nowMs: number) => void

type Phase = 'running' | 'draining' | 'stopped' | 'failed'

export class RaftDriver {
  private readonly controller: DrivenController
  private readonly store: StoreQueue
  private readonly transport: Transport
  private readonly logger: PinoLogger
  private readonly clock: () => number
  private readonly onStateChange: (change: StateChange) => void
  private readonly onFatal: (err: unknown) => void
  private readonly onCommittedImage: ((image: MetadataImage) => void) | null
  /** The image last reported to onCommittedImage. */
  private publishedImage: MetadataImage | null = null
  /**
   * BrokerSession stream events, fed in order with the Raft inputs. Not dropped when many
   * queue: the controller counts open streams, so a lost event would unbalance it. The node
   * bounds the streams (MAX_BROKER_SESSION_STREAMS), and with them this queue.
   */
  private readonly sessionInputs: Input[] = []

  private phase: Phase = 'running'
  private readonly raftInputs: Input[] = []
  private readonly submissions: QueuedSubmission[] = []
  private resignRequested = false
  private tickDue = false
  private stepping = false
  private stepDone: Promise<void> = Promise.resolve()
  private readonly ticker: NodeJS.Timeout
  /** offset -> the submissions answered once it commits (several when commands wrote nothing). */
  private readonly waiting = new Map<number, Waiter[]>()
  private waiterCount = 0
  /** The snapshot being saved, from takeSnapshot() until snapshotTaken() is fed in. */
  private snapshotSaving: Snapshot | null = null
  /** snapshotSaving is durable; feedInputs() tells the controller. */
  private snapshotSaved = false
  private last: { role: RaftRole; epoch: number; leaderId: NodeId | null }

  /** Loads the store, builds the controller and starts ticking. */
  static async start(options: RaftDriverOptions): Promise<RaftDriver> {
    const clock = options.clock ?? monotonicEpochClock()
    const persisted = await options.store.load()
    const controller = options.createController(persisted, clock())
    return new RaftDriver(options, controller, clock)
  }

  private constructor(options: RaftDriverOptions, controller: DrivenController, clock: () => number) {
    this.controller = controller
    this.store = new StoreQueue(options.store)
    this.transport = options.transport
    this.clock = clock
    const status = controller.status()
    this.logger = options.logger.child({ component: 'raft-driver', nodeId: status.nodeId })
    this.onStateChange = options.onStateChange ?? (() => {})
    this.onFatal = options.onFatal ?? (() => {})
    this.onCommittedImage = options.onCommittedImage ?? null
    this.last = { role: status.role, epoch: status.epoch, leaderId: status.leaderId }
    this.logger.info({ role: status.role, epoch: status.epoch, logEndOffset: status.logEndOffset, highWatermark: status.highWatermark }, 'started')
    // The controller may already have changed role while it was built (a single voter elects
    // itself in createController): observeState() would never see that change, so report it.
    if (status.role !== 'unattached') {
      this.onStateChange({ role: status.role, epoch: status.epoch, leaderId: status.leaderId, sentence: describeState(status.role, status.epoch, status.leaderId) })
    }

    this.transport.setHandler({
      onMessage: (message) => this.enqueueRaftInput((now) => this.controller.receive(message, now), 'message'),
      onUnreachable: (peer, reason) => {
        this.logger.debug({ peer, reason }, 'peer unreachable')
        this.enqueueRaftInput((now) => this.controller.peerUnreachable(peer, now), 'unreachable')
      },
    })
    const tickIntervalMs = options.tickIntervalMs ?? TICK_INTERVAL_MS
    this.ticker = setInterval(() => {
      this.tickDue = true
      this.schedule()
    }, tickIntervalMs)
    this.schedule()
  }

  // ---- public API ----------------------------------------------------------------------

  /**
   * Runs a controller command. Resolves with the command's response once the offset it
   * waits on is committed (its own records, or when it writes none, whatever was in flight
   * when it was decided; at once if nothing was); a node that is not the active controller
   * answers NOT_CONTROLLER with the leader it knows of; a controller with too many requests
   * queued answers the retriable REQUEST_TIMED_OUT.
   */
  submit(command: ControllerCommand): Promise<ControllerResponse> {
    if (this.phase !== 'running') return Promise.resolve(this.notController(command))
    if (!this.controller.isActive()) return Promise.resolve(this.notController(command))
    const queued = this.submissions.length
    if (queued >= MAX_QUEUED_SUBMISSIONS || queued + this.waiterCount >= MAX_PENDING_SUBMISSIONS) {
      this.logger.warn({ waiting: this.waiterCount, queued }, 'refused a submission: too many waiting')
      return Promise.resolve(errorResponse(command, ErrorCode.REQUEST_TIMED_OUT.code, 'the controller has too many requests in flight', this.controller.status().leaderId))
    }
    return new Promise((resolve) => {
      this.submissions.push({ command, resolve })
      this.schedule()
    })
  }

  status(): RaftStatus {
    return this.controller.status()
  }

  /** The committed metadata image (what DescribeMetadata serves). */
  image(): MetadataImage {
    return this.controller.committedImage()
  }

  /** True while this node is the active controller (leader, caught up on its own epoch). */
  isActiveController(): boolean {
    return this.phase === 'running' && this.controller.isActive()
  }

  get isRunning(): boolean {
    return this.phase === 'running'
  }

  /** A broker opened a BrokerSession stream to this node. */
  brokerSessionOpened(brokerId: NodeId, brokerEpoch: bigint): void {
    this.enqueueSessionInput((now) => this.controller.brokerSessionOpened?.(brokerId, brokerEpoch, now))
  }

  /** A stream reported with brokerSessionOpened ended (the broker went away, or the call was cancelled). */
  brokerSessionClosed(brokerId: NodeId, brokerEpoch: bigint): void {
    this.enqueueSessionInput((now) => this.controller.brokerSessionClosed?.(brokerId, brokerEpoch, now))
  }

  /**
   * Clean shutdown: a leader resigns (EndQuorumEpoch, KIP-595) and the loop keeps running for
   * SHUTDOWN_DRAIN_MS so the other voters hear it; then ticking stops, waiting submissions
   * are answered NOT_CONTROLLER, and the transport and store close.
   */
  async close(drainMs: number = SHUTDOWN_DRAIN_MS): Promise<void> {
    if (this.phase === 'stopped') return
    if (this.phase === 'running') {
      this.phase = 'draining'
      if (this.controller.status().role === 'leader') {
        this.logger.info({ epoch: this.controller.status().epoch }, 'resigning leadership')
        this.resignRequested = true
        this.schedule()
        await sleep(drainMs)
      }
    }
    clearInterval(this.ticker)
    const wasFailed = this.phase === 'failed'
    this.phase = 'stopped'
    // The loop feeds nothing more: answer what was never fed in now, not after a slow persist.
    this.refuseQueuedSubmissions()
    await this.stepDone
    this.failAllPending()
    await this.transport.close()
    // Waits for a snapshot save still running behind the loop.
    await this.store.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the store failed'))
    if (!wasFailed) this.logger.info({}, 'stopped')
  }

  // ---- the loop ------------------------------------------------------------------------

  private enqueueRaftInput(input: Input, what: string): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return
    if (this.raftInputs.length >= MAX_QUEUED_RAFT_INPUTS) {
      // Dropping a message is always safe in Raft; the sender retries.
      this.logger.warn({ what, limit: MAX_QUEUED_RAFT_INPUTS }, 'dropped an input: the queue is full')
      return
    }
    this.raftInputs.push(input)
    this.schedule()
  }

  private enqueueSessionInput(input: Input): void {
    if (this.phase === 'stopped' || this.phase === 'failed') return
    this.sessionInputs.push(input)
    this.schedule()
  }

  private hasWork(): boolean {
    return this.sessionInputs.length > 0 || this.raftInputs.length > 0 || this.submissions.length > 0 || this.tickDue || this.snapshotSaved || this.resignRequested
  }

  private schedule(): void {
    if (this.stepping || this.phase === 'stopped' || this.phase === 'failed') return
    this.stepping = true
    this.stepDone = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.run().finally(() => {
          this.stepping = false
          resolve()
          if (this.hasWork()) this.schedule()
        })
      })
    })
  }

  private async run(): Promise<void> {
    try {
      while (this.phase === 'running' || this.phase === 'draining') {
        this.feedInputs()
        if (!this.controller.hasReady()) break
        const ready = this.controller.ready()
        // Nothing to write, nothing to wait for: the messages of such a Ready depend only on
        // earlier Readies, all durable by now, so they need not queue behind a snapshot save.
        if (writesSomething(ready)) await this.store.persist(ready)
        for (const message of ready.messages) this.transport.send(message)
        const completions = this.controller.advance(ready, this.clock())
        for (const c of completions) this.settle(c.offset, c.outcome)
        this.maybeStartSnapshot()
        this.observeState()
        this.publishImage()
      }
      this.observeState()
      this.publishImage()
    } catch (err) {
      this.fail(err)
    }
  }

  private feedInputs(): void {
    const now = this.clock()
    if (this.snapshotSaved && this.snapshotSaving !== null) {
      const snapshot = this.snapshotSaving
      this.snapshotSaving = null
      this.snapshotSaved = false
      this.controller.snapshotTaken(snapshot, now)
    }
    if (this.resignRequested) {
      this.resignRequested = false
      this.controller.resign(now)
    }
    // Everything that queued while the loop waited goes in before the tick (see the module
    // header); Raft inputs first and all of them, submissions after and a bounded number.
    // Inputs queued by callbacks that fire during this loop wait for the next pass.
    const batch = this.raftInputs.splice(0, this.raftInputs.length)
    for (const input of batch) input(now)
    for (const input of this.sessionInputs.splice(0, this.sessionInputs.length)) input(now)
    for (const s of this.submissions.splice(0, SUBMISSIONS_PER_PASS)) this.feedSubmission(s, now)
    if (this.tickDue) {
      this.tickDue = false
      // A node draining for shutdown keeps answering (it grants votes, so a successor is
      // elected fast) but stops its timers: it must not stand for election itself.
      if (this.phase === 'running') this.controller.tick(now)
    }
  }

  private feedSubmission(s: QueuedSubmission, now: number): void {
    const outcome = this.controller.submit(s.command, now)
    switch (outcome.kind) {
      case 'not_controller':
        s.resolve(errorResponse(s.command, ErrorCode.NOT_CONTROLLER.code, undefined, outcome.leaderId))
        return
      case 'done':
        s.resolve(outcome.response)
        return
      case 'pending': {
        const waiter: Waiter = { command: s.command, response: outcome.response, resolve: s.resolve, timer: null }
        const timer = setTimeout(() => this.timeOut(outcome.offset, waiter), SUBMISSION_TIMEOUT_MS)
        timer.unref()
        waiter.timer = timer
        const list = this.waiting.get(outcome.offset)
        if (list === undefined) this.waiting.set(outcome.offset, [waiter])
        else list.push(waiter)
        this.waiterCount++
      }
    }
  }

  /** Starts saving the snapshot the controller offers, if any; the loop does not wait. */
  private maybeStartSnapshot(): void {
    if (this.snapshotSaving !== null) return
    const snapshot = this.controller.takeSnapshot(this.clock())
    if (snapshot === null) return
    this.snapshotSaving = snapshot
    const startedMs = this.clock()
    this.store.saveSnapshot(snapshot).then(
      () => {
        this.logger.info(
          { endOffset: snapshot.id.endOffset, epoch: snapshot.id.epoch, bytes: snapshot.data.byteLength, saveMs: this.clock() - startedMs },
          'saved a snapshot',
        )
        this.snapshotSaved = true
        this.schedule()
      },
      (err: unknown) => {
        // The store is failed for good (raft-store.ts): so is the node.
        if (this.phase === 'stopped') this.logger.warn({ err }, 'a snapshot save failed while stopping')
        else this.fail(err)
      },
    )
  }

  private observeState(): void {
    const s = this.controller.status()
    const last = this.last
    if (s.role === last.role && s.epoch === last.epoch && s.leaderId === last.leaderId) return
    this.last = { role: s.role, epoch: s.epoch, leaderId: s.leaderId }
    const fields = { role: s.role, epoch: s.epoch, leaderId: s.leaderId, previousRole: last.role, previousEpoch: last.epoch }
    if (s.role !== last.role) this.logger.info(fields, `became ${s.role}`)
    else this.logger.info(fields, 'leader changed')
    this.onStateChange({ role: s.role, epoch: s.epoch, leaderId: s.leaderId, sentence: describeState(s.role, s.epoch, s.leaderId) })
  }

  private publishImage(): void {
    if (this.onCommittedImage === null) return
    const image = this.controller.committedImage()
    if (image === this.publishedImage) return
    if (this.publishedImage === null && image.offset < 0) return
    this.publishedImage = image
    try {
      this.onCommittedImage(image)
    } catch (err) {
      // A listener's bug must not stop the Raft loop.
      this.logger.error({ err, offset: image.offset }, 'an onCommittedImage listener threw')
    }
  }

  private settle(offset: number, outcome: Completion['outcome']): void {
    const list = this.waiting.get(offset)
    if (list === undefined) return
    this.waiting.delete(offset)
    this.waiterCount -= list.length
    for (const w of list) {
      if (w.timer !== null) clearTimeout(w.timer)
      if (outcome === 'committed') w.resolve(w.response)
      else w.resolve(this.notController(w.command))
    }
  }

  private timeOut(offset: number, waiter: Waiter): void {
    const list = this.waiting.get(offset)
    const i = list === undefined ? -1 : list.indexOf(waiter)
    if (list === undefined || i < 0) return
    list.splice(i, 1)
    if (list.length === 0) this.waiting.delete(offset)
    this.waiterCount--
    this.logger.warn({ offset, timeoutMs: SUBMISSION_TIMEOUT_MS }, 'a submission timed out')
    waiter.resolve(errorResponse(waiter.command, ErrorCode.REQUEST_TIMED_OUT.code, 'the records were not committed in time', this.controller.status().leaderId))
  }

  /** Submissions never fed in: the loop has stopped, so no controller will decide them. */
  private refuseQueuedSubmissions(): void {
    for (const s of this.submissions.splice(0, this.submissions.length)) s.resolve(this.notController(s.command))
  }

  private failAllPending(): void {
    this.refuseQueuedSubmissions()
    for (const offset of [...this.waiting.keys()]) this.settle(offset, 'failed')
  }

  private notController(command: ControllerCommand): ControllerResponse {
    const s = this.controller.status()
    // A leader that is shutting down is no longer a useful hint.
    const leaderId = this.phase === 'running' || s.leaderId !== s.nodeId ? s.leaderId : null
    return errorResponse(command, ErrorCode.NOT_CONTROLLER.code, undefined, leaderId)
  }

  private fail(err: unknown): void {
    if (this.phase === 'failed' || this.phase === 'stopped') return
    this.phase = 'failed'
    clearInterval(this.ticker)
    this.logger.error({ err }, 'the driver loop failed; the node must restart')
    this.failAllPending()
    this.onFatal(err)
  }
}

export function describeState(role: RaftRole, epoch: number, leaderId: NodeId | null): string {
  switch (role) {
    case 'leader': return `became leader in epoch ${epoch}`
    case 'follower': return `following leader ${leaderId ?? 'none'} in epoch ${epoch}`
    case 'candidate': return `became candidate in epoch ${epoch}`
    case 'prospective': return `became prospective (pre-vote) in epoch ${epoch}`
    case 'voted': return `voted in epoch ${epoch}`
    case 'unattached': return `unattached in epoch ${epoch}`
    case 'resigned': return `resigned leadership in epoch ${epoch}`
  }
}

/** True if persisting the Ready touches the store (the contract's step 1). */
function writesSomething(ready: Ready): boolean {
  return ready.mustSync || ready.snapshot !== null || ready.truncateFrom !== null || ready.entries.length > 0 || ready.hardState !== null
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
