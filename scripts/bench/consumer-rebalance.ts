/**
 * `npm run bench:rebalance`: the consumer-group rebalance scenario
 * (test-cluster/src/rebalance-scenario.ts) against three real combined `trib server`
 * processes with group.consumer.heartbeat.interval.ms 200 and
 * group.consumer.session.timeout.ms 2000. Prints, per step (a 4th member joins, one leaves
 * cleanly, one is SIGKILLed), the time until every partition is consumed again by its new
 * owner and the duplicates delivered in that step, then the lost/duplicate totals.
 * The crash step's time includes the session timeout: the coordinator only moves a silent
 * member's partitions once it has expired.
 */
import { BrokerCluster } from '../../test-cluster/src/broker-cluster.ts'
import { benchArgs } from './bench-report.ts'
import { GROUP_HEARTBEAT_INTERVAL_MS, GROUP_SESSION_TIMEOUT_MS, REBALANCE_BROKER_OVERRIDES, REBALANCE_PARTITIONS, runRebalanceScenario } from '../../test-cluster/src/rebalance-scenario.ts'

benchArgs('A consumer group of 3 on 12 partitions: a 4th joins, one leaves cleanly, one crashes; time until every partition is consumed again.', { options: {} })

const cluster = await BrokerCluster.start({ size: 3, overrides: REBALANCE_BROKER_OVERRIDES, dirPrefix: 'trib-bench-' })
try {
  console.log(`consumer rebalance: 3 combined nodes, ${REBALANCE_PARTITIONS} partitions RF 3, group heartbeat ${GROUP_HEARTBEAT_INTERVAL_MS} ms, session timeout ${GROUP_SESSION_TIMEOUT_MS} ms`)
  const r = await runRebalanceScenario(cluster)
  console.log('step           recovery_ms  moved  duplicates  unexpected')
  for (const s of r.steps) {
    console.log(`${s.step.padEnd(14)} ${String(s.recoveryMs).padStart(11)}  ${String(s.moved).padStart(5)}  ${String(s.duplicates).padStart(10)}  ${String(s.unexpectedDuplicates).padStart(10)}`)
  }
  console.log(`records acknowledged ${r.produced}, in failed sends ${r.failedSends}, deliveries ${r.deliveries}`)
  console.log(`lost ${r.lost}, duplicates ${r.duplicates} (unexpected ${r.unexpectedDuplicates}); crashed member's records past its last commit ${r.uncommittedAtCrash}`)
  if (r.lostSample.length > 0) console.log(`lost sample: ${r.lostSample.join(' ')}`)
  if (r.unexpectedSample.length > 0) console.log(`unexpected duplicates sample: ${r.unexpectedSample.join(' ')}`)
  process.exitCode = r.lost === 0 && r.unexpectedDuplicates === 0 ? 0 : 1
} finally {
  await cluster.close()
}
