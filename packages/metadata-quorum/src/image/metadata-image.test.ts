import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { NO_NODE, type NodeId, type TopicId, type metadata } from '@tributary/protocol'
import { AssertionError } from '../util/assert.js'
import { MetadataImage } from './metadata-image.js'
import { imageFromSnapshotData, imageToSnapshotData } from './image-snapshot.js'
import {
  brokerConfig, fenceBroker, partition, partitionChange, producerIds, registerBroker, removeTopic, tid, topic, topicConfig, unfenceBroker,
} from './test-records.js'

const T1 = tid(1) as TopicId

/** Brokers 1..3 unfenced, topic "orders" with 2 partitions on [1,2,3] and [2,3,1]. */
function baseImage(): MetadataImage {
  return MetadataImage.EMPTY.replay([
    registerBroker(1, 1n), registerBroker(2, 2n), registerBroker(3, 3n),
    topic('orders', T1),
    partition(T1, 0, [1, 2, 3]),
    partition(T1, 1, [2, 3, 1]),
  ], 5)
}

describe('MetadataImage.replay', () => {
  it('starts empty at offset -1', () => {
    const e = MetadataImage.EMPTY
    expect(e.offset).toBe(-1)
    expect(e.brokers.size).toBe(0)
    expect(e.topicsById.size).toBe(0)
    expect(e.nextProducerId).toBe(0n)
  })

  it('registers brokers, topics and partitions and indexes topics by id and by name', () => {
    const img = baseImage()
    expect(img.offset).toBe(5)
    expect(img.unfencedBrokerIds()).toEqual([1, 2, 3])
    expect(img.brokers.get(2 as NodeId)).toMatchObject({ brokerEpoch: 2n, fenced: false, endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9094 }] })
    expect(img.topic('orders')).toBe(img.topicsById.get(T1))
    expect(img.partition(T1, 1)).toEqual({ partitionId: 1, replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 })
  })

  it('a leader change bumps leaderEpoch and partitionEpoch; an ISR-only change bumps partitionEpoch', () => {
    let img = baseImage()
    img = img.replay([partitionChange(T1, 0, { leader: 2 })], 6)
    expect(img.partition(T1, 0)).toMatchObject({ leader: 2, isr: [1, 2, 3], leaderEpoch: 1, partitionEpoch: 1 })
    img = img.replay([partitionChange(T1, 0, { isr: [2, 3] })], 7)
    expect(img.partition(T1, 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 2 })
    img = img.replay([partitionChange(T1, 0, { leader: NO_NODE, isr: [3] })], 8)
    expect(img.partition(T1, 0)).toMatchObject({ leader: -1, isr: [3], leaderEpoch: 2, partitionEpoch: 3 })
    img = img.replay([partitionChange(T1, 0, { replicas: [3, 2] , isr: [3] })], 9)
    expect(img.partition(T1, 0)).toMatchObject({ replicas: [3, 2], leaderEpoch: 2, partitionEpoch: 4 })
  })

  it('never mutates the image it replays onto, and shares what it does not touch', () => {
    const before = baseImage()
    const text = before.canonicalText()
    const p0 = before.partition(T1, 0)
    const after = before.replay([partitionChange(T1, 0, { leader: 3 }), fenceBroker(1, 1n), topic('other', tid(2)), topicConfig('orders', 'retention.ms', '1000')], 6)
    expect(before.canonicalText()).toBe(text)
    expect(before.partition(T1, 0)).toBe(p0)
    expect(after.partition(T1, 0)?.leader).toBe(3)
    // Untouched partitions and brokers are the same objects (structural sharing).
    expect(after.partition(T1, 1)).toBe(before.partition(T1, 1))
    expect(after.brokers.get(2 as NodeId)).toBe(before.brokers.get(2 as NodeId))
    expect(Object.isFrozen(after.partition(T1, 0))).toBe(true)
    expect(Object.isFrozen(after.brokers.get(1 as NodeId))).toBe(true)
  })

  it('fences, unfences and re-registers brokers by epoch', () => {
    let img = baseImage().replay([fenceBroker(2, 2n)], 6)
    expect(img.brokers.get(2 as NodeId)?.fenced).toBe(true)
    expect(img.unfencedBrokerIds()).toEqual([1, 3])
    img = img.replay([unfenceBroker(2, 2n)], 7)
    expect(img.isActiveBroker(2 as NodeId)).toBe(true)
    img = img.replay([registerBroker(2, 8n, { fenced: true, incarnationId: 'new' })], 8)
    expect(img.brokers.get(2 as NodeId)).toMatchObject({ brokerEpoch: 8n, incarnationId: 'new', fenced: true })
  })

  it('removing a topic removes its configs; an unset value deletes a key', () => {
    let img = baseImage().replay([topicConfig('orders', 'cleanup.policy', 'compact'), topicConfig('orders', 'retention.ms', '10'), brokerConfig('1', 'log.retention.ms', '5')], 6)
    expect(img.topicConfigs.get('orders')).toEqual(new Map([['cleanup.policy', 'compact'], ['retention.ms', '10']]))
    img = img.replay([topicConfig('orders', 'retention.ms', undefined)], 7)
    expect(img.topicConfigs.get('orders')).toEqual(new Map([['cleanup.policy', 'compact']]))
    img = img.replay([removeTopic(T1)], 8)
    expect(img.topic('orders')).toBeUndefined()
    expect(img.topicsById.size).toBe(0)
    expect(img.topicConfigs.has('orders')).toBe(false)
    expect(img.brokerConfigs.get('1')?.get('log.retention.ms')).toBe('5')
  })

  it('keeps the next producer id and requires it to increase', () => {
    const img = baseImage().replay([producerIds(1000n)], 6)
    expect(img.nextProducerId).toBe(1000n)
    expect(() => img.replay([producerIds(1000n)], 7)).toThrow(AssertionError)
  })

  it.each<[string, metadata.MetadataRecord[]]>([
    ['a change to an unknown partition', [partitionChange(T1, 7, { leader: 2 })]],
    ['a change to an unknown topic', [partitionChange(tid(9), 0, { leader: 2 })]],
    ['a change that changes nothing', [partitionChange(T1, 0, {})]],
    ['a leader outside the ISR', [partitionChange(T1, 0, { isr: [2, 3], leader: 1 })]],
    ['an empty ISR', [partitionChange(T1, 0, { isr: [], leader: NO_NODE })]],
    ['an ISR outside the replicas', [partitionChange(T1, 0, { isr: [1, 4] })]],
    ['duplicate replicas', [partition(T1, 2, [1, 1])]],
    ['a partition id out of order', [partition(T1, 5, [1])]],
    ['a second topic with the same name', [topic('orders', tid(2))]],
    ['a second topic with the same id', [topic('other', T1)]],
    ['a malformed topic id', [topic('other', 'short')]],
    ['a fence with a stale broker epoch', [fenceBroker(1, 0n)]],
    ['a fence of an unknown broker', [fenceBroker(9, 1n)]],
    ['an unfence of an unfenced broker', [unfenceBroker(1, 1n)]],
    ['a re-registration that does not raise the epoch', [registerBroker(1, 1n)]],
    ['removing an unknown topic', [removeTopic(tid(9))]],
    ['a record without a type', [{ record: undefined }]],
  ])('asserts on %s', (_what, records) => {
    const img = baseImage()
    expect(() => img.replay(records, 6)).toThrow(AssertionError)
  })

  it('asserts when the offset goes backwards', () => {
    expect(() => baseImage().replay([], 4)).toThrow(AssertionError)
  })
})

