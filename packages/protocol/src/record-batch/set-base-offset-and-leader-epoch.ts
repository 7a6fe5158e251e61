/**
 * Stamps the broker's baseOffset and partitionLeaderEpoch into a batch in place. Both fields
 * precede the CRC'd region (which starts at attributes), so the batch stays valid without
 * re-encoding or re-checksumming: the broker stores the producer's bytes as received.
 * lastOffset follows, since it is baseOffset + lastOffsetDelta.
 *
 * Called on a batch the caller has validated; arguments out of range are a RangeError.
 */
import { RecordBatchLayout as L } from './layout.js'

const INT64_MAX = 2n ** 63n - 1n

export function setBaseOffsetAndLeaderEpoch(buf: Buffer, baseOffset: bigint, partitionLeaderEpoch: number, position = 0): void {
  if (baseOffset < 0n || baseOffset > INT64_MAX) throw new RangeError(`baseOffset must be a non-negative int64, got ${baseOffset}`)
  if (!Number.isInteger(partitionLeaderEpoch) || partitionLeaderEpoch < -1 || partitionLeaderEpoch > 0x7fffffff) {
    throw new RangeError(`partitionLeaderEpoch must be -1 or a non-negative int32, got ${partitionLeaderEpoch}`)
  }
  if (!Number.isInteger(position) || position < 0 || buf.length - position < L.headerBytes) {
    throw new RangeError(`no batch header at position ${position} of a ${buf.length}-byte buffer`)
  }
  const lastOffsetDelta = buf.readInt32BE(position + L.lastOffsetDeltaPos)
  if (baseOffset + BigInt(Math.max(0, lastOffsetDelta)) > INT64_MAX) {
    throw new RangeError(`baseOffset ${baseOffset} + lastOffsetDelta ${lastOffsetDelta} overflows int64`)
  }
  buf.writeBigInt64BE(baseOffset, position + L.baseOffsetPos)
  buf.writeInt32BE(partitionLeaderEpoch, position + L.partitionLeaderEpochPos)
}
