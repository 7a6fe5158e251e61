import { describe, expect, it } from 'vitest'
import { ErrorCode, metadata } from '@tributary/protocol'
import { threeBrokers } from '../node/test-images.js'
import { REPLICA_MANAGER_DEFAULTS } from '../replica-manager/replica-manager.js'
import { describeConfigsResponse } from './describe-configs.js'

function config(name: string, value?: string): metadata.MetadataRecord {
  return { record: { $case: 'config', value: { resourceType: metadata.ConfigRecord_ResourceType.TOPIC, resourceName: 'orders', name, ...(value === undefined ? {} : { value }) } } }
}

describe('describeConfigsResponse', () => {
  it('reports every honoured key, compaction keys included: the topic value, else the broker default marked is_default; unhonoured keys are left out', () => {
    const image = threeBrokers().replay([config('retention.ms', '5000'), config('min.insync.replicas', '2'), config('cleanup.policy', 'compact'), config('compression.type', 'zstd')], 6)
    const defaults = { ...REPLICA_MANAGER_DEFAULTS, segmentBytes: 1024, rollMs: 77 }
    const r = describeConfigsResponse(image, { topics: ['orders'] }, defaults)
    expect(r.results).toEqual([{
      topic: 'orders', errorCode: 0, errorMessage: '', entries: [
        { name: 'cleanup.policy', value: 'compact', isDefault: false },
        { name: 'delete.retention.ms', value: '86400000', isDefault: true },
        { name: 'max.message.bytes', value: String(defaults.maxMessageBytes), isDefault: true },
        { name: 'min.cleanable.dirty.ratio', value: '0.5', isDefault: true },
        { name: 'min.compaction.lag.ms', value: '0', isDefault: true },
        { name: 'min.insync.replicas', value: '2', isDefault: false },
        { name: 'retention.bytes', value: String(defaults.retentionBytes), isDefault: true },
        { name: 'retention.ms', value: '5000', isDefault: false },
        { name: 'segment.bytes', value: '1024', isDefault: true },
        { name: 'segment.ms', value: '77', isDefault: true },
      ],
    }])
  })

  it('a deleted key is the default again; unknown topics are UNKNOWN_TOPIC_OR_PARTITION, once per name', () => {
    const image = threeBrokers().replay([config('retention.ms', '5000')], 6).replay([config('retention.ms')], 7)
    const r = describeConfigsResponse(image, { topics: ['orders', 'nope', 'nope'] }, REPLICA_MANAGER_DEFAULTS)
    expect(r.results.map((t) => [t.topic, t.errorCode])).toEqual([['orders', 0], ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION.code]])
    expect(r.results[0]!.entries.find((e) => e.name === 'retention.ms')).toEqual({ name: 'retention.ms', value: String(REPLICA_MANAGER_DEFAULTS.retentionMs), isDefault: true })
  })
})
