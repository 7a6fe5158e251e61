/**
 * A consumer reading a compacted topic (cleanup.policy=compact) from the beginning, after the
 * brokers' log cleaner ran: offsets jump over what was cleaned away and batches may hold fewer
 * records than their offset range (or none), and the consumer must still read to the end.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { startInProcessCluster, type InProcessCluster } from '@tributary/broker'
import { ErrorCode } from '@tributary/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '../client/client.js'

let cluster: InProcessCluster | null = null
beforeAll(async () => {
  cluster = await startInProcessCluster(3, {
    dirPrefix: 'trib-compacted-consumer-',
    configure: (config) => ({ ...config, broker: { ...config.broker!, replica: { ...config.broker!.replica, logCleanerBackoffMs: 100 } } }),
  })
}, 30_000)
afterAll(async () => {
  await cluster?.close()
})

async function logBytes(dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) if (name.endsWith('.log')) total += (await stat(join(dir, name))).size
  return total
}

describe('consumer on a compacted topic', () => {
  it('reads the latest value of every key from offset 0, with increasing offsets that jump; keyless records are refused', async () => {
    const c = cluster!
    const client = new Client({ bootstrap: [c.bootstrap[0]!], clientId: 'compacted' })
    try {
      const admin = client.admin()
      await admin.createTopics([{ name: 'kv', partitions: 1, replicationFactor: 3, configs: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.compaction.lag.ms': '3600000' } }])
      const producer = client.producer({ acks: 'all', lingerMs: 0 })
      const latest = new Map<string, string>()
      let lastOffset = -1n
      for (let i = 0; i < 150; i++) {
        const key = `key-${i % 7}`
        const value = `value-${i}`
        const [ack] = await producer.send('kv', [{ key, value }])
        latest.set(key, value)
        lastOffset = ack!.offset
      }
      await expect(producer.send('kv', [{ key: null, value: 'no key' }])).rejects.toMatchObject({ code: ErrorCode.INVALID_RECORD.code })

      const dirs = [...c.nodes.keys()].map((id) => join(c.dir, `node-${id}`, 'kv-0'))
      const before = await Promise.all(dirs.map(logBytes))
      // KIP-58: nothing was compacted while the lag held; now the cleaner may run.
      await admin.alterConfigs([{ topic: 'kv', set: { 'min.compaction.lag.ms': '0' } }])
      const deadline = Date.now() + 20_000
      while ((await Promise.all(dirs.map(logBytes))).some((bytes, i) => bytes * 2 > before[i]!)) {
        if (Date.now() > deadline) throw new Error('the log cleaner did not shrink every replica of kv-0')
        await new Promise((r) => setTimeout(r, 100))
      }

      const consumer = client.consumer({ fromBeginning: true })
      consumer.assign([{ topic: 'kv', partition: 0 }])
      const seen: { offset: bigint; key: string; value: string }[] = []
      for await (const r of consumer) {
        seen.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() })
        if (r.offset === lastOffset) break
      }
      await consumer.close()
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.offset).toBeGreaterThan(seen[i - 1]!.offset)
      expect(seen.length).toBeLessThan(150) // cleaned away: offsets jumped
      const final = new Map(seen.map((r) => [r.key, r.value]))
      expect(final).toEqual(latest)
    } finally {
      await client.close()
    }
  }, 60_000)
})
