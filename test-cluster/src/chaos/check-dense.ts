/**
 * Dense offsets (issue 6): a partition's read-back holds every offset from logStartOffset up
 * to (not including) highWatermark, once each, in order. Without transactions (whose control
 * records take offsets a consumer never sees) and without compaction, a gap means a record
 * vanished and a repeat means the log handed out an offset twice.
 *
 * Each gap (a run of missing offsets), each repeated or backwards offset, and each record at
 * or above the high watermark counts one. Records below logStartOffset (a fetch may start at
 * the beginning of the batch that holds it) are ignored.
 */
import { partitionKey, type ReadBack } from './history.ts'
import { violation, type Violation } from './check-result.ts'

export interface DenseCheck {
  readonly counts: { readonly nonDense: number }
  readonly violations: readonly Violation[]
}

export function checkDense(readBacks: readonly ReadBack[]): DenseCheck {
  const violations: Violation[] = []
  let nonDense = 0
  const report = (detail: string): void => {
    nonDense++
    violations.push(violation('non-dense', detail))
  }
  for (const rb of readBacks) {
    const key = partitionKey(rb.topic, rb.partition)
    if (rb.highWatermark < rb.logStartOffset) {
      report(`${key}: high watermark ${rb.highWatermark} below log start offset ${rb.logStartOffset}`)
      continue
    }
    let expected = rb.logStartOffset
    for (const r of rb.records) {
      if (r.offset < rb.logStartOffset) continue
      if (r.offset >= rb.highWatermark) {
        report(`${key}: offset ${r.offset} at or above the high watermark ${rb.highWatermark}`)
        continue
      }
      if (r.offset === expected) {
        expected++
      } else if (r.offset > expected) {
        report(`${key}: gap, offsets ${expected}..${r.offset - 1n} missing`)
        expected = r.offset + 1n
      } else {
        report(`${key}: offset ${r.offset} repeated or out of order (expected ${expected})`)
      }
    }
    if (expected < rb.highWatermark) report(`${key}: gap, offsets ${expected}..${rb.highWatermark - 1n} missing (high watermark ${rb.highWatermark})`)
  }
  return { counts: { nonDense }, violations }
}
