/**
 * The fault schedule (pure): which fault comes next, how long it holds and how long the
 * cluster rests afterwards, all drawn from one seeded generator so that `--seed N` replays
 * the same sequence of decisions. Which node a fault hits depends on the cluster's state at
 * that moment (who leads what), so the plan carries a uniform `pick` in [0, 1) that the
 * runner applies to the candidates it finds; the choice is still seeded.
 *
 * Kinds come in shuffled rounds: every requested kind runs once before any runs twice, so a
 * short run still sees each kind.
 */
import { randomInt, SeededRandom, type Random } from '@tributary/metadata-quorum'
import {
  BROKER_SESSION_TIMEOUT_MS, KILL_DOWN_MS_MAX, KILL_DOWN_MS_MIN, PARTITION_MS_MAX, PARTITION_MS_MIN,
  PAUSE_EXTRA_MS_MAX, PAUSE_EXTRA_MS_MIN, RECOVERY_GAP_MS_MAX, RECOVERY_GAP_MS_MIN,
} from './chaos-limits.ts'

export const FAULT_KINDS = ['kill-leader', 'kill-controller', 'kill-any', 'pause', 'restart', 'partition'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** The kill faults: the ones any machine can run (CI's set). */
export const KILL_FAULT_KINDS: readonly FaultKind[] = ['kill-leader', 'kill-controller', 'kill-any', 'restart']

/**
 * Shapes of a network partition. `isolate-controller` is issue 6's named case: the active
 * controller alone on one side, the majority on the other. `isolate-node` cuts a random node
 * off; `cut-link` cuts one link between two nodes (each still reaches the third: a
 * non-transitive partition).
 */
export const PARTITION_SHAPES = ['isolate-controller', 'isolate-node', 'cut-link'] as const
export type PartitionShape = (typeof PARTITION_SHAPES)[number]

export interface FaultPlan {
  readonly index: number
  readonly kind: FaultKind
  /** Uniform in [0, 1): picks the target among the candidates the runner finds. */
  readonly pick: number
  /** A second pick, for faults with two targets (cut-link's other end). */
  readonly pick2: number
  /** How long the fault holds (a killed node stays down, a pause lasts, a partition stands); 0 for restart. */
  readonly holdMs: number
  /** Rest after the cluster is whole again, before the next fault. */
  readonly gapMs: number
  /** Partition faults only. */
  readonly shape: PartitionShape | null
}

export function isFaultKind(s: string): s is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(s)
}

/** Parses `kill-leader,pause,...`: the kinds, or the first unknown name. */
export function parseFaultKinds(list: string): { kinds: FaultKind[] } | { unknown: string } {
  const kinds: FaultKind[] = []
  for (const raw of list.split(',')) {
    const name = raw.trim()
    if (name === '') continue
    if (!isFaultKind(name)) return { unknown: name }
    if (!kinds.includes(name)) kinds.push(name)
  }
  return { kinds }
}

function uniform(random: Random, min: number, max: number): number {
  return min + randomInt(random, max - min + 1)
}

export class FaultSchedule {
  private readonly random: Random
  private readonly kinds: readonly FaultKind[]
  private readonly shapes: readonly PartitionShape[]
  private readonly sessionTimeoutMs: number
  private round: FaultKind[] = []
  private shapeRound: PartitionShape[] = []
  private count = 0

  /** Partition shapes come in shuffled rounds too, so the first few partition faults include isolate-controller. */
  constructor(seed: number, kinds: readonly FaultKind[], shapes: readonly PartitionShape[] = PARTITION_SHAPES, sessionTimeoutMs = BROKER_SESSION_TIMEOUT_MS) {
    if (kinds.length === 0) throw new RangeError('a fault schedule needs at least one fault kind')
    if (shapes.length === 0) throw new RangeError('a fault schedule needs at least one partition shape')
    this.random = new SeededRandom(seed)
    this.kinds = kinds
    this.shapes = shapes
    this.sessionTimeoutMs = sessionTimeoutMs
  }

  next(): FaultPlan {
    if (this.round.length === 0) this.round = shuffle(this.random, this.kinds)
    const kind = this.round.shift()!
    const pick = this.random.next()
    const pick2 = this.random.next()
    const holdMs = kind === 'restart' ? 0
      : kind === 'pause' ? this.sessionTimeoutMs + uniform(this.random, PAUSE_EXTRA_MS_MIN, PAUSE_EXTRA_MS_MAX)
      : kind === 'partition' ? uniform(this.random, PARTITION_MS_MIN, PARTITION_MS_MAX)
      : uniform(this.random, KILL_DOWN_MS_MIN, KILL_DOWN_MS_MAX)
    let shape: PartitionShape | null = null
    if (kind === 'partition') {
      if (this.shapeRound.length === 0) this.shapeRound = shuffle(this.random, this.shapes)
      shape = this.shapeRound.shift()!
    }
    const gapMs = uniform(this.random, RECOVERY_GAP_MS_MIN, RECOVERY_GAP_MS_MAX)
    return { index: this.count++, kind, pick, pick2, holdMs, gapMs, shape }
  }
}

/** Fisher-Yates with the seeded generator. */
function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1)
    const t = out[i]!
    out[i] = out[j]!
    out[j] = t
  }
  return out
}

/** The candidate `pick` (in [0, 1)) selects, or null when there is none. */
export function pickOne<T>(candidates: readonly T[], pick: number): T | null {
  if (candidates.length === 0) return null
  return candidates[Math.min(candidates.length - 1, Math.floor(pick * candidates.length))]!
}
