/**
 * The consumer group's side (issue 6): committed offsets never move backwards per (group,
 * topic, partition) — a regression would make the group re-read, or worse, a rewind to
 * before a rebalance's fence (KIP-848) — and the group delivered every acknowledged record at
 * least once. Duplicate deliveries are allowed (at-least-once: a record consumed but not yet
 * committed when its consumer died is delivered again) and only counted.
 *
 * A delivery must also agree with the log after healing (Jepsen's "inconsistent offsets"):
 * consumers read only below the high watermark, which no correct leader change truncates, so
 * a delivered record absent from the read-back, or read back at another offset, is a
 * committed record that moved or vanished ('consumer-inconsistent'; each delivery counts).
 *
 * A commit is compared with the highest offset committed before it (by atMs, ties in
 * recording order), so each commit below that counts one. Acknowledged records below their
 * partition's logStartOffset (removed by retention) are not required.
 */
import { parseValue, partitionKey, sendId, type CommitObservation, type ConsumedRecord, type HistoryEntry, type ReadBack } from './history.ts'
import { violation, type Violation } from './check-result.ts'

export interface ConsumerCounts {
  readonly consumedRecords: number
  /** Deliveries beyond the first of a payload: allowed, counted. */
  readonly consumedDuplicates: number
  readonly consumerMissed: number
  readonly consumerPhantom: number
  readonly consumerInconsistent: number
  readonly commits: number
  readonly commitRegressions: number
}

export interface ConsumerCheck {
  readonly counts: ConsumerCounts
  readonly violations: readonly Violation[]
}

export function checkCommits(commits: readonly CommitObservation[]): { readonly commitRegressions: number; readonly violations: readonly Violation[] } {
  const violations: Violation[] = []
  const ordered = commits.map((c, i) => ({ c, i })).sort((a, b) => a.c.atMs - b.c.atMs || a.i - b.i)
  const highest = new Map<string, CommitObservation>()
  let commitRegressions = 0
  for (const { c } of ordered) {
    const key = `${c.group}/${partitionKey(c.topic, c.partition)}`
    const before = highest.get(key)
    if (before !== undefined && c.offset < before.offset) {
      commitRegressions++
      violations.push(violation('commit-regression', `${key}: committed ${c.offset} at ${c.atMs} ms after ${before.offset} at ${before.atMs} ms`))
      continue
    }
    highest.set(key, c)
  }
  return { commitRegressions, violations }
}

export function checkConsumer(
  entries: readonly HistoryEntry[],
  consumed: readonly ConsumedRecord[],
  commits: readonly CommitObservation[],
  readBacks: readonly ReadBack[],
): ConsumerCheck {
  const violations: Violation[] = []
  const sentTo = new Map<string, string>()
  for (const e of entries) sentTo.set(sendId(e.op.producer, e.op.seq), partitionKey(e.op.topic, e.op.partition))
  const logStart = new Map<string, bigint>()
  // Where each payload sits in the healed log of the partition it was sent to.
  const logOffsets = new Map<string, bigint[]>()
  for (const rb of readBacks) {
    const key = partitionKey(rb.topic, rb.partition)
    logStart.set(key, rb.logStartOffset)
    for (const r of rb.records) {
      const parsed = parseValue(r.value)
      if (parsed === null) continue
      const id = sendId(parsed.producer, parsed.seq)
      if (sentTo.get(id) !== key) continue
      const list = logOffsets.get(id)
      if (list === undefined) logOffsets.set(id, [r.offset])
      else list.push(r.offset)
    }
  }

  const delivered = new Set<string>()
  let consumedDuplicates = 0
  let consumerPhantom = 0
  let consumerInconsistent = 0
  for (const r of consumed) {
    const key = partitionKey(r.topic, r.partition)
    const parsed = parseValue(r.value)
    const id = parsed === null ? null : sendId(parsed.producer, parsed.seq)
    if (id === null || sentTo.get(id) !== key) {
      consumerPhantom++
      violations.push(violation('consumer-phantom', `${key}@${r.offset}: delivered ${id === null ? `unparseable ${JSON.stringify(r.value.slice(0, 40))}` : `${id}, never sent there`}`))
      continue
    }
    if (delivered.has(id)) consumedDuplicates++
    else delivered.add(id)
    const start = logStart.get(key)
    if (start === undefined || r.offset < start) continue
    const inLog = logOffsets.get(id)
    if (inLog === undefined || !inLog.includes(r.offset)) {
      consumerInconsistent++
      violations.push(violation('consumer-inconsistent', `${key}: ${id} delivered at offset ${r.offset}, ${inLog === undefined ? 'absent from the read-back' : `read back at ${inLog.join(', ')}`}`))
    }
  }

  let consumerMissed = 0
  for (const e of entries) {
    if (e.outcome.kind !== 'ack') continue
    const id = sendId(e.op.producer, e.op.seq)
    if (delivered.has(id)) continue
    const key = partitionKey(e.op.topic, e.op.partition)
    const start = logStart.get(key)
    if (start !== undefined && e.outcome.offset < start) continue
    consumerMissed++
    violations.push(violation('consumer-missed', `${id} acknowledged at ${key}@${e.outcome.offset}, never delivered to the group`))
  }

  const commitCheck = checkCommits(commits)
  return {
    counts: { consumedRecords: consumed.length, consumedDuplicates, consumerMissed, consumerPhantom, consumerInconsistent, commits: commits.length, commitRegressions: commitCheck.commitRegressions },
    violations: [...violations, ...commitCheck.violations],
  }
}
