import { afterEach, describe, expect, it } from 'vitest'
import pino from 'pino'
import { ErrorCode, type NodeId } from '@tributary/protocol'
import type { ControllerCommand, ControllerResponse } from '../controller/types.js'
import { MetadataImage } from '../image/metadata-image.js'
import {
  EMPTY_PERSISTENT_STATE,
  type PersistentState,
  type RaftMessage,
  type RaftRole,
  type RaftStatus,
  type Ready,
  type Snapshot,
} from '../raft/types.js'
import type { RaftStore } from '../store/raft-store.js'
import type { Transport, TransportHandler } from '../transport/transport.js'
import type { Completion, SubmitResult } from '../controller/quorum-controller.js'
import { RaftDriver, type DrivenController, type StateChange } from './raft-driver.js'
import { MAX_QUEUED_SUBMISSIONS, SUBMISSIONS_PER_PASS } from './node-limits.js'

const n = (id: number): NodeId => id as NodeId
const logger = pino({ level: 'silent' })

function emptyReady(over: Partial<Ready> = {}): Ready {
  return { snapshot: null, truncateFrom: null, entries: [], hardState: null, mustSync: false, messages: [], applySnapshot: null, committed: [], ...over }
}

function message(to: number, requestId: number): RaftMessage {
  return { from: n(1), to: n(to), requestId, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 1 } }
}

/** A scripted controller: tests push Readies and completions; every call is recorded. */
class FakeController implements DrivenController {
  readonly calls: string[] = []
  readonly readies: Ready[] = []
  completions: Completion[] = []
  role: RaftRole = 'follower'
  leaderId: NodeId | null = n(2)
  epoch = 1
  nextOffset = 10
  snapshot: Snapshot | null = null
  inFlight = false
  /** Scripted answers for submit(); when empty, each submission is pending at a new offset. */
  readonly submitResults: SubmitResult[] = []
  /** Submissions fed in each pass of the loop (recorded at every hasReady()). */
  readonly submitsPerPass: number[] = []
  private submitsThisPass = 0

  private note(call: string): void {
    // The driver must never feed an input between ready() and advance().
    if (this.inFlight && !call.startsWith('advance')) throw new Error(`${call} while a Ready is in flight`)
    this.calls.push(call)
  }

  tick(): void { this.note('tick') }
  receive(m: RaftMessage): void { this.note(`receive ${m.from}:${m.requestId}`) }
  submit(command: ControllerCommand): SubmitResult {
    this.note(`submit ${command.type}`)
    this.submitsThisPass++
    if (this.role !== 'leader') return { kind: 'not_controller', leaderId: this.leaderId }
    const scripted = this.submitResults.shift()
    if (scripted !== undefined) return scripted
    return { kind: 'pending', offset: this.nextOffset++, epoch: this.epoch, response: okCreateTopics() }
  }
  peerUnreachable(peer: NodeId): void { this.note(`unreachable ${peer}`) }
  resign(): void {
    this.note('resign')
    this.readies.push(emptyReady({ messages: [message(2, 99)] }))
  }
  hasReady(): boolean {
    if (this.submitsThisPass > 0) this.submitsPerPass.push(this.submitsThisPass)
    this.submitsThisPass = 0
    return this.readies.length > 0
  }
  ready(): Ready {
    this.calls.push('ready')
    this.inFlight = true
    return this.readies.shift()!
  }
  advance(): readonly Completion[] {
    this.inFlight = false
    this.calls.push('advance')
    const out = this.completions
    this.completions = []
    return out
  }
  takeSnapshot(): Snapshot | null { return this.snapshot }
  snapshotTaken(s: Snapshot): void {
    this.calls.push(`snapshotTaken ${s.id.endOffset}`)
    this.snapshot = null
  }
  status(): RaftStatus {
    return {
      nodeId: n(1), role: this.role, isVoter: true, epoch: this.epoch, leaderId: this.leaderId, votedFor: null,
      highWatermark: 0, logStartOffset: 0, logEndOffset: 0, voters: [], observers: [],
    }
  }
  image: MetadataImage = MetadataImage.EMPTY
  committedImage(): MetadataImage { return this.image }
  isActive(): boolean { return this.role === 'leader' }
  brokerSessionOpened(brokerId: NodeId, brokerEpoch: bigint): void { this.note(`session opened ${brokerId}@${brokerEpoch}`) }
  brokerSessionClosed(brokerId: NodeId, brokerEpoch: bigint): void { this.note(`session closed ${brokerId}@${brokerEpoch}`) }
}

