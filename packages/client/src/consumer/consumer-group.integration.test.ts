/**
 * Consumer groups against three combined nodes in this process (real gRPC, the broker's
 * coordinator on __consumer_offsets): subscribe, consume, commit, leave on close; a second
 * member of the group resumes at the committed offsets; the admin's group calls; and one
 * two-member rebalance (it takes up to two of the coordinator's 5 s heartbeat intervals:
 * the finer rebalance cases run against the real shard in consumer-group.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import { Client } from '../client/client.js'
import { inProcessClusterForFile } from '../test-in-process-cluster.js'
import type { ConsumerRecord } from './types.js'

const cluster = inProcessClusterForFile(3)

async function take(iterator: AsyncIterator<ConsumerRecord>, n: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = []
  while (out.length < n) {
    const next = await iterator.next()
    if (next.done === true) break
    out.push(next.value)
  }
  return out
}

describe('Consumer groups against three combined nodes', () => {
  it('subscribe, commit, close leaves; the next member resumes at the committed offsets; admin lists, describes (lag) and deletes the group', async () => {
    const client = new Client({ bootstrap: cluster.bootstrap, clientId: 'groups' })
    try {
      const admin = client.admin()
      await admin.createTopics([{ name: 'billing-in', partitions: 2, replicationFactor: 3 }])
      const producer = client.producer()
      await producer.send('billing-in', Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })))

      const first = client.consumer({ groupId: 'billing', fromBeginning: true, autoCommit: false })
      await first.subscribe(['billing-in'])
      const it1 = first[Symbol.asyncIterator]()
      const got = await take(it1, 12)
      for (const r of got) await first.commit(r)
      expect(first.assignment()).toHaveLength(2)
      const listed = await admin.listGroups()
      expect(listed).toContainEqual({ groupId: 'billing', state: 'Stable' })
      const d = await admin.describeGroup('billing')
      expect(d.members).toHaveLength(1)
      expect(d.members[0]!.assignment).toEqual([{ topic: 'billing-in', partition: 0 }, { topic: 'billing-in', partition: 1 }])
      const committed = new Map<number, bigint>()
      for (const r of got) committed.set(r.partition, r.offset + 1n)
      for (const p of d.partitions) {
        expect(p.latestOffset).toBe(10n)
        expect(p.committedOffset).toBe(committed.get(p.partition))
        expect(p.lag).toBe(10n - committed.get(p.partition)!)
      }
      await expect(admin.deleteGroup('billing')).rejects.toMatchObject({ code: 68 })
      await first.close()

      const second = client.consumer({ groupId: 'billing', fromBeginning: true })
      await second.subscribe(['billing-in'])
      const rest = await take(second[Symbol.asyncIterator](), 8)
      const keys = [...got, ...rest].map((r) => `${r.partition}:${r.offset}`)
      expect(new Set(keys).size).toBe(20) // every record once: no loss, no duplicate
      await second.close() // auto-commit: commits the positions, then leaves
      const after = await admin.describeGroup('billing')
      expect(after.state).toBe('Empty')
      expect(after.partitions.map((p) => p.lag)).toEqual([0n, 0n])
      await admin.deleteGroup('billing')
      await expect(admin.describeGroup('billing')).rejects.toMatchObject({ code: ErrorCode.GROUP_ID_NOT_FOUND.code })
    } finally {
      await client.close()
    }
  }, 60_000)

  it('two members of a group split a 4-partition topic 2+2, never holding a partition both at once', async () => {
    const client = new Client({ bootstrap: cluster.bootstrap, clientId: 'groups-2' })
    const violations: string[] = []
    let timer: NodeJS.Timeout | null = null
    try {
      await client.admin().createTopics([{ name: 'split', partitions: 4, replicationFactor: 3 }])
      const a = client.consumer({ groupId: 'split-group', heartbeatIntervalMs: 100 })
      const b = client.consumer({ groupId: 'split-group', heartbeatIntervalMs: 100 })
      timer = setInterval(() => {
        const held = new Set(a.assignment().map((tp) => tp.partition))
        for (const tp of b.assignment()) if (held.has(tp.partition)) violations.push(`split-${tp.partition}`)
      }, 1)
      await a.subscribe(['split'])
      await waitFor(() => a.assignment().length === 4, 10_000)
      await b.subscribe(['split'])
      await waitFor(() => a.assignment().length === 2 && b.assignment().length === 2, 30_000)
      await a.close()
      await waitFor(() => b.assignment().length === 4, 10_000)
      await b.close()
      expect(violations).toEqual([])
    } finally {
      if (timer !== null) clearInterval(timer)
      await client.close()
    }
  }, 60_000)
})

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
