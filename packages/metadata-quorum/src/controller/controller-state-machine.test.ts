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
    ['an unknown config key', { configs: { 'no.such.config': '1' } }, ErrorCode.INVALID_CONFIG.code, 'Unknown topic config name: no.such.config'],
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

// ---- AlterPartition, ElectLeaders, AllocateProducerIds ---------------------------------------

type IsrMember = readonly [brokerId: number, brokerEpoch: bigint]

function alter(
  h: Harness,
  sender: readonly [number, bigint],
  parts: readonly { topicId: string; partitionId?: number; leaderEpoch: number; partitionEpoch: number; isr: readonly IsrMember[] }[],
): { result: ControllerResult; response: controller.AlterPartitionResponse } {
  const result = h.run({
    type: 'alter_partition',
    request: {
      brokerId: sender[0],
      brokerEpoch: sender[1],
      topics: parts.map((p) => ({
        topicId: p.topicId,
        partitions: [{
          partitionId: p.partitionId ?? 0,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          newIsr: p.isr.map(([brokerId, brokerEpoch]) => ({ brokerId, brokerEpoch })),
        }],
      })),
    },
  })
  assert(result.response.type === 'alter_partition')
  expect(result.response.response.controllerId).toBe(SELF)
  return { result, response: result.response.response }
}

/** One partition of `orders`, RF 3 over brokers 1-3, all unfenced; returns its id and epochs. */
function onePartition(h: Harness): { topicId: string; epochs: Map<number, bigint>; replicas: readonly NodeId[] } {
  const epochs = h.cluster(1, 2, 3)
  const topicId = h.createTopics([{ name: 'orders', numPartitions: 1, replicationFactor: 3 }]).topics[0].topicId
  h.commit()
  const p = h.image.partition(topicId as TopicId, 0)!
  expect(p).toMatchObject({ leader: p.replicas[0], isr: p.replicas, leaderEpoch: 0, partitionEpoch: 0 })
  return { topicId, epochs, replicas: p.replicas }
}

function member(epochs: Map<number, bigint>, id: number): IsrMember {
  return [id, epochs.get(id)!]
}

