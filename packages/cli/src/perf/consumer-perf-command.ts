/**
 * `trib consumer-perf-test --bootstrap-server H:P --topic T --messages N [--group G]
 * [--from-latest] [--timeout MS] [--show-detailed-stats [--reporting-interval MS]]
 * [--hide-header] [--fetch-size BYTES] [--json]`, Kafka's kafka-consumer-perf-test.sh
 * (ConsumerPerformance): a header and one summary line of the same columns.
 */
import { randomInt } from 'node:crypto'
import { Command } from 'commander'
import { Client } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { reachCluster, readFlagFile } from '../tools/connection.js'
import { consumerConfig } from './consumer-config.js'
import { runConsumerPerf } from './consumer-perf.js'
import { bootstrapFlag, intFlag } from './perf-flags.js'
import { CONSUMER_PERF_TIMEOUT_MS, REPORTING_INTERVAL_MS } from './perf-limits.js'
import { CONSUMER_DETAILED_HEADER, CONSUMER_HEADER, formatConsumerFinal } from './perf-format.js'
import { processCpuSeconds } from './perf-result.js'
import type { PerfIo } from './producer-perf-command.js'

interface ConsumerPerfFlags {
  bootstrapServer?: string
  brokerList?: string
  topic?: string
  messages?: string
  group?: string
  fromLatest?: boolean
  timeout?: string
  showDetailedStats?: boolean
  reportingInterval?: string
  hideHeader?: boolean
  fetchSize?: string
  'consumer.config'?: string
  json?: boolean
}


export function consumerPerfCommand(io: PerfIo): Command {
  return new Command('consumer-perf-test')
    .description('A tool to test the consumer performance (kafka-consumer-perf-test). MB = 10^6 bytes.')
    .option('--bootstrap-server <host:port>', 'the broker(s) to connect to', undefined)
    .option('--broker-list <host:port>', 'alias of --bootstrap-server')
    .option('--topic <topic>', 'the topic to consume from')
    .option('--messages <n>', 'the number of messages to consume')
    .option('--group <group>', 'the consumer group id (default perf-consumer-<random>)')
    .option('--from-latest', 'start at the latest offset when the group has no committed offset (default: the earliest)')
    .option('--timeout <ms>', 'the maximum allowed time between returned records', String(CONSUMER_PERF_TIMEOUT_MS))
    .option('--show-detailed-stats', 'print a line of stats every --reporting-interval')
    .option('--reporting-interval <ms>', 'interval between detailed stats lines', String(REPORTING_INTERVAL_MS))
    .option('--hide-header', 'do not print the header line')
    .option('--fetch-size <bytes>', 'bytes to fetch per partition per request (max.partition.fetch.bytes)')
    .option('--consumer.config <file>', 'consumer config properties file (group.id, auto.offset.reset, fetch.max.wait.ms, ...); the flags above win')
    .option('--json', 'print the result as one JSON object on stdout (detailed lines go to stderr)')
    .action(async (flags: ConsumerPerfFlags) => {
      if (flags.topic === undefined || flags.topic === '') throw new CliError('--topic is required')
      const messages = intFlag('--messages', flags.messages, 1)
      const timeoutMs = intFlag('--timeout', flags.timeout, 1)
      const reportingIntervalMs = intFlag('--reporting-interval', flags.reportingInterval, 1)
      const partitionMaxBytes = flags.fetchSize === undefined ? undefined : intFlag('--fetch-size', flags.fetchSize, 1)
      const file = consumerConfig(flags['consumer.config'] === undefined ? null : readFlagFile(flags['consumer.config'], '--consumer.config'))
      const group = flags.group ?? file.consumer.groupId ?? `perf-consumer-${randomInt(100_000)}`
      const flagBootstrap = flags.bootstrapServer ?? flags.brokerList
      const bootstrap = flagBootstrap === undefined && file.client.bootstrap !== undefined ? file.client.bootstrap : bootstrapFlag(flagBootstrap)
      const client = new Client({ ...file.client, bootstrap, clientId: file.client.clientId ?? 'consumer-perf-test' })
      await reachCluster(client, bootstrap)
      try {
        // Kafka's tool reads from the earliest offset unless --from-latest (or the file) says otherwise.
        const fromBeginning = flags.fromLatest === true ? false : (file.consumer.fromBeginning ?? true)
        const consumer = client.consumer({ ...file.consumer, groupId: group, fromBeginning, ...(partitionMaxBytes === undefined ? {} : { partitionMaxBytes }) })
        const lines = flags.json === true ? io.err : io.out
        if (flags.showDetailedStats === true && flags.hideHeader !== true) lines(CONSUMER_DETAILED_HEADER)
        const startEpochMs = Date.now()
        const result = await runConsumerPerf(consumer, { topic: flags.topic, group, messages, timeoutMs, reportingIntervalMs }, flags.showDetailedStats === true ? lines : null)
        await consumer.close()
        if (result.timedOut) io.err(`WARNING: Exiting before consuming the expected number of messages: timeout (${timeoutMs} ms) exceeded. You can use the --timeout option to increase the timeout.`)
        if (flags.json === true) io.out(JSON.stringify({ ...result, processCpuSeconds: processCpuSeconds() }))
        else {
          if (flags.hideHeader !== true && flags.showDetailedStats !== true) io.out(CONSUMER_HEADER)
          if (flags.showDetailedStats !== true) io.out(formatConsumerFinal(result, startEpochMs))
        }
        if (result.records === 0) throw new CliError(`no record was consumed from '${flags.topic}'`)
      } finally {
        await client.close()
      }
    })
}
