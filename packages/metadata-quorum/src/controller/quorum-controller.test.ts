/**
 * QuorumController over the real RaftCore: three nodes and an in-test router that delivers
 * every message at once (or drops it for isolated nodes), persists each Ready in memory, and
 * advances a shared clock in 10 ms steps. The stories: elect, activate, serve commands on the
 * active controller only, fail pending submissions on leadership loss, fence expired brokers,
 * snapshot, restart and catch up.
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode, type NodeId } from '@tributary/protocol'
import { DEFAULT_RAFT_TIMING, type HardState, type PersistentState, type RaftEntry, type RaftMessage, type Snapshot } from '../raft/types.js'
import { silentLogger } from '../util/logger.js'
import { SeededRandom } from '../util/random.js'
import { type Completion, MAX_RECORD_BATCH_BYTES, QuorumController, type SubmitResult } from './quorum-controller.js'
import { type ControllerCommand, type ControllerConfig, type ControllerResponse, DEFAULT_CONTROLLER_CONFIG } from './types.js'

const VOTERS = [1, 2, 3] as NodeId[]
const STEP_MS = 10

interface Disk {
  hardState: HardState
  snapshot: Snapshot | null
  entries: RaftEntry[]
}

class Node {
  qc: QuorumController
  readonly disk: Disk = { hardState: { epoch: 0, votedFor: null, leaderId: null }, snapshot: null, entries: [] }
  readonly completions: Completion[] = []
  snapshotsTaken = 0
  readonly snapshotTimesMs: number[] = []
  /** Entry data bytes applied since the last snapshot, counted by the harness on its own. */
  bytesSinceSnapshot = 0
  /** Every takeSnapshot() call after an advance: the harness's count then, and the answer. */
  readonly snapshotChecks: Array<{ bytesSince: number; taken: boolean }> = []

  constructor(readonly id: NodeId, private readonly config: ControllerConfig, private readonly seed: number, nowMs: number) {
    this.qc = this.boot(nowMs)
  }

  boot(nowMs: number): QuorumController {
    const persisted: PersistentState = { hardState: this.disk.hardState, snapshot: this.disk.snapshot, entries: [...this.disk.entries] }
    this.qc = new QuorumController({
      raft: { nodeId: this.id, voters: VOTERS, ...DEFAULT_RAFT_TIMING },
      controller: this.config,
      persisted,
      random: new SeededRandom(this.seed * 1000 + this.disk.entries.length),
      logger: silentLogger,
      nowMs,
    })
    return this.qc
  }

  /** Drains every Ready: persist, hand out messages, advance; then snapshot if due. */
  drain(nowMs: number, send: (m: RaftMessage) => void): void {
    for (let guard = 0; this.qc.hasReady(); guard++) {
      expect(guard).toBeLessThan(1000)
      const ready = this.qc.ready()
      const d = this.disk
      if (ready.snapshot !== null) {
        d.snapshot = ready.snapshot
        d.entries = []
      }
      if (ready.truncateFrom !== null) d.entries = d.entries.filter((e) => e.offset < ready.truncateFrom!)
      d.entries.push(...ready.entries)
      if (ready.hardState !== null) d.hardState = ready.hardState
      for (const m of ready.messages) send(m)
      this.completions.push(...this.qc.advance(ready, nowMs))
      if (ready.applySnapshot !== null) this.bytesSinceSnapshot = 0
      for (const e of ready.committed) this.bytesSinceSnapshot += e.data.byteLength
      const snapshot = this.qc.takeSnapshot(nowMs)
      this.snapshotChecks.push({ bytesSince: this.bytesSinceSnapshot, taken: snapshot !== null })
      if (snapshot !== null) {
        this.bytesSinceSnapshot = 0
        d.snapshot = snapshot
        d.entries = d.entries.filter((e) => e.offset >= snapshot.id.endOffset)
        this.qc.snapshotTaken(snapshot, nowMs)
        this.snapshotsTaken++
        this.snapshotTimesMs.push(nowMs)
      }
    }
  }
}

class Cluster {
  nowMs = 0
  readonly nodes: Node[]
  readonly isolated = new Set<NodeId>()
  private queue: RaftMessage[] = []

