import { describe, expect, it } from 'vitest'
import { clientOptionsFrom, propertiesFromText, unknownKeys } from './client-properties.js'
import { bootstrapFrom } from './connection.js'
import { consumerPlan } from './console-consumer-command.js'
import { consumerOptionsFrom } from './consumer-properties.js'
import { producerOptionsFrom } from './producer-properties.js'

describe('bootstrapFrom', () => {
  const none = new Map<string, string>()
  it('takes --bootstrap-server, else --broker-list, else bootstrap.servers, else the local cluster (localhost:9092 first)', () => {
    expect(bootstrapFrom({ bootstrapServer: 'a:1,b:2', brokerList: 'c:3' }, none)).toEqual(['a:1', 'b:2'])
    expect(bootstrapFrom({ brokerList: 'c:3' }, none)).toEqual(['c:3'])
    expect(bootstrapFrom({}, new Map([['bootstrap.servers', 'd:4']]))).toEqual(['d:4'])
    expect(bootstrapFrom({}, none)).toEqual(['localhost:9092', 'localhost:9093', 'localhost:9094'])
  })

  it('refuses --zookeeper with a pointer to --bootstrap-server, and bad addresses', () => {
    expect(() => bootstrapFrom({ zookeeper: 'zookeeper:2181' }, none)).toThrow(/--zookeeper is not supported .*use --bootstrap-server localhost:9092$/)
    expect(() => bootstrapFrom({ brokerList: 'localhost' }, none)).toThrow("--broker-list: 'localhost' is not host:port")
  })
})

describe('client, producer and consumer properties', () => {
  it('maps Kafka keys to SDK options', () => {
    const props = propertiesFromText('client.id=cli\nrequest.timeout.ms=2000\ndefault.api.timeout.ms=9000\nsasl.mechanism=PLAIN\n')
    expect(clientOptionsFrom(props)).toEqual({ clientId: 'cli', requestTimeoutMs: 2000, adminTimeoutMs: 9000 })
    expect(unknownKeys(props, ['client.id', 'request.timeout.ms', 'default.api.timeout.ms'])).toEqual(['sasl.mechanism'])
    expect(() => clientOptionsFrom(new Map([['request.timeout.ms', 'soon']]))).toThrow('Invalid value soon for configuration request.timeout.ms')
  })

  it('lets the console producer flags win over --producer-property', () => {
    expect(producerOptionsFrom(new Map([['acks', '1'], ['linger.ms', '20']]), { requestRequiredAcks: 'all' })).toEqual({ acks: 'all', lingerMs: 20 })
    expect(producerOptionsFrom(new Map(), { compressionCodec: true })).toEqual({ compression: 'gzip' })
    expect(() => producerOptionsFrom(new Map([['acks', '2']]), {})).toThrow('Invalid value 2 for configuration acks: must be one of all, -1, 0, 1')
  })

  it('reads consumer keys and plans the console consumer', () => {
    expect(consumerOptionsFrom(new Map([['auto.offset.reset', 'earliest'], ['fetch.max.wait.ms', '100']]))).toEqual({ fromBeginning: true, maxWaitMs: 100 })
    expect(consumerPlan({ topic: 't', partition: '0', offset: '5' }, {})).toMatchObject({ partition: 0, offset: 5n, groupId: null, fromBeginning: false })
    expect(consumerPlan({ topic: 't', partition: '0', offset: 'earliest' }, {})).toMatchObject({ offset: null, fromBeginning: true })
    expect(() => consumerPlan({ topic: 't', offset: '5' }, {})).toThrow('The partition is required when offset is specified.')
    expect(() => consumerPlan({ topic: 't', partition: '0', offset: '1', fromBeginning: true }, {})).toThrow('Options from-beginning and offset cannot be specified together.')
    expect(() => consumerPlan({ topic: 't', partition: '0', group: 'g' }, {})).toThrow('Options group and partition cannot be specified together')
    expect(() => consumerPlan({}, {})).toThrow('Exactly one of --include/--topic is required.')
    expect(() => consumerPlan({ topic: 't', include: 't.*' }, {})).toThrow('Exactly one of --include/--topic is required.')
    expect(consumerPlan({ include: 'orders-.*' }, {}).topic).toEqual(/^(?:orders-.*)$/)
    expect(() => consumerPlan({ whitelist: '(' }, {})).toThrow("--include '(' is not a valid regular expression")
    expect(() => consumerPlan({ include: 'o.*', partition: '0' }, {})).toThrow('The topic is required when partition is specified.')
    expect(() => consumerPlan({ topic: 't', maxMessages: '0' }, {})).toThrow("--max-messages must be an integer >= 1, got '0'")
  })
})