describe('alter_partition', () => {
  it('refuses the whole request with STALE_BROKER_EPOCH for a stale or unregistered sender', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const [leader] = replicas
    const isr = replicas.map((id) => member(epochs, id))
    for (const sender of [[leader, epochs.get(leader)! - 1n], [9, 1n]] as const) {
      const { result, response } = alter(h, sender, [{ topicId, leaderEpoch: 0, partitionEpoch: 0, isr: isr.slice(0, 2) }])
      expect(response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH.code)
      expect(response.topics).toEqual([])
      expect(result.records).toEqual([])
    }
  })

  it('answers each validation failure per partition, in Kafka order, without records', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const [leader, f1, f2] = replicas
    const sender = member(epochs, leader)
    const four = h.register(4) // registered but not a replica
    h.commit()
    h.heartbeat(4, four)
    h.commit()
    const cases: { name: string; part: Parameters<typeof alter>[2][number]; from?: IsrMember; code: number }[] = [
      { name: 'unknown topic', part: { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', leaderEpoch: 0, partitionEpoch: 0, isr: [sender] }, code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code },
      { name: 'unknown partition', part: { topicId, partitionId: 1, leaderEpoch: 0, partitionEpoch: 0, isr: [sender] }, code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code },
      { name: 'old leader epoch', part: { topicId, leaderEpoch: -1, partitionEpoch: 0, isr: [sender] }, code: ErrorCode.FENCED_LEADER_EPOCH.code },
      { name: 'newer leader epoch', part: { topicId, leaderEpoch: 1, partitionEpoch: 0, isr: [sender] }, code: ErrorCode.FENCED_LEADER_EPOCH.code },
      { name: 'sender is a follower', from: member(epochs, f1), part: { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [member(epochs, f1)] }, code: ErrorCode.NOT_LEADER_OR_FOLLOWER.code },
      { name: 'partition epoch mismatch', part: { topicId, leaderEpoch: 0, partitionEpoch: 1, isr: [sender] }, code: ErrorCode.INVALID_UPDATE_VERSION.code },
      { name: 'duplicate members', part: { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [sender, sender] }, code: ErrorCode.INVALID_REQUEST.code },
      { name: 'leader missing', part: { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [member(epochs, f1), member(epochs, f2)] }, code: ErrorCode.INELIGIBLE_REPLICA.code },
      { name: 'empty ISR', part: { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [] }, code: ErrorCode.INELIGIBLE_REPLICA.code },
      { name: 'not a replica', part: { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [sender, [4, four]] }, code: ErrorCode.INELIGIBLE_REPLICA.code },
    ]
    for (const c of cases) {
      const { result, response } = alter(h, c.from ?? sender, [c.part])
      expect(response.errorCode, c.name).toBe(0)
      expect(response.topics[0].partitions[0], c.name).toMatchObject({ partitionId: c.part.partitionId ?? 0, errorCode: c.code, leaderId: NO_NODE })
      expect(result.records, c.name).toEqual([])
    }
    expect(h.sm.pendingWriteCount).toBe(0)
  })

  it('shrinks then expands with the partition epoch as compare-and-set; new members must be eligible', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const [leader, f1, f2] = replicas
    const sender = member(epochs, leader)

    // Shrink: f2 fell behind.
    const shrink = alter(h, sender, [{ topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [sender, member(epochs, f1)] }])
    expect(shrink.result.records.map(caseOf)).toEqual(['partitionChange'])
    expect(shrink.response.topics[0]).toEqual({
      topicId,
      partitions: [{ partitionId: 0, errorCode: 0, errorMessage: '', leaderId: leader, leaderEpoch: 0, isr: [leader, f1], partitionEpoch: 1 }],
    })
    // Decided against the speculative image: a retry with the old epoch loses before commit.
    expect(alter(h, sender, [{ topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [sender] }]).response.topics[0].partitions[0].errorCode)
      .toBe(ErrorCode.INVALID_UPDATE_VERSION.code)
    h.commit()
    expect(h.image.partition(topicId as TopicId, 0)).toMatchObject({ leader, leaderEpoch: 0, isr: [leader, f1], partitionEpoch: 1 })

    // Expanding with f2 at a stale broker epoch (say, the follower rebooted) is refused (KIP-903).
    const stale = alter(h, sender, [{ topicId, leaderEpoch: 0, partitionEpoch: 1, isr: [sender, member(epochs, f1), [f2, epochs.get(f2)! - 1n]] }])
    expect(stale.response.topics[0].partitions[0].errorCode).toBe(ErrorCode.INELIGIBLE_REPLICA.code)
    expect(stale.result.records).toEqual([])

    // Expand: f2 caught up at its current epoch.
    const expand = alter(h, sender, [{ topicId, leaderEpoch: 0, partitionEpoch: 1, isr: [sender, member(epochs, f1), member(epochs, f2)] }])
    expect(expand.response.topics[0].partitions[0]).toMatchObject({ errorCode: 0, isr: [leader, f1, f2], partitionEpoch: 2, leaderEpoch: 0 })
    h.commit()
    expect(h.image.partition(topicId as TopicId, 0)).toMatchObject({ isr: [leader, f1, f2], partitionEpoch: 2 })
  })

  it('refuses to add a fenced broker (controlled shutdown fences here), even at its current epoch', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const [leader, f1, f2] = replicas
    const sender = member(epochs, leader)
    h.heartbeat(f2, epochs.get(f2)!, { wantShutdown: true }) // drops f2 from the ISR and fences it
    h.commit()
    const p = h.image.partition(topicId as TopicId, 0)!
    expect(p.isr).toEqual([leader, f1])
    const r = alter(h, sender, [{ topicId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: [sender, member(epochs, f1), member(epochs, f2)] }])
    expect(r.response.topics[0].partitions[0].errorCode).toBe(ErrorCode.INELIGIBLE_REPLICA.code)
    expect(r.result.records).toEqual([])
  })

  it('answers a change that names the current members with the current state and no record', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const isr = [...replicas].reverse().map((id) => member(epochs, id))
    const r = alter(h, member(epochs, replicas[0]), [{ topicId, leaderEpoch: 0, partitionEpoch: 0, isr }])
    expect(r.result.records).toEqual([])
    expect(r.response.topics[0].partitions[0]).toMatchObject({ errorCode: 0, leaderId: replicas[0], leaderEpoch: 0, isr: replicas, partitionEpoch: 0 })
  })

  it('decides a partition named twice in one request against the first change', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const sender = member(epochs, replicas[0])
    const r = alter(h, sender, [
      { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [sender, member(epochs, replicas[1])] },
      { topicId, leaderEpoch: 0, partitionEpoch: 0, isr: [sender] },
    ])
    expect(r.result.records).toHaveLength(1)
    expect(r.response.topics.map((t) => t.partitions[0].errorCode)).toEqual([0, ErrorCode.INVALID_UPDATE_VERSION.code])
    h.commit()
    expect(h.image.partition(topicId as TopicId, 0)!.partitionEpoch).toBe(1)
  })
})

