import { describe, expect, it } from 'vitest'
import { ErrorCode, NO_NODE, type NodeId, type TopicId, type controller, type metadata } from '@tributary/protocol'
import { MetadataImage } from '../image/metadata-image.js'
import { encodeMetadataRecordBatch } from '../image/metadata-record-codec.js'
import type { RaftEntry } from '../raft/types.js'
import { AssertionError } from '../util/assert.js'
import { silentLogger } from '../util/logger.js'
import { SeededRandom } from '../util/random.js'
import { ControllerStateMachine } from './controller-state-machine.js'
import { type ControllerCommand, type ControllerConfig, type ControllerResult, DEFAULT_CONTROLLER_CONFIG } from './types.js'

const CONFIG: ControllerConfig = { ...DEFAULT_CONTROLLER_CONFIG, brokerSessionTimeoutMs: 1000, defaultReplicationFactor: 3, defaultNumPartitions: 2 }
const SELF = 7 as NodeId

/**
 * A controller and a fake Raft log: `run` handles a command and "proposes" its records at the
 * next offset; `commit` applies the proposed entries in order, as Raft would.
 */
class Harness {
  readonly sm: ControllerStateMachine
  readonly log: RaftEntry[] = []
  epoch = 1
  nowMs = 0

  constructor(config: ControllerConfig = CONFIG, seed = 42) {
    this.sm = new ControllerStateMachine(config, new SeededRandom(seed), silentLogger, SELF)
    this.leaderChange()
    this.sm.becomeActive(this.epoch, this.nowMs)
  }

  leaderChange(): void {
    const entry: RaftEntry = { epoch: this.epoch, offset: this.log.length, kind: 'leader_change', data: new Uint8Array(0) }
    this.log.push(entry)
    this.sm.applyCommitted(entry)
  }

  run(command: ControllerCommand): ControllerResult {
    const result = this.sm.handle(command, this.nowMs)
    this.propose(result.records)
    return result
  }

  propose(records: readonly metadata.MetadataRecord[]): void {
    if (records.length === 0) return
    const offset = this.log.length
    this.sm.recordProposed(offset, records)
    this.log.push({ epoch: this.epoch, offset, kind: 'data', data: encodeMetadataRecordBatch(records) })
  }

  tick(): void {
    for (const write of this.sm.tick(this.nowMs)) this.propose(write.records)
  }

  commit(): void {
    for (let o = this.sm.committedImage.offset + 1; o < this.log.length; o++) this.sm.applyCommitted(this.log[o])
  }

  get image(): MetadataImage {
    return this.sm.committedImage
  }

  register(brokerId: number, incarnationId = `inc-${brokerId}`): bigint {
    const r = this.run({ type: 'register_broker', request: { brokerId, incarnationId, endpoints: [{ name: 'PLAINTEXT', host: 'h', port: 9000 + brokerId }], rack: '' } })
    assert(r.response.type === 'register_broker')
    expect(r.response.response.errorCode).toBe(0)
    return r.response.response.brokerEpoch
  }

  heartbeat(brokerId: number, brokerEpoch: bigint, opts: Partial<controller.BrokerHeartbeatRequest> = {}): { result: ControllerResult; response: controller.BrokerHeartbeatResponse } {
    const result = this.run({
      type: 'broker_heartbeat',
      request: { brokerId, brokerEpoch, currentMetadataOffset: BigInt(this.image.offset), wantFence: false, wantShutdown: false, ...opts },
    })
    assert(result.response.type === 'broker_heartbeat')
    return { result, response: result.response.response }
  }

  /** Registers brokers, commits, and unfences them all (each heartbeats as caught up). */
  cluster(...ids: number[]): Map<number, bigint> {
    const epochs = new Map<number, bigint>()
    for (const id of ids) epochs.set(id, this.register(id))
    this.commit()
    for (const id of ids) expect(this.heartbeat(id, epochs.get(id)!).response.isFenced).toBe(false)
    this.commit()
    return epochs
  }

