// Scripted replication stories: three ReplicaManagers in one process, the real controller
// state machine deciding topics, ISRs and leaders, in-memory channels between brokers.
// Each story reads like what it checks (Kafka's replication behaviour, DESIGN.md).
import { cpSync, existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { InProcessCluster, eventually } from './in-process-cluster.js'

let cluster: InProcessCluster | null = null

afterEach(async () => {
  await cluster?.close()
  cluster = null
})

async function start(...args: Parameters<typeof InProcessCluster.start>): Promise<InProcessCluster> {
  cluster = await InProcessCluster.start(...args)
  return cluster
}

async function sameLogsBelowHighWatermark(c: InProcessCluster, topic: string, partition: number, brokers: number[], upTo: bigint): Promise<void> {
  for (const id of brokers) await eventually(() => (c.manager(id).partition(topic, partition)?.highWatermark ?? -1n) >= upTo, `broker ${id} learns HW ${upTo}`)
  const logs = await Promise.all(brokers.map((id) => c.logBytes(id, topic, partition, upTo)))
  for (const bytes of logs.slice(1)) expect(bytes.equals(logs[0])).toBe(true)
}

describe('replication of a topic with replication factor 3', () => {
  it('acks=all answers once every ISR replica holds the batch, and the three logs are byte-identical below the HW', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    const leader = c.leaderOf('orders')
    await eventually(() => c.manager(leader).partition('orders', 0)?.isLeader === true, 'leader elected')

    const answers = []
    for (let i = 0; i < 20; i++) answers.push(await c.produce('orders', 0, [`a${i}`, `b${i}`]))
    expect(answers.map((a) => a.errorCode)).toEqual(Array(20).fill(0))
    expect(answers.map((a) => a.baseOffset)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(2 * i)))
    // acks=all: the HW passed the last batch before it was answered.
    expect(c.manager(leader).partition('orders', 0)!.highWatermark).toBeGreaterThanOrEqual(40n)

    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 40n)
    expect(await c.values(leader, 'orders', 0)).toHaveLength(40)
    expect(c.partitionOf('orders', 0).isr).toHaveLength(3)
  })
})

function followersOf(c: InProcessCluster, topic: string): number[] {
  const p = c.partitionOf(topic, 0)
  return p.replicas.filter((r) => r !== p.leader)
}

/** Waits until the leader knows every ISR follower but `except` holds its whole log. */
async function followersCaughtUp(c: InProcessCluster, topic: string, except: number[] = []): Promise<void> {
  const leader = c.leaderOf(topic)
  await eventually(() => {
    const view = c.manager(leader).partition(topic, 0)!.view()
    return view.followers.filter((f) => !except.includes(f.replicaId)).every((f) => f.acknowledgedEndOffset === view.logEndOffset)
  }, `followers of ${topic} caught up`)
}

