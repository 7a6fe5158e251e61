/**
 * What every history checker (check-*.ts) returns: the violations it found, each with a
 * human-readable detail. check-history.ts merges them into one report and caps how many
 * details it lists; the counts always cover everything.
 */

export type ViolationKind =
  /** Acknowledged, absent from its partition's read-back. */
  | 'lost'
  /** Acknowledged at one offset, read back (only) at another. */
  | 'wrong-offset'
  /** A payload read back more than once (acknowledged or indeterminate). */
  | 'duplicated'
  /** Read back but never sent there: unknown or unparseable payload, or another partition's. */
  | 'phantom'
  /** A send that failed definitely (not written) is in the read-back. */
  | 'failed-but-written'
  /** A producer's records in one partition out of send order. */
  | 'reordered'
  /** Offsets not dense from logStartOffset to highWatermark: a gap or a repeat. */
  | 'non-dense'
  /** A replica that ends before the high watermark after healing. */
  | 'replica-behind'
  /** A replica whose bytes below the high watermark differ from the others'. */
  | 'divergent'
  /** A group's committed offset for a partition moved backwards. */
  | 'commit-regression'
  /** An acknowledged record the consumer group never delivered. */
  | 'consumer-missed'
  /** The consumer group delivered a payload that was never sent to that partition. */
  | 'consumer-phantom'
  /** The group delivered a record at an offset where the healed log does not hold it. */
  | 'consumer-inconsistent'

export interface Violation {
  readonly kind: ViolationKind
  readonly detail: string
}

/** Pushes onto a violation list; the one place that builds Violation values. */
export function violation(kind: ViolationKind, detail: string): Violation {
  return { kind, detail }
}
