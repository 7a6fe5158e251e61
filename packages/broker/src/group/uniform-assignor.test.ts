import { describe, expect, it } from 'vitest'
import { assignmentFrom, assignmentSize, toTopicPartitions, type Assignment } from './assignment.js'
import { uniformAssign, type AssignorMember } from './uniform-assignor.js'

const T = 'topic-a'
const U = 'topic-b'

function members(ids: string[], topics: string[] = [T]): AssignorMember[] {
  return ids.map((memberId) => ({ memberId, subscribedTopicIds: new Set(topics) }))
}

function sizes(result: Map<string, Assignment>): Record<string, number> {
  return Object.fromEntries([...result].map(([id, a]) => [id, assignmentSize(a)]))
}

describe('uniformAssign', () => {
  it('spreads 12 partitions over 3 members, 4 each, deterministically', () => {
    const input = { members: members(['c', 'a', 'b']), partitionCounts: new Map([[T, 12]]), previous: new Map() }
    const r = uniformAssign(input)
    expect(sizes(r)).toEqual({ a: 4, b: 4, c: 4 })
    expect(uniformAssign(input)).toEqual(r)
  })

  it('is sticky: a new member takes only what balance needs, from the heaviest', () => {
    const previous = new Map<string, Assignment>([
      ['a', assignmentFrom([[T, [0, 1, 2, 3]]])],
      ['b', assignmentFrom([[T, [4, 5, 6, 7]]])],
      ['c', assignmentFrom([[T, [8, 9, 10, 11]]])],
    ])
    const r = uniformAssign({ members: members(['a', 'b', 'c', 'd']), partitionCounts: new Map([[T, 12]]), previous })
    expect(sizes(r)).toEqual({ a: 3, b: 3, c: 3, d: 3 })
    for (const id of ['a', 'b', 'c']) {
      const kept = toTopicPartitions(r.get(id) ?? new Map())[0]?.partitions ?? []
      const before = toTopicPartitions(previous.get(id) ?? new Map())[0]?.partitions ?? []
      expect(kept.every((p) => before.includes(p))).toBe(true)
    }
  })

  it('gives a member beyond the partition count nothing', () => {
    const r = uniformAssign({ members: members(['a', 'b', 'c']), partitionCounts: new Map([[T, 2]]), previous: new Map() })
    expect(Object.values(sizes(r)).sort()).toEqual([0, 1, 1])
  })

  it('drops partitions that no longer exist or are no longer subscribed', () => {
    const previous = new Map<string, Assignment>([['a', assignmentFrom([[T, [0, 1, 2, 3]], [U, [0]]])]])
    const r = uniformAssign({ members: members(['a']), partitionCounts: new Map([[T, 2]]), previous })
    expect(toTopicPartitions(r.get('a') ?? new Map())).toEqual([{ topicId: T, partitions: [0, 1] }])
  })

  it('respects subscriptions: a topic goes only to its subscribers', () => {
    const r = uniformAssign({
      members: [{ memberId: 'a', subscribedTopicIds: new Set([T]) }, { memberId: 'b', subscribedTopicIds: new Set([T, U]) }],
      partitionCounts: new Map([[T, 4], [U, 4]]),
      previous: new Map(),
    })
    expect(toTopicPartitions(r.get('a') ?? new Map()).map((t) => t.topicId)).toEqual([T])
    expect(assignmentSize(r.get('a') ?? new Map()) + assignmentSize(r.get('b') ?? new Map())).toBe(8)
    expect(sizes(r)).toEqual({ a: 4, b: 4 })
  })
})