  createTopics(topics: Partial<controller.CreatableTopic>[], validateOnly = false): { result: ControllerResult; topics: controller.CreateTopicResult[] } {
    const result = this.run({
      type: 'create_topics',
      request: { topics: topics.map((t) => ({ name: 'orders', numPartitions: -1, replicationFactor: -1, configs: {}, ...t })), validateOnly },
    })
    assert(result.response.type === 'create_topics')
    expect(result.response.response.controllerId).toBe(SELF)
    return { result, topics: result.response.response.topics }
  }

  /** Every heartbeat-tracked broker but `except` heartbeats now. */
  heartbeatAll(epochs: Map<number, bigint>, except: number[] = []): void {
    for (const [id, epoch] of epochs) if (!except.includes(id)) this.heartbeat(id, epoch)
  }
}

function assert(cond: unknown): asserts cond {
  expect(cond).toBeTruthy()
}

function leaders(image: MetadataImage, topicName: string): number[] {
  return [...image.topic(topicName)!.partitions.values()].map((p) => p.leader)
}

function caseOf(r: metadata.MetadataRecord): string {
  return r.record!.$case
}

describe('register_broker', () => {
  it('registers fenced with the offset of its record as broker epoch', () => {
    const h = new Harness()
    const epoch = h.register(1)
    expect(epoch).toBe(1n) // offset 0 is the leader_change entry
    h.commit()
    expect(h.image.brokers.get(1 as NodeId)).toMatchObject({ brokerEpoch: 1n, fenced: true, incarnationId: 'inc-1' })
    expect(h.register(2)).toBe(2n)
  })

  it('gives strictly increasing epochs to back-to-back registrations before they commit', () => {
    const h = new Harness()
    const epochs = [h.register(1), h.register(1, 'again'), h.register(1, 'third')]
    expect(epochs).toEqual([1n, 2n, 3n])
    h.commit()
    expect(h.image.brokers.get(1 as NodeId)?.brokerEpoch).toBe(3n)
  })

  it('a new incarnation replaces the old: its leaderships move away and the old epoch is stale', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 6, replicationFactor: 3 }])
    h.commit()
    expect(leaders(h.image, 'orders')).toContain(1)
    const newEpoch = h.register(1, 'restarted')
    h.commit()
    expect(newEpoch).toBeGreaterThan(epochs.get(1)!)
    expect(h.image.brokers.get(1 as NodeId)).toMatchObject({ fenced: true, incarnationId: 'restarted', brokerEpoch: newEpoch })
    expect(leaders(h.image, 'orders')).not.toContain(1)
    for (const p of h.image.topic('orders')!.partitions.values()) expect(p.isr).not.toContain(1)
    expect(h.heartbeat(1, epochs.get(1)!).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH.code)
  })

  it('refuses a negative broker id or a missing incarnation id', () => {
    const h = new Harness()
    for (const request of [
      { brokerId: -1, incarnationId: 'x', endpoints: [], rack: '' },
      { brokerId: 1, incarnationId: '', endpoints: [], rack: '' },
    ]) {
      const r = h.run({ type: 'register_broker', request })
      expect(r.records).toEqual([])
      assert(r.response.type === 'register_broker')
      expect(r.response.response.errorCode).toBe(ErrorCode.INVALID_REQUEST.code)
      expect(r.response.response.controllerId).toBe(SELF)
    }
  })
})