  constructor(config: Partial<ControllerConfig> = {}, seed = 1) {
    const controllerConfig: ControllerConfig = { ...DEFAULT_CONTROLLER_CONFIG, defaultReplicationFactor: 1, ...config }
    this.nodes = VOTERS.map((id) => new Node(id, controllerConfig, seed + id, this.nowMs))
  }

  node(id: number): Node {
    return this.nodes[id - 1]
  }

  step(): void {
    for (const n of this.nodes) n.drain(this.nowMs, (m) => this.queue.push(m))
    const deliver = this.queue
    this.queue = []
    for (const m of deliver) {
      if (this.isolated.has(m.from) || this.isolated.has(m.to)) continue
      this.node(m.to).qc.receive(m, this.nowMs)
    }
    for (const n of this.nodes) n.drain(this.nowMs, (m) => this.queue.push(m))
    this.nowMs += STEP_MS
    for (const n of this.nodes) n.qc.tick(this.nowMs)
  }

  runUntil(what: string, done: () => boolean, maxMs = 10_000): void {
    const until = this.nowMs + maxMs
    while (!done()) {
      if (this.nowMs > until) throw new Error(`timed out (simulated ${maxMs} ms) waiting for: ${what}`)
      this.step()
    }
  }

  runFor(ms: number): void {
    const until = this.nowMs + ms
    while (this.nowMs < until) this.step()
  }

  active(): Node | undefined {
    const actives = this.nodes.filter((n) => n.qc.isActive() && !this.isolated.has(n.id))
    expect(actives.length).toBeLessThanOrEqual(1)
    return actives[0]
  }

  awaitActive(): Node {
    this.runUntil('an active controller', () => this.active() !== undefined)
    return this.active()!
  }

  /** Submits on `node` and runs until the submission completes; returns the released response. */
  execute(node: Node, command: ControllerCommand): { submit: SubmitResult; response: ControllerResponse | null } {
    const submit = node.qc.submit(command, this.nowMs)
    if (submit.kind === 'not_controller') return { submit, response: null }
    if (submit.kind === 'done') return { submit, response: submit.response }
    let outcome: Completion | undefined
    this.runUntil(`completion of offset ${submit.offset}`, () => (outcome = node.completions.find((c) => c.offset === submit.offset)) !== undefined)
    return { submit, response: outcome!.outcome === 'committed' ? submit.response : null }
  }

  fingerprints(ids: number[] = [1, 2, 3]): string[] {
    return ids.map((id) => this.node(id).qc.committedImage().fingerprint())
  }

  converged(ids: number[] = [1, 2, 3]): boolean {
    const offsets = ids.map((id) => this.node(id).qc.committedImage().offset)
    return new Set(this.fingerprints(ids)).size === 1 && new Set(offsets).size === 1
  }
}

const register = (brokerId: number, rack = ''): ControllerCommand => ({
  type: 'register_broker',
  request: { brokerId, incarnationId: `inc-${brokerId}`, endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }], rack },
})
const heartbeat = (brokerId: number, brokerEpoch: bigint, currentMetadataOffset: bigint): ControllerCommand => ({
  type: 'broker_heartbeat',
  request: { brokerId, brokerEpoch, currentMetadataOffset, wantFence: false, wantShutdown: false },
})
const createTopic = (name: string, numPartitions = 3): ControllerCommand => ({
  type: 'create_topics',
  request: { topics: [{ name, numPartitions, replicationFactor: 1, configs: {} }], validateOnly: false },
})

function brokerEpochOf(response: ControllerResponse | null): bigint {
  expect(response?.type).toBe('register_broker')
  if (response?.type !== 'register_broker') throw new Error('unreachable')
  expect(response.response.errorCode).toBe(0)
  return response.response.brokerEpoch
}

function createError(response: ControllerResponse | null): number {
  if (response?.type !== 'create_topics') throw new Error(`expected a create_topics response, got ${response?.type}`)
  return response.response.topics[0].errorCode
}

/** Registers and unfences a broker through the active controller. */
function addBroker(c: Cluster, leader: Node, brokerId: number): bigint {
  const epoch = brokerEpochOf(c.execute(leader, register(brokerId)).response)
  const hb = c.execute(leader, heartbeat(brokerId, epoch, epoch)).response
  expect(hb?.type === 'broker_heartbeat' && hb.response.isFenced).toBe(false)
  return epoch
}

