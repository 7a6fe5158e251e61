/**
 * The chaos runner in CI (issue 6), through the same code as `npm run chaos` (runChaos, called
 * as a function): a fresh 3-node cluster, three idempotent producers and a consumer group,
 * about 30 s of the kill faults (SIGKILL of a partition leader, of the active controller, of
 * any node, and clean restarts), then healing, the read-back and the history check. The run
 * must find no violation at all and acknowledge records. The seed is random and printed
 * (`npm run chaos -- --seed N --faults kill-leader,kill-controller,kill-any,restart`
 * replays the schedule); a failure prints the summary with every violation listed.
 * Assumes `tsc -b` has built packages/cli/dist (npm test does it first).
 */
import { randomInt } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runChaos } from './src/chaos/run-chaos.ts'
import { KILL_FAULT_KINDS } from './src/chaos/fault-schedule.ts'

/** Seconds of faults: with the warm-up, healing and the check the test takes about a minute. */
const FAULT_SECONDS = 30

describe('chaos run with kill faults (3 combined processes)', () => {
  it('keeps every acknowledged record exactly once, in order, on identical replicas, through kills and restarts', async () => {
    const seed = Number(process.env.CHAOS_SEED ?? randomInt(0, 2 ** 31))
    const outDir = await mkdtemp(join(tmpdir(), 'trib-chaos-ci-'))
    console.log(`chaos CI run: seed ${seed}, faults ${KILL_FAULT_KINDS.join(',')}, ${FAULT_SECONDS} s`)
    const run = await runChaos({
      durationS: FAULT_SECONDS, nodes: 3, faults: KILL_FAULT_KINDS, seed, outDir, bootstrap: null, dataDir: null,
      producers: 3, consumers: 1, recordsPerSecond: 100, inFlightMax: 32, partitions: 6, keepData: false,
    })
    console.log(run.summary)
    expect(run.report.violations).toEqual([])
    expect(run.report.ok).toBe(true)
    expect(run.report.counts.acknowledged).toBeGreaterThan(0)
    expect(run.history.faults.length).toBeGreaterThan(0)
    expect(run.ok).toBe(true)
    await rm(outDir, { recursive: true, force: true })
  }, 150_000)
})