describe('broker_heartbeat', () => {
  it('answers BROKER_ID_NOT_REGISTERED for an unknown broker and STALE_BROKER_EPOCH for an old epoch', () => {
    const h = new Harness()
    expect(h.heartbeat(5, 1n).response).toMatchObject({ errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED.code, controllerId: SELF })
    const epoch = h.register(5)
    h.commit()
    const stale = h.heartbeat(5, epoch - 1n)
    expect(stale.response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH.code)
    expect(stale.result.records).toEqual([])
  })

  it('keeps a broker fenced until it has replayed its own registration, then unfences it', () => {
    const h = new Harness()
    const epoch = h.register(1)
    h.commit()
    const behind = h.heartbeat(1, epoch, { currentMetadataOffset: epoch - 1n })
    expect(behind.response).toMatchObject({ errorCode: 0, isCaughtUp: false, isFenced: true, shouldShutDown: false })
    expect(behind.result.records).toEqual([])
    const caughtUp = h.heartbeat(1, epoch, { currentMetadataOffset: epoch })
    expect(caughtUp.response).toMatchObject({ isCaughtUp: true, isFenced: false })
    expect(caughtUp.result.records).toEqual([{ record: { $case: 'unfenceBroker', value: { brokerId: 1, brokerEpoch: epoch } } }])
    h.commit()
    expect(h.image.isActiveBroker(1 as NodeId)).toBe(true)
    // Nothing more to do on the next heartbeat.
    expect(h.heartbeat(1, epoch).result.records).toEqual([])
  })

  it('want_fence fences an unfenced broker and keeps a fenced one fenced', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2)
    const r = h.heartbeat(1, epochs.get(1)!, { wantFence: true })
    expect(r.response).toMatchObject({ isFenced: true, shouldShutDown: false })
    expect(r.result.records.map(caseOf)).toEqual(['fenceBroker'])
    h.commit()
    const again = h.heartbeat(1, epochs.get(1)!, { wantFence: true })
    expect(again.result.records).toEqual([])
    expect(again.response.isFenced).toBe(true)
  })

  it('controlled shutdown moves leaderships to other ISR members, drops the broker from ISRs, then fences it', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 9, replicationFactor: 2 }, { name: 'solo', numPartitions: 3, replicationFactor: 1 }])
    h.commit()
    const before = h.image
    const r = h.heartbeat(2, epochs.get(2)!, { wantShutdown: true })
    expect(r.response).toMatchObject({ isFenced: true, shouldShutDown: true })
    expect(r.result.records.at(-1)).toEqual({ record: { $case: 'fenceBroker', value: { brokerId: 2, brokerEpoch: epochs.get(2) } } })
    h.commit()
    const after = h.image
    for (const name of ['orders', 'solo']) {
      for (const [id, p] of after.topic(name)!.partitions) {
        const old = before.topic(name)!.partitions.get(id)!
        expect(p.leader).not.toBe(2)
        if (old.leader === 2 && old.isr.length > 1) {
          // The other ISR member takes over, with a new leader epoch.
          expect(p.leader).toBe(old.isr.find((b) => b !== 2))
          expect(p.leaderEpoch).toBe(old.leaderEpoch + 1)
        }
        if (old.isr.length > 1) expect(p.isr).not.toContain(2)
        if (old.isr.length === 1 && old.isr[0] === 2) {
          // Its only ISR member leaves: leaderless, ISR keeps the last member (no unclean election).
          expect(p).toMatchObject({ leader: NO_NODE, isr: [2] })
        }
      }
    }
    expect(after.brokers.get(2 as NodeId)?.fenced).toBe(true)
  })

  it('a fenced broker that wants to shut down may do so at once', () => {
    const h = new Harness()
    const epoch = h.register(4)
    h.commit()
    const r = h.heartbeat(4, epoch, { wantShutdown: true })
    expect(r.result.records).toEqual([])
    expect(r.response).toMatchObject({ isFenced: true, shouldShutDown: true })
  })

  it('a returning broker becomes leader of the leaderless partitions whose ISR it holds', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2)
    h.createTopics([{ name: 'solo', numPartitions: 4, replicationFactor: 1 }])
    h.commit()
    const led = [...h.image.topic('solo')!.partitions.values()].filter((p) => p.leader === 1).map((p) => p.partitionId)
    expect(led.length).toBe(2)
    h.heartbeat(1, epochs.get(1)!, { wantFence: true })
    h.commit()
    for (const id of led) expect(h.image.topic('solo')!.partitions.get(id)).toMatchObject({ leader: NO_NODE, isr: [1], leaderEpoch: 1 })
    const back = h.heartbeat(1, epochs.get(1)!)
    expect(back.result.records.map(caseOf)).toEqual(['unfenceBroker', 'partitionChange', 'partitionChange'])
    h.commit()
    for (const id of led) expect(h.image.topic('solo')!.partitions.get(id)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2, partitionEpoch: 2 })
  })
})

