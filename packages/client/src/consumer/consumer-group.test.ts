import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode, type broker } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import type { Consumer } from './consumer.js'
import { resolveConsumerOptions } from './options.js'
import { FakeGroupCluster } from './test-fake-group-cluster.js'
import type { ConsumerRecord } from './types.js'

const clients: Client[] = []
const timers: NodeJS.Timeout[] = []
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t)
  await Promise.allSettled(clients.splice(0).map((c) => c.close({ timeoutMs: 2_000 })))
})

function setup(partitions = 4, sessionTimeoutMs = 2_000): { fake: FakeGroupCluster; client: Client } {
  const fake = new FakeGroupCluster({ sessionTimeoutMs })
  fake.addTopic('t', partitions)
  const client = fake.client()
  clients.push(client)
  return { fake, client }
}

function member(client: Client, options: { autoCommit?: boolean; sessionTimeoutMs?: number } = {}): Consumer {
  return client.consumer({ groupId: 'g', fromBeginning: true, heartbeatIntervalMs: 20, maxWaitMs: 20, autoCommitIntervalMs: 50, ...options })
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const owned = (c: Consumer): string[] => c.assignment().map((tp) => `${tp.topic}-${tp.partition}`).sort()

/** Fails the test if two consumers ever hold the same partition: checked after every answer and every millisecond. */
function watchExclusive(fake: FakeGroupCluster, consumers: () => readonly Consumer[]): { violations: string[] } {
  const violations: string[] = []
  const check = (): void => {
    const seen = new Map<string, number>()
    consumers().forEach((c, i) => {
      for (const p of owned(c)) {
        if (seen.has(p)) violations.push(`${p} held by consumers ${seen.get(p)} and ${i}`)
        seen.set(p, i)
      }
    })
  }
  fake.afterAnswer = check
  timers.push(setInterval(check, 1))
  return { violations }
}

/** Consumes in the background until closed, committing each record. */
function drain(c: Consumer, seen: ConsumerRecord[], commitEach: boolean): Promise<void> {
  return (async () => {
    for await (const r of c) {
      seen.push(r)
      if (commitEach) await c.commit(r).catch(() => undefined)
    }
  })()
}

describe('Consumer options (groups)', () => {
  it('defaults to auto-commit every 5 s and refuses an empty group id or a zero interval', () => {
    expect(resolveConsumerOptions({ groupId: 'g' })).toMatchObject({ autoCommit: true, autoCommitIntervalMs: 5000, heartbeatIntervalMs: 5000, sessionTimeoutMs: 45000 })
    expect(() => resolveConsumerOptions({ groupId: '' })).toThrow(RangeError)
    expect(() => resolveConsumerOptions({ heartbeatIntervalMs: 0 })).toThrow(RangeError)
  })
})

describe('Consumer groups (fake coordinator with the real shard)', () => {
  it('refuses subscribe() without a group id and commit() without a group', async () => {
    const { client } = setup()
    const c = client.consumer({})
    await expect(c.subscribe(['t'])).rejects.toThrow(/groupId/)
    await expect(c.commit()).rejects.toThrow(/subscribed/)
  })

  it('two consumers converge 2+2, a third joins, one leaves cleanly; no partition is ever held by two', async () => {
    const { fake, client } = setup(4)
    const consumers: Consumer[] = []
    const { violations } = watchExclusive(fake, () => consumers)
    const a = member(client)
    const b = member(client)
    consumers.push(a, b)
    await a.subscribe(['t'])
    await waitFor('a owns 4', () => a.assignment().length === 4)
    await b.subscribe(['t'])
    await waitFor('2+2', () => a.assignment().length === 2 && b.assignment().length === 2)
    expect([...owned(a), ...owned(b)].sort()).toEqual(['t-0', 't-1', 't-2', 't-3'])

    const c = member(client)
    consumers.push(c)
    await c.subscribe(['t'])
    await waitFor('2+1+1', () => [a, b, c].map((x) => x.assignment().length).sort().join() === '1,1,2')
    expect(fake.shard.group('g')?.memberCount).toBe(3)

    await a.close()
    expect(fake.shard.group('g')?.memberCount).toBe(2)
    await waitFor('2+2 after the leave', () => b.assignment().length === 2 && c.assignment().length === 2)
    expect([...owned(b), ...owned(c)].sort()).toEqual(['t-0', 't-1', 't-2', 't-3'])
    expect(violations).toEqual([])
  })

  it('a consumer beyond the partition count sits idle', async () => {
    const { client } = setup(1)
    const a = member(client)
    const b = member(client)
    await a.subscribe(['t'])
    await waitFor('a owns 1', () => a.assignment().length === 1)
    await b.subscribe(['t'])
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(a.assignment()).toHaveLength(1)
    expect(b.assignment()).toHaveLength(0)
  })

  it('after rebalances and a clean leave, every record is consumed exactly once (committed positions)', async () => {
    const { fake, client } = setup(4)
    for (let p = 0; p < 4; p++) fake.append('t', p, Array.from({ length: 30 }, (_, i) => `p${p}-${i}`))
    const consumers: Consumer[] = []
    const { violations } = watchExclusive(fake, () => consumers)
    const seen: ConsumerRecord[] = []
    const a = member(client)
    consumers.push(a)
    await a.subscribe(['t'])
    const drains = [drain(a, seen, true)]
    await waitFor('a reads some', () => seen.length >= 40)
    const b = member(client)
    consumers.push(b)
    await b.subscribe(['t'])
    drains.push(drain(b, seen, false)) // b relies on auto-commit (revocation and close)
    await waitFor('2+2', () => a.assignment().length === 2 && b.assignment().length === 2)
    for (let p = 0; p < 4; p++) fake.append('t', p, Array.from({ length: 10 }, (_, i) => `p${p}-more-${i}`))
    await waitFor('some of the new records', () => seen.length >= 130)
    await a.close()
    await waitFor('b owns 4', () => b.assignment().length === 4)
    for (let p = 0; p < 4; p++) fake.append('t', p, Array.from({ length: 5 }, (_, i) => `p${p}-last-${i}`))
    await waitFor('every record', () => new Set(seen.map((r) => `${r.partition}:${r.offset}`)).size === 4 * 45, 8_000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    await b.close()
    await Promise.all(drains)
    const keys = seen.map((r) => `${r.partition}:${r.offset}`)
    expect(keys.length - new Set(keys).size).toBe(0) // no duplicates
    expect(new Set(keys).size).toBe(180) // no loss
    expect(violations).toEqual([])
    // The committed offsets are the log ends.
    const committed = fake.shard.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1, 2, 3] }], allTopics: false, memberId: '', memberEpoch: -1 })
    expect(committed.topics[0]!.partitions.map((p) => p.committedOffset)).toEqual([45n, 45n, 45n, 45n])
  })

  it('close() hands out nothing more once called, so its commit covers every record handed out', async () => {
    const { fake, client } = setup(1)
    fake.append('t', 0, Array.from({ length: 50 }, (_, i) => `v${i}`))
    const a = member(client)
    await a.subscribe(['t'])
    for (let i = 0; i < 5; i++) expect((await a.next())?.offset).toBe(BigInt(i))
    const closing = a.close()
    // A record handed out now would not be in close()'s commit: the next owner would read it again.
    expect(await a.next()).toBeNull()
    expect(a.close()).toBe(closing)
    await closing
    const committed = fake.shard.fetchOffsets({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], allTopics: false, memberId: '', memberEpoch: -1 })
    expect(committed.topics[0]!.partitions[0]!.committedOffset).toBe(5n)
  })

  it('a new member starts at the committed offset; without one at fromBeginning', async () => {
    const { fake, client } = setup(1)
    fake.append('t', 0, Array.from({ length: 10 }, (_, i) => `v${i}`))
    const a = member(client, { autoCommit: false })
    await a.subscribe(['t'])
    const first = await a.next()
    expect(first?.offset).toBe(0n)
    for (let i = 0; i < 3; i++) await a.next()
    await a.commit()
    await a.close()
    const b = member(client)
    await b.subscribe(['t'])
    expect((await b.next())?.offset).toBe(4n)
  })

  it('starts fetching when its assignment arrives, not after an idle round of maxWaitMs', async () => {
    const { fake, client } = setup(1)
    fake.append('t', 0, ['v0'])
    // The first round finds nothing assigned and waits; the assignment must end that wait
    // (it used to sleep the whole maxWaitMs: 0.5 s at every start with the default).
    const c = client.consumer({ groupId: 'g', fromBeginning: true, heartbeatIntervalMs: 20, maxWaitMs: 60_000 })
    const first = c.next()
    await c.subscribe(['t'])
    let timer: NodeJS.Timeout | undefined
    const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), 3_000)))
    const outcome = await Promise.race([first, stalled])
    clearTimeout(timer)
    expect(outcome).not.toBe('stalled')
    expect((outcome as ConsumerRecord | null)?.value?.toString()).toBe('v0')
  })

  it('fenced: drops every partition and rejoins with epoch 0 and the same member id', async () => {
    const { fake, client } = setup(2)
    const joins: broker.ConsumerGroupHeartbeatRequest[] = []
    let fence = false
    fake.interceptHeartbeat = (req) => {
      if (req.memberEpoch === 0) joins.push(req)
      if (fence && req.memberEpoch > 0) {
        fence = false
        return { errorCode: ErrorCode.FENCED_MEMBER_EPOCH.code, errorMessage: 'fenced', memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: [] }
      }
      return null
    }
    const a = member(client)
    await a.subscribe(['t'])
    await waitFor('a owns 2', () => a.assignment().length === 2)
    const id = a.group!.memberId
    const drops: number[] = []
    timers.push(setInterval(() => drops.push(a.assignment().length), 1))
    fence = true
    await waitFor('the rejoin', () => joins.length === 2)
    expect(joins[1]!.memberId).toBe(id)
    expect(joins[1]!.topicPartitions).toEqual([]) // it gave up everything before rejoining
    await waitFor('a owns 2 again', () => a.assignment().length === 2)
    expect(a.group!.memberId).toBe(id)
  })

  it('NOT_COORDINATOR: finds the coordinator again and keeps its partitions', async () => {
    const { fake, client } = setup(2)
    let refusals = 2
    let finds = 0
    const answer = fake.afterAnswer
    fake.interceptHeartbeat = (req) => {
      if (req.memberEpoch > 0 && refusals > 0) {
        refusals--
        return { errorCode: ErrorCode.NOT_COORDINATOR.code, errorMessage: '', memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: [] }
      }
      return null
    }
    const call = client.connections.call.bind(client.connections)
    client.connections.call = (address, pick, request, timeoutMs, context) => {
      if (context === 'FindCoordinator') finds++
      return call(address, pick, request, timeoutMs, context)
    }
    fake.afterAnswer = answer
    const a = member(client)
    await a.subscribe(['t'])
    await waitFor('the refusals', () => refusals === 0 && a.group!.heartbeats >= 3)
    expect(finds).toBe(3)
    expect(a.assignment()).toHaveLength(2)
  })

  it('no successful heartbeat within the session timeout: drops its partitions locally', async () => {
    const { fake, client } = setup(2)
    let down = false
    fake.interceptHeartbeat = (req) => (down ? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE.code, errorMessage: '', memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: [] } : null)
    const a = member(client, { sessionTimeoutMs: 150 })
    await a.subscribe(['t'])
    await waitFor('a owns 2', () => a.assignment().length === 2)
    down = true
    await waitFor('the local drop', () => a.assignment().length === 0)
    down = false
    await waitFor('a owns 2 again', () => a.assignment().length === 2)
  })

  it('STALE_MEMBER_EPOCH on a commit with an old epoch', async () => {
    const { fake, client } = setup(1)
    const a = member(client, { autoCommit: false })
    await a.subscribe(['t'])
    await waitFor('a owns 1', () => a.assignment().length === 1)
    const epoch = a.group!.memberEpoch
    const res = fake.shard.commitOffsets({ groupId: 'g', generationIdOrMemberEpoch: epoch + 5, memberId: a.group!.memberId, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }] }, Date.now())
    expect(res.response.errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH.code)
    await a.commit({ topic: 't', partition: 0, offset: 0n })
    expect(fake.shard.offsets.fetch('g', 't', 0)?.committedOffset).toBe(1n)
  })
})

