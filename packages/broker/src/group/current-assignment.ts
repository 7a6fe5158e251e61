/**
 * One member's reconciliation step (KIP-848; Kafka's CurrentAssignmentBuilder): from the
 * member's current assignment, its target, and the partitions it reports owning, the next
 * current assignment.
 *
 * Revoke-then-assign: a partition in the target that another member still holds (assigned or
 * pending revocation) is not given; the member waits for it in `unreleased-partitions`. A
 * partition the member must give up is moved to `pendingRevocation` and the member stays at
 * its epoch in `unrevoked-partitions` until a heartbeat no longer lists it as owned. Only then
 * does the member's epoch advance to the target assignment epoch. So no partition is ever
 * held by two members in the coordinator's view, and a member only learns of a partition
 * after its previous holder acknowledged giving it up.
 */
import {
  EMPTY_ASSIGNMENT,
  assignmentsEqual,
  intersect,
  isEmptyAssignment,
  minus,
  overlaps,
  assignmentFrom,
  type Assignment,
} from './assignment.js'
import type { MemberState } from './group-records.js'

export interface MemberAssignmentState {
  readonly memberEpoch: number
  readonly previousMemberEpoch: number
  readonly state: MemberState
  readonly assigned: Assignment
  readonly pendingRevocation: Assignment
}

export interface ReconcileInput {
  readonly current: MemberAssignmentState
  readonly targetEpoch: number
  readonly target: Assignment
  /** The partitions the member says it owns (from its heartbeat). */
  readonly owned: Assignment
  /** True when the partition is held by a member other than this one. */
  readonly heldByOther: (topicId: string, partition: number) => boolean
}

export function initialMemberAssignment(): MemberAssignmentState {
  return { memberEpoch: 0, previousMemberEpoch: -1, state: 'stable', assigned: EMPTY_ASSIGNMENT, pendingRevocation: EMPTY_ASSIGNMENT }
}

export function reconcile(input: ReconcileInput): MemberAssignmentState {
  const { current } = input
  switch (current.state) {
    case 'stable':
      if (current.memberEpoch !== input.targetEpoch) return computeNext(input)
      return current
    case 'unrevoked-partitions':
      // Still waiting until the member no longer owns what it must revoke.
      if (overlaps(input.owned, current.pendingRevocation)) return current
      return computeNext({ ...input, current: { ...current, pendingRevocation: EMPTY_ASSIGNMENT } })
    case 'unreleased-partitions':
      return computeNext(input)
  }
}

function computeNext(input: ReconcileInput): MemberAssignmentState {
  const { current, target } = input
  const kept = intersect(current.assigned, target)
  const revoking = minus(current.assigned, target)
  const wanted = minus(target, current.assigned)
  const free: Array<readonly [string, number[]]> = []
  let unreleased = false
  for (const [topicId, partitions] of wanted) {
    const got: number[] = []
    for (const p of partitions) {
      if (input.heldByOther(topicId, p) || (current.pendingRevocation.get(topicId)?.has(p) ?? false)) unreleased = true
      else got.push(p)
    }
    free.push([topicId, got])
  }
  const assigned = assignmentFrom([...kept.entries(), ...free])
  const pendingRevocation = union2(current.pendingRevocation, revoking)

  if (!isEmptyAssignment(pendingRevocation) && overlaps(input.owned, pendingRevocation)) {
    // The member keeps its epoch until it acknowledges the revocation.
    return settle(current, { memberEpoch: current.memberEpoch, previousMemberEpoch: current.previousMemberEpoch, state: 'unrevoked-partitions', assigned, pendingRevocation })
  }
  const state: MemberState = unreleased ? 'unreleased-partitions' : 'stable'
  const advanced = current.memberEpoch !== input.targetEpoch
  return settle(current, {
    memberEpoch: input.targetEpoch,
    previousMemberEpoch: advanced ? current.memberEpoch : current.previousMemberEpoch,
    state,
    assigned,
    pendingRevocation: EMPTY_ASSIGNMENT,
  })
}

/** Returns `current` itself when nothing changed, so callers can skip writing a record. */
function settle(current: MemberAssignmentState, next: MemberAssignmentState): MemberAssignmentState {
  const same =
    current.memberEpoch === next.memberEpoch &&
    current.previousMemberEpoch === next.previousMemberEpoch &&
    current.state === next.state &&
    assignmentsEqual(current.assigned, next.assigned) &&
    assignmentsEqual(current.pendingRevocation, next.pendingRevocation)
  return same ? current : next
}

function union2(a: Assignment, b: Assignment): Assignment {
  return assignmentFrom([...a.entries(), ...b.entries()])
}