describe('create_topics', () => {
  function errorOf(h: Harness, topic: Partial<controller.CreatableTopic>): { code: number; message: string } {
    const { result, topics } = h.createTopics([topic])
    expect(result.records).toEqual([])
    expect(topics).toHaveLength(1)
    return { code: topics[0].errorCode, message: topics[0].errorMessage }
  }

  it('creates a topic: TopicRecord, PartitionRecords (ISR = replicas, leader = first replica), ConfigRecords', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    const { result, topics } = h.createTopics([{ name: 'orders', numPartitions: 3, replicationFactor: 2, configs: { 'retention.ms': '1000', 'cleanup.policy': 'compact' } }])
    expect(topics).toEqual([{ name: 'orders', topicId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), errorCode: 0, errorMessage: '', numPartitions: 3, replicationFactor: 2 }])
    expect(topics[0].topicId.startsWith('-')).toBe(false)
    expect(result.records.map(caseOf)).toEqual(['topic', 'partition', 'partition', 'partition', 'config', 'config'])
    h.commit()
    const t = h.image.topic('orders')!
    expect(t.topicId).toBe(topics[0].topicId)
    for (const p of t.partitions.values()) {
      expect(p.replicas).toHaveLength(2)
      expect(p.isr).toEqual(p.replicas)
      expect(p).toMatchObject({ leader: p.replicas[0], leaderEpoch: 0, partitionEpoch: 0 })
    }
    expect(h.image.topicConfigs.get('orders')).toEqual(new Map([['cleanup.policy', 'compact'], ['retention.ms', '1000']]))
  })

  it('uses num.partitions and default.replication.factor for -1', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    const { topics } = h.createTopics([{ name: 'defaults', numPartitions: -1, replicationFactor: -1 }])
    expect(topics[0]).toMatchObject({ errorCode: 0, numPartitions: CONFIG.defaultNumPartitions, replicationFactor: CONFIG.defaultReplicationFactor })
  })

  it('spreads leaders evenly: 3 brokers, 30 partitions -> 10 leaders each', () => {
    for (const seed of [1, 2, 3, 4]) {
      const h = new Harness(CONFIG, seed)
      h.cluster(1, 2, 3)
      h.createTopics([{ name: 'wide', numPartitions: 30, replicationFactor: 3 }])
      h.commit()
      const counts = new Map<number, number>()
      for (const l of leaders(h.image, 'wide')) counts.set(l, (counts.get(l) ?? 0) + 1)
      expect(counts).toEqual(new Map([[1, 10], [2, 10], [3, 10]]))
    }
  })

  it('places replicas only on unfenced brokers', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2, 3, 4)
    h.heartbeat(3, epochs.get(3)!, { wantFence: true })
    h.createTopics([{ name: 'orders', numPartitions: 12, replicationFactor: 3 }])
    h.commit()
    for (const p of h.image.topic('orders')!.partitions.values()) expect(p.replicas).not.toContain(3)
  })

  it.each<[string, Partial<controller.CreatableTopic>, number, string]>([
    ['an empty name', { name: '' }, ErrorCode.INVALID_TOPIC_EXCEPTION.code, "Topic name is illegal, it can't be empty"],
    ['"."', { name: '.' }, ErrorCode.INVALID_TOPIC_EXCEPTION.code, 'Topic name cannot be "." or ".."'],
    ['".."', { name: '..' }, ErrorCode.INVALID_TOPIC_EXCEPTION.code, 'Topic name cannot be "." or ".."'],
    ['a 250-character name', { name: 'a'.repeat(250) }, ErrorCode.INVALID_TOPIC_EXCEPTION.code, `Topic name is illegal, it can't be longer than 249 characters, topic name: ${'a'.repeat(250)}`],
    ['an illegal character', { name: 'a:b' }, ErrorCode.INVALID_TOPIC_EXCEPTION.code, `Topic name "a:b" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`],
    ['0 partitions', { numPartitions: 0 }, ErrorCode.INVALID_PARTITIONS.code, 'Number of partitions was set to an invalid non-positive value.'],
    ['-2 partitions', { numPartitions: -2 }, ErrorCode.INVALID_PARTITIONS.code, 'Number of partitions was set to an invalid non-positive value.'],
    ['replication factor 0', { replicationFactor: 0 }, ErrorCode.INVALID_REPLICATION_FACTOR.code, 'Replication factor must be larger than 0, or -1 to use the default value.'],
    ['replication factor -3', { replicationFactor: -3 }, ErrorCode.INVALID_REPLICATION_FACTOR.code, 'Replication factor must be larger than 0, or -1 to use the default value.'],
    ['more replicas than unfenced brokers', { replicationFactor: 3 }, ErrorCode.INVALID_REPLICATION_FACTOR.code,
      'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.'],
    ['an empty config value', { configs: { 'retention.ms': '' } }, ErrorCode.INVALID_CONFIG.code, "Invalid value '' for configuration 'retention.ms': keys and values must not be empty."],
    ['too many partitions', { numPartitions: 10_001, replicationFactor: 1 }, ErrorCode.POLICY_VIOLATION.code, 'Excessively large number of partitions per request.'],
  ])('refuses %s', (_what, topic, code, message) => {
    const h = new Harness()
    h.cluster(1, 2)
    expect(errorOf(h, { replicationFactor: 2, ...topic })).toEqual({ code, message })
  })

  it('refuses when every broker is fenced', () => {
    const h = new Harness()
    h.register(1)
    h.commit()
    expect(errorOf(h, { replicationFactor: 1 })).toEqual({ code: ErrorCode.INVALID_REPLICATION_FACTOR.code, message: 'Unable to replicate the partition 1 time(s): All brokers are currently fenced.' })
  })

  it('refuses an existing name with TOPIC_ALREADY_EXISTS and a "."/"_" collision with INVALID_TOPIC_EXCEPTION', () => {
    const h = new Harness()
    h.cluster(1)
    expect(h.createTopics([{ name: 'a.b', replicationFactor: 1 }]).topics[0].errorCode).toBe(0)
    h.commit()
    expect(errorOf(h, { name: 'a.b', replicationFactor: 1 })).toEqual({ code: ErrorCode.TOPIC_ALREADY_EXISTS.code, message: "Topic 'a.b' already exists." })
    expect(errorOf(h, { name: 'a_b', replicationFactor: 1 })).toEqual({ code: ErrorCode.INVALID_TOPIC_EXCEPTION.code, message: "Topic 'a_b' collides with existing topic: a.b" })
  })

  it('decides each topic of a request on its own and writes one record list', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    const { result, topics } = h.createTopics([
      { name: 'good1', numPartitions: 2, replicationFactor: 3 },
      { name: 'bad name', replicationFactor: 1 },
      { name: 'dup', replicationFactor: 1 },
      { name: 'good.2', numPartitions: 1, replicationFactor: 1 },
      { name: 'good_2', numPartitions: 1, replicationFactor: 1 },
      { name: 'dup', replicationFactor: 1 },
      { name: 'big', replicationFactor: 4 },
    ])
    expect(topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['good1', 0],
      ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION.code],
      ['dup', ErrorCode.INVALID_REQUEST.code],
      ['good.2', 0],
      // Collides with a topic created earlier in the same request.
      ['good_2', ErrorCode.INVALID_TOPIC_EXCEPTION.code],
      ['big', ErrorCode.INVALID_REPLICATION_FACTOR.code],
    ])
    expect(topics[2].errorMessage).toBe('Duplicate topic name.')
    expect(result.records.map(caseOf)).toEqual(['topic', 'partition', 'partition', 'topic', 'partition'])
    expect(h.sm.pendingWriteCount).toBe(1)
    h.commit()
    expect([...h.image.topicsByName.keys()].sort()).toEqual(['good.2', 'good1'])
  })

  it('validate_only checks everything and writes nothing', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    const { result, topics } = h.createTopics([{ name: 'orders', numPartitions: 4, replicationFactor: 3 }, { name: 'x', replicationFactor: 9 }], true)
    expect(result.records).toEqual([])
    expect(topics.map((t) => t.errorCode)).toEqual([0, ErrorCode.INVALID_REPLICATION_FACTOR.code])
    expect(topics[0]).toMatchObject({ numPartitions: 4, replicationFactor: 3 })
    expect(h.sm.pendingWriteCount).toBe(0)
    expect(h.sm.speculativeImage.topic('orders')).toBeUndefined()
  })

  it('sees its own uncommitted creates: a second create of the same name gets TOPIC_ALREADY_EXISTS', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    expect(h.createTopics([{ name: 'orders' }]).topics[0].errorCode).toBe(0)
    const second = h.createTopics([{ name: 'orders' }])
    expect(second.topics[0].errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS.code)
    expect(second.result.records).toEqual([])
    expect(h.image.topic('orders')).toBeUndefined() // not committed yet
    h.commit()
    expect(h.image.topic('orders')).toBeDefined()
    expect(h.sm.pendingWriteCount).toBe(0)
  })
})

