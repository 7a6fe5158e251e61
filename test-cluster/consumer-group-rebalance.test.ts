/**
 * Consumer-group rebalances under steady produce (issue 4's "Rebalance" check), against three
 * real `trib server` processes in combined mode with short group timings
 * (group.consumer.heartbeat.interval.ms 200, group.consumer.session.timeout.ms 2000): three
 * members read a 12-partition RF 3 topic; a fourth joins (child process), one leaves cleanly
 * (close), and the fourth is SIGKILLed (no LeaveGroup: it is expired by the session
 * timeout). The scenario is rebalance-scenario.ts; here its at-least-once figures must be:
 * 0 lost; 0 duplicates after the join and after the clean leave; after the crash, duplicates
 * only of records the crashed member handed out past its last acknowledged commit.
 * Assumes `tsc -b` has built packages/cli/dist and packages/client/dist (npm test does it first).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BrokerCluster } from './src/broker-cluster.ts'
import { REBALANCE_BROKER_OVERRIDES, runRebalanceScenario } from './src/rebalance-scenario.ts'

describe('consumer group rebalances (3 combined processes)', () => {
  let cluster: BrokerCluster

  beforeAll(async () => {
    cluster = await BrokerCluster.start({ size: 3, overrides: REBALANCE_BROKER_OVERRIDES })
  })

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.error(cluster.dump())
  })

  afterAll(async () => {
    await cluster?.close()
  })

  it('loses nothing; a join and a clean leave duplicate nothing; a crash re-delivers only uncommitted records', async () => {
    const result = await runRebalanceScenario(cluster, (line) => console.log(`rebalance ${line}`))
    console.log(`rebalance: ${result.produced} records acknowledged, ${result.failedSends} in failed sends, ${result.deliveries} deliveries; ` +
      `lost ${result.lost}, duplicates ${result.duplicates} (unexpected ${result.unexpectedDuplicates}), crashed member's uncommitted records ${result.uncommittedAtCrash}`)
    expect(result.lostSample).toEqual([])
    expect(result.lost).toBe(0)
    expect(result.produced).toBeGreaterThan(0)
    expect(result.unexpectedSample).toEqual([])
    const [add, remove, crash] = result.steps
    expect(add).toMatchObject({ step: 'add', duplicates: 0 })
    expect(add!.moved).toBeGreaterThan(0)
    expect(remove).toMatchObject({ step: 'clean remove', duplicates: 0 })
    expect(remove!.moved).toBeGreaterThan(0)
    expect(crash).toMatchObject({ step: 'crash', unexpectedDuplicates: 0 })
    expect(crash!.moved).toBeGreaterThan(0)
    // Re-deliveries are bounded by what the crashed member had not committed.
    expect(crash!.duplicates).toBeLessThanOrEqual(result.uncommittedAtCrash)
  }, 60_000)
})