function elect(h: Harness, topicPartitions: controller.ElectLeadersTopicPartitions[], electionType = 0): { result: ControllerResult; response: controller.ElectLeadersResponse } {
  const result = h.run({ type: 'elect_leaders', request: { electionType, topicPartitions } })
  assert(result.response.type === 'elect_leaders')
  return { result, response: result.response.response }
}

describe('elect_leaders (preferred)', () => {
  it('moves leadership back to the preferred replica once it returns and rejoins the ISR', () => {
    const h = new Harness()
    const { topicId, epochs, replicas } = onePartition(h)
    const [preferred, next, last] = replicas
    const one = [{ topic: 'orders', partitions: [0] }]
    expect(elect(h, one).response.topics).toEqual([{ topic: 'orders', partitions: [{ partitionId: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED.code, errorMessage: ErrorCode.ELECTION_NOT_NEEDED.message }] }])

    // The preferred leader shuts down cleanly: leadership moves, it leaves the ISR.
    h.heartbeat(preferred, epochs.get(preferred)!, { wantShutdown: true })
    h.commit()
    expect(h.image.partition(topicId as TopicId, 0)).toMatchObject({ leader: next, isr: [next, last], leaderEpoch: 1 })

    // It comes back (new epoch, unfenced) but is not in the ISR yet.
    epochs.set(preferred, h.register(preferred, 'inc-again'))
    h.commit()
    expect(h.heartbeat(preferred, epochs.get(preferred)!).response.isFenced).toBe(false)
    h.commit()
    const notYet = elect(h, one)
    expect(notYet.response.topics[0].partitions[0].errorCode).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE.code)
    expect(notYet.result.records).toEqual([])

    // The current leader adds it back once it caught up; then the election moves leadership.
    let p = h.image.partition(topicId as TopicId, 0)!
    const expand = alter(h, member(epochs, next), [{ topicId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: [member(epochs, next), member(epochs, last), member(epochs, preferred)] }])
    expect(expand.response.topics[0].partitions[0].errorCode).toBe(0)
    const done = elect(h, one)
    expect(done.response.topics[0].partitions[0].errorCode).toBe(0)
    expect(done.result.records.map(caseOf)).toEqual(['partitionChange'])
    h.commit()
    const before = p
    p = h.image.partition(topicId as TopicId, 0)!
    expect(p).toMatchObject({ leader: preferred, leaderEpoch: before.leaderEpoch + 1, partitionEpoch: before.partitionEpoch + 2, isr: [next, last, preferred] })
    expect(elect(h, one).response.topics[0].partitions[0].errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED.code)
  })

  it('answers unknown partitions, an unavailable preferred leader and unsupported election types', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2)
    h.createTopics([{ name: 'solo', numPartitions: 2, replicationFactor: 1 }])
    h.commit()
    const solo = h.image.topic('solo')!
    const victim = solo.partitions.get(0)!.replicas[0]
    h.heartbeat(victim, epochs.get(victim)!, { wantShutdown: true }) // its only ISR member: leaderless
    h.commit()
    const r = elect(h, [{ topic: 'solo', partitions: [0, 7] }, { topic: 'nope', partitions: [0] }])
    expect(r.response.topics.map((t) => [t.topic, t.partitions.map((p) => [p.partitionId, p.errorCode])])).toEqual([
      ['solo', [[0, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE.code], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code]]],
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code]]],
    ])
    expect(r.result.records).toEqual([])
    const unclean = elect(h, [], 1)
    expect(unclean.response.errorCode).toBe(ErrorCode.INVALID_REQUEST.code)
    expect(unclean.result.records).toEqual([])
  })

  it('with no partitions named, elects wherever needed and reports only those partitions', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', numPartitions: 6, replicationFactor: 2 }, { name: 'audit', numPartitions: 3, replicationFactor: 3 }])
    h.commit()
    expect(elect(h, []).response.topics).toEqual([])
    // Broker 1 restarts: its leaderships move away, and ISRs shrink.
    h.heartbeat(1, epochs.get(1)!, { wantShutdown: true })
    h.commit()
    epochs.set(1, h.register(1, 'inc-again'))
    h.commit()
    h.heartbeat(1, epochs.get(1)!)
    h.commit()
    // Its leaders put it back in every ISR it left.
    const moved: string[] = []
    for (const name of ['audit', 'orders']) {
      const topic = h.image.topic(name)!
      for (const [id, p] of topic.partitions) {
        if (p.replicas[0] === 1) moved.push(`${name}-${id}`)
        if (!p.replicas.includes(1 as NodeId) || p.isr.includes(1 as NodeId)) continue
        const r = alter(h, member(epochs, p.leader), [{ topicId: topic.topicId, partitionId: id, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: [...p.isr, 1].map((b) => member(epochs, b)) }])
        expect(r.response.topics[0].partitions[0].errorCode).toBe(0)
      }
    }
    h.commit()
    expect(moved.length).toBeGreaterThan(0)
    const r = elect(h, [])
    const reported = r.response.topics.flatMap((t) => t.partitions.map((p) => { expect(p.errorCode).toBe(0); return `${t.topic}-${p.partitionId}` }))
    expect(reported).toEqual(moved)
    expect(r.result.records).toHaveLength(moved.length)
    h.commit()
    for (const name of ['audit', 'orders']) for (const p of h.image.topic(name)!.partitions.values()) expect(p.leader).toBe(p.replicas[0])
  })
})

