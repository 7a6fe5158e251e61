/** Kafka consumer properties (`--consumer-property k=v`, `--consumer.config FILE`) as ConsumerOptions. Pure. */
import type { ConsumerOptions } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { nonNegativeInt, type Properties } from './client-properties.js'

export const CONSUMER_PROPERTY_KEYS = [
  'group.id',
  'auto.offset.reset',
  'enable.auto.commit',
  'auto.commit.interval.ms',
  'fetch.max.wait.ms',
  'fetch.min.bytes',
  'fetch.max.bytes',
  'max.partition.fetch.bytes',
  'session.timeout.ms',
  'heartbeat.interval.ms',
  'max.poll.interval.ms',
] as const

export function consumerOptionsFrom(props: Properties): ConsumerOptions {
  const options: { -readonly [K in keyof ConsumerOptions]: ConsumerOptions[K] } = {}
  const group = props.get('group.id')
  if (group !== undefined && group !== '') options.groupId = group
  const reset = props.get('auto.offset.reset')
  if (reset !== undefined) {
    if (reset !== 'earliest' && reset !== 'latest') throw new CliError(`auto.offset.reset must be earliest or latest, got '${reset}'`)
    options.fromBeginning = reset === 'earliest'
  }
  const autoCommit = props.get('enable.auto.commit')
  if (autoCommit !== undefined) {
    if (autoCommit !== 'true' && autoCommit !== 'false') throw new CliError(`enable.auto.commit must be true or false, got '${autoCommit}'`)
    options.autoCommit = autoCommit === 'true'
  }
  const ints = [
    ['auto.commit.interval.ms', 'autoCommitIntervalMs'],
    ['fetch.max.wait.ms', 'maxWaitMs'],
    ['fetch.min.bytes', 'minBytes'],
    ['fetch.max.bytes', 'maxBytes'],
    ['max.partition.fetch.bytes', 'partitionMaxBytes'],
    ['session.timeout.ms', 'sessionTimeoutMs'],
    ['heartbeat.interval.ms', 'heartbeatIntervalMs'],
    ['max.poll.interval.ms', 'rebalanceTimeoutMs'],
  ] as const
  for (const [key, option] of ints) {
    const v = nonNegativeInt(props, key)
    if (v !== undefined) options[option] = v
  }
  return options
}
