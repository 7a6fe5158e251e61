/**
 * send() after issue 7's "no per-record promises" change (92307f8, a94d168): each record's
 * metadata comes from the run of records it shares a batch with. Property: for any mix of
 * partitions, batch sizes (records split across sealed batches), a full buffer (the await
 * path) and concurrent sends, every record resolves to the partition and offset where the
 * (fake) cluster stored it, in send order; idempotent sequences have no gap or repeat.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '@tributary/protocol'
import type { Client } from '../client/client.js'
import { FakeCluster } from './test-fake-cluster.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()))
})

describe('Producer acknowledgments (property)', () => {
  it('resolves every record of concurrent sends to the partition and offset the cluster stored it at', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ partition: fc.integer({ min: 0, max: 2 }), size: fc.integer({ min: 1, max: 300 }) }), { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 200, max: 2_000 }),
        fc.boolean(),
        async (sends, batchBytes, smallBuffer) => {
          const fake = new FakeCluster()
          fake.checkSequences = true
          fake.addTopic('t', 3)
          const client = fake.client()
          clients.push(client)
          const producer = client.producer({ lingerMs: 1, batchBytes, bufferBytes: smallBuffer ? 4 * batchBytes : 32 * 1024 * 1024 })
          let n = 0
          const values = sends.map((records) => records.map((r) => ({ partition: r.partition, value: `v${n++}-${'x'.repeat(r.size)}` })))
          const results = await Promise.all(values.map((records) => producer.send('t', records)))
          results.forEach((metadata, s) => {
            expect(metadata).toHaveLength(values[s]!.length)
            metadata.forEach((m, i) => {
              const sent = values[s]![i]!
              expect(m.partition).toBe(sent.partition)
              expect(fake.topics.get('t')![m.partition]!.log[Number(m.offset)]!.value).toBe(sent.value)
            })
          })
          // Per partition, send order is log order, and sequences run 0, 1, 2, ... without gaps.
          for (let p = 0; p < 3; p++) {
            const log = fake.topics.get('t')![p]!.log
            expect(log.map((e) => e.value)).toEqual(values.flat().filter((r) => r.partition === p).map((r) => r.value))
          }
          await client.close()
        },
      ),
      { numRuns: 40 },
    )
  })

  it('rejects exactly the sends whose records went to a failing partition', async () => {
    const fake = new FakeCluster()
    fake.addTopic('t', 3)
    fake.onProduce = (_call, _topic, partition) => (partition === 1 ? { code: ErrorCode.INVALID_RECORD.code } : null)
    const client = fake.client()
    clients.push(client)
    const producer = client.producer({ lingerMs: 1, batchBytes: 500 })
    const ok = producer.send('t', Array.from({ length: 30 }, (_, i) => ({ partition: i % 2 === 0 ? 0 : 2, value: `ok-${i}` })))
    const bad = producer.send('t', [{ partition: 0, value: 'a' }, { partition: 1, value: 'b' }, { partition: 2, value: 'c' }])
    const metadata = await ok
    expect(metadata.map((m) => fake.topics.get('t')![m.partition]!.log[Number(m.offset)]!.value)).toEqual(Array.from({ length: 30 }, (_, i) => `ok-${i}`))
    await expect(bad).rejects.toThrow()
  })
})
