/**
 * The server-side "uniform" assignor (KIP-848's default): a deterministic, sticky, balanced
 * target assignment.
 *
 * 1. Stickiness: each member keeps the partitions of its previous target that still exist and
 *    that it still subscribes to (a partition kept by one member only, first member id wins).
 * 2. Unassigned partitions go, one by one in (topic id, partition) order, to the eligible
 *    member with the fewest partitions (ties: the smaller member id).
 * 3. Balance: while some partition's owner has at least two more partitions than another
 *    member subscribed to that partition's topic, the partition moves to the less loaded
 *    member. Each move lowers the sum of squared loads by at least 2, so the loop ends; it is
 *    also bounded by a named assertion.
 *
 * With identical subscriptions the result has loads differing by at most one, and a member
 * beyond the partition count gets nothing. Moves are minimal for the common cases (a member
 * joins or leaves): only the partitions needed to restore balance change owner.
 */
import { assert } from '@tributary/metadata-quorum'
import { assignmentFrom, type Assignment } from './assignment.js'

export interface AssignorMember {
  readonly memberId: string
  /** Topic ids the member subscribes to that exist (resolved from names by the caller). */
  readonly subscribedTopicIds: ReadonlySet<string>
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[]
  /** Partition count per topic id, for every topic some member subscribes to. */
  readonly partitionCounts: ReadonlyMap<string, number>
  /** The previous target assignment, per member id (missing: none). */
  readonly previous: ReadonlyMap<string, Assignment>
}

export function uniformAssign(input: AssignorInput): Map<string, Assignment> {
  const memberIds = input.members.map((m) => m.memberId).sort(compareStrings)
  const subscriptions = new Map(input.members.map((m) => [m.memberId, m.subscribedTopicIds]))
  const ownerOf = new Map<string, string>() // partition key -> member id
  const owned = new Map<string, Array<readonly [string, number]>>(memberIds.map((id) => [id, []]))
  const exists = (topicId: string, p: number): boolean => p >= 0 && p < (input.partitionCounts.get(topicId) ?? 0)
  const key = (topicId: string, p: number): string => `${topicId}\u0000${p}`
  const give = (memberId: string, topicId: string, p: number): void => {
    ownerOf.set(key(topicId, p), memberId)
    owned.get(memberId)?.push([topicId, p])
  }

  // 1. Sticky: keep what is still valid.
  for (const memberId of memberIds) {
    const subscribed = subscriptions.get(memberId) ?? new Set<string>()
    const previous = input.previous.get(memberId)
    if (previous === undefined) continue
    for (const topicId of [...previous.keys()].sort(compareStrings)) {
      if (!subscribed.has(topicId)) continue
      for (const p of [...(previous.get(topicId) ?? [])].sort((a, b) => a - b)) {
        if (exists(topicId, p) && !ownerOf.has(key(topicId, p))) give(memberId, topicId, p)
      }
    }
  }

  const load = (memberId: string): number => owned.get(memberId)?.length ?? 0
  const eligible = (topicId: string): string[] => memberIds.filter((id) => subscriptions.get(id)?.has(topicId) === true)
  const lightest = (candidates: readonly string[]): string | undefined => {
    let best: string | undefined
    for (const id of candidates) if (best === undefined || load(id) < load(best)) best = id
    return best
  }

  // 2. Unassigned partitions to the least loaded eligible member.
  const topicIds = [...input.partitionCounts.keys()].sort(compareStrings)
  for (const topicId of topicIds) {
    const candidates = eligible(topicId)
    if (candidates.length === 0) continue
    const count = input.partitionCounts.get(topicId) ?? 0
    for (let p = 0; p < count; p++) {
      if (ownerOf.has(key(topicId, p))) continue
      const target = lightest(candidates)
      assert(target !== undefined, 'a topic with subscribers has a lightest subscriber')
      give(target, topicId, p)
    }
  }

  // 3. Balance: move from the heaviest owner to the lightest eligible member while they differ by 2+.
  let totalPartitions = 0
  for (const c of input.partitionCounts.values()) totalPartitions += c
  const maxMoves = totalPartitions * Math.max(1, memberIds.length) + 1
  for (let moves = 0; ; moves++) {
    assert(moves <= maxMoves, 'uniform assignor balance loop is bounded')
    const move = findMove()
    if (move === null) break
    const [from, to, topicId, p] = move
    const list = owned.get(from)
    assert(list !== undefined, 'the source of a move owns partitions')
    const index = list.findIndex(([t, q]) => t === topicId && q === p)
    assert(index >= 0, 'the moved partition belongs to its source')
    list.splice(index, 1)
    give(to, topicId, p)
  }

  function findMove(): readonly [string, string, string, number] | null {
    // Heaviest members first; from each, the last partition (highest topic/partition) some
    // much lighter eligible member can take.
    const byLoad = [...memberIds].sort((a, b) => load(b) - load(a) || compareStrings(a, b))
    for (const from of byLoad) {
      const list = [...(owned.get(from) ?? [])].sort(([t1, p1], [t2, p2]) => compareStrings(t2, t1) || p2 - p1)
      for (const [topicId, p] of list) {
        const to = lightest(eligible(topicId))
        if (to !== undefined && load(from) - load(to) >= 2) return [from, to, topicId, p]
      }
    }
    return null
  }

  const result = new Map<string, Assignment>()
  for (const memberId of memberIds) result.set(memberId, assignmentFrom((owned.get(memberId) ?? []).map(([t, p]) => [t, [p]] as const)))
  return result
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
