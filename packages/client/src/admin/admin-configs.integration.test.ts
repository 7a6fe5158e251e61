/**
 * Topic configs end to end against three combined nodes in this process: alterConfigs goes
 * through a broker to the controller, describeConfigs reads a broker's image, and the replica
 * manager enforces what was set (min.insync.replicas with acks=all).
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { Client } from '../client/client.js'
import { inProcessClusterForFile } from '../test-in-process-cluster.js'
import type { Admin } from './admin.js'
import type { TopicConfigs } from './types.js'

const cluster = inProcessClusterForFile(3)

function valueOf(configs: readonly TopicConfigs[], name: string): { value: string; isDefault: boolean } | undefined {
  const e = configs[0]?.entries.find((x) => x.name === name)
  return e === undefined ? undefined : { value: e.value, isDefault: e.isDefault }
}

/**
 * Brokers apply the committed change on their own schedule: poll describeConfigs until `name`
 * reads `expected` (value null: any value).
 */
async function until(admin: Admin, topic: string, name: string, expected: { value: string | null; isDefault: boolean }): Promise<void> {
  const deadlineMs = Date.now() + 10_000
  for (;;) {
    const seen = valueOf(await admin.describeConfigs([{ topic }]), name)
    if (seen !== undefined && (expected.value === null || seen.value === expected.value) && seen.isDefault === expected.isDefault) return
    if (Date.now() > deadlineMs) throw new Error(`${topic} ${name}: expected ${JSON.stringify(expected)}, still ${JSON.stringify(seen)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('admin topic configs against three combined nodes', () => {
  it('describe shows broker defaults and topic values; alter sets and deletes; bad keys and values are INVALID_CONFIG', async () => {
    const client = new Client({ bootstrap: [cluster.bootstrap[0]!], clientId: 'configs' })
    const admin = client.admin()
    await admin.createTopics([{ name: 'configs', partitions: 1, replicationFactor: 3, configs: { 'segment.ms': '600000' } }])

    const before = await admin.describeConfigs([{ topic: 'configs' }])
    expect(before[0]!.entries.map((e) => e.name)).toEqual(['cleanup.policy', 'delete.retention.ms', 'max.message.bytes', 'min.cleanable.dirty.ratio', 'min.compaction.lag.ms', 'min.insync.replicas', 'retention.bytes', 'retention.ms', 'segment.bytes', 'segment.ms'])
    expect(valueOf(before, 'segment.ms')).toEqual({ value: '600000', isDefault: false })
    expect(valueOf(before, 'min.insync.replicas')).toEqual({ value: '2', isDefault: true }) // the cluster's broker default

    await admin.alterConfigs([{ topic: 'configs', set: { 'retention.ms': '3600000', 'min.insync.replicas': '3' }, delete: ['segment.ms'] }])
    await until(admin, 'configs', 'retention.ms', { value: '3600000', isDefault: false })
    await until(admin, 'configs', 'min.insync.replicas', { value: '3', isDefault: false })
    await until(admin, 'configs', 'segment.ms', { value: null, isDefault: true })

    // validateOnly changes nothing.
    await admin.alterConfigs([{ topic: 'configs', set: { 'retention.ms': '1' } }], { validateOnly: true })
    expect(valueOf(await admin.describeConfigs([{ topic: 'configs' }]), 'retention.ms')).toEqual({ value: '3600000', isDefault: false })

    // A key Tributary does not honour, and a bad value of one it does.
    await expect(admin.alterConfigs([{ topic: 'configs', set: { 'compression.type': 'zstd' } }])).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG.code })
    await expect(admin.alterConfigs([{ topic: 'configs', set: { 'cleanup.policy': 'shrink' } }])).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG.code })
    await expect(admin.alterConfigs([{ topic: 'configs', set: { 'retention.ms': 'forever' } }])).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG.code })
    await expect(admin.alterConfigs([{ topic: 'nope', set: { 'retention.ms': '1' } }])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
    await expect(admin.describeConfigs([{ topic: 'nope' }])).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code })
    await expect(admin.alterConfigs([{ topic: 'configs', set: { 'retention.ms': '1' }, delete: ['retention.ms'] }])).rejects.toMatchObject({ code: ErrorCode.INVALID_REQUEST.code })
    await client.close()
  })

  it('min.insync.replicas=3 refuses acks=all with one replica down; deleting it (back to 2) accepts again', async () => {
    const client = new Client({ bootstrap: [cluster.bootstrap[0]!], clientId: 'min-isr' })
    const admin = client.admin()
    await admin.createTopics([{ name: 'strict', partitions: 1, replicationFactor: 3 }])
    await admin.alterConfigs([{ topic: 'strict', set: { 'min.insync.replicas': '3' } }])
    for (const n of cluster.bootstrap) {
      const direct = new Client({ bootstrap: [n], clientId: 'probe' })
      await until(direct.admin(), 'strict', 'min.insync.replicas', { value: '3', isDefault: false })
      await direct.close()
    }
    const producer = client.producer({ acks: 'all', lingerMs: 0, requestTimeoutMs: 2000, deliveryTimeoutMs: 4000 })
    await producer.send('strict', [{ value: 'all three up' }])

    // Stop node 3 (not the bootstrap): the controller fences it and the ISR shrinks to two.
    await cluster.nodes.get(3)!.close()
    const deadlineMs = Date.now() + 15_000
    for (;;) {
      const [t] = await admin.describeTopics(['strict'])
      const p = t!.partitions[0]!
      if (p.leader !== -1 && p.leader !== 3 && !p.isr.includes(3)) break
      if (Date.now() > deadlineMs) throw new Error(`ISR never shrank: ${JSON.stringify(p)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await expect(producer.send('strict', [{ value: 'two of three' }])).rejects.toMatchObject({ code: ErrorCode.NOT_ENOUGH_REPLICAS.code })

    await admin.alterConfigs([{ topic: 'strict', delete: ['min.insync.replicas'] }])
    await until(admin, 'strict', 'min.insync.replicas', { value: '2', isDefault: true })
    const later = client.producer({ acks: 'all', lingerMs: 0, deliveryTimeoutMs: 20_000 })
    const [meta] = await later.send('strict', [{ value: 'two is enough again' }])
    expect(meta!.topic).toBe('strict')
    await later.close()
    await producer.close().catch(() => undefined)
    await client.close()
  })
})