function allocate(h: Harness, brokerId: number, brokerEpoch: bigint): { result: ControllerResult; response: controller.AllocateProducerIdsResponse } {
  const result = h.run({ type: 'allocate_producer_ids', request: { brokerId, brokerEpoch } })
  assert(result.response.type === 'allocate_producer_ids')
  return { result, response: result.response.response }
}

describe('allocate_producer_ids', () => {
  it('hands out strictly increasing blocks of 1000 that survive replay and a snapshot', () => {
    const h = new Harness()
    const epochs = h.cluster(1, 2)
    const a = allocate(h, 1, epochs.get(1)!)
    const b = allocate(h, 2, epochs.get(2)!) // before a commits: decided on the speculative image
    expect([a.response, b.response].map((r) => [r.errorCode, r.producerIdStart, r.producerIdLen])).toEqual([[0, 0n, 1000], [0, 1000n, 1000]])
    expect(a.result.records).toEqual([{ record: { $case: 'producerIds', value: { brokerId: 1, brokerEpoch: epochs.get(1)!, nextProducerId: 1000n } } }])
    h.commit()
    expect(h.image.nextProducerId).toBe(2000n)
    expect(allocate(h, 1, epochs.get(1)!).response.producerIdStart).toBe(2000n)
    h.commit()

    const follower = new ControllerStateMachine(CONFIG, new SeededRandom(3), silentLogger, 8 as NodeId)
    for (const e of h.log) follower.applyCommitted(e)
    expect(follower.committedImage.nextProducerId).toBe(3000n)
    const restored = new ControllerStateMachine(CONFIG, new SeededRandom(5), silentLogger, 9 as NodeId)
    restored.applySnapshot({ id: { endOffset: h.image.offset + 1, epoch: h.epoch }, data: h.sm.snapshotData() })
    expect(restored.committedImage.nextProducerId).toBe(3000n)
    expect(restored.committedImage.fingerprint()).toBe(h.image.fingerprint())
    // The restored node, once active, continues after the last block.
    restored.applyCommitted({ epoch: 2, offset: h.image.offset + 1, kind: 'leader_change', data: new Uint8Array(0) })
    restored.becomeActive(2, 0)
    const next = restored.handle({ type: 'allocate_producer_ids', request: { brokerId: 2, brokerEpoch: epochs.get(2)! } }, 0)
    assert(next.response.type === 'allocate_producer_ids')
    expect(next.response.response.producerIdStart).toBe(3000n)
  })

  it('refuses a stale or unregistered broker with STALE_BROKER_EPOCH and no record', () => {
    const h = new Harness()
    const epochs = h.cluster(1)
    for (const [id, epoch] of [[1, epochs.get(1)! - 1n], [5, 1n]] as const) {
      const r = allocate(h, id, epoch)
      expect([r.response.errorCode, r.response.producerIdStart, r.response.producerIdLen]).toEqual([ErrorCode.STALE_BROKER_EPOCH.code, -1n, 0])
      expect(r.result.records).toEqual([])
    }
  })

  it('refuses once the int64 id space is exhausted', () => {
    const sm = new ControllerStateMachine(CONFIG, new SeededRandom(1), silentLogger, SELF)
    sm.applyCommitted({ epoch: 1, offset: 0, kind: 'leader_change', data: new Uint8Array(0) })
    const nearMax = 2n ** 63n - 1500n
    const records: metadata.MetadataRecord[] = [
      { record: { $case: 'registerBroker', value: { brokerId: 1, brokerEpoch: 1n, incarnationId: 'i', endpoints: [], rack: '', fenced: false } } },
      { record: { $case: 'producerIds', value: { brokerId: 1, brokerEpoch: 1n, nextProducerId: nearMax } } },
    ]
    sm.applyCommitted({ epoch: 1, offset: 1, kind: 'data', data: encodeMetadataRecordBatch(records) })
    sm.applyCommitted({ epoch: 2, offset: 2, kind: 'leader_change', data: new Uint8Array(0) })
    sm.becomeActive(2, 0)
    const ok = sm.handle({ type: 'allocate_producer_ids', request: { brokerId: 1, brokerEpoch: 1n } }, 0)
    assert(ok.response.type === 'allocate_producer_ids')
    expect(ok.response.response.producerIdStart).toBe(nearMax)
    const exhausted = sm.handle({ type: 'allocate_producer_ids', request: { brokerId: 1, brokerEpoch: 1n } }, 0)
    assert(exhausted.response.type === 'allocate_producer_ids')
    expect(exhausted.response.response.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR.code)
    expect(exhausted.records).toEqual([])
  })
})