describe('ISR shrink and min.insync.replicas', () => {
  it('a follower that stops fetching leaves the ISR after replica.lag.time.max.ms; acks=all then works with min.insync 2 and is refused with 3', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3, { 'min.insync.replicas': '2' })
    await c.createTopic('strict', 1, 3, { 'min.insync.replicas': '3' })
    for (const topic of ['orders', 'strict']) {
      expect((await c.produce(topic, 0, ['before'])).errorCode).toBe(0)
    }
    // One broker that follows both loses its links to their leaders, and falls behind.
    const laggard = [1, 2, 3].find((b) => b !== c.leaderOf('orders') && b !== c.leaderOf('strict'))!
    const lagging = { orders: laggard, strict: laggard }
    for (const topic of ['orders', 'strict'] as const) c.cutLinks.add(`${laggard}->${c.leaderOf(topic)}`)
    for (const topic of ['orders', 'strict'] as const) {
      expect((await c.produce(topic, 0, ['while-lagging'], { acks: 1 })).errorCode).toBe(0)
      await followersCaughtUp(c, topic, [laggard])
    }
    // Nothing shrinks while the clock stands still.
    expect(c.partitionOf('orders', 0).isr).toHaveLength(3)

    c.nowMs += 1000 // > replica.lag.time.max.ms (200)
    for (const topic of ['orders', 'strict'] as const) {
      await eventually(() => !c.partitionOf(topic, 0).isr.includes(lagging[topic] as never), `${topic} ISR shrinks`)
      expect(c.partitionOf(topic, 0).isr).toHaveLength(2)
    }

    const ok = await c.produce('orders', 0, ['with-two'])
    expect(ok.errorCode).toBe(ErrorCode.NONE.code)
    const refused = await c.produce('strict', 0, ['with-two'])
    expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS.code)
    // acks=1 does not care about min.insync.replicas.
    expect((await c.produce('strict', 0, ['acks-one'], { acks: 1 })).errorCode).toBe(0)

    // The link comes back: the follower catches up and rejoins.
    c.cutLinks.clear()
    await eventually(() => c.partitionOf('orders', 0).isr.length === 3 && c.partitionOf('strict', 0).isr.length === 3, 'ISRs expand again')
    expect((await c.produce('strict', 0, ['with-three'])).errorCode).toBe(0)
    await sameLogsBelowHighWatermark(c, 'strict', 0, [1, 2, 3], 4n)
  })
})

describe('leader change', () => {
  it('the old leader truncates the tail it wrote alone in its old epoch, and the replicas converge', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    for (let i = 0; i < 5; i++) expect((await c.produce('orders', 0, [`c${i}a`, `c${i}b`])).errorCode).toBe(0)
    const oldLeader = c.leaderOf('orders')
    await followersCaughtUp(c, 'orders')
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 10n)

    // The followers lose the old leader; it takes writes nobody else sees (acks=1, epoch 0).
    for (const f of followersOf(c, 'orders')) c.cutLinks.add(`${f}->${oldLeader}`)
    for (let i = 0; i < 3; i++) expect((await c.produce('orders', 0, [`lost${i}`], { acks: 1 })).errorCode).toBe(0)
    expect(c.manager(oldLeader).partition('orders', 0)!.logEndOffset).toBe(13n)

    // The controller moves leadership away from it (it is fenced, as on a lost session).
    await c.heartbeat(oldLeader, { wantFence: true })
    const newLeader = c.leaderOf('orders')
    expect(newLeader).not.toBe(oldLeader)
    expect(c.partitionOf('orders', 0).leaderEpoch).toBe(1)
    await eventually(() => c.manager(newLeader).partition('orders', 0)?.isLeader === true, 'new leader leads')
    for (let i = 0; i < 4; i++) expect((await c.produce('orders', 0, [`new${i}`])).errorCode).toBe(0)

    // The old leader follows: OffsetsForLeaderEpoch says epoch 0 ended at 10, it cuts 10..12.
    await eventually(() => c.manager(oldLeader).partition('orders', 0)?.logEndOffset === 14n, 'old leader converges')
    await c.heartbeat(oldLeader, {}) // unfenced again: it may rejoin the ISR
    await eventually(() => c.partitionOf('orders', 0).isr.length === 3, 'old leader rejoins the ISR')
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 14n)
    const values = await c.values(oldLeader, 'orders', 0)
    expect(values.filter((v) => v.startsWith('lost'))).toEqual([])
    expect(values.slice(10)).toEqual(['new0', 'new1', 'new2', 'new3'])
  })
})