describe('delete_topics', () => {
  it('removes known topics and answers UNKNOWN_TOPIC_OR_PARTITION for others', () => {
    const h = new Harness()
    h.cluster(1)
    h.createTopics([{ name: 'orders', replicationFactor: 1, configs: { 'retention.ms': '5' } }])
    h.commit()
    const id = h.image.topic('orders')!.topicId
    const r = h.run({ type: 'delete_topics', request: { names: ['orders', 'nope', 'twice', 'twice'] } })
    assert(r.response.type === 'delete_topics')
    expect(r.response.response.controllerId).toBe(SELF)
    expect(r.response.response.topics).toEqual([
      { name: 'orders', errorCode: 0, errorMessage: '' },
      { name: 'nope', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, errorMessage: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.message },
      { name: 'twice', errorCode: ErrorCode.INVALID_REQUEST.code, errorMessage: 'Duplicate topic name.' },
    ])
    expect(r.records).toEqual([{ record: { $case: 'removeTopic', value: { topicId: id } } }])
    // A speculative delete is visible at once: deleting again is unknown.
    const again = h.run({ type: 'delete_topics', request: { names: ['orders'] } })
    assert(again.response.type === 'delete_topics')
    expect(again.response.response.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code)
    h.commit()
    expect(h.image.topic('orders')).toBeUndefined()
    expect(h.image.topicConfigs.has('orders')).toBe(false)
  })
})