function okCreateTopics(): ControllerResponse {
  return { type: 'create_topics', response: { errorCode: 0, errorMessage: '', topics: [], controllerId: 1 } }
}

const createTopics: ControllerCommand = {
  type: 'create_topics',
  request: { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false },
}

/**
 * persist() and saveSnapshot() wait until the test releases them; records the order of
 * operations and, like FsRaftStore, refuses overlapping calls.
 */
class GatedStore implements RaftStore {
  readonly log: string[]
  private gates: Array<() => void> = []
  private snapshotGates: Array<() => void> = []
  failNext: Error | null = null
  failSnapshot: Error | null = null
  gated = false
  snapshotGated = false
  private busy = false

  constructor(log: string[]) { this.log = log }
  async load(): Promise<PersistentState> { return EMPTY_PERSISTENT_STATE }
  async persist(ready: Ready): Promise<void> {
    this.enter()
    try {
      this.log.push(`persist ${ready.messages.length}`)
      if (this.failNext !== null) throw this.failNext
      if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve))
      this.log.push('persisted')
    } finally {
      this.busy = false
    }
  }
  release(): void { this.gates.shift()?.() }
  releaseSnapshot(): void { this.snapshotGates.shift()?.() }
  releaseAll(): void {
    this.gated = false
    this.snapshotGated = false
    for (const gate of this.gates.splice(0)) gate()
    for (const gate of this.snapshotGates.splice(0)) gate()
  }
  async saveSnapshot(s: Snapshot): Promise<void> {
    this.enter()
    try {
      this.log.push(`saveSnapshot ${s.id.endOffset}`)
      if (this.snapshotGated) await new Promise<void>((resolve) => this.snapshotGates.push(resolve))
      if (this.failSnapshot !== null) throw this.failSnapshot
      this.log.push(`savedSnapshot ${s.id.endOffset}`)
    } finally {
      this.busy = false
    }
  }
  async close(): Promise<void> {
    if (this.busy) throw new Error('close() while a store call is running')
    this.log.push('store closed')
  }
  private enter(): void {
    if (this.busy) {
      this.log.push('OVERLAP')
      throw new Error('store calls must not overlap')
    }
    this.busy = true
  }
}