describe('MetadataImage.fingerprint', () => {
  it('is equal for equal content built in a different order', () => {
    const a = MetadataImage.EMPTY.replay([registerBroker(1, 1n), registerBroker(2, 2n), topic('a', tid(1)), topic('b', tid(2)), topicConfig('a', 'x', '1'), topicConfig('a', 'y', '2')], 10)
    const b = MetadataImage.EMPTY.replay([topic('b', tid(2)), registerBroker(2, 2n), topic('a', tid(1)), topicConfig('a', 'y', '2'), registerBroker(1, 1n), topicConfig('a', 'x', '1')], 10)
    expect(b.fingerprint()).toBe(a.fingerprint())
    expect(a.fingerprint()).toMatch(/^[0-9a-f]{32}$/)
  })

  it('differs when any fact differs', () => {
    const img = baseImage()
    const variants = [
      img.replay([], 6),
      img.replay([partitionChange(T1, 0, { leader: 2 })], 5),
      img.replay([fenceBroker(3, 3n)], 5),
      img.replay([topicConfig('orders', 'k', 'v')], 5),
      img.replay([producerIds(1n)], 5),
      img.replay([topic('x', tid(3))], 5),
    ]
    const prints = new Set([img.fingerprint(), ...variants.map((v) => v.fingerprint())])
    expect(prints.size).toBe(variants.length + 1)
  })
})

// ---- Property tests over random valid histories --------------------------------------------

