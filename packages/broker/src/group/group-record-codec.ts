/**
 * Bytes of a __consumer_offsets record: the key is the compaction key (recordKey, UTF-8 JSON,
 * versioned), the value the JSON of the record's value (null for a tombstone), with the
 * committed offset as a decimal string (a bigint). Decoding validates every field: bytes read
 * back from disk or a replica never crash the coordinator; a bad record is a value
 * (`{ kind: 'invalid' }`) the loader reports and skips.
 */
import type { TopicPartitionsValue } from './assignment.js'
import { recordKey, type GroupRecord, type MemberState } from './group-records.js'

/** The record format's version, first in every key. */
export const GROUP_RECORD_VERSION = 0

export interface EncodedGroupRecord {
  readonly key: Uint8Array
  readonly value: Uint8Array | null
}

export type DecodedGroupRecord = { readonly kind: 'ok'; readonly record: GroupRecord } | { readonly kind: 'invalid'; readonly reason: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeGroupRecord(record: GroupRecord): EncodedGroupRecord {
  const key = encoder.encode(JSON.stringify([GROUP_RECORD_VERSION, ...(JSON.parse(recordKey(record)) as unknown[])]))
  if (record.value === null) return { key, value: null }
  const value = record.type === 'offset-commit' ? { ...record.value, committedOffset: record.value.committedOffset.toString() } : record.value
  return { key, value: encoder.encode(JSON.stringify(value)) }
}

class Invalid extends Error {}

function fail(reason: string): never {
  throw new Invalid(reason)
}

export function decodeGroupRecord(keyBytes: Uint8Array, valueBytes: Uint8Array | null): DecodedGroupRecord {
  try {
    return { kind: 'ok', record: decode(keyBytes, valueBytes) }
  } catch (e) {
    if (e instanceof Invalid) return { kind: 'invalid', reason: e.message }
    if (e instanceof SyntaxError || e instanceof TypeError) return { kind: 'invalid', reason: `undecodable: ${e.message}` }
    throw e
  }
}

function decode(keyBytes: Uint8Array, valueBytes: Uint8Array | null): GroupRecord {
  const key: unknown = JSON.parse(decoder.decode(keyBytes))
  if (!Array.isArray(key) || key[0] !== GROUP_RECORD_VERSION) fail('unknown key version')
  const [, type, groupId] = key as unknown[]
  const gid = str(groupId, 'group id')
  const raw: unknown = valueBytes === null ? null : JSON.parse(decoder.decode(valueBytes))
  const v = raw === null ? null : obj(raw, 'value')
  switch (type) {
    case 'group-metadata':
      return { type, groupId: gid, value: v === null ? null : { groupEpoch: int(v.groupEpoch, 'group epoch') } }
    case 'subscription-metadata':
      return {
        type,
        groupId: gid,
        value: v === null ? null : {
          topics: arr(v.topics, 'topics').map((t) => {
            const o = obj(t, 'topic')
            return { topicName: str(o.topicName, 'topic name'), topicId: str(o.topicId, 'topic id'), numPartitions: int(o.numPartitions, 'partitions') }
          }),
        },
      }
    case 'target-assignment-metadata':
      return { type, groupId: gid, value: v === null ? null : { assignmentEpoch: int(v.assignmentEpoch, 'assignment epoch') } }
    case 'member-metadata':
      return {
        type,
        groupId: gid,
        memberId: str(key[3], 'member id'),
        value: v === null ? null : {
          instanceId: v.instanceId === null ? null : str(v.instanceId, 'instance id'),
          rackId: str(v.rackId, 'rack id'),
          rebalanceTimeoutMs: int(v.rebalanceTimeoutMs, 'rebalance timeout'),
          subscribedTopicNames: arr(v.subscribedTopicNames, 'subscription').map((n) => str(n, 'topic name')),
          serverAssignor: str(v.serverAssignor, 'assignor'),
        },
      }
    case 'target-assignment-member':
      return { type, groupId: gid, memberId: str(key[3], 'member id'), value: v === null ? null : { partitions: topicPartitions(v.partitions) } }
    case 'current-member-assignment':
      return {
        type,
        groupId: gid,
        memberId: str(key[3], 'member id'),
        value: v === null ? null : {
          memberEpoch: int(v.memberEpoch, 'member epoch'),
          previousMemberEpoch: int(v.previousMemberEpoch, 'previous member epoch'),
          state: memberState(v.state),
          assigned: topicPartitions(v.assigned),
          pendingRevocation: topicPartitions(v.pendingRevocation),
        },
      }
    case 'offset-commit': {
      const offset = str(v?.committedOffset ?? '0', 'offset')
      if (!/^-?\d+$/.test(offset)) fail('committed offset is not an integer')
      return {
        type,
        groupId: gid,
        topic: str(key[3], 'topic'),
        partition: int(key[4], 'partition'),
        value: v === null ? null : {
          committedOffset: BigInt(offset),
          leaderEpoch: int(v.leaderEpoch, 'leader epoch'),
          metadata: str(v.metadata, 'metadata'),
          commitTimestampMs: int(v.commitTimestampMs, 'commit timestamp'),
        },
      }
    }
    default:
      return fail(`unknown record type ${String(type)}`)
  }
}

function obj(x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(`${what} is not an object`)
  return x as Record<string, unknown>
}
function arr(x: unknown, what: string): unknown[] {
  if (!Array.isArray(x)) fail(`${what} is not an array`)
  return x
}
function str(x: unknown, what: string): string {
  if (typeof x !== 'string') fail(`${what} is not a string`)
  return x
}
function int(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x)) fail(`${what} is not an integer`)
  return x
}
function memberState(x: unknown): MemberState {
  if (x === 'stable' || x === 'unrevoked-partitions' || x === 'unreleased-partitions') return x
  return fail('unknown member state')
}
function topicPartitions(x: unknown): TopicPartitionsValue[] {
  return arr(x, 'partitions').map((t) => {
    const o = obj(t, 'topic partitions')
    return { topicId: str(o.topicId, 'topic id'), partitions: arr(o.partitions, 'partitions').map((p) => int(p, 'partition')) }
  })
}
