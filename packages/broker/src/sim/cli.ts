/**
 * The replication simulator's command line (`npm run sim:replication -- ...`, built to
 * dist/sim/cli.js). The only I/O part of the simulator: it parses argv, prints, and sets the
 * exit code.
 *
 *   --seed N              replay one seed and print its event trace and result
 *   --seeds A..B          run seeds A to B (inclusive); progress every 500 seeds, then a
 *                         summary with each violation and its replay command; exit 1 on any
 *   --durability fsync|page-cache   (default fsync)
 *   --fault-ms MS         length of the fault phase (default: chosen by the seed, 3-8 s)
 *   --brokers N           number of brokers (default: chosen by the seed, 3-5)
 *   --liveness-ms MS      time allowed to converge after healing (default 15000)
 *   --quiet               with --seed: print only the result, not the trace
 *   --plant BUG           plant a bug (skip-truncation, leader-counts-unsynced,
 *                         follower-acks-unsynced, lying-fsync, keep-epoch-entry-at-log-end)
 *                         to watch the checker catch it
 */
import { optionalInt, parseSimArgs, usageError } from '@tributary/metadata-quorum'
import type { Durability } from '../replica/partition-state.js'
import type { PlantedBugs } from './planted-bugs.js'
import { LIVENESS_TIMEOUT_MS, replicationReplayCommand, runReplicationSimulation, type ReplicationResult } from './replication-simulation.js'

const PROGRESS_EVERY_SEEDS = 500

const USAGE = `usage: npm run sim:replication -- --seed N [--quiet] [options]
       npm run sim:replication -- --seeds A..B [options]
options: --durability fsync|page-cache, --fault-ms MS, --brokers N, --liveness-ms MS (default ${LIVENESS_TIMEOUT_MS}),
         --plant skip-truncation|leader-counts-unsynced|follower-acks-unsynced|lying-fsync|keep-epoch-entry-at-log-end`

const PLANTS: Record<string, PlantedBugs> = {
  'skip-truncation': { skipTruncation: true },
  'leader-counts-unsynced': { leaderCountsUnsynced: true },
  'follower-acks-unsynced': { followerAcksUnsynced: true },
  'lying-fsync': { lyingFsyncProbability: 0.3 },
  'keep-epoch-entry-at-log-end': { keepEpochEntryAtLogEnd: true },
}

interface RunOptions {
  readonly durability: Durability
  readonly faultPhaseMs: number | undefined
  readonly brokerCount: number | undefined
  readonly livenessTimeoutMs: number | undefined
  readonly bugs: PlantedBugs | undefined
}

function main(argv: readonly string[]): number {
  const values = parseSimArgs(argv, {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    durability: { type: 'string' },
    'fault-ms': { type: 'string' },
    brokers: { type: 'string' },
    'liveness-ms': { type: 'string' },
    plant: { type: 'string' },
    quiet: { type: 'boolean' },
  }, USAGE)
  if (typeof values === 'number') return values
  const durability = values.durability ?? 'fsync'
  if (durability !== 'fsync' && durability !== 'page-cache') return usageError(USAGE, `--durability must be fsync or page-cache, got '${durability}'`)
  const faultPhaseMs = optionalInt(values['fault-ms'], '--fault-ms', 1)
  const brokerCount = optionalInt(values.brokers, '--brokers', 3)
  const livenessTimeoutMs = optionalInt(values['liveness-ms'], '--liveness-ms', 1)
  if (faultPhaseMs === 'bad' || brokerCount === 'bad' || livenessTimeoutMs === 'bad') return 2
  let bugs: PlantedBugs | undefined
  if (values.plant !== undefined) {
    bugs = PLANTS[values.plant]
    if (bugs === undefined) return usageError(USAGE, `--plant must be one of ${Object.keys(PLANTS).join(', ')}, got '${values.plant}'`)
  }
  const options: RunOptions = { durability, faultPhaseMs, brokerCount, livenessTimeoutMs, bugs }

  if (values.seed !== undefined && values.seeds === undefined) {
    const seed = optionalInt(values.seed, '--seed', 0)
    if (seed === 'bad' || seed === undefined) return 2
    const quiet = values.quiet === true
    const result = runOne(seed, options, quiet ? undefined : (line) => process.stdout.write(`${line}\n`))
    printResult(result, options)
    return result.ok ? 0 : 1
  }
  if (values.seeds !== undefined && values.seed === undefined) {
    const range = /^(\d+)\.\.(\d+)$/.exec(values.seeds)
    if (range === null || Number(range[2]) < Number(range[1])) return usageError(USAGE, `--seeds must be A..B with A <= B, got '${values.seeds}'`)
    return runMany(Number(range[1]), Number(range[2]), options)
  }
  return usageError(USAGE, 'give exactly one of --seed N or --seeds A..B')
}