describe('create_partitions', () => {
  function createPartitions(h: Harness, topics: controller.CreatePartitionsTopic[], validateOnly = false): { result: ControllerResult; topics: controller.CreatePartitionsResult[] } {
    const result = h.run({ type: 'create_partitions', request: { topics, validateOnly } })
    assert(result.response.type === 'create_partitions')
    expect(result.response.response.controllerId).toBe(SELF)
    return { result, topics: result.response.response.topics }
  }

  it('adds partitions with the replication factor of partition 0', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 2, replicationFactor: 2 }])
    h.commit()
    const { result, topics } = createPartitions(h, [{ name: 'orders', count: 5 }])
    expect(topics).toEqual([{ name: 'orders', errorCode: 0, errorMessage: '' }])
    expect(result.records.map(caseOf)).toEqual(['partition', 'partition', 'partition'])
    h.commit()
    const t = h.image.topic('orders')!
    expect(t.partitions.size).toBe(5)
    for (const p of t.partitions.values()) expect(p.replicas).toHaveLength(2)
  })

  it('refuses a count that is not an increase, an unknown topic, duplicates and unmeetable replication', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 3, replicationFactor: 3 }])
    h.commit()
    const { result, topics } = createPartitions(h, [
      { name: 'orders', count: 2 },
      { name: 'nope', count: 4 },
      { name: 'd', count: 4 },
      { name: 'd', count: 5 },
    ])
    expect(result.records).toEqual([])
    expect(topics).toEqual([
      { name: 'orders', errorCode: ErrorCode.INVALID_PARTITIONS.code, errorMessage: 'The topic orders currently has 3 partition(s); 2 would not be an increase.' },
      { name: 'nope', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code, errorMessage: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.message },
      { name: 'd', errorCode: ErrorCode.INVALID_REQUEST.code, errorMessage: 'Duplicate topic name.' },
    ])
    expect(createPartitions(h, [{ name: 'orders', count: 3 }]).topics[0]).toEqual({ name: 'orders', errorCode: ErrorCode.INVALID_PARTITIONS.code, errorMessage: 'Topic already has 3 partition(s).' })
    h.heartbeat(3, epochs.get(3)!, { wantFence: true })
    expect(createPartitions(h, [{ name: 'orders', count: 4 }]).topics[0].errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR.code)
  })

  it('validate_only writes nothing', () => {
    const h = new Harness()
    h.cluster(1)
    h.createTopics([{ name: 'orders', numPartitions: 1, replicationFactor: 1 }])
    h.commit()
    const { result, topics } = createPartitions(h, [{ name: 'orders', count: 4 }], true)
    expect(topics[0].errorCode).toBe(0)
    expect(result.records).toEqual([])
  })
})

