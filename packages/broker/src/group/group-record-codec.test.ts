import { describe, expect, it } from 'vitest'
import { decodeGroupRecord, encodeGroupRecord } from './group-record-codec.js'
import { recordKey } from './group-records.js'
import { GroupHarness } from './test-group-harness.js'

describe('group record codec', () => {
  it('round-trips every record a rebalance and a commit write, tombstones included', () => {
    const h = new GroupHarness({ orders: 6 })
    h.join('a')
    h.join('b')
    h.heartbeat('a', false)
    h.settle()
    h.leave('b')
    const commit = h.shard.commitOffsets({
      groupId: 'g1', memberId: 'a', generationIdOrMemberEpoch: h.consumer('a').epoch,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 2, committedOffset: 12345678901234n, committedLeaderEpoch: 4, committedMetadata: 'x' }] }],
    }, h.nowMs)
    const records = [...h.log, ...commit.records]
    expect(new Set(records.map((r) => r.type)).size).toBe(7)
    expect(records.some((r) => r.value === null)).toBe(true)
    for (const r of records) {
      const { key, value } = encodeGroupRecord(r)
      const decoded = decodeGroupRecord(key, value)
      expect(decoded).toEqual({ kind: 'ok', record: r })
      if (decoded.kind === 'ok') expect(recordKey(decoded.record)).toBe(recordKey(r))
    }
  })

  it('answers garbage with invalid, never a throw', () => {
    const e = new TextEncoder()
    const cases: Array<[Uint8Array, Uint8Array | null]> = [
      [new Uint8Array([0xff, 0xfe]), null],
      [e.encode('not json'), null],
      [e.encode('[9,"group-metadata","g"]'), null],
      [e.encode('[0,"nope","g"]'), null],
      [e.encode('[0,"group-metadata","g"]'), e.encode('{"groupEpoch":"x"}')],
      [e.encode('[0,"group-metadata","g"]'), e.encode('[1]')],
      [e.encode('[0,"offset-commit","g","t",1]'), e.encode('{"committedOffset":"1e3","leaderEpoch":0,"metadata":"","commitTimestampMs":0}')],
      [e.encode('[0,"current-member-assignment","g","m"]'), e.encode('{"memberEpoch":1,"previousMemberEpoch":0,"state":"odd","assigned":[],"pendingRevocation":[]}')],
      [e.encode('[0,"target-assignment-member","g","m"]'), e.encode('{"partitions":[{"topicId":"t","partitions":[1.5]}]}')],
    ]
    for (const [k, v] of cases) expect(decodeGroupRecord(k, v).kind).toBe('invalid')
  })
})
