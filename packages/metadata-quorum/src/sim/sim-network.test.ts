import { describe, expect, it } from 'vitest'
import type { NodeId } from '@tributary/protocol'
import type { RaftMessage } from '../raft/types.js'
import { SeededRandom } from '../util/random.js'
import { SimClock } from './sim-clock.js'
import { CLEAN_NETWORK, SimNetwork, oneWayPartition, splitPartition } from './sim-network.js'

const n = (i: number): NodeId => i as NodeId

function message(from: number, to: number, requestId: number): RaftMessage {
  return {
    from: n(from), to: n(to), requestId,
    body: { type: 'begin_quorum_epoch_request', leaderEpoch: 1 },
  }
}

function setup(seed = 1) {
  const clock = new SimClock()
  const delivered: Array<{ m: RaftMessage; at: number }> = []
  const dropped: Array<{ m: RaftMessage; reason: string }> = []
  const net = new SimNetwork(clock, new SeededRandom(seed), [n(1), n(2), n(3)], {
    deliver: (m) => delivered.push({ m, at: clock.nowMs }),
    dropped: (m, reason) => dropped.push({ m, reason }),
  })
  const runAll = (): void => {
    while (clock.step(clock.nowMs + 100_000)) { /* drain */ }
  }
  return { clock, net, delivered, dropped, runAll }
}

describe('SimNetwork', () => {
  it('delivers every message once, unchanged, within the delay bounds, when clean', () => {
    const { net, delivered, runAll } = setup()
    net.setFaults({ ...CLEAN_NETWORK, minDelayMs: 3, maxDelayMs: 9 })
    const sent = [message(1, 2, 1), message(2, 3, 2), message(3, 1, 3)]
    for (const m of sent) net.send(m, 0)
    runAll()
    expect(delivered.map((d) => d.m)).toHaveLength(3)
    for (const m of sent) expect(delivered.some((d) => d.m === m)).toBe(true)
    for (const d of delivered) expect(d.at >= 3 && d.at <= 9).toBe(true)
  })

  it('keeps each link in order with fifoLinks (a TCP connection), while delays still vary', () => {
    const clock = new SimClock()
    const delivered: RaftMessage[] = []
    const net = new SimNetwork(clock, new SeededRandom(3), [n(1), n(2), n(3)], { deliver: (m) => delivered.push(m), dropped: () => {} }, true)
    net.setFaults({ ...CLEAN_NETWORK, minDelayMs: 1, maxDelayMs: 50, slowProbability: 0.2, slowMaxDelayMs: 500 })
    for (let i = 1; i <= 40; i++) net.send(message(1 + (i % 2), 3, i), 0)
    while (clock.step(clock.nowMs + 100_000)) { /* drain */ }
    expect(delivered).toHaveLength(40)
    for (const from of [1, 2]) {
      const ids = delivered.filter((m) => m.from === from).map((m) => m.requestId)
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
    }
    // Across links there is no order: the two senders' messages interleave out of send order.
    expect(delivered.map((m) => m.requestId)).not.toEqual(delivered.map((m) => m.requestId).sort((a, b) => a - b))
  })

  it('reorders messages whose random delays overlap', () => {
    const { net, delivered, runAll } = setup(3)
    net.setFaults({ ...CLEAN_NETWORK, minDelayMs: 1, maxDelayMs: 50 })
    for (let i = 0; i < 50; i++) net.send(message(1, 2, i), 0)
    runAll()
    const order = delivered.map((d) => d.m.requestId)
    expect(order).not.toEqual([...order].sort((a, b) => a - b))
  })

  it('drops and duplicates at roughly the configured rates', () => {
    const { net, delivered, dropped, runAll } = setup(5)
    net.setFaults({ ...CLEAN_NETWORK, dropProbability: 0.2, duplicateProbability: 0.1 })
    for (let i = 0; i < 5000; i++) net.send(message(1, 2, i), 0)
    runAll()
    expect(dropped.length).toBeGreaterThan(800)
    expect(dropped.length).toBeLessThan(1200)
    // 4000 kept, 10% of them twice.
    expect(delivered.length).toBeGreaterThan(4200)
    expect(delivered.length).toBeLessThan(4600)
  })

  it('cuts one direction only for an asymmetric partition, and heals it', () => {
    const { net, delivered, dropped, runAll } = setup()
    const id = net.partition(oneWayPartition([n(1)], [n(2), n(3)]))
    expect(net.canReach(n(1), n(2))).toBe(false)
    expect(net.canReach(n(2), n(1))).toBe(true)
    net.send(message(1, 2, 1), 0)
    net.send(message(2, 1, 2), 0)
    runAll()
    expect(delivered.map((d) => d.m.requestId)).toEqual([2])
    expect(dropped.map((d) => d.reason)).toEqual(['partitioned'])
    net.heal(id)
    net.send(message(1, 2, 3), 0)
    runAll()
    expect(delivered.map((d) => d.m.requestId)).toEqual([2, 3])
  })

  it('keeps a link cut until every partition that cut it heals', () => {
    const { net } = setup()
    const a = net.partition(splitPartition([n(1)], [n(2), n(3)]))
    const b = net.partition(splitPartition([n(1), n(3)], [n(2)]))
    net.heal(a)
    expect(net.canReach(n(1), n(2))).toBe(false)
    expect(net.canReach(n(1), n(3))).toBe(true)
    net.heal(b)
    expect(net.canReach(n(1), n(2))).toBe(true)
  })

  it('drops messages in flight when a partition starts before they arrive', () => {
    const { clock, net, delivered, dropped } = setup()
    net.setFaults({ ...CLEAN_NETWORK, minDelayMs: 10, maxDelayMs: 10 })
    net.send(message(1, 2, 1), 0)
    net.partition(splitPartition([n(1)], [n(2)]))
    while (clock.step(100)) { /* drain */ }
    expect(delivered).toHaveLength(0)
    expect(dropped).toHaveLength(1)
  })
})
