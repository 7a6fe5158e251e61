// Scripted replication stories: three ReplicaManagers in one process, the real controller
// state machine deciding topics, ISRs and leaders, in-memory channels between brokers.
// Each story reads like what it checks (Kafka's replication behaviour, DESIGN.md).
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
