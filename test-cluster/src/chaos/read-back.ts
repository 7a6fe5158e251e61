/**
 * The read-back after healing: every record of every workload partition, from offset 0 up to
 * the high watermark, fetched from the partition leader with the raw test client (not the
 * SDK consumer: the read-back must not share code with the consumer whose deliveries it is
 * compared with). The high watermark is the leader's answer to the first fetch; the
 * producers have stopped by then, so it no longer moves (a second look checks that).
 */
import { ErrorCode, errorInfo } from '@tributary/protocol'
import type { BrokerClient } from '../broker-client.ts'
import type { ReadBack, ReadRecord } from './history.ts'
import { sleep } from './chaos-clock.ts'

/** How long one fetch keeps retrying leader errors. */
const READ_RETRY_MS = 20_000
/** Fetches of one partition that returned nothing new, in a row, before the read gives up. */
const EMPTY_FETCHES_MAX = 200

export async function readBackPartition(client: BrokerClient, topic: string, partition: number): Promise<ReadBack> {
  const first = await client.fetch(topic, partition, 0n, { retryForMs: READ_RETRY_MS })
  if (first.errorCode !== ErrorCode.NONE.code) throw new Error(`read-back of ${topic}-${partition}: ${errorInfo(first.errorCode).name}`)
  const highWatermark = first.highWatermark
  const records: ReadRecord[] = []
  let offset = 0n
  let result = first
  let empty = 0
  for (;;) {
    const fresh = result.records.filter((r) => r.offset >= offset && r.offset < highWatermark)
    for (const r of fresh) records.push({ offset: r.offset, value: r.value?.toString('utf8') ?? '' })
    if (fresh.length > 0) {
      offset = fresh[fresh.length - 1]!.offset + 1n
      empty = 0
    } else if (++empty > EMPTY_FETCHES_MAX) {
      throw new Error(`read-back of ${topic}-${partition}: stuck at offset ${offset} below the high watermark ${highWatermark}`)
    } else {
      await sleep(50)
    }
    if (offset >= highWatermark) break
    result = await client.fetch(topic, partition, offset, { retryForMs: READ_RETRY_MS })
    if (result.errorCode !== ErrorCode.NONE.code) throw new Error(`read-back of ${topic}-${partition} at ${offset}: ${errorInfo(result.errorCode).name}`)
  }
  const last = await client.fetch(topic, partition, highWatermark, { retryForMs: READ_RETRY_MS })
  if (last.errorCode === ErrorCode.NONE.code && last.highWatermark !== highWatermark) {
    throw new Error(`read-back of ${topic}-${partition}: the high watermark moved from ${highWatermark} to ${last.highWatermark} after the producers stopped`)
  }
  return { topic, partition, records, highWatermark, logStartOffset: first.logStartOffset }
}
