import { describe, expect, it } from 'vitest'
import { topicsAction } from './topics-command.js'
import { formatTopicDescription } from './topics-format.js'

describe('topicsAction', () => {
  it('reads the seed create command', () => {
    expect(topicsAction({ create: true, ifNotExists: true, topic: 'my-topic-name', partitions: '3', replicationFactor: '1', config: ['cleanup.policy=compact'] })).toEqual({
      kind: 'create', topic: 'my-topic-name', partitions: 3, replicationFactor: 1, configs: { 'cleanup.policy': 'compact' }, ifNotExists: true,
    })
    // Partitions and replication factor default to the broker's, as in Kafka.
    expect(topicsAction({ create: true, topic: 't' })).toEqual({ kind: 'create', topic: 't', configs: {}, ifNotExists: false })
  })

  it('needs exactly one action', () => {
    expect(() => topicsAction({ topic: 't' })).toThrow('Command must include exactly one action: --list, --describe, --create, --alter or --delete')
    expect(() => topicsAction({ list: true, delete: true })).toThrow('exactly one action')
  })

  it('refuses flags that do not go with the action, and bad numbers', () => {
    expect(() => topicsAction({ list: true, ifNotExists: true })).toThrow(`Option "[if-not-exists]" can't be used with option "[list]"`)
    expect(() => topicsAction({ alter: true, topic: 't', partitions: '4', replicationFactor: '2' })).toThrow('"[replication-factor]"')
    expect(() => topicsAction({ alter: true, topic: 't' })).toThrow('--alter needs --partitions')
    expect(() => topicsAction({ delete: true })).toThrow('--delete needs --topic')
    expect(() => topicsAction({ create: true, topic: 't', partitions: '0' })).toThrow("--partitions must be an integer >= 1, got '0'")
    expect(() => topicsAction({ create: true, topic: 't', config: ['novalue'] })).toThrow("--config 'novalue' is not key=value")
  })
})

describe('formatTopicDescription', () => {
  const topic = {
    name: 'orders',
    topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
    isInternal: false,
    partitions: [
      { partition: 1, leader: -1, leaderEpoch: 3, replicas: [2, 3, 1], isr: [], offlineReplicas: [2, 3, 1], errorCode: 5 },
      { partition: 0, leader: 1, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2], offlineReplicas: [], errorCode: 0 },
    ],
  }
  const configs = { topic: 'orders', entries: [{ name: 'retention.ms', value: '1000', isDefault: false }, { name: 'segment.bytes', value: '1073741824', isDefault: true }, { name: 'cleanup.policy', value: 'compact', isDefault: false }] }

  it("prints Kafka's header and partition lines, TAB separated, leaderless as none", () => {
    expect(formatTopicDescription(topic, configs)).toEqual([
      'Topic: orders\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: retention.ms=1000,cleanup.policy=compact',
      '\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2',
      '\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: ',
    ])
  })

  it('filters partitions without the header', () => {
    expect(formatTopicDescription(topic, undefined, { unavailable: true })).toEqual(['\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: '])
    expect(formatTopicDescription(topic, undefined, { underReplicated: true })).toHaveLength(2)
  })
})