describe('restart', () => {
  it('a replica restarted from its directory recovers, truncates, catches up and rejoins the ISR', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3, { 'min.insync.replicas': '2' })
    for (let i = 0; i < 5; i++) expect((await c.produce('orders', 0, [`r${i}`])).errorCode).toBe(0)
    const stopped = followersOf(c, 'orders')[1]
    await followersCaughtUp(c, 'orders')
    await c.stopBroker(stopped)

    // The others go on without it: it drops out of the ISR once it lags.
    expect((await c.produce('orders', 0, ['while-down-1'], { acks: 1 })).errorCode).toBe(0)
    await followersCaughtUp(c, 'orders', [stopped])
    c.nowMs += 1000
    await eventually(() => c.partitionOf('orders', 0).isr.length === 2, 'ISR shrinks without the stopped broker')
    for (let i = 2; i < 6; i++) expect((await c.produce('orders', 0, [`while-down-${i}`])).errorCode).toBe(0)

    const manager = await c.startBroker(stopped)
    await eventually(() => c.partitionOf('orders', 0).isr.length === 3, 'restarted broker rejoins the ISR')
    const end = c.manager(c.leaderOf('orders')).partition('orders', 0)!.logEndOffset
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], end)
    expect(manager.partition('orders', 0)!.logStartOffset).toBe(0n)
    expect(await c.values(stopped, 'orders', 0)).toHaveLength(10)
  })
})

describe('consumers', () => {
  it('a consumer fetch parked at the high watermark wakes when new data commits', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    expect((await c.produce('orders', 0, ['first'])).errorCode).toBe(0)
    const leader = c.leaderOf('orders')
    const partition = c.manager(leader).partition('orders', 0)!
    const hw = partition.highWatermark
    const fetch = c.manager(leader).fetch(
      {
        replicaId: -1,
        replicaEpoch: -1n,
        maxWaitMs: 10_000,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        isolationLevel: 0,
        correlationId: 42n,
        topics: [{ topic: 'orders', topicId: '', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: hw, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 * 1024 }] }],
      },
      new AbortController().signal,
    )
    let settled = false
    void fetch.then(() => (settled = true))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(settled).toBe(false)
    expect((await c.produce('orders', 0, ['second'])).errorCode).toBe(0)
    const response = await fetch
    expect(response.correlationId).toBe(42n)
    const answer = response.topics[0].partitions[0]
    expect(answer.errorCode).toBe(0)
    expect(answer.highWatermark).toBe(hw + 1n)
    const { valuesIn } = await import('./in-process-cluster.js')
    expect(valuesIn(answer.records)).toEqual(['second'])
  })
})

describe('idempotent producers', () => {
  it('a retried batch is answered with its original offset and written once; a gap is refused', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    const producer = { id: 4000n, epoch: 0, sequence: 0 }
    expect((await c.produce('orders', 0, ['x'])).baseOffset).toBe(0n)
    const first = await c.produce('orders', 0, ['p0', 'p1'], { producer })
    expect(first).toMatchObject({ errorCode: 0, baseOffset: 1n })
    const retry = await c.produce('orders', 0, ['p0', 'p1'], { producer })
    expect(retry).toMatchObject({ errorCode: 0, baseOffset: 1n })
    const leader = c.manager(c.leaderOf('orders')).partition('orders', 0)!
    expect(leader.logEndOffset).toBe(3n)
    const gap = await c.produce('orders', 0, ['p5'], { producer: { ...producer, sequence: 5 } })
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER.code)
    const next = await c.produce('orders', 0, ['p2'], { producer: { ...producer, sequence: 2 } })
    expect(next).toMatchObject({ errorCode: 0, baseOffset: 3n })
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 4n)
  })
})

