import { describe, expect, it } from 'vitest'
import { consumerConfig } from './consumer-config.js'

describe('consumerConfig: a Kafka consumer config file to SDK options', () => {
  it('maps the Kafka names and ignores the deserializer classes', () => {
    const c = consumerConfig([
      'bootstrap.servers=a:1,b:2', 'client.id=perf', 'group.id=g1', 'auto.offset.reset=latest', 'fetch.max.wait.ms=100',
      'fetch.min.bytes=1024', 'fetch.max.bytes=1048576', 'max.partition.fetch.bytes=65536', 'enable.auto.commit=false',
      'session.timeout.ms=10000', 'heartbeat.interval.ms=1000', 'auto.commit.interval.ms=2000', 'request.timeout.ms=5000',
      'value.deserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer',
    ].join('\n'))
    expect(c.client).toEqual({ bootstrap: ['a:1', 'b:2'], clientId: 'perf', requestTimeoutMs: 5000 })
    expect(c.consumer).toEqual({
      groupId: 'g1', fromBeginning: false, maxWaitMs: 100, minBytes: 1024, maxBytes: 1048576, partitionMaxBytes: 65536,
      autoCommit: false, sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000, autoCommitIntervalMs: 2000,
    })
  })

  it('no file: nothing set', () => {
    expect(consumerConfig(null)).toEqual({ client: {}, consumer: {} })
  })

  it('refuses unknown keys and bad values, naming the key', () => {
    expect(() => consumerConfig('\nfetch.wait=1')).toThrow("--consumer.config line 2: unknown consumer property 'fetch.wait'")
    expect(() => consumerConfig('auto.offset.reset=none')).toThrow('Invalid value none for configuration auto.offset.reset: must be earliest or latest')
    expect(() => consumerConfig('fetch.min.bytes=-1')).toThrow(/fetch.min.bytes/)
    expect(() => consumerConfig('group.id=')).toThrow(/configuration group.id: must not be empty/)
  })
})