// ---- Broker session streams and automatic preferred election ------------------------------

describe('broker session streams (a closed connection is a strong hint)', () => {
  /** Brokers 1-3 unfenced, each with one open session stream to this controller, and a topic. */
  function withSessions(h: Harness): Map<number, bigint> {
    const epochs = h.cluster(1, 2, 3)
    for (const [id, epoch] of epochs) h.sm.brokerSessionOpened(id as NodeId, epoch)
    h.createTopics([{ name: 'orders', numPartitions: 6, replicationFactor: 3 }])
    h.commit()
    return epochs
  }

  function sessionTick(h: Harness): number {
    const writes = h.sm.sessionTick(h.nowMs)
    for (const w of writes) h.propose(w.records)
    return writes.length
  }

  it('fences a broker at once when its last stream closes, electing new leaders from the ISR', () => {
    const h = new Harness()
    const epochs = withSessions(h)
    const before = h.image
    expect(leaders(before, 'orders')).toContain(1)
    h.nowMs = 10
    h.sm.brokerSessionClosed(1 as NodeId, epochs.get(1)!, h.nowMs)
    expect(sessionTick(h)).toBe(1) // long before the 1000 ms session timeout
    h.commit()
    expect(h.image.brokers.get(1 as NodeId)?.fenced).toBe(true)
    expect(leaders(h.image, 'orders')).not.toContain(1)
    for (const p of h.image.topic('orders')!.partitions.values()) expect(p.isr).not.toContain(1)
    // Fenced once: the next ticks write nothing more for it.
    h.heartbeatAll(epochs, [1])
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
  })

  it('keeps a broker while another stream of its epoch is open, and ignores streams of older epochs', () => {
    const h = new Harness()
    const epochs = withSessions(h)
    const epoch1 = epochs.get(1)!
    h.sm.brokerSessionOpened(1 as NodeId, epoch1) // a second stream (a reconnect racing the old one)
    h.sm.brokerSessionClosed(1 as NodeId, epoch1, 5)
    expect(sessionTick(h)).toBe(0)
    h.sm.brokerSessionClosed(2 as NodeId, epochs.get(2)! - 1n, 5) // an older incarnation's stream
    h.sm.brokerSessionOpened(3 as NodeId, epochs.get(3)! - 1n)
    expect(sessionTick(h)).toBe(0)
    expect(h.sm.brokerSession(1 as NodeId)).toEqual({ brokerEpoch: epoch1, open: 1, closedAtMs: null })
  })

  it('a controller that becomes active fences the brokers it saw die while it was a follower', () => {
    const h = new Harness()
    const epochs = withSessions(h)
    h.sm.becomeInactive()
    h.nowMs = 100
    h.sm.brokerSessionClosed(2 as NodeId, epochs.get(2)!, h.nowMs)
    h.epoch = 2
    h.leaderChange()
    h.sm.becomeActive(h.epoch, h.nowMs)
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(1)
    h.commit()
    expect(h.image.brokers.get(2 as NodeId)?.fenced).toBe(true)
    expect(h.image.brokers.get(1 as NodeId)?.fenced).toBe(false)
  })

  it('a fenced broker is not unfenced while its stream is closed, and is once it reconnects', () => {
    const h = new Harness()
    const epochs = withSessions(h)
    const epoch1 = epochs.get(1)!
    h.sm.brokerSessionClosed(1 as NodeId, epoch1, 0)
    sessionTick(h)
    h.commit()
    expect(h.heartbeat(1, epoch1).response).toMatchObject({ isFenced: true, isCaughtUp: true })
    expect(h.sm.pendingWriteCount).toBe(0)
    h.sm.brokerSessionOpened(1 as NodeId, epoch1)
    expect(h.heartbeat(1, epoch1).response.isFenced).toBe(false)
    h.commit()
    expect(h.image.brokers.get(1 as NodeId)?.fenced).toBe(false)
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
  })

  it('gives a session-using broker brokerSessionGraceMs to connect with its new epoch', () => {
    const h = new Harness({ ...CONFIG, brokerSessionGraceMs: 500 })
    const epochs = withSessions(h)
    // Broker 1 restarts: a new registration, caught up and unfenced, but no stream of the new epoch yet.
    h.sm.brokerSessionClosed(1 as NodeId, epochs.get(1)!, 0)
    const epoch1 = h.register(1, 'restarted')
    h.commit()
    expect(h.heartbeat(1, epoch1).response.isFenced).toBe(false)
    h.commit()
    h.nowMs = 100
    h.heartbeatAll(new Map([...epochs, [1, epoch1]]))
    h.tick() // starts the grace
    h.nowMs = 599
    h.heartbeatAll(new Map([...epochs, [1, epoch1]]))
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
    h.nowMs = 600
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(1)
    h.commit()
    expect(h.image.brokers.get(1 as NodeId)?.fenced).toBe(true)
  })

  it('a stream of the new epoch within the grace keeps the broker', () => {
    const h = new Harness({ ...CONFIG, brokerSessionGraceMs: 500 })
    const epochs = withSessions(h)
    h.sm.brokerSessionClosed(1 as NodeId, epochs.get(1)!, 0)
    const epoch1 = h.register(1, 'restarted')
    h.commit()
    h.heartbeat(1, epoch1)
    h.commit()
    h.tick()
    h.sm.brokerSessionOpened(1 as NodeId, epoch1)
    h.nowMs = 900
    h.heartbeatAll(new Map([...epochs, [1, epoch1]]))
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
  })

  it('never fences brokers that do not use session streams on that ground', () => {
    const h = new Harness({ ...CONFIG, brokerSessionGraceMs: 10 })
    const epochs = h.cluster(1, 2, 3)
    for (const t of [100, 500, 900]) {
      h.nowMs = t
      h.heartbeatAll(epochs)
      h.tick()
    }
    expect(h.sm.pendingWriteCount).toBe(0)
  })
})