describe('broker sessions (tick)', () => {
  it('fences a broker whose session expired and elects new leaders from the ISR', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 30, replicationFactor: 3 }, { name: 'solo', numPartitions: 3, replicationFactor: 1 }])
    h.commit()
    const before = h.image
    h.nowMs = 600
    h.heartbeatAll(epochs, [1])
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0) // not expired yet: 600 <= 1000
    h.nowMs = 1001
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(1) // broker 1: last heard at 0
    h.commit()
    const after = h.image
    expect(after.brokers.get(1 as NodeId)?.fenced).toBe(true)
    for (const name of ['orders', 'solo']) {
      for (const [id, p] of after.topic(name)!.partitions) {
        const old = before.topic(name)!.partitions.get(id)!
        if (old.isr.length === 1 && old.isr[0] === 1) {
          expect(p).toMatchObject({ leader: NO_NODE, isr: [1] })
          continue
        }
        expect(p.isr).toEqual(old.isr.filter((b) => b !== 1))
        if (old.leader === 1) {
          // The first ISR member in replica order that is alive.
          expect(p.leader).toBe(old.replicas.find((b) => b !== 1))
          expect(p.leaderEpoch).toBe(old.leaderEpoch + 1)
        } else {
          expect(p.leader).toBe(old.leader)
          expect(p.leaderEpoch).toBe(old.leaderEpoch)
        }
        // Only partitions whose ISR held broker 1 change.
        expect(p.partitionEpoch).toBe(old.partitionEpoch + (old.isr.includes(1 as NodeId) ? 1 : 0))
      }
    }
    // The others keep heartbeating and stay; broker 1 is not fenced twice.
    h.nowMs = 1500
    h.heartbeatAll(epochs, [1])
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
  })

  it('becomeActive gives every unfenced broker a fresh session', () => {
    const h = new Harness()
    h.cluster(1, 2)
    h.sm.becomeInactive()
    h.nowMs = 50_000
    h.epoch = 2
    h.leaderChange()
    h.sm.becomeActive(h.epoch, h.nowMs)
    h.nowMs = 51_000
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
    h.nowMs = 51_001
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(2)
  })
})

