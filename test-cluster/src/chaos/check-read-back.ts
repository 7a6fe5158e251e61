/**
 * The read-back check (issue 6; Jepsen's Kafka/Redpanda checks): after healing, every
 * acknowledged send is in its partition's read-back exactly once, at the offset it was
 * acknowledged at; a send of unknown outcome (timeout, transport failure, no answer) is there
 * at most once; a definitely failed send is not there; and nothing is there that was never
 * sent to that partition (a phantom; an unparseable payload is one).
 *
 * A payload names its send (`${producer}:${seq}:`, history.ts), so identity is (producer,
 * seq). An acknowledged offset below the partition's logStartOffset may have been removed by
 * retention: it is counted (belowLogStart), not judged lost.
 */
import { parseValue, partitionKey, sendId, type HistoryEntry, type ReadBack } from './history.ts'
import { violation, type Violation } from './check-result.ts'

export interface ReadBackCounts {
  readonly acknowledged: number
  readonly failedDefinite: number
  /** Sends of unknown outcome: fail with definite=false, or pending. */
  readonly indeterminate: number
  /** Indeterminate sends found in the read-back (written after all). */
  readonly indeterminateWritten: number
  readonly readBackRecords: number
  readonly lost: number
  readonly wrongOffset: number
  /** Payloads read back more than once (each counted once however many copies). */
  readonly duplicated: number
  /** Read-back records that were never sent to their partition (unparseable ones included). */
  readonly phantom: number
  readonly failedButWritten: number
  /** Acknowledged at an offset below logStartOffset: not judged. */
  readonly belowLogStart: number
}

export interface ReadBackCheck {
  readonly counts: ReadBackCounts
  readonly violations: readonly Violation[]
}

interface Occurrence {
  readonly partitionKey: string
  readonly offset: bigint
}

/** The sends of a history by sendId; a send recorded twice is a runner bug, so it throws. */
export function indexSends(entries: readonly HistoryEntry[]): Map<string, HistoryEntry> {
  const sends = new Map<string, HistoryEntry>()
  for (const entry of entries) {
    const id = sendId(entry.op.producer, entry.op.seq)
    if (sends.has(id)) throw new Error(`history records send ${id} twice`)
    sends.set(id, entry)
  }
  return sends
}

/** Read-backs by partitionKey; two read-backs of one partition is a runner bug, so it throws. */
export function indexReadBacks(readBacks: readonly ReadBack[]): Map<string, ReadBack> {
  const byPartition = new Map<string, ReadBack>()
  for (const rb of readBacks) {
    const key = partitionKey(rb.topic, rb.partition)
    if (byPartition.has(key)) throw new Error(`history has two read-backs of ${key}`)
    byPartition.set(key, rb)
  }
  return byPartition
}

export function checkReadBack(entries: readonly HistoryEntry[], readBacks: readonly ReadBack[]): ReadBackCheck {
  const violations: Violation[] = []
  const sends = indexSends(entries)
  const byPartition = indexReadBacks(readBacks)

  let readBackRecords = 0
  let phantom = 0
  const occurrences = new Map<string, Occurrence[]>()
  for (const [key, rb] of byPartition) {
    for (const record of rb.records) {
      readBackRecords++
      const parsed = parseValue(record.value)
      if (parsed === null) {
        phantom++
        violations.push(violation('phantom', `${key}@${record.offset}: unparseable value ${JSON.stringify(record.value.slice(0, 40))}`))
        continue
      }
      const id = sendId(parsed.producer, parsed.seq)
      const list = occurrences.get(id)
      const occurrence = { partitionKey: key, offset: record.offset }
      if (list === undefined) occurrences.set(id, [occurrence])
      else list.push(occurrence)
    }
  }

  // Phantoms: payloads never sent, or found in a partition they were not sent to.
  for (const [id, list] of occurrences) {
    const entry = sends.get(id)
    const sentTo = entry === undefined ? null : partitionKey(entry.op.topic, entry.op.partition)
    for (const o of list) {
      if (o.partitionKey === sentTo) continue
      phantom++
      violations.push(violation('phantom', `${o.partitionKey}@${o.offset}: ${id} ${sentTo === null ? 'was never sent' : `was sent to ${sentTo}`}`))
    }
  }

  let acknowledged = 0
  let failedDefinite = 0
  let indeterminate = 0
  let indeterminateWritten = 0
  let lost = 0
  let wrongOffset = 0
  let duplicated = 0
  let failedButWritten = 0
  let belowLogStart = 0
  for (const [id, entry] of sends) {
    const key = partitionKey(entry.op.topic, entry.op.partition)
    const here = (occurrences.get(id) ?? []).filter((o) => o.partitionKey === key)
    if (here.length > 1) {
      duplicated++
      violations.push(violation('duplicated', `${id} in ${key} ${here.length} times, at offsets ${here.map((o) => o.offset).join(', ')} (${describeOutcome(entry)})`))
    }
    const outcome = entry.outcome
    if (outcome.kind === 'ack') {
      acknowledged++
      const rb = byPartition.get(key)
      if (rb !== undefined && outcome.offset < rb.logStartOffset) {
        belowLogStart++
        continue
      }
      if (here.length === 0) {
        lost++
        violations.push(violation('lost', `${id} acknowledged at ${key}@${outcome.offset}, ${rb === undefined ? `no read-back of ${key}` : 'absent from the read-back'}`))
      } else if (!here.some((o) => o.offset === outcome.offset)) {
        wrongOffset++
        violations.push(violation('wrong-offset', `${id} acknowledged at ${key}@${outcome.offset}, read back at ${here.map((o) => o.offset).join(', ')}`))
      }
    } else if (outcome.kind === 'fail' && outcome.definite) {
      failedDefinite++
      if (here.length > 0) {
        failedButWritten++
        violations.push(violation('failed-but-written', `${id} failed definitely (${outcome.error}) but is at ${key}@${here[0].offset}`))
      }
    } else {
      indeterminate++
      if (here.length > 0) indeterminateWritten++
    }
  }

  return {
    counts: { acknowledged, failedDefinite, indeterminate, indeterminateWritten, readBackRecords, lost, wrongOffset, duplicated, phantom, failedButWritten, belowLogStart },
    violations,
  }
}

function describeOutcome(entry: HistoryEntry): string {
  const o = entry.outcome
  if (o.kind === 'ack') return `acknowledged at ${o.offset}`
  if (o.kind === 'fail') return `${o.definite ? 'failed' : 'indeterminate'}: ${o.error}`
  return 'pending'
}