describe('topic deletion', () => {
  it('a deleted topic\'s logs are removed on every replica; a new topic of the same name starts empty', async () => {
    const c = await start()
    await c.createTopic('orders', 2, 3)
    for (const p of [0, 1]) expect((await c.produce('orders', p, ['old'])).errorCode).toBe(0)
    const oldId = c.image.topic('orders')!.topicId
    await c.deleteTopic('orders')
    for (const id of [1, 2, 3]) {
      expect(c.manager(id).partition('orders', 0)).toBeUndefined()
      expect(existsSync(join(c.configOf(id).logDir, 'orders-0'))).toBe(false)
    }
    await c.createTopic('orders', 1, 3)
    expect(c.image.topic('orders')!.topicId).not.toBe(oldId)
    expect((await c.produce('orders', 0, ['new'])).baseOffset).toBe(0n)
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 1n)
    expect(await c.values(1, 'orders', 0)).toEqual(['new'])
    expect(c.manager(1).partition('orders', 1)).toBeUndefined()
  })

  it('a directory left behind by a topic deleted while its broker was down becomes a stray, not data of the new topic', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    expect((await c.produce('orders', 0, ['old'])).errorCode).toBe(0)
    await followersCaughtUp(c, 'orders')
    const down = followersOf(c, 'orders')[0]
    await c.stopBroker(down)
    await c.deleteTopic('orders')
    await c.createTopic('orders', 1, 2)
    const restarted = await c.startBroker(down)
    const names = readdirSync(c.configOf(down).logDir)
    expect(names.some((n) => n.startsWith('orders-0.') && n.endsWith('-stray'))).toBe(true)
    const hosts = c.partitionOf('orders', 0).replicas.includes(down as never)
    expect(restarted.partition('orders', 0) !== undefined).toBe(hosts)
  })
})

describe('page-cache durability', () => {
  it('replicates and commits without an fsync before counting (Kafka\'s mode)', async () => {
    const c = await start({ config: { durability: 'page-cache' } })
    await c.createTopic('orders', 1, 3)
    for (let i = 0; i < 5; i++) expect((await c.produce('orders', 0, [`pc${i}`])).errorCode).toBe(0)
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 5n)
  })
})

describe('failover with long replica polls', () => {
  it('a follower starts fetching a partition from its new leader at once, not after its parked long poll (replica.fetch.wait.max.ms 10 s)', async () => {
    const c = await start({ config: { replicaFetchWaitMaxMs: 10_000 } })
    await c.createTopic('orders', 3, 3)
    const leaders = [0, 1, 2].map((p) => c.leaderOf('orders', p))
    expect(new Set(leaders).size).toBe(3) // every broker leads one: every follower has a parked fetch to every leader
    for (const p of [0, 1, 2]) expect((await c.produce('orders', p, [`p${p}`])).errorCode).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 50)) // let the fetchers settle into their long polls

    await c.heartbeat(leaders[0], { wantFence: true })
    const newLeader = c.leaderOf('orders', 0)
    expect(newLeader).not.toBe(leaders[0])
    await eventually(() => c.manager(newLeader).partition('orders', 0)?.isLeader === true, 'new leader leads')
    // acks=all needs the other ISR follower to fetch in the new epoch; 3 s is far below 10 s.
    const answer = await c.produce('orders', 0, ['after-failover'], { timeoutMs: 3000 })
    expect(answer.errorCode).toBe(ErrorCode.NONE.code)
  })
})

describe('a leader that never wrote in its epoch', () => {
  it('drops its empty epoch when it follows again, instead of diverging on every fetch', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    for (let i = 0; i < 3; i++) expect((await c.produce('orders', 0, [`e0-${i}`])).errorCode).toBe(0)
    await followersCaughtUp(c, 'orders')
    const first = c.leaderOf('orders')
    await c.heartbeat(first, { wantFence: true }) // epoch 1: another broker leads, writes nothing
    const second = c.leaderOf('orders')
    await eventually(() => c.manager(second).partition('orders', 0)?.isLeader === true, 'second leader leads')
    expect(c.manager(second).partition('orders', 0)!.latestEpoch).toBe(1)
    await c.heartbeat(second, { wantFence: true }) // epoch 2: the third broker leads
    const third = c.leaderOf('orders')
    expect([first, second]).not.toContain(third)
    await eventually(() => c.manager(third).partition('orders', 0)?.isLeader === true, 'third leader leads')
    expect((await c.produce('orders', 0, ['e2-0'], { acks: 1 })).errorCode).toBe(0)
    await c.heartbeat(first, {})
    await c.heartbeat(second, {})
    await eventually(() => c.partitionOf('orders', 0).isr.length === 3, 'both former leaders rejoin the ISR')
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 4n)
    expect(c.manager(second).partition('orders', 0)!.latestEpoch).toBe(2)
  })
})

