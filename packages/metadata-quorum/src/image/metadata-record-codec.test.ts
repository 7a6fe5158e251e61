import { describe, expect, it } from 'vitest'
import { ErrorCode, TributaryError } from '@tributary/protocol'
import { AssertionError } from '../util/assert.js'
import { decodeMetadataRecordBatch, encodeMetadataRecordBatch } from './metadata-record-codec.js'
import { partition, partitionChange, registerBroker, tid, topic, topicConfig } from './test-records.js'

function expectCorrupt(bytes: Uint8Array): void {
  let caught: unknown
  try {
    decodeMetadataRecordBatch(bytes)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(TributaryError)
  expect((caught as TributaryError).code).toBe(ErrorCode.CORRUPT_MESSAGE.code)
}

describe('record codec', () => {
  it('round-trips a batch, including sparse and optional fields', () => {
    const records = [
      registerBroker(1, 7n, { fenced: true, rack: 'r1' }),
      topic('orders', tid(1)),
      partition(tid(1), 0, [1, 2], { leader: 2, leaderEpoch: 3, partitionEpoch: 4 }),
      partitionChange(tid(1), 0, { isr: [2] }),
      partitionChange(tid(1), 0, { leader: -1 }),
      topicConfig('orders', 'retention.ms', undefined),
      topicConfig('orders', 'cleanup.policy', ''),
    ]
    expect(decodeMetadataRecordBatch(encodeMetadataRecordBatch(records))).toEqual(records)
  })

  it('round-trips an empty batch', () => {
    expect(decodeMetadataRecordBatch(encodeMetadataRecordBatch([]))).toEqual([])
  })

  it('refuses truncated bytes with CORRUPT_MESSAGE', () => {
    const bytes = encodeMetadataRecordBatch([topic('orders', tid(1))])
    expectCorrupt(bytes.subarray(0, bytes.length - 3))
  })

  it('refuses garbage with CORRUPT_MESSAGE', () => {
    expectCorrupt(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    expectCorrupt(new Uint8Array([0x0f]))
  })

  it('refuses a record with no known record type with CORRUPT_MESSAGE', () => {
    // Field 1 (records), length 0: a MetadataRecord whose oneof is unset.
    expectCorrupt(new Uint8Array([0x0a, 0x00]))
    // A MetadataRecord holding only unknown field 99 (varint).
    expectCorrupt(new Uint8Array([0x0a, 0x03, 0x98, 0x06, 0x01]))
  })

  it('asserts rather than encode a record without a type', () => {
    expect(() => encodeMetadataRecordBatch([{ record: undefined }])).toThrow(AssertionError)
  })
})