describe('Admin group calls (fake coordinator)', () => {
  it('listGroups, describeGroup with lag per partition, deleteGroup (refused while members remain)', async () => {
    const { fake, client } = setup(2)
    fake.append('t', 0, Array.from({ length: 10 }, (_, i) => `v${i}`))
    fake.append('t', 1, Array.from({ length: 4 }, (_, i) => `w${i}`))
    const a = member(client, { autoCommit: false })
    await a.subscribe(['t'])
    await waitFor('a owns 2', () => a.assignment().length === 2)
    await a.commit({ topic: 't', partition: 0, offset: 6n }) // committed 7
    const admin = client.admin()
    expect(await admin.listGroups()).toEqual([{ groupId: 'g', state: 'Stable' }])
    const d = await admin.describeGroup('g')
    expect(d).toMatchObject({ groupId: 'g', state: 'Stable' })
    expect(d.members).toHaveLength(1)
    expect(d.members[0]).toMatchObject({ memberId: a.group!.memberId, subscribedTopics: ['t'], assignment: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }] })
    expect(d.partitions).toEqual([
      { topic: 't', partition: 0, committedOffset: 7n, latestOffset: 10n, lag: 3n },
      { topic: 't', partition: 1, committedOffset: -1n, latestOffset: 4n, lag: 4n },
    ])
    await expect(admin.deleteGroup('g')).rejects.toMatchObject({ code: 68 })
    await a.close()
    expect((await admin.describeGroup('g')).state).toBe('Empty')
    await admin.deleteGroup('g')
    expect(await admin.listGroups()).toEqual([])
    await expect(admin.describeGroup('g')).rejects.toMatchObject({ code: ErrorCode.GROUP_ID_NOT_FOUND.code })
  })
})
