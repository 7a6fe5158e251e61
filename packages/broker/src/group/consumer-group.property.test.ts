/**
 * Property test of the KIP-848 coordinator: random joins, leaves, crashes, heartbeats (some
 * holding on to revoked partitions), subscription changes, partition additions and the
 * passing of time. After every step (the harness checks): no partition is owned by two live
 * consumers, a consumer owns only what the coordinator holds for it, epochs never decrease.
 * At the end, once every live consumer heartbeats: the group is stable, every subscribed
 * partition is owned exactly once, loads differ by at most one for identical subscriptions,
 * and replaying the records (full and compacted) rebuilds the same state.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compactRecords } from './group-records.js'
import { expectFullyOwned, GROUP, GroupHarness } from './test-group-harness.js'

const MEMBERS = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']

type Command =
  | { kind: 'join'; member: string; both: boolean }
  | { kind: 'heartbeat'; member: string; ack: boolean }
  | { kind: 'leave'; member: string }
  | { kind: 'crash'; member: string }
  | { kind: 'advance'; ms: number }
  | { kind: 'subscribe'; member: string; both: boolean }
  | { kind: 'grow'; extra: number }

const member = fc.constantFrom(...MEMBERS)
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), member, both: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), member, ack: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), member }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), member }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1_000, max: 20_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('subscribe' as const), member, both: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), extra: fc.integer({ min: 1, max: 3 }) }) },
)

function run(ordersPartitions: number, commands: readonly Command[]): void {
  const h = new GroupHarness({ orders: ordersPartitions, payments: 3 })
  const subscription = (both: boolean): string[] => (both ? ['orders', 'payments'] : ['orders'])
  for (const c of commands) {
    const live = h.consumers.has(c.kind === 'advance' || c.kind === 'grow' ? '' : c.member)
    switch (c.kind) {
      case 'join':
        if (!live) expect(h.join(c.member, subscription(c.both)).errorCode).toBe(0)
        break
      case 'heartbeat':
        if (live) expect(h.heartbeat(c.member, c.ack).errorCode).toBe(0)
        break
      case 'leave':
        if (live) h.leave(c.member)
        break
      case 'crash':
        if (live) h.crash(c.member)
        break
      case 'advance':
        h.advance(c.ms)
        break
      case 'subscribe':
        if (live) h.consumer(c.member).subscription = subscription(c.both)
        break
      case 'grow': {
        const orders = h.topics.get('orders')
        if (orders !== undefined && orders.numPartitions < 16) h.setPartitions('orders', orders.numPartitions + c.extra)
        break
      }
    }
  }
  // Quiesce: live consumers heartbeat every 5 s until the crashed ones are evicted.
  for (let i = 0; i < 12; i++) {
    for (const id of [...h.consumers.keys()].sort()) h.heartbeat(id)
    h.advance(5_000)
  }
  if (h.consumers.size === 0) {
    expect(h.shard.group(GROUP)?.state() ?? 'empty').toBe('empty')
    return
  }
  h.settle(12)
  const group = h.group
  expect(group.state()).toBe('stable')
  expect(group.memberIds()).toEqual([...h.consumers.keys()].sort())
  expectFullyOwned(h, 'orders')
  if ([...h.consumers.values()].some((c) => c.subscription.includes('payments'))) expectFullyOwned(h, 'payments')
  if ([...h.consumers.values()].every((c) => c.subscription.length === 1)) {
    const counts = h.counts()
    expect((counts[counts.length - 1] ?? 0) - (counts[0] ?? 0)).toBeLessThanOrEqual(1)
  }
  const describe = (s: typeof h.shard) => s.describeGroups({ groupIds: [GROUP] }, h.topics)
  expect(describe(h.replayed())).toEqual(describe(h.shard))
  expect(describe(h.replayed(compactRecords(h.log)))).toEqual(describe(h.shard))
}

describe('consumer group properties (KIP-848)', () => {
  it('random membership churn never double-assigns and always settles balanced', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(command, { minLength: 1, maxLength: 80, size: 'max' }), (partitions, commands) => run(partitions, commands)),
      { numRuns: 300 },
    )
  })
})
