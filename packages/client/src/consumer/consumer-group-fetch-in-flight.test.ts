/**
 * Review of issue 7's consumer fetch loop (0b2c6f4: fetches outlive rounds): a group member
 * whose fetch is in flight when the coordinator revokes partitions must not hand out records
 * of a revoked partition once it no longer owns it (the next owner reads them).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Client } from '../client/client.js'
import type { MethodPicker } from '../client/broker-connections.js'
import { FakeGroupCluster } from './test-fake-group-cluster.js'
import type { ConsumerRecord } from './types.js'

const clients: Client[] = []
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close({ timeoutMs: 2_000 })))
})

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('Consumer group: a fetch in flight across a revocation', () => {
  it('hands out no record of a partition after it was revoked, though the fetch that carries it was sent before', async () => {
    const fake = new FakeGroupCluster({ sessionTimeoutMs: 2_000 })
    fake.addTopic('t', 4)
    for (let p = 0; p < 4; p++) fake.append('t', p, Array.from({ length: 30 }, (_, i) => `p${p}-${i}`))
    const clientA = fake.client()
    const clientB = fake.client()
    clients.push(clientA, clientB)
    // Hold A's fetches until released (heartbeats and commits go through).
    let release: (() => void) | null = null
    let held = 0
    const call = clientA.connections.call.bind(clientA.connections)
    clientA.connections.call = async <Req, Res>(address: string, pick: MethodPicker<Req, Res>, request: Req, timeoutMs: number, context: string): Promise<Res> => {
      if (context === 'Fetch' && release === null && held === 0) {
        held++
        await new Promise<void>((resolve) => (release = resolve))
      }
      return call(address, pick, request, timeoutMs, context)
    }
    const a = clientA.consumer({ groupId: 'g', fromBeginning: true, heartbeatIntervalMs: 20, maxWaitMs: 20, autoCommit: false })
    const b = clientB.consumer({ groupId: 'g', fromBeginning: true, heartbeatIntervalMs: 20, maxWaitMs: 20, autoCommit: false })
    await a.subscribe(['t'])
    await waitFor('a owns 4', () => a.assignment().length === 4)
    const handedOut: { record: ConsumerRecord; owned: boolean }[] = []
    const pending = a.next() // starts a fetch round: its Fetch is held
    await waitFor('a fetch held', () => held === 1 && release !== null)
    await b.subscribe(['t'])
    await waitFor('a gave up two partitions', () => a.assignment().length === 2)
    release!()
    const first = await pending
    const ownedNow = (r: ConsumerRecord): boolean => a.assignment().some((tp) => tp.topic === r.topic && tp.partition === r.partition)
    handedOut.push({ record: first!, owned: ownedNow(first!) })
    // A keeps 2 partitions of 30 records: 60 records, then nothing more (a record of a revoked
    // partition would come after them, in the order of the fetch answer).
    for (let i = 1; i < 60; i++) {
      const r = await a.next()
      if (r === null) break
      handedOut.push({ record: r, owned: ownedNow(r) })
    }
    const extra = await Promise.race([a.next(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 200))])
    if (extra !== null) handedOut.push({ record: extra, owned: ownedNow(extra) })
    expect(handedOut.filter((h) => !h.owned).map((h) => `${h.record.partition}@${h.record.offset}`)).toEqual([])
    // B owns the revoked partitions; A handed out none of them after the revocation.
    await waitFor('b owns 2', () => b.assignment().length === 2)
    const partitionsOfB = b.assignment().map((tp) => tp.partition)
    expect(partitionsOfB).toHaveLength(2)
    expect(handedOut.filter((h) => partitionsOfB.includes(h.record.partition))).toEqual([])
  })
})
