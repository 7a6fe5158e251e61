/**
 * The error thrown by the decode functions when bytes break the RecordBatch v2 format. It is
 * a TributaryError with Kafka's CORRUPT_MESSAGE code, so a boundary can answer with it
 * directly; `reason` is the bare explanation that validateBatch returns as a value.
 */
import { ErrorCode, TributaryError } from '../errors.js'

export class CorruptBatchError extends TributaryError {
  readonly reason: string

  constructor(reason: string, options?: { cause?: unknown }) {
    super(ErrorCode.CORRUPT_MESSAGE, `corrupt record batch: ${reason}`, options)
    this.reason = reason
  }
}