describe('automatic preferred leader election (auto.leader.rebalance.enable)', () => {
  it('moves leadership back to a returning preferred replica once it is an unfenced ISR member', () => {
    const h = new Harness({ ...CONFIG, leaderImbalanceCheckIntervalMs: 300, brokerSessionTimeoutMs: 100_000 })
    const { topicId, epochs, replicas } = onePartition(h)
    const [preferred, second] = replicas
    // The preferred leader is fenced (controlled shutdown): leadership moves to the next replica.
    h.heartbeat(preferred, epochs.get(preferred)!, { wantShutdown: true })
    h.commit()
    let p = h.image.partition(topicId as TopicId, 0)!
    expect(p.leader).toBe(second)
    // It comes back: unfenced, but not in the ISR yet, so no election.
    expect(h.heartbeat(preferred, epochs.get(preferred)!).response.isFenced).toBe(false)
    h.commit()
    h.nowMs = 300
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
    // The leader adds it back to the ISR (it caught up).
    p = h.image.partition(topicId as TopicId, 0)!
    alter(h, member(epochs, second), [{ topicId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: [...p.isr.map((id) => member(epochs, id)), member(epochs, preferred)] }])
    h.commit()
    h.nowMs = 599
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0) // the next check is due at 600
    h.nowMs = 600
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(1)
    h.commit()
    p = h.image.partition(topicId as TopicId, 0)!
    expect(p.leader).toBe(preferred)
    h.nowMs = 900
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0) // balanced: nothing to write
  })

  it('is off when the interval is 0', () => {
    const h = new Harness({ ...CONFIG, leaderImbalanceCheckIntervalMs: 0, brokerSessionTimeoutMs: 100_000 })
    const { topicId, epochs, replicas } = onePartition(h)
    const [preferred, second] = replicas
    h.heartbeat(preferred, epochs.get(preferred)!, { wantShutdown: true })
    h.commit()
    h.heartbeat(preferred, epochs.get(preferred)!)
    h.commit()
    let p = h.image.partition(topicId as TopicId, 0)!
    alter(h, member(epochs, second), [{ topicId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: [...p.isr.map((id) => member(epochs, id)), member(epochs, preferred)] }])
    h.commit()
    h.nowMs = 90_000
    h.heartbeatAll(epochs)
    h.tick()
    expect(h.sm.pendingWriteCount).toBe(0)
    p = h.image.partition(topicId as TopicId, 0)!
    expect(p.leader).toBe(second)
  })
})