describe('retention', () => {
  it('deletes old segments below the HW on every replica; a consumer behind the log start gets OFFSET_OUT_OF_RANGE; a replica that missed it starts at the leader\'s log start', async () => {
    const c = await start({ config: { retentionCheckIntervalMs: 30, segmentBytes: 1024 } })
    await c.createTopic('orders', 1, 3, { 'retention.bytes': '2048', 'segment.bytes': '1024' })
    const stopped = followersOf(c, 'orders')[0]
    await c.stopBroker(stopped)
    c.nowMs += 1000
    await eventually(() => c.partitionOf('orders', 0).isr.length === 2, 'ISR shrinks without the stopped broker')
    for (let i = 0; i < 60; i++) expect((await c.produce('orders', 0, [`${i}`.padEnd(100, 'x')])).errorCode).toBe(0)
    const leader = c.leaderOf('orders')
    await eventually(() => c.manager(leader).partition('orders', 0)!.logStartOffset > 0n, 'retention deletes old segments on the leader')
    const leaderLogStart = c.manager(leader).partition('orders', 0)!.logStartOffset

    const answer = (
      await c.manager(leader).fetch(
        {
          replicaId: -1, replicaEpoch: -1n, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, correlationId: 1n,
          topics: [{ topic: 'orders', topicId: '', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        },
        new AbortController().signal,
      )
    ).topics[0].partitions[0]
    expect(answer.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE.code)
    expect(answer.logStartOffset).toBeGreaterThanOrEqual(leaderLogStart)

    // The stopped replica comes back with an empty log that starts before the leader's.
    await c.startBroker(stopped)
    await eventually(() => c.partitionOf('orders', 0).isr.length === 3, 'it catches up from the leader log start and rejoins')
    const restarted = c.manager(stopped).partition('orders', 0)!
    expect(restarted.logStartOffset).toBeGreaterThan(0n)
    const end = c.manager(leader).partition('orders', 0)!.logEndOffset
    await eventually(() => restarted.highWatermark === end, 'restarted replica learns the HW')
    const mine = await c.values(stopped, 'orders', 0)
    const theirs = await c.values(leader, 'orders', 0)
    // Each replica applies retention on its own schedule: compare what both still hold.
    const common = Math.min(mine.length, theirs.length)
    expect(common).toBeGreaterThan(0)
    expect(mine.slice(mine.length - common)).toEqual(theirs.slice(theirs.length - common))
    expect(mine.at(-1)).toBe('59'.padEnd(100, 'x'))
  })
})

describe('a partition that cannot be recovered', () => {
  it('answers KAFKA_STORAGE_ERROR while the broker goes on serving its other partitions', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    await c.createTopic('other', 1, 3)
    for (const topic of ['orders', 'other']) expect((await c.produce(topic, 0, ['v'])).errorCode).toBe(0)
    const victim = followersOf(c, 'orders')[0]
    await followersCaughtUp(c, 'orders')
    await c.stopBroker(victim)
    writeFileSync(join(c.configOf(victim).logDir, 'orders-0', 'recovery-point-checkpoint'), 'garbage\n')
    const manager = await c.startBroker(victim)
    expect(manager.partition('orders', 0)?.unavailable()).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    expect(c.storageFailures).toEqual([]) // a damaged directory is not a run-time disk failure
    // The other topic replicates on.
    await eventually(() => c.partitionOf('other', 0).isr.length === 3, 'other topic keeps its ISR')
    expect((await c.produce('other', 0, ['after'])).errorCode).toBe(0)
  })
})

describe('crash and return of a leader', () => {
  it('recovers from files left as a kill leaves them, rejoins, leads again after a preferred election, and still deduplicates its producers', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3, { 'min.insync.replicas': '2' })
    const original = c.leaderOf('orders')
    expect(c.partitionOf('orders', 0).replicas[0]).toBe(original) // the preferred leader
    const producer = { id: 7000n, epoch: 0, sequence: 0 }
    for (let i = 0; i < 4; i++) expect((await c.produce('orders', 0, [`s${i}`], { producer: { ...producer, sequence: i } })).errorCode).toBe(0)
    await followersCaughtUp(c, 'orders')

    // "SIGKILL": the files as they are now (page cache included), without a clean shutdown.
    const dir = c.configOf(original).logDir
    cpSync(dir, `${dir}.crash`, { recursive: true })
    await c.stopBroker(original)
    rmSync(dir, { recursive: true, force: true })
    renameSync(`${dir}.crash`, dir)
    expect(existsSync(join(dir, 'orders-0', 'clean-shutdown'))).toBe(false)

    // Its session expires: another ISR member leads, writes go on.
    await c.heartbeat(original, { wantFence: true })
    const interim = c.leaderOf('orders')
    expect(interim).not.toBe(original)
    await eventually(() => c.manager(interim).partition('orders', 0)?.isLeader === true, 'interim leader leads')
    expect((await c.produce('orders', 0, ['interim'])).errorCode).toBe(0)

    await c.startBroker(original)
    await eventually(() => c.partitionOf('orders', 0).isr.length === 3, 'the returned broker rejoins the ISR')
    await c.electPreferred('orders', 0)
    expect(c.leaderOf('orders')).toBe(original)
    await eventually(() => c.manager(original).partition('orders', 0)?.isLeader === true, 'preferred leader leads again')

    // A retry of the producer's last batch from before the crash is recognised.
    const retry = await c.produce('orders', 0, ['s3'], { producer: { ...producer, sequence: 3 } })
    expect(retry).toMatchObject({ errorCode: 0, baseOffset: 3n })
    expect((await c.produce('orders', 0, ['s4'], { producer: { ...producer, sequence: 4 } })).baseOffset).toBe(5n)
    await sameLogsBelowHighWatermark(c, 'orders', 0, [1, 2, 3], 6n)
    expect(await c.values(original, 'orders', 0)).toEqual(['s0', 's1', 's2', 's3', 'interim', 's4'])
  })
})