describe('leadership and the speculative image', () => {
  it('becomeInactive drops the speculative image and pending writes', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders' }])
    expect(h.sm.speculativeImage.topic('orders')).toBeDefined()
    expect(h.sm.pendingWriteCount).toBe(1)
    h.sm.becomeInactive()
    expect(h.sm.isActive).toBe(false)
    expect(h.sm.pendingWriteCount).toBe(0)
    expect(() => h.sm.handle({ type: 'delete_topics', request: { names: [] } }, 0)).toThrow(AssertionError)
    // The new leader's log dropped the uncommitted entry; the name is free again.
    h.log.pop()
    h.epoch = 2
    h.leaderChange()
    h.sm.becomeActive(h.epoch, h.nowMs)
    expect(h.sm.speculativeImage).toBe(h.image)
    expect(h.createTopics([{ name: 'orders' }]).topics[0].errorCode).toBe(0)
  })

  it('asserts on commands while inactive, on non-contiguous commits and on a proposal at an unexpected offset', () => {
    const sm = new ControllerStateMachine(CONFIG, new SeededRandom(1), silentLogger, SELF)
    expect(() => sm.handle({ type: 'delete_topics', request: { names: [] } }, 0)).toThrow(AssertionError)
    expect(() => sm.tick(0)).toThrow(AssertionError)
    expect(() => sm.applyCommitted({ epoch: 1, offset: 1, kind: 'leader_change', data: new Uint8Array(0) })).toThrow(AssertionError)

    const h = new Harness()
    const r = h.sm.handle({ type: 'register_broker', request: { brokerId: 1, incarnationId: 'x', endpoints: [], rack: '' } }, 0)
    expect(() => h.sm.recordProposed(5, r.records)).toThrow(AssertionError)
    expect(() => h.sm.recordProposed(1, [...r.records])).toThrow(AssertionError)
  })

  it('while active, asserts that every committed entry is its own next proposal', () => {
    const h = new Harness()
    const foreign: RaftEntry = { epoch: h.epoch, offset: 1, kind: 'data', data: encodeMetadataRecordBatch([]) }
    expect(() => h.sm.applyCommitted(foreign)).toThrow(AssertionError)
  })

  it('followers replay the same image as the active controller, and snapshots carry it', () => {
    const h = new Harness()
    const follower = new ControllerStateMachine(CONFIG, new SeededRandom(99), silentLogger, 8 as NodeId)
    const epochs = h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 6, configs: { 'retention.ms': '7' } }, { name: 'x.y', numPartitions: 2, replicationFactor: 2 }])
    h.heartbeat(2, epochs.get(2)!, { wantShutdown: true })
    h.commit()
    for (const e of h.log) follower.applyCommitted(e)
    expect(follower.committedImage.fingerprint()).toBe(h.image.fingerprint())

    const restored = new ControllerStateMachine(CONFIG, new SeededRandom(5), silentLogger, 9 as NodeId)
    restored.applySnapshot({ id: { endOffset: h.image.offset + 1, epoch: h.epoch }, data: h.sm.snapshotData() })
    expect(restored.committedImage.fingerprint()).toBe(h.image.fingerprint())
    expect(restored.committedImage.offset).toBe(h.image.offset)
  })

  it('topic ids come from the injected Random: the same seed gives the same ids', () => {
    const ids = [1, 2].map(() => {
      const h = new Harness(CONFIG, 1234)
      h.cluster(1)
      return h.createTopics([{ name: 'a', replicationFactor: 1 }, { name: 'b', replicationFactor: 1 }]).topics.map((t) => t.topicId as TopicId)
    })
    expect(ids[0]).toEqual(ids[1])
    expect(new Set(ids[0]).size).toBe(2)
  })
})