const SET = 0
const DELETE = 1

function alterConfigs(h: Harness, resources: { topic: string; ops: { name: string; op: number; value?: string }[] }[], validateOnly = false): { result: ControllerResult; results: controller.AlterConfigsResult[] } {
  const result = h.run({ type: 'alter_configs', request: { resources: resources.map((r) => ({ topic: r.topic, ops: r.ops.map((o) => ({ value: '', ...o })) })), validateOnly } })
  assert(result.response.type === 'alter_configs')
  expect(result.response.response.controllerId).toBe(SELF)
  return { result, results: result.response.response.results }
}

describe('alter_configs (KIP-339 incremental, topics)', () => {
  it('sets and deletes keys: a delete is a ConfigRecord without a value, and the image drops the key', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', configs: { 'retention.ms': '1000', 'segment.ms': '60000' } }])
    h.commit()
    const { result, results } = alterConfigs(h, [{ topic: 'orders', ops: [
      { name: 'retention.ms', op: SET, value: '5000' },
      { name: 'min.insync.replicas', op: SET, value: '2' },
      { name: 'segment.ms', op: DELETE },
    ] }])
    expect(results).toEqual([{ topic: 'orders', errorCode: 0, errorMessage: '' }])
    expect(result.records.map((r) => r.record)).toEqual([
      { $case: 'config', value: { resourceType: 2, resourceName: 'orders', name: 'retention.ms', value: '5000' } },
      { $case: 'config', value: { resourceType: 2, resourceName: 'orders', name: 'min.insync.replicas', value: '2' } },
      { $case: 'config', value: { resourceType: 2, resourceName: 'orders', name: 'segment.ms' } },
    ])
    h.commit()
    expect(h.image.topicConfigs.get('orders')).toEqual(new Map([['retention.ms', '5000'], ['min.insync.replicas', '2']]))
  })

  it('writes nothing for changes that change nothing (same value, delete of an unset key)', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders', configs: { 'retention.ms': '1000' } }])
    h.commit()
    const { result, results } = alterConfigs(h, [{ topic: 'orders', ops: [{ name: 'retention.ms', op: SET, value: '1000' }, { name: 'segment.bytes', op: DELETE }] }])
    expect(results[0].errorCode).toBe(0)
    expect(result.records).toEqual([])
  })

  it.each([
    ['an unknown key', { name: 'compression.type', op: SET, value: 'zstd' }, ErrorCode.INVALID_CONFIG.code, 'Unknown topic config name: compression.type'],
    ['a cleanup.policy Kafka does not know', { name: 'cleanup.policy', op: SET, value: 'shrink' }, ErrorCode.INVALID_CONFIG.code, expect.stringContaining("'delete', 'compact' or 'compact,delete'")],
    ['a dirty ratio above 1', { name: 'min.cleanable.dirty.ratio', op: SET, value: '1.5' }, ErrorCode.INVALID_CONFIG.code, expect.stringContaining('[0, 1]')],
    ['a non-integer value', { name: 'retention.ms', op: SET, value: 'soon' }, ErrorCode.INVALID_CONFIG.code, "Invalid value 'soon' for configuration 'retention.ms': must be an integer >= -1 (-1: no limit)."],
    ['an out-of-range value', { name: 'min.insync.replicas', op: SET, value: '0' }, ErrorCode.INVALID_CONFIG.code, expect.stringContaining("Invalid value '0' for configuration 'min.insync.replicas'")],
    ['an empty value', { name: 'segment.ms', op: SET, value: '' }, ErrorCode.INVALID_CONFIG.code, expect.stringContaining('must not be empty')],
    ['an unknown key to delete', { name: 'no.such.key', op: DELETE }, ErrorCode.INVALID_CONFIG.code, 'Unknown topic config name: no.such.key'],
    ['an unknown operation', { name: 'retention.ms', op: 7, value: '1' }, ErrorCode.INVALID_REQUEST.code, expect.stringContaining('Unsupported operation')],
  ])('refuses %s, and changes nothing else of that topic', (_what, bad, errorCode, errorMessage) => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders' }, { name: 'audit' }])
    h.commit()
    const { result, results } = alterConfigs(h, [
      { topic: 'orders', ops: [{ name: 'retention.bytes', op: SET, value: '5' }, bad] },
      { topic: 'audit', ops: [{ name: 'retention.ms', op: SET, value: '6' }] },
    ])
    expect(results).toEqual([{ topic: 'orders', errorCode, errorMessage }, { topic: 'audit', errorCode: 0, errorMessage: '' }])
    expect(result.records).toHaveLength(1)
    h.commit()
    expect(h.image.topicConfigs.get('orders')).toBeUndefined()
    expect(h.image.topicConfigs.get('audit')).toEqual(new Map([['retention.ms', '6']]))
  })

  it('answers UNKNOWN_TOPIC_OR_PARTITION, duplicate topics and duplicate keys with INVALID_REQUEST', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders' }])
    h.commit()
    const { result, results } = alterConfigs(h, [
      { topic: 'nope', ops: [{ name: 'retention.ms', op: SET, value: '5' }] },
      { topic: 'dup', ops: [] },
      { topic: 'dup', ops: [] },
      { topic: 'orders', ops: [{ name: 'retention.ms', op: SET, value: '5' }, { name: 'retention.ms', op: DELETE }] },
    ])
    expect(results.map((r) => [r.topic, r.errorCode])).toEqual([
      ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code],
      ['dup', ErrorCode.INVALID_REQUEST.code],
      ['orders', ErrorCode.INVALID_REQUEST.code],
    ])
    expect(result.records).toEqual([])
  })

  it('validate_only checks everything and writes nothing', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders' }])
    h.commit()
    const ok = alterConfigs(h, [{ topic: 'orders', ops: [{ name: 'retention.ms', op: SET, value: '5' }] }], true)
    expect(ok.results[0].errorCode).toBe(0)
    expect(ok.result.records).toEqual([])
    const bad = alterConfigs(h, [{ topic: 'orders', ops: [{ name: 'retention.ms', op: SET, value: '-2' }] }], true)
    expect(bad.results[0].errorCode).toBe(ErrorCode.INVALID_CONFIG.code)
    expect(h.sm.pendingWriteCount).toBe(0)
  })

  it('sees an uncommitted CreateTopics (the speculative image) and deleting the topic drops its configs', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    h.createTopics([{ name: 'orders' }])
    const { results } = alterConfigs(h, [{ topic: 'orders', ops: [{ name: 'segment.bytes', op: SET, value: '1048576' }] }])
    expect(results[0].errorCode).toBe(0)
    h.commit()
    expect(h.image.topicConfigs.get('orders')).toEqual(new Map([['segment.bytes', '1048576']]))
    h.run({ type: 'delete_topics', request: { names: ['orders'] } })
    h.commit()
    expect(h.image.topicConfigs.has('orders')).toBe(false)
  })

  it('CreateTopics refuses a bad value for a known key (unknown keys are still stored)', () => {
    const h = new Harness()
    h.cluster(1, 2, 3)
    const { topics } = h.createTopics([{ name: 'a', configs: { 'max.message.bytes': '-1' } }, { name: 'b', configs: { 'cleanup.policy': 'compact' } }])
    expect(topics.map((t) => t.errorCode)).toEqual([ErrorCode.INVALID_CONFIG.code, 0])
    expect(topics[0].errorMessage).toContain("Invalid value '-1' for configuration 'max.message.bytes'")
  })
})
