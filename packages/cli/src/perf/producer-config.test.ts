import { describe, expect, it } from 'vitest'
import { CliError } from '../cli-error.js'
import { parsePropItems, producerConfig } from './producer-config.js'

describe('producerConfig: Kafka producer properties to SDK options', () => {
  it('maps the Kafka names to Producer and Client options', () => {
    const c = producerConfig(null, [
      'acks=all', 'linger.ms=10', 'batch.size=262144', 'buffer.memory=67108864', 'compression.type=lz4',
      'max.in.flight.requests.per.connection=3', 'enable.idempotence=false', 'delivery.timeout.ms=60000',
      'request.timeout.ms=5000', 'max.block.ms=1000', 'bootstrap.servers=a:1, b:2', 'client.id=perf',
    ])
    expect(c.producer).toEqual({ acks: 'all', lingerMs: 10, batchBytes: 262144, bufferBytes: 67108864, compression: 'lz4', maxInFlight: 3, idempotent: false, deliveryTimeoutMs: 60000, requestTimeoutMs: 5000, maxBlockMs: 1000 })
    expect(c.client).toEqual({ bootstrap: ['a:1', 'b:2'], clientId: 'perf', requestTimeoutMs: 5000 })
  })

  it('reads acks -1, 0 and 1 as Kafka does', () => {
    expect(producerConfig(null, ['acks=-1']).producer.acks).toBe('all')
    expect(producerConfig(null, ['acks=0']).producer.acks).toBe(0)
    expect(producerConfig(null, ['acks=1']).producer.acks).toBe(1)
  })

  it('lets the command line win over the config file, and ignores the serializer classes', () => {
    const file = '# perf\nlinger.ms=50\nbatch.size=1000\nkey.serializer=org.apache.kafka.common.serialization.ByteArraySerializer\n'
    const c = producerConfig(file, ['linger.ms=1'])
    expect(c.producer).toEqual({ lingerMs: 1, batchBytes: 1000 })
  })

  it('refuses an unknown key, naming it and where it came from', () => {
    expect(() => producerConfig(null, ['linger.ms=1', 'lingr.ms=2'])).toThrow(/--producer-props: unknown producer property 'lingr.ms'/)
    expect(() => producerConfig('a=1\nfoo.bar=2\n', [])).toThrow(/--producer.config line 1: unknown producer property 'a'/)
  })

  it('refuses bad values with the key in the message', () => {
    expect(() => producerConfig(null, ['acks=2'])).toThrow(CliError)
    expect(() => producerConfig(null, ['linger.ms=-1'])).toThrow('Invalid value -1 for configuration linger.ms: not an integer >= 0')
    expect(() => producerConfig(null, ['batch.size=1k'])).toThrow(/batch.size/)
    expect(() => producerConfig(null, ['compression.type=brotli'])).toThrow(/Invalid value brotli for configuration compression.type/)
    expect(() => producerConfig(null, ['enable.idempotence=yes'])).toThrow(/enable.idempotence/)
    expect(() => producerConfig(null, ['bootstrap.servers=,'])).toThrow(/configuration bootstrap.servers: needs host:port/)
  })

  it('batch.size=0 (Kafka: no batching) becomes the smallest batch', () => {
    expect(producerConfig(null, ['batch.size=0']).producer.batchBytes).toBe(1)
  })

  it('parsePropItems splits at the first = only', () => {
    expect(parsePropItems(['a=b=c'], '--x')).toEqual([{ key: 'a', value: 'b=c' }])
    expect(() => parsePropItems(['novalue'], '--x')).toThrow("--x 'novalue' is not key=value")
    expect(() => parsePropItems(['=v'], '--x')).toThrow(/is not key=value/)
  })
})
