/**
 * The simulator's command line (`npm run sim -- ...`, built to dist/sim/cli.js). The only
 * I/O part of the simulator: it parses argv, prints, and sets the exit code.
 *
 *   --seed N              replay one seed and print its event trace and result
 *   --seeds N [--start S] run N seeds from S (default 1); progress every 1000 seeds, then
 *                         "seeds: N, violations: V"; exit 1 on any violation
 *   --mode controller|raft  QuorumController on every node (default), or a bare RaftCore
 *   --fault-ms MS         length of the fault phase (default: chosen by the seed, 3-10 s)
 *   --liveness-ms MS      time allowed to recover after healing (default 10000)
 *   --quiet               with --seed: print only the result, not the trace
 */
import { optionalInt, parseSimArgs, usageError } from './sim-cli-args.js'
import { replicaFactoryFor } from './replicas.js'
import { LIVENESS_TIMEOUT_MS, replayCommand, runSimulation, type SimulationResult } from './simulation.js'
import type { WorkloadMode } from './sim-workload.js'

const PROGRESS_EVERY_SEEDS = 1000

const USAGE = `usage: npm run sim -- --seed N [--mode controller|raft] [--quiet]
       npm run sim -- --seeds N [--start S] [--mode controller|raft]
options: --fault-ms MS (fault phase length), --liveness-ms MS (recovery budget, default ${LIVENESS_TIMEOUT_MS})`

function main(argv: readonly string[]): number {
  const values = parseSimArgs(argv, {
    seed: { type: 'string' },
    seeds: { type: 'string' },
    start: { type: 'string' },
    mode: { type: 'string' },
    'fault-ms': { type: 'string' },
    'liveness-ms': { type: 'string' },
    quiet: { type: 'boolean' },
  }, USAGE)
  if (typeof values === 'number') return values
  const mode = values.mode ?? 'controller'
  if (mode !== 'controller' && mode !== 'raft') return usageError(USAGE, `--mode must be controller or raft, got '${mode}'`)
  const faultPhaseMs = optionalInt(values['fault-ms'], '--fault-ms', 1)
  const livenessTimeoutMs = optionalInt(values['liveness-ms'], '--liveness-ms', 1)
  if (faultPhaseMs === 'bad' || livenessTimeoutMs === 'bad') return 2

  if (values.seed !== undefined && values.seeds === undefined) {
    const seed = optionalInt(values.seed, '--seed', 0)
    if (seed === 'bad' || seed === undefined) return 2
    const quiet = values.quiet === true
    const result = runOne(seed, mode, faultPhaseMs, livenessTimeoutMs, quiet ? undefined : (line) => process.stdout.write(`${line}\n`))
    printResult(result)
    return result.ok ? 0 : 1
  }
  if (values.seeds !== undefined && values.seed === undefined) {
    const count = optionalInt(values.seeds, '--seeds', 1)
    const start = optionalInt(values.start ?? '1', '--start', 0)
    if (count === 'bad' || count === undefined || start === 'bad' || start === undefined) return 2
    return runMany(start, count, mode, faultPhaseMs, livenessTimeoutMs)
  }
  return usageError(USAGE, 'give exactly one of --seed N or --seeds N')
}

function runOne(
  seed: number,
  mode: WorkloadMode,
  faultPhaseMs: number | undefined,
  livenessTimeoutMs: number | undefined,
  trace: ((line: string) => void) | undefined,
): SimulationResult {
  try {
    return runSimulation({
      seed,
      mode,
      replicaFactory: replicaFactoryFor(mode),
      ...(faultPhaseMs === undefined ? {} : { faultPhaseMs }),
      ...(livenessTimeoutMs === undefined ? {} : { livenessTimeoutMs }),
      ...(trace === undefined ? {} : { trace }),
    })
  } catch (e) {
    // A throw that escaped the simulator's own handling: still a failing seed, still replayable.
    return {
      seed,
      mode,
      ok: false,
      violation: { invariant: 'node_threw', message: `simulator error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, atMs: -1 },
      replayCommand: replayCommand(seed, mode),
      stats: {
        simulatedMs: 0, events: 0, messagesSent: 0, messagesDelivered: 0, crashes: 0, crashesAtSync: 0, crashesAfterHardState: 0, crashesLogWithoutHardState: 0, restartsLogAboveHardState: 0, crashesAfterSend: 0, lostWrites: 0,
        partitions: 0, resigns: 0, pauses: 0, highestEpoch: 0, committedEnd: 0, acknowledged: 0, snapshots: 0, livenessMs: null,
      },
    }
  }
}

function runMany(start: number, count: number, mode: WorkloadMode, faultPhaseMs: number | undefined, livenessTimeoutMs: number | undefined): number {
  const startedMs = performance.now()
  let violations = 0
  let events = 0
  for (let i = 0; i < count; i++) {
    const result = runOne(start + i, mode, faultPhaseMs, livenessTimeoutMs, undefined)
    events += result.stats.events
    if (!result.ok) {
      violations++
      printResult(result)
    }
    if ((i + 1) % PROGRESS_EVERY_SEEDS === 0 && i + 1 < count) {
      const s = ((performance.now() - startedMs) / 1000).toFixed(1)
      process.stdout.write(`progress: ${i + 1}/${count} seeds, ${violations} violations, ${s} s\n`)
    }
  }
  const s = ((performance.now() - startedMs) / 1000).toFixed(1)
  process.stdout.write(`seeds ${start}..${start + count - 1} (${mode} mode), ${events} events, ${s} s\n`)
  process.stdout.write(`seeds: ${count}, violations: ${violations}\n`)
  return violations === 0 ? 0 : 1
}

function printResult(r: SimulationResult): void {
  const st = r.stats
  if (r.ok) {
    process.stdout.write(`seed ${r.seed}: ok (${r.mode} mode) - ${st.simulatedMs} ms simulated, ${st.events} events, ` +
      `${st.crashes} crashes (${st.crashesAtSync} before fsync [${st.crashesAfterHardState} with only the hard state durable, ${st.crashesLogWithoutHardState} with only the log], ${st.crashesAfterSend} right after send), ${st.partitions} partitions, ${st.pauses} pauses, ` +
      `epoch ${st.highestEpoch}, ${st.committedEnd} committed, ${st.acknowledged} acknowledged, ` +
      `${st.snapshots} snapshots, live ${st.livenessMs} ms after healing\n`)
    return
  }
  const v = r.violation
  process.stdout.write(`VIOLATION seed ${r.seed} (${r.mode} mode): ${v?.invariant} at ${v?.atMs} ms: ${v?.message}\n`)
  process.stdout.write(`  replay: ${r.replayCommand}\n`)
}

process.exitCode = main(process.argv.slice(2))