function runOne(seed: number, o: RunOptions, trace: ((line: string) => void) | undefined): ReplicationResult {
  return runReplicationSimulation({
    seed,
    durability: o.durability,
    ...(o.faultPhaseMs === undefined ? {} : { faultPhaseMs: o.faultPhaseMs }),
    ...(o.brokerCount === undefined ? {} : { brokerCount: o.brokerCount }),
    ...(o.livenessTimeoutMs === undefined ? {} : { livenessTimeoutMs: o.livenessTimeoutMs }),
    ...(o.bugs === undefined ? {} : { bugs: o.bugs }),
    ...(trace === undefined ? {} : { trace }),
  })
}

function runMany(first: number, last: number, o: RunOptions): number {
  const startedMs = performance.now()
  const failures: ReplicationResult[] = []
  let events = 0
  let acked = 0
  let crashes = 0
  let truncations = 0
  let askAgain = 0
  let hiddenRetries = 0
  let unpromised = 0
  const count = last - first + 1
  for (let seed = first; seed <= last; seed++) {
    const result = runOne(seed, o, undefined)
    events += result.stats.events
    acked += result.stats.acknowledged
    crashes += result.stats.brokerCrashes + result.stats.controllerCrashes
    truncations += result.stats.truncations
    askAgain += result.stats.askAgain
    hiddenRetries += result.stats.alterPartitionHiddenRetries
    unpromised += result.stats.unpromisedPartitions
    if (!result.ok) {
      failures.push(result)
      printResult(result, o)
    }
    const done = seed - first + 1
    if (done % PROGRESS_EVERY_SEEDS === 0 && seed < last) {
      const s = ((performance.now() - startedMs) / 1000).toFixed(1)
      process.stdout.write(`progress: ${done}/${count} seeds, ${failures.length} violations, ${s} s\n`)
    }
  }
  const s = ((performance.now() - startedMs) / 1000).toFixed(1)
  process.stdout.write(`seeds ${first}..${last} (${o.durability}): ${events} events, ${acked} batches acknowledged, ${crashes} crashes, ` +
    `${truncations} truncations (${askAgain} KIP-279 second rounds), ${hiddenRetries} AlterPartition resends after a proposed attempt` +
    `${o.durability === 'page-cache' ? `, ${unpromised} partitions past a power loss` : ''}, ${s} s\n`)
  process.stdout.write(`seeds: ${count}, violations: ${failures.length}\n`)
  for (const r of failures) process.stdout.write(`  seed ${r.seed}: ${r.violation?.invariant} - replay: ${replay(r, o)}\n`)
  return failures.length === 0 ? 0 : 1
}

/** The replay command, with the options that change the run. */
function replay(r: ReplicationResult, o: RunOptions): string {
  const plant = o.bugs === undefined ? '' : ` --plant ${Object.keys(PLANTS).find((k) => PLANTS[k] === o.bugs) ?? '?'}`
  const extra = (o.faultPhaseMs === undefined ? '' : ` --fault-ms ${o.faultPhaseMs}`) +
    (o.brokerCount === undefined ? '' : ` --brokers ${o.brokerCount}`) +
    (o.livenessTimeoutMs === undefined ? '' : ` --liveness-ms ${o.livenessTimeoutMs}`)
  return `${replicationReplayCommand(r.seed, r.durability)}${extra}${plant}`
}

function printResult(r: ReplicationResult, o: RunOptions): void {
  const st = r.stats
  if (r.ok) {
    process.stdout.write(`seed ${r.seed}: ok (${r.durability}) - ${st.simulatedMs} ms simulated, ${st.events} events, ` +
      `${st.brokerCrashes} broker crashes, ${st.controllerCrashes} controller crashes, ${st.controlledShutdowns} controlled shutdowns, ` +
      `${st.partitions} partitions, ${st.pauses} pauses; ${st.produced} produced, ${st.acknowledged} acknowledged; ` +
      `${st.leaderships} leaderships, ${st.truncations} truncations (${st.askAgain} asked again), ` +
      `${st.alterPartitionSent} AlterPartition (${st.alterPartitionUnknown} outcome unknown); live ${st.livenessMs} ms after healing\n`)
    return
  }
  const v = r.violation
  process.stdout.write(`VIOLATION seed ${r.seed} (${r.durability}): ${v?.invariant} at ${v?.atMs} ms: ${v?.message}\n`)
  process.stdout.write(`  replay: ${replay(r, o)}\n`)
}

process.exitCode = main(process.argv.slice(2))
