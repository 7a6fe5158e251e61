/**
 * Proof that the replication checker catches real replication bugs: each planted bug has a
 * seed that fails with it and passes without it. With `checkDurableAtAck: false` the
 * checker stops looking at durability when a produce is acknowledged, so durability bugs
 * must show up as what they cause: an acknowledged batch missing after a crash, or replicas
 * that disagree about committed data.
 *
 * The seeds were found with `npm run sim:replication -- --seeds 1..80 --plant <bug>`; a
 * change to the simulator's draws may move them (search again the same way).
 */
import { describe, expect, it } from 'vitest'
import type { PlantedBugs } from './planted-bugs.js'
import { runReplicationSimulation, type ReplicationResult } from './replication-simulation.js'
import type { ReplicationInvariant } from './replication-checker.js'

interface Case {
  readonly name: string
  readonly bugs: PlantedBugs
  readonly seed: number
  readonly checkDurableAtAck?: boolean
  readonly invariant: ReplicationInvariant
  readonly message: RegExp
}

const CASES: readonly Case[] = [
  {
    name: 'a follower that skips KIP-101 truncation keeps a divergent batch below its HW',
    bugs: { skipTruncation: true }, seed: 37, invariant: 'replicas_agree', message: /but the committed log has batch/,
  },
  {
    name: 'a follower that skips KIP-101 truncation acknowledges offsets where it holds another batch',
    bugs: { skipTruncation: true }, seed: 8, invariant: 'acked_on_isr', message: /holds a different batch there/,
  },
  {
    name: 'a leader that counts unsynced data acknowledges what it has not made durable',
    bugs: { leaderCountsUnsynced: true }, seed: 26, invariant: 'acked_on_isr', message: /has not made it durable/,
  },
  {
    name: 'a leader that counts unsynced data: a crash then loses an acknowledged batch',
    bugs: { leaderCountsUnsynced: true }, seed: 93, checkDurableAtAck: false, invariant: 'acked_on_isr', message: /crashed while in the ISR and does not have it/,
  },
  {
    name: 'a follower that acknowledges unsynced data lets the leader acknowledge what it has not made durable',
    bugs: { followerAcksUnsynced: true }, seed: 26, invariant: 'acked_on_isr', message: /has not made it durable/,
  },
  {
    name: 'a follower that acknowledges unsynced data: a crash then loses an acknowledged batch',
    bugs: { followerAcksUnsynced: true }, seed: 3, checkDurableAtAck: false, invariant: 'acked_on_isr', message: /crashed while in the ISR and does not have it/,
  },
  {
    name: 'a lying fsync is caught when the produce is acknowledged',
    bugs: { lyingFsyncProbability: 0.3 }, seed: 10, invariant: 'acked_on_isr', message: /has not made it durable/,
  },
  {
    name: 'a lying fsync: crashes lose committed data and a new leader writes other batches at those offsets',
    bugs: { lyingFsyncProbability: 0.3 }, seed: 68, checkDurableAtAck: false, invariant: 'replicas_agree', message: /but the committed log has batch/,
  },
  {
    name: 'truncation to the log end that keeps the epoch cache strands the follower (PartitionLog before 2f471e2, see requests.md)',
    bugs: { keepEpochEntryAtLogEnd: true }, seed: 8, invariant: 'liveness', message: /has ISR \[.*\] of replicas/,
  },
]

function run(c: Case, bugs: PlantedBugs): ReplicationResult {
  return runReplicationSimulation({ seed: c.seed, bugs, ...(c.checkDurableAtAck === undefined ? {} : { checkDurableAtAck: c.checkDurableAtAck }) })
}

describe('planted bugs: the replication checker catches each', () => {
  for (const c of CASES) {
    it(`${c.name} (seed ${c.seed})`, () => {
      const planted = run(c, c.bugs)
      expect(planted.violation?.invariant, `replay: ${planted.replayCommand} with the bug planted`).toBe(c.invariant)
      expect(planted.violation?.message).toMatch(c.message)
      const clean = run(c, {})
      expect(clean.violation, 'the same seed without the bug').toBeNull()
    })
  }
})
