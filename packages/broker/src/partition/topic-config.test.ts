import { describe, expect, it } from 'vitest'
import { silentLogger } from '@tributary/metadata-quorum'
import { REPLICA_MANAGER_DEFAULTS } from '../replica-manager/replica-manager.js'
import { topicSettings } from './topic-config.js'

const logger = silentLogger
const defaults = { ...REPLICA_MANAGER_DEFAULTS, minInsyncReplicas: 2 }

describe('topicSettings', () => {
  it('caps the broker min.insync.replicas at the topic replication factor, so an RF 1 topic takes acks=all writes', () => {
    expect(topicSettings(undefined, defaults, 't', logger, 1).minInsyncReplicas).toBe(1)
    expect(topicSettings(undefined, defaults, 't', logger, 2).minInsyncReplicas).toBe(2)
    expect(topicSettings(undefined, defaults, 't', logger, 3).minInsyncReplicas).toBe(2)
    expect(topicSettings(undefined, defaults, 't', logger).minInsyncReplicas).toBe(2)
  })

  it('keeps a topic-level min.insync.replicas as set, even above the replication factor', () => {
    expect(topicSettings(new Map([['min.insync.replicas', '3']]), defaults, 't', logger, 1).minInsyncReplicas).toBe(3)
  })
})
