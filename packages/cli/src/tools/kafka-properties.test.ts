import { describe, expect, it } from 'vitest'
import { consumerConfig } from '../perf/consumer-config.js'
import { producerConfig } from '../perf/producer-config.js'
import { consumerOptionsFrom } from './consumer-properties.js'
import { applyProperty, emptyOptions, propertyKeys } from './kafka-properties.js'
import { producerOptionsFrom } from './producer-properties.js'

describe('kafka-properties: one table for the console and perf tools', () => {
  it('a key belongs to the client scope or to one tool', () => {
    const o = emptyOptions()
    expect(applyProperty(o, 'producer', 'group.id', 'g')).toBe(false)
    expect(applyProperty(o, 'consumer', 'linger.ms', '5')).toBe(false)
    expect(applyProperty(o, 'consumer', 'client.id', 'c')).toBe(true)
    expect(o).toEqual({ client: { clientId: 'c' }, producer: {}, consumer: {} })
    expect(propertyKeys('producer')).toContain('bootstrap.servers')
    expect(propertyKeys('producer')).not.toContain('session.timeout.ms')
  })

  it('console and perf tools read a value alike and refuse it with the same text', () => {
    expect(consumerOptionsFrom(new Map([['session.timeout.ms', '6000'], ['auto.offset.reset', 'EARLIEST']]))).toEqual(consumerConfig('session.timeout.ms=6000\nauto.offset.reset=EARLIEST').consumer)
    expect(producerOptionsFrom(new Map([['batch.size', '0']]), {})).toEqual(producerConfig(null, ['batch.size=0']).producer)
    const text = 'Invalid value 0 for configuration session.timeout.ms: not an integer >= 1'
    expect(() => consumerOptionsFrom(new Map([['session.timeout.ms', '0']]))).toThrow(text)
    expect(() => consumerConfig('session.timeout.ms=0')).toThrow(text)
    expect(() => producerOptionsFrom(new Map([['linger.ms', '1e3']]), {})).toThrow('Invalid value 1e3 for configuration linger.ms')
  })
})