describe('QuorumController', () => {
  it('activates only the Raft leader, once its leader_change entry is applied', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    const status = leader.qc.status()
    expect(status.role).toBe('leader')
    expect(leader.qc.stateMachine.activeEpoch).toBe(status.epoch)
    // The leader_change entry is the last entry, and it is applied.
    expect(leader.qc.committedImage().offset).toBe(status.logEndOffset - 1)
    for (const n of c.nodes) if (n !== leader) expect(n.qc.isActive()).toBe(false)
  })

  it('answers not_controller with a leader hint on a follower', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    c.runFor(500) // let the followers learn the leader
    const follower = c.nodes.find((n) => n !== leader)!
    expect(follower.qc.submit(createTopic('orders'), c.nowMs)).toEqual({ kind: 'not_controller', leaderId: leader.id })
  })

  it('releases responses once committed, and every node replays the same image', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    const created = c.execute(leader, createTopic('orders', 4))
    expect(created.submit.kind).toBe('pending')
    expect(createError(created.response)).toBe(0)
    c.runUntil('all nodes converge', () => c.converged())
    const image = c.node(1).qc.committedImage()
    expect(image.topic('orders')?.partitions.size).toBe(4)
    expect(image.isActiveBroker(100 as NodeId)).toBe(true)
  })

  it('decides back-to-back commands against its own uncommitted writes', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    const first = leader.qc.submit(createTopic('orders'), c.nowMs)
    const second = leader.qc.submit(createTopic('orders'), c.nowMs)
    if (first.kind !== 'pending') throw new Error(`expected pending, got ${first.kind}`)
    // The refusal was decided against the uncommitted create: it waits for that offset.
    expect(second).toMatchObject({ kind: 'pending', offset: first.offset, epoch: first.epoch })
    expect(createError(second.kind === 'pending' ? second.response : null)).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code)
    c.runUntil('the first create commits', () => leader.completions.some((x) => x.offset === first.offset))
    expect(leader.completions.filter((x) => x.offset === first.offset)).toEqual([{ offset: first.offset, outcome: 'committed' }])
    // Nothing in flight any more: a command that writes nothing is answered at once.
    const third = leader.qc.submit(createTopic('orders'), c.nowMs)
    expect(third.kind).toBe('done')
    expect(createError(third.kind === 'done' ? third.response : null)).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code)
  })

  it('fails a command that wrote nothing with the write it waited on when leadership is lost', () => {
    const c = new Cluster()
    const old = c.awaitActive()
    const epoch = addBroker(c, old, 100)
    c.isolated.add(old.id)
    const create = old.qc.submit(createTopic('lost'), c.nowMs)
    const duplicate = old.qc.submit(createTopic('lost'), c.nowMs)
    const hb = old.qc.submit(heartbeat(100, epoch, epoch), c.nowMs)
    if (create.kind !== 'pending') throw new Error(`expected pending, got ${create.kind}`)
    expect(duplicate).toMatchObject({ kind: 'pending', offset: create.offset })
    expect(hb).toMatchObject({ kind: 'pending', offset: create.offset })
    c.runUntil('the isolated leader fails its writes', () => old.completions.some((x) => x.offset === create.offset))
    expect(old.completions.filter((x) => x.offset === create.offset)).toEqual([{ offset: create.offset, outcome: 'failed' }])
    c.isolated.delete(old.id)
    c.runUntil('all nodes converge', () => c.converged())
    expect(old.qc.committedImage().topic('lost')).toBeUndefined()
  })

  it('refuses a write whose record batch exceeds MAX_RECORD_BATCH_BYTES, writing nothing', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    const before = leader.qc.status().logEndOffset
    const refused = leader.qc.submit(register(200, 'r'.repeat(MAX_RECORD_BATCH_BYTES)), c.nowMs)
    expect(refused.kind).toBe('done')
    if (refused.kind !== 'done' || refused.response.type !== 'register_broker') throw new Error('expected a register_broker answer')
    expect(refused.response.response.errorCode).toBe(ErrorCode.RECORD_LIST_TOO_LARGE.code)
    expect(refused.response.response.brokerEpoch).toBe(-1n)
    expect(leader.qc.status().logEndOffset).toBe(before)
    // Still the active controller, and its speculative image no longer holds broker 200.
    expect(leader.qc.isActive()).toBe(true)
    expect(leader.qc.stateMachine.speculativeImage.brokers.has(200 as NodeId)).toBe(false)
    brokerEpochOf(c.execute(leader, register(200)).response)
    c.runUntil('all nodes converge', () => c.converged())
    expect(c.node(1).qc.committedImage().brokers.get(200 as NodeId)?.rack).toBe('')
  })

  it('fails the writes in flight when it must drop an oversized one (the image cannot undo one write)', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    const inFlight = leader.qc.submit(createTopic('orders'), c.nowMs)
    if (inFlight.kind !== 'pending') throw new Error(`expected pending, got ${inFlight.kind}`)
    const refused = leader.qc.submit(register(200, 'r'.repeat(MAX_RECORD_BATCH_BYTES)), c.nowMs)
    expect(refused.kind === 'done' && refused.response.response.errorCode).toBe(ErrorCode.RECORD_LIST_TOO_LARGE.code)
    c.runUntil('the in-flight write completes', () => leader.completions.some((x) => x.offset === inFlight.offset))
    expect(leader.completions.find((x) => x.offset === inFlight.offset)?.outcome).toBe('failed')
    // It committed all the same (a retry sees it), and the controller is active again.
    c.runUntil('the leader is active again', () => leader.qc.isActive())
    expect(leader.qc.committedImage().topic('orders')).toBeDefined()
    expect(leader.qc.committedImage().brokers.has(200 as NodeId)).toBe(false)
  })

  it('fails pending submissions when leadership is lost, and a new leader takes over', () => {
    const c = new Cluster()
    const old = c.awaitActive()
    addBroker(c, old, 100)
    c.isolated.add(old.id)
    const lost = old.qc.submit(createTopic('lost'), c.nowMs)
    expect(lost.kind).toBe('pending')
    if (lost.kind !== 'pending') throw new Error('unreachable')
    // Check-quorum makes the isolated leader resign; its pending write fails.
    c.runUntil('the isolated leader fails its submission', () => old.completions.some((x) => x.offset === lost.offset))
    expect(old.completions.find((x) => x.offset === lost.offset)?.outcome).toBe('failed')
    expect(old.qc.isActive()).toBe(false)
    const fresh = c.awaitActive()
    expect(fresh).not.toBe(old)
    expect(createError(c.execute(fresh, createTopic('after')).response)).toBe(0)
    c.isolated.delete(old.id)
    c.runUntil('all nodes converge', () => c.converged())
    const image = old.qc.committedImage()
    expect(image.topic('lost')).toBeUndefined()
    expect(image.topic('after')).toBeDefined()
  })

  it('resign deactivates at once and fails what is pending', () => {
    const c = new Cluster()
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    const pending = leader.qc.submit(createTopic('orders'), c.nowMs)
    if (pending.kind !== 'pending') throw new Error('expected pending')
    leader.qc.resign(c.nowMs)
    expect(leader.qc.isActive()).toBe(false)
    expect(leader.qc.hasReady()).toBe(true)
    leader.drain(c.nowMs, () => {})
    expect(leader.completions).toContainEqual({ offset: pending.offset, outcome: 'failed' })
    expect(leader.qc.submit(createTopic('x'), c.nowMs).kind).toBe('not_controller')
  })

  it('fences a broker that stops heartbeating, on every node', () => {
    const c = new Cluster({ brokerSessionTimeoutMs: 2000 })
    const leader = c.awaitActive()
    const epochA = addBroker(c, leader, 100)
    const start = c.nowMs // broker 200's last contact is after this
    addBroker(c, leader, 200)
    // Broker 100 keeps heartbeating; broker 200 goes silent.
    c.runUntil('broker 200 is fenced everywhere', () => {
      if ((c.nowMs - start) % 500 === 0) leader.qc.submit(heartbeat(100, epochA, BigInt(leader.qc.committedImage().offset)), c.nowMs)
      return c.nodes.every((n) => n.qc.committedImage().brokers.get(200 as NodeId)?.fenced === true)
    })
    expect(c.nowMs - start).toBeGreaterThan(2000)
    for (const n of c.nodes) expect(n.qc.committedImage().isActiveBroker(100 as NodeId)).toBe(true)
  })

  it('takes snapshots, compacts the log, and a restarted or lagging node rebuilds the same image', () => {
    const c = new Cluster({ snapshotIntervalBytes: 200, snapshotIntervalMs: 0 })
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    const lagging = c.nodes.find((n) => n !== leader)!
    c.isolated.add(lagging.id)
    for (let i = 0; i < 12; i++) expect(createError(c.execute(leader, createTopic(`t${i}`, 2)).response)).toBe(0)
    expect(leader.snapshotsTaken).toBeGreaterThan(0)
    expect(leader.qc.status().logStartOffset).toBeGreaterThan(0)

    // A node restarted from its disk (snapshot + log suffix) gets back to the same image.
    const restarted = c.nodes.find((n) => n !== leader && n !== lagging)!
    restarted.boot(c.nowMs)
    c.runUntil('the restarted node converges', () => c.converged([leader.id, restarted.id]))

    // The isolated node is behind the leader's log start: it catches up with FetchSnapshot.
    expect(lagging.qc.committedImage().offset).toBeLessThan(leader.qc.status().logStartOffset)
    c.isolated.delete(lagging.id)
    c.runUntil('the lagging node converges', () => c.converged())
    expect(lagging.qc.committedImage().topicsByName.size).toBe(12)
  })
  it('snapshots once the entry data since the last snapshot reaches snapshotIntervalBytes, not before', () => {
    const thresholdBytes = 300
    const c = new Cluster({ snapshotIntervalBytes: thresholdBytes, snapshotIntervalMs: 0 })
    const leader = c.awaitActive()
    const epoch = addBroker(c, leader, 100)
    // Small entries (heartbeats that fence and unfence) and large ones (many partitions).
    for (let i = 0; i < 6; i++) {
      expect(createError(c.execute(leader, createTopic(`big${i}`, 12)).response)).toBe(0)
      c.execute(leader, { type: 'broker_heartbeat', request: { brokerId: 100, brokerEpoch: epoch, currentMetadataOffset: 0n, wantFence: true, wantShutdown: false } })
      c.execute(leader, heartbeat(100, epoch, epoch))
    }
    c.runUntil('all nodes converge', () => c.converged())
    for (const n of c.nodes) {
      expect(n.snapshotsTaken).toBeGreaterThan(0)
      for (const check of n.snapshotChecks) expect(check.taken).toBe(check.bytesSince >= thresholdBytes)
    }
  })

  it('snapshots after snapshotIntervalMs when something was committed, and not when nothing was', () => {
    const intervalMs = 1000
    // A session that never expires: no fencing writes of the controller's own.
    const c = new Cluster({ snapshotIntervalBytes: 1 << 30, snapshotIntervalMs: intervalMs, brokerSessionTimeoutMs: 1e9 })
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    expect(createError(c.execute(leader, createTopic('orders')).response)).toBe(0)
    c.runUntil('every node takes a snapshot on time', () => c.nodes.every((n) => n.snapshotsTaken === 1), 2 * intervalMs)
    // Nothing is committed from here on: no further snapshot, however long we wait.
    c.runFor(5 * intervalMs)
    for (const n of c.nodes) expect(n.snapshotsTaken).toBe(1)
    expect(createError(c.execute(leader, createTopic('later')).response)).toBe(0)
    c.runUntil('a second snapshot on the leader', () => leader.snapshotsTaken === 2, 2 * intervalMs)
    expect(leader.snapshotTimesMs[1]! - leader.snapshotTimesMs[0]!).toBeGreaterThanOrEqual(intervalMs)
  })

  it('turns the time trigger off with snapshotIntervalMs 0', () => {
    const c = new Cluster({ snapshotIntervalBytes: 1 << 30, snapshotIntervalMs: 0, brokerSessionTimeoutMs: 1e9 })
    const leader = c.awaitActive()
    addBroker(c, leader, 100)
    expect(createError(c.execute(leader, createTopic('orders')).response)).toBe(0)
    c.runFor(10_000)
    for (const n of c.nodes) expect(n.snapshotsTaken).toBe(0)
  })
})
