/**
 * The history check of a chaos run (issue 6): runs every checker on a healed run's History
 * and merges their findings into one report. The counts cover everything; the listed
 * violation details are capped per kind (maxDetailsPerKind) so a run that lost a million
 * records still prints a readable report. ok is true iff there is no violation.
 */
import { partitionKey, type History } from './history.ts'
import type { Violation, ViolationKind } from './check-result.ts'
import { checkReadBack, type ReadBackCounts } from './check-read-back.ts'
import { checkOrder } from './check-order.ts'
import { checkDense } from './check-dense.ts'
import { checkReplicas, type ReplicaCounts } from './check-replicas.ts'
import { checkCommits, checkConsumer, type ConsumerCounts } from './check-consumer.ts'
import { unavailabilityByKind, unavailabilityWindows, type FaultWindow, type UnavailabilityStats } from './check-unavailability.ts'

/** Details listed per violation kind unless the caller says otherwise. */
export const DEFAULT_MAX_DETAILS_PER_KIND = 20

export interface CheckHistoryOptions {
  readonly maxDetailsPerKind?: number
  /**
   * false: the run had no consumer group, so consumer-missed, -phantom and -inconsistent are
   * not judged (commit regressions still are). Default true.
   */
  readonly checkConsumer?: boolean
}

export interface HistoryCounts extends ReadBackCounts, ReplicaCounts, ConsumerCounts {
  readonly reordered: number
  readonly nonDense: number
}

export interface HistoryReport {
  readonly ok: boolean
  readonly counts: HistoryCounts
  /** Violations of every kind (the count of each, listed or not). */
  readonly violationsByKind: Readonly<Partial<Record<ViolationKind, number>>>
  /** At most maxDetailsPerKind per kind, in the order the checkers found them. */
  readonly violations: readonly Violation[]
  /** Violations not listed because of the cap. */
  readonly omittedViolations: number
  readonly windows: readonly FaultWindow[]
  readonly unavailability: readonly UnavailabilityStats[]
}

export function checkHistory(history: History, options: CheckHistoryOptions = {}): HistoryReport {
  const maxDetails = options.maxDetailsPerKind ?? DEFAULT_MAX_DETAILS_PER_KIND
  const readBack = checkReadBack(history.entries, history.readBacks)
  const order = checkOrder(history.entries, history.readBacks)
  const dense = checkDense(history.readBacks)
  const highWatermarks = new Map(history.readBacks.map((rb) => [partitionKey(rb.topic, rb.partition), rb.highWatermark] as const))
  const replicas = checkReplicas(history.replicas, highWatermarks)
  const consumer = options.checkConsumer === false ? commitsOnly(history) : checkConsumer(history.entries, history.consumed, history.commits, history.readBacks)
  const all = [...readBack.violations, ...order.violations, ...dense.violations, ...replicas.violations, ...consumer.violations]
  const violationsByKind: Partial<Record<ViolationKind, number>> = {}
  const listed: Violation[] = []
  for (const v of all) {
    const n = (violationsByKind[v.kind] ?? 0) + 1
    violationsByKind[v.kind] = n
    if (n <= maxDetails) listed.push(v)
  }
  const windows = unavailabilityWindows(history.entries, history.faults)
  return {
    ok: all.length === 0,
    counts: { ...readBack.counts, ...order.counts, ...dense.counts, ...replicas.counts, ...consumer.counts },
    violationsByKind,
    violations: listed,
    omittedViolations: all.length - listed.length,
    windows,
    unavailability: unavailabilityByKind(windows),
  }
}

/** The consumer check of a run without a consumer group: commit regressions only. */
function commitsOnly(history: History): { readonly counts: ConsumerCounts; readonly violations: readonly Violation[] } {
  const commits = checkCommits(history.commits)
  return {
    counts: { consumedRecords: history.consumed.length, consumedDuplicates: 0, consumerMissed: 0, consumerPhantom: 0, consumerInconsistent: 0, commits: history.commits.length, commitRegressions: commits.commitRegressions },
    violations: commits.violations,
  }
}
