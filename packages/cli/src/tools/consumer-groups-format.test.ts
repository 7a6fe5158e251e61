import { describe, expect, it } from 'vitest'
import type { GroupDescription } from '@tributary/client'
import { consumerGroupsAction } from './consumer-groups-command.js'
import { formatGroupMembers, formatGroupOffsets, formatGroupState } from './consumer-groups-format.js'

describe('formatGroupOffsets', () => {
  const group: GroupDescription = {
    groupId: 'billing',
    state: 'Stable',
    groupEpoch: 2,
    assignmentEpoch: 2,
    members: [{ memberId: 'm-1', memberEpoch: 2, subscribedTopics: ['orders'], assignment: [{ topic: 'orders', partition: 0 }], targetAssignment: [{ topic: 'orders', partition: 0 }], state: 'stable' }],
    partitions: [
      { topic: 'orders', partition: 0, committedOffset: 5n, latestOffset: 9n, lag: 4n },
      { topic: 'orders', partition: 1, committedOffset: -1n, latestOffset: 3n, lag: 3n },
    ],
  }

  it("prints Kafka's columns, padded, with - where nothing is committed or owned", () => {
    expect(formatGroupOffsets(group)).toEqual([
      '',
      'GROUP   TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID HOST CLIENT-ID',
      'billing orders 0          5               9               4               m-1         -    -',
      'billing orders 1          -               3               -               -           -    -',
    ])
  })

  it('prints the members and the state views', () => {
    expect(formatGroupMembers(group)).toEqual(['', 'GROUP   CONSUMER-ID HOST CLIENT-ID #PARTITIONS', 'billing m-1         -    -         1'])
    expect(formatGroupState(group)).toEqual([
      '',
      'GROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS',
      'billing                   -                         uniform              Stable          1',
    ])
  })
})

describe('consumerGroupsAction', () => {
  it('needs one action and a group where Kafka does', () => {
    expect(consumerGroupsAction({ list: true })).toEqual({ kind: 'list' })
    expect(consumerGroupsAction({ describe: true, group: ['g'] })).toEqual({ kind: 'describe', groups: ['g'], view: 'offsets' })
    expect(consumerGroupsAction({ describe: true, allGroups: true, members: true })).toEqual({ kind: 'describe', groups: 'all', view: 'members' })
    expect(() => consumerGroupsAction({ describe: true, group: ['g'], members: true, state: true })).toThrow('at most one')
    expect(() => consumerGroupsAction({ list: true, state: true })).toThrow('Option [state] is only used with [describe]')
    expect(() => consumerGroupsAction({ describe: true })).toThrow('Option [describe] takes one of these options: [all-groups], [group]')
    expect(() => consumerGroupsAction({ delete: true })).toThrow('Option [delete] takes the option: [group]')
    expect(() => consumerGroupsAction({})).toThrow('exactly one action')
  })
})