class FakeTransport implements Transport {
  handler: TransportHandler | null = null
  readonly log: string[]
  constructor(log: string[]) { this.log = log }
  setHandler(handler: TransportHandler): void { this.handler = handler }
  send(m: RaftMessage): void { this.log.push(`send ${m.to}:${m.requestId}`) }
  async close(): Promise<void> { this.log.push('transport closed') }
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500; i++) {
    if (cond()) return
    await new Promise((r) => setTimeout(r, 2))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('RaftDriver', () => {
  let driver: RaftDriver | null = null
  let openStore: GatedStore | null = null
  afterEach(async () => {
    openStore?.releaseAll()
    await driver?.close(0)
    driver = null
  })

  async function start(
    controller: FakeController,
    extra: { onFatal?: (e: unknown) => void; onStateChange?: (c: StateChange) => void; onCommittedImage?: (image: MetadataImage) => void } = {},
  ) {
    const log: string[] = []
    const store = new GatedStore(log)
    openStore = store
    const transport = new FakeTransport(log)
    driver = await RaftDriver.start({ store, transport, logger, createController: () => controller, tickIntervalMs: 5, ...extra })
    return { log, store, transport, driver }
  }

  it('sends a Ready\'s messages only after persist resolves, then advances', async () => {
    const c = new FakeController()
    const { log, store } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true, messages: [message(2, 1), message(3, 2)] }))
    await until(() => log.includes('persist 2'), 'persist')
    await new Promise((r) => setTimeout(r, 20))
    expect(log.filter((l) => l.startsWith('send'))).toEqual([])
    store.release()
    await until(() => c.calls.includes('advance'), 'advance')
    expect(log).toEqual(['persist 2', 'persisted', 'send 2:1', 'send 3:2'])
  })

  it('queues inputs that arrive while a Ready is in flight and feeds them after advance', async () => {
    const c = new FakeController()
    const { store, transport } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true, messages: [message(2, 1)] }))
    await until(() => c.inFlight, 'ready taken')
    transport.handler!.onMessage({ from: n(3), to: n(1), requestId: 7, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 2 } })
    transport.handler!.onUnreachable(n(2), 'UNAVAILABLE')
    await new Promise((r) => setTimeout(r, 20))
    store.release()
    await until(() => c.calls.includes('unreachable 2'), 'inputs fed')
    const order = c.calls.filter((x) => x !== 'tick')
    expect(order.indexOf('advance')).toBeLessThan(order.indexOf('receive 3:7'))
    expect(order.indexOf('receive 3:7')).toBeLessThan(order.indexOf('unreachable 2'))
  })

  it('answers NOT_CONTROLLER with the leader hint at once when not active', async () => {
    const c = new FakeController()
    await start(c)
    const response = await driver!.submit(createTopics)
    expect(response.type).toBe('create_topics')
    if (response.type !== 'create_topics') return
    expect(response.response.errorCode).toBe(ErrorCode.NOT_CONTROLLER.code)
    expect(response.response.controllerId).toBe(2)
    expect(response.response.topics.map((t) => [t.name, t.errorCode])).toEqual([['t', ErrorCode.NOT_CONTROLLER.code]])
    expect(c.calls.filter((x) => x.startsWith('submit'))).toEqual([])
  })

  it('resolves a submission when its offset commits, and NOT_CONTROLLER when it fails', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    await start(c)
    const first = driver!.submit(createTopics)
    const second = driver!.submit(createTopics)
    await until(() => c.nextOffset === 12, 'both submitted')
    c.completions = [{ offset: 10, outcome: 'committed' }, { offset: 11, outcome: 'failed' }]
    c.role = 'follower'
    c.leaderId = n(3)
    c.readies.push(emptyReady())
    expect(await first).toEqual(okCreateTopics())
    const failed = await second
    expect(failed.type === 'create_topics' && failed.response.errorCode).toBe(ErrorCode.NOT_CONTROLLER.code)
    expect(failed.type === 'create_topics' && failed.response.controllerId).toBe(3)
  })

  it('saves an offered snapshot before telling the controller', async () => {
    const c = new FakeController()
    const { log } = await start(c)
    c.snapshot = { id: { endOffset: 5, epoch: 1 }, data: new Uint8Array([1]) }
    c.readies.push(emptyReady())
    await until(() => c.calls.includes('snapshotTaken 5'), 'snapshot taken')
    expect(log).toContain('saveSnapshot 5')
  })

  it('keeps ticking, receiving and sending while a snapshot is saved, then feeds snapshotTaken', async () => {
    const c = new FakeController()
    const { log, store, transport } = await start(c)
    store.snapshotGated = true
    c.snapshot = { id: { endOffset: 5, epoch: 1 }, data: new Uint8Array([1]) }
    c.readies.push(emptyReady())
    await until(() => log.includes('saveSnapshot 5'), 'snapshot save started')
    // The save is still running: a fetch arrives and its answer (a Ready that writes nothing)
    // goes out, and the loop goes on ticking.
    transport.handler!.onMessage({ from: n(2), to: n(1), requestId: 7, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 2 } })
    await until(() => c.calls.includes('receive 2:7'), 'message fed during the save')
    c.readies.push(emptyReady({ messages: [message(2, 8)] }))
    await until(() => log.includes('send 2:8'), 'Ready sent during the save')
    const ticks = c.calls.filter((x) => x === 'tick').length
    await until(() => c.calls.filter((x) => x === 'tick').length > ticks, 'a tick during the save')
    expect(c.calls.some((x) => x.startsWith('snapshotTaken'))).toBe(false)
    expect(log.filter((l) => l.startsWith('saveSnapshot'))).toEqual(['saveSnapshot 5'])

    store.releaseSnapshot()
    await until(() => c.calls.includes('snapshotTaken 5'), 'snapshotTaken fed')
    expect(log.indexOf('savedSnapshot 5')).toBeGreaterThan(log.indexOf('send 2:8'))
    expect(log).not.toContain('OVERLAP')
  })

  it('persists a Ready that writes after the snapshot save it queued behind, never both at once', async () => {
    const c = new FakeController()
    const { log, store } = await start(c)
    store.snapshotGated = true
    c.snapshot = { id: { endOffset: 5, epoch: 1 }, data: new Uint8Array([1]) }
    c.readies.push(emptyReady())
    await until(() => log.includes('saveSnapshot 5'), 'snapshot save started')
    c.readies.push(emptyReady({ mustSync: true, entries: [{ epoch: 1, offset: 5, kind: 'data', data: new Uint8Array([2]) }], messages: [message(2, 9)] }))
    await new Promise((r) => setTimeout(r, 30))
    // Persist before send: the Ready waits, and so do its messages.
    expect(log.filter((l) => l.startsWith('persist') || l.startsWith('send'))).toEqual([])
    store.releaseSnapshot()
    await until(() => log.includes('send 2:9'), 'the waiting Ready sent')
    expect(log).toEqual(['saveSnapshot 5', 'savedSnapshot 5', 'persist 1', 'persisted', 'send 2:9'])
    await until(() => c.calls.includes('snapshotTaken 5'), 'snapshotTaken fed')
  })

  it('feeds the messages that queued during a slow persist before the next tick', async () => {
    const c = new FakeController()
    const { store, transport } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => c.inFlight, 'ready taken')
    transport.handler!.onMessage({ from: n(2), to: n(1), requestId: 3, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 1 } })
    // Several tick intervals pass while the Ready is persisted.
    await new Promise((r) => setTimeout(r, 30))
    store.release()
    await until(() => c.calls.includes('receive 2:3'), 'message fed')
    const after = c.calls.slice(c.calls.indexOf('advance') + 1)
    expect(after[0]).toBe('receive 2:3')
    expect(after.indexOf('tick')).toBeGreaterThan(0)
  })

  it('stops for good when a snapshot save fails', async () => {
    const c = new FakeController()
    const fatal: unknown[] = []
    const { store } = await start(c, { onFatal: (e) => fatal.push(e) })
    store.failSnapshot = new Error('ENOSPC: no space left on device')
    c.snapshot = { id: { endOffset: 5, epoch: 1 }, data: new Uint8Array([1]) }
    c.readies.push(emptyReady())
    await until(() => fatal.length === 1, 'fatal')
    expect(String(fatal[0])).toMatch(/ENOSPC/)
    expect(driver!.isRunning).toBe(false)
    expect(c.calls.some((x) => x.startsWith('snapshotTaken'))).toBe(false)
  })

  it('waits for a running snapshot save before closing the store', async () => {
    const c = new FakeController()
    const { log, store } = await start(c)
    store.snapshotGated = true
    c.snapshot = { id: { endOffset: 5, epoch: 1 }, data: new Uint8Array([1]) }
    c.readies.push(emptyReady())
    await until(() => log.includes('saveSnapshot 5'), 'snapshot save started')
    const d = driver!
    driver = null
    const closing = d.close(0)
    await new Promise((r) => setTimeout(r, 20))
    expect(log).not.toContain('store closed')
    store.releaseSnapshot()
    await closing
    expect(log.slice(-2)).toEqual(['savedSnapshot 5', 'store closed'])
  })

  it('reports role changes once, with a human sentence', async () => {
    const c = new FakeController()
    c.role = 'unattached'
    const changes: string[] = []
    await start(c, { onStateChange: (s) => changes.push(s.sentence) })
    c.role = 'leader'
    c.leaderId = n(1)
    c.epoch = 3
    c.readies.push(emptyReady())
    await until(() => changes.length > 0, 'state change')
    c.readies.push(emptyReady())
    await new Promise((r) => setTimeout(r, 20))
    expect(changes).toEqual(['became leader in epoch 3'])
  })

  it('resigns on close when leader, sending EndQuorumEpoch before the transport closes', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    const { log } = await start(c)
    const d = driver!
    driver = null
    await d.close(20)
    expect(c.calls).toContain('resign')
    expect(log.indexOf('send 2:99')).toBeGreaterThanOrEqual(0)
    expect(log.indexOf('send 2:99')).toBeLessThan(log.indexOf('transport closed'))
    expect(log.at(-1)).toBe('store closed')
    expect((await d.submit(createTopics)).type).toBe('create_topics')
  })

  it('stops for good when the store fails, answering waiting submissions', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    const fatal: unknown[] = []
    const { store } = await start(c, { onFatal: (e) => fatal.push(e) })
    const pending = driver!.submit(createTopics)
    await until(() => c.nextOffset === 11, 'submitted')
    store.failNext = new Error('EIO: fsync failed')
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => fatal.length === 1, 'fatal')
    expect(String(fatal[0])).toMatch(/EIO/)
    const response = await pending
    expect(response.type === 'create_topics' && response.response.errorCode).toBe(ErrorCode.NOT_CONTROLLER.code)
    expect(driver!.isRunning).toBe(false)
  })

  it('reports the role the controller already has at start (a single voter elects itself)', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    c.epoch = 1
    const changes: StateChange[] = []
    await start(c, { onStateChange: (s) => changes.push(s) })
    expect(changes).toEqual([{ role: 'leader', epoch: 1, leaderId: 1, sentence: 'became leader in epoch 1' }])
    c.readies.push(emptyReady())
    await until(() => c.calls.includes('advance'), 'a pass')
    expect(changes).toHaveLength(1)
  })

  it('answers every submission waiting on one offset when it commits, or NOT_CONTROLLER when it fails', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    await start(c)
    const exists: ControllerResponse = { type: 'create_topics', response: { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS.code, errorMessage: '', topics: [], controllerId: 1 } }
    // The second and third wrote nothing and wait for the first's offset (QuorumController).
    c.submitResults.push(
      { kind: 'pending', offset: 10, epoch: 1, response: okCreateTopics() },
      { kind: 'pending', offset: 10, epoch: 1, response: exists },
      { kind: 'pending', offset: 10, epoch: 1, response: exists },
      { kind: 'pending', offset: 11, epoch: 1, response: okCreateTopics() },
      { kind: 'pending', offset: 11, epoch: 1, response: exists },
    )
    const committed = [driver!.submit(createTopics), driver!.submit(createTopics), driver!.submit(createTopics)]
    const failed = [driver!.submit(createTopics), driver!.submit(createTopics)]
    await until(() => c.submitResults.length === 0, 'all submitted')
    let answered = 0
    for (const p of [...committed, ...failed]) void p.then(() => answered++)
    await new Promise((r) => setTimeout(r, 20))
    expect(answered).toBe(0)
    c.completions = [{ offset: 10, outcome: 'committed' }, { offset: 11, outcome: 'failed' }]
    c.readies.push(emptyReady())
    expect(await Promise.all(committed)).toEqual([okCreateTopics(), exists, exists])
    for (const r of await Promise.all(failed)) expect(r.type === 'create_topics' && r.response.errorCode).toBe(ErrorCode.NOT_CONTROLLER.code)
  })

  it('feeds queued Raft messages before submissions, and at most SUBMISSIONS_PER_PASS submissions a pass', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    const { store, transport } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => c.inFlight, 'ready taken')
    const answers = Array.from({ length: 600 }, () => driver!.submit(createTopics))
    transport.handler!.onMessage({ from: n(2), to: n(1), requestId: 5, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 1 } })
    store.release()
    await until(() => c.calls.filter((x) => x.startsWith('submit')).length === 600, 'all submissions fed')
    const after = c.calls.slice(c.calls.indexOf('advance') + 1)
    expect(after[0]).toBe('receive 2:5')
    expect(Math.max(...c.submitsPerPass)).toBe(SUBMISSIONS_PER_PASS)
    expect(c.submitsPerPass.reduce((a, b) => a + b, 0)).toBe(600)
    c.completions = Array.from({ length: 600 }, (_, i) => ({ offset: 10 + i, outcome: 'committed' as const }))
    c.readies.push(emptyReady())
    expect((await Promise.all(answers)).every((r) => r.type === 'create_topics' && r.response.errorCode === 0)).toBe(true)
  })

  it('refuses submissions with REQUEST_TIMED_OUT once their queue is full, and still takes Raft messages', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    const { store, transport } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => c.inFlight, 'ready taken')
    const queued = Array.from({ length: MAX_QUEUED_SUBMISSIONS }, () => driver!.submit(createTopics))
    const refused = await driver!.submit(createTopics)
    expect(refused.type === 'create_topics' && refused.response.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT.code)
    expect(ErrorCode.REQUEST_TIMED_OUT.retriable).toBe(true)
    transport.handler!.onMessage({ from: n(2), to: n(1), requestId: 6, body: { type: 'begin_quorum_epoch_request', leaderEpoch: 1 } })
    store.release()
    await until(() => c.calls.includes('receive 2:6'), 'the message fed')
    expect(c.calls.indexOf('receive 2:6')).toBeLessThan(c.calls.findIndex((x) => x.startsWith('submit')))
    c.role = 'follower'
    c.completions = Array.from({ length: MAX_QUEUED_SUBMISSIONS }, (_, i) => ({ offset: 10 + i, outcome: 'failed' as const }))
    c.readies.push(emptyReady())
    await Promise.all(queued)
  })

  it('answers queued submissions NOT_CONTROLLER on close even while a slow persist runs', async () => {
    const c = new FakeController()
    c.role = 'leader'
    c.leaderId = n(1)
    const { store } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => c.inFlight, 'ready taken')
    const queued = driver!.submit(createTopics)
    const d = driver!
    driver = null
    const closing = d.close(0)
    const answer = await Promise.race([queued, new Promise<null>((r) => setTimeout(() => r(null), 200))])
    expect(answer === null ? 'no answer' : answer.type === 'create_topics' && answer.response.errorCode).toBe(ErrorCode.NOT_CONTROLLER.code)
    expect(c.calls.some((x) => x.startsWith('submit'))).toBe(false)
    store.release()
    await closing
  })

  it('reports each new committed image once, after the pass that committed it, newest only', async () => {
    const c = new FakeController()
    const images: number[] = []
    const recovered = MetadataImage.EMPTY.replay([], 4)
    c.image = recovered
    const { store } = await start(c, { onCommittedImage: (image) => images.push(image.offset) })
    await until(() => images.length === 1, 'the recovered image')
    expect(images).toEqual([4])
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => c.inFlight, 'ready taken')
    // Two commits land while the pass runs: only the newest image is reported.
    c.image = recovered.replay([], 5)
    c.image = recovered.replay([], 6)
    store.release()
    await until(() => images.length === 2, 'the committed image')
    await new Promise((r) => setTimeout(r, 20))
    expect(images).toEqual([4, 6])
  })

  it('does not report the empty image', async () => {
    const c = new FakeController()
    const images: number[] = []
    await start(c, { onCommittedImage: (image) => images.push(image.offset) })
    await new Promise((r) => setTimeout(r, 20))
    expect(images).toEqual([])
  })

  it('feeds broker session events in order, never between ready() and advance()', async () => {
    const c = new FakeController()
    const { store } = await start(c)
    store.gated = true
    c.readies.push(emptyReady({ mustSync: true }))
    await until(() => c.inFlight, 'ready taken')
    driver!.brokerSessionOpened(n(4), 9n)
    driver!.brokerSessionClosed(n(4), 9n)
    await new Promise((r) => setTimeout(r, 10))
    expect(c.calls.filter((x) => x.startsWith('session'))).toEqual([])
    store.release()
    await until(() => c.calls.includes('session closed 4@9'), 'session events fed')
    expect(c.calls.filter((x) => x.startsWith('session'))).toEqual(['session opened 4@9', 'session closed 4@9'])
  })
})