describe('a retried acks=all batch', () => {
  it('is not acknowledged as a duplicate before the HW passes it (Kafka waits for the original offsets too)', async () => {
    const c = await start()
    await c.createTopic('orders', 1, 3)
    const leaderId = c.leaderOf('orders')
    await eventually(() => c.manager(leaderId).partition('orders', 0)?.isLeader === true, 'leader elected')
    // The followers cannot reach the leader: the batch is appended but not replicated.
    for (const f of followersOf(c, 'orders')) c.cutLinks.add(`${f}->${leaderId}`)
    const producer = { id: 9100n, epoch: 0, sequence: 0 }
    const first = await c.produce('orders', 0, ['only-on-the-leader'], { producer, timeoutMs: 50 })
    expect(first.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT.code)
    const leader = c.manager(leaderId).partition('orders', 0)!
    expect(leader.logEndOffset).toBe(1n)
    expect(leader.highWatermark).toBe(0n)

    // The producer retries the same batch: it is a duplicate, but still uncommitted, so
    // acknowledging it now would let a new leader without it lose an acknowledged record.
    const retry = await c.produce('orders', 0, ['only-on-the-leader'], { producer, timeoutMs: 50 })
    expect(retry.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT.code)
    expect(leader.logEndOffset).toBe(1n)

    // Once the followers hold it, the retry is answered with the original offset.
    c.cutLinks.clear()
    const later = await c.produce('orders', 0, ['only-on-the-leader'], { producer, timeoutMs: 5000 })
    expect(later).toMatchObject({ errorCode: 0, baseOffset: 0n })
    expect(leader.highWatermark).toBeGreaterThanOrEqual(1n)
  })
})