type Op =
  | { kind: 'register'; broker: number; fenced: boolean; rack: string }
  | { kind: 'toggleFence'; broker: number }
  | { kind: 'topic'; name: number; partitions: number; rf: number }
  | { kind: 'change'; topic: number; partition: number; pick: number }
  | { kind: 'remove'; topic: number }
  | { kind: 'config'; broker: boolean; resource: number; key: number; value: string | null }
  | { kind: 'pids'; step: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('register' as const), broker: fc.integer({ min: 0, max: 5 }), fenced: fc.boolean(), rack: fc.constantFrom('', 'a', 'b') }), weight: 2 },
  fc.record({ kind: fc.constant('toggleFence' as const), broker: fc.integer({ min: 0, max: 5 }) }),
  { arbitrary: fc.record({ kind: fc.constant('topic' as const), name: fc.integer({ min: 0, max: 8 }), partitions: fc.integer({ min: 1, max: 4 }), rf: fc.integer({ min: 1, max: 3 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('change' as const), topic: fc.nat(), partition: fc.nat(), pick: fc.nat() }), weight: 4 },
  fc.record({ kind: fc.constant('remove' as const), topic: fc.nat() }),
  fc.record({ kind: fc.constant('config' as const), broker: fc.boolean(), resource: fc.integer({ min: 0, max: 8 }), key: fc.integer({ min: 0, max: 3 }), value: fc.option(fc.string({ maxLength: 5 }), { nil: null }) }),
  fc.record({ kind: fc.constant('pids' as const), step: fc.integer({ min: 1, max: 1000 }) }),
)

/** Turns arbitrary ops into records that are valid against `img` (or none). */
function recordsFor(img: MetadataImage, op: Op, offset: number, nextTopicId: () => string): metadata.MetadataRecord[] {
  switch (op.kind) {
    case 'register': {
      const existing = img.brokers.get(op.broker as NodeId)
      return [registerBroker(op.broker, BigInt(offset), { fenced: op.fenced, rack: op.rack, incarnationId: existing ? 'again' : 'first' })]
    }
    case 'toggleFence': {
      const b = img.brokers.get(op.broker as NodeId)
      if (b === undefined) return []
      return [b.fenced ? unfenceBroker(b.brokerId, b.brokerEpoch) : fenceBroker(b.brokerId, b.brokerEpoch)]
    }
    case 'topic': {
      const name = `t${op.name}`
      if (img.topic(name) !== undefined) return []
      const id = nextTopicId()
      const out = [topic(name, id)]
      for (let p = 0; p < op.partitions; p++) {
        const replicas = Array.from({ length: op.rf }, (_, r) => (p + r) % 6)
        out.push(partition(id, p, replicas))
      }
      return out
    }
    case 'change': {
      const topics = [...img.topicsById.values()]
      if (topics.length === 0) return []
      const t = topics[op.topic % topics.length]
      const p = t.partitions.get(op.partition % t.partitions.size)!
      const isr = p.replicas.filter((_, i) => ((op.pick >> i) & 1) === 1 || i === 0)
      const leader = op.pick % 3 === 0 ? NO_NODE : isr[op.pick % isr.length]
      const changeLeader = leader !== p.leader
      const changeIsr = isr.join() !== p.isr.join()
      if (!changeLeader && !changeIsr) return []
      if (!changeIsr && !isr.includes(leader) && leader !== NO_NODE) return []
      if (!changeLeader && p.leader !== NO_NODE && !isr.includes(p.leader)) return []
      return [partitionChange(t.topicId, p.partitionId, { leader: changeLeader ? leader : undefined, isr: changeIsr ? isr : undefined })]
    }
    case 'remove': {
      const topics = [...img.topicsById.values()]
      if (topics.length === 0) return []
      return [removeTopic(topics[op.topic % topics.length].topicId)]
    }
    case 'config':
      return [op.broker ? brokerConfig(String(op.resource), `k${op.key}`, op.value ?? undefined) : topicConfig(`t${op.resource}`, `k${op.key}`, op.value ?? undefined)]
    case 'pids':
      return [producerIds(img.nextProducerId + BigInt(op.step))]
  }
}

function history(ops: Op[]): { image: MetadataImage; batches: metadata.MetadataRecord[][] } {
  let img = MetadataImage.EMPTY
  let topicIds = 0
  const batches: metadata.MetadataRecord[][] = []
  ops.forEach((op, offset) => {
    const records = recordsFor(img, op, offset, () => tid(++topicIds))
    batches.push(records)
    img = img.replay(records, offset)
  })
  return { image: img, batches }
}

describe('MetadataImage properties', () => {
  it('a snapshot round trip keeps the fingerprint, and snapshot bytes are canonical', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 10, maxLength: 150 }), (ops) => {
      const { image } = history(ops)
      const data = imageToSnapshotData(image)
      const restored = imageFromSnapshotData(data, image.offset)
      expect(restored.fingerprint()).toBe(image.fingerprint())
      expect(restored.canonicalText()).toBe(image.canonicalText())
      expect(imageToSnapshotData(restored)).toEqual(data)
    }), { numRuns: 300 })
  })

  it('replaying a history in one batch gives the same image as entry by entry', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 10, maxLength: 150 }), (ops) => {
      const { image, batches } = history(ops)
      const once = MetadataImage.EMPTY.replay(batches.flat(), image.offset)
      expect(once.fingerprint()).toBe(image.fingerprint())
    }), { numRuns: 200 })
  })

  it('replay is pure: the same records onto the same image give equal images and leave it unchanged', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 10, maxLength: 100 }), fc.array(opArb, { maxLength: 10 }), (prefix, suffix) => {
      const { image } = history(prefix)
      const before = image.canonicalText()
      let a = image
      let b = image
      let ids = 100
      let idsB = 100
      suffix.forEach((op, i) => {
        a = a.replay(recordsFor(a, op, image.offset + 1 + i, () => tid(++ids)), image.offset + 1 + i)
        b = b.replay(recordsFor(b, op, image.offset + 1 + i, () => tid(++idsB)), image.offset + 1 + i)
      })
      expect(a.fingerprint()).toBe(b.fingerprint())
      expect(image.canonicalText()).toBe(before)
    }), { numRuns: 200 })
  })
})
