/**
 * `trib producer-perf-test --topic T --num-records N --record-size S --throughput R
 * [--producer-props k=v ...] [--producer.config F] [--bootstrap-server H:P] [--json]`,
 * Kafka's kafka-producer-perf-test.sh (ProducerPerformance). Progress lines every 5 s, then
 * Kafka's summary line; --json prints the result as one JSON object on stdout instead (the
 * progress lines then go to stderr).
 */
import { Command } from 'commander'
import { Client } from '@tributary/client'
import { CliError } from '../cli-error.js'
import { reachCluster, readFlagFile } from '../tools/connection.js'
import { bootstrapFlag, intFlag, throughputFlag } from './perf-flags.js'
import { formatProducerFinal } from './perf-format.js'
import { processCpuSeconds } from './perf-result.js'
import { PRODUCER_PROPERTY_KEYS, producerConfig, type PerfClientConfig } from './producer-config.js'
import { REPORTING_INTERVAL_MS } from './perf-limits.js'
import { runProducerPerf } from './producer-perf.js'

/** The flags producer-perf-test and end-to-end-latency share. */
export interface ProducerLoadFlags {
  topic?: string
  numRecords?: string
  recordSize?: string
  throughput?: string
  producerProps?: string[]
  'producer.config'?: string
  bootstrapServer?: string
}

interface ProducerPerfFlags extends ProducerLoadFlags {
  recordsPerSend?: string
  sendsInFlight?: string
  reportingInterval?: string
  warmupRecords?: string
  json?: boolean
  payloadFile?: string
}

export interface PerfIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export function producerPerfCommand(io: PerfIo): Command {
  return new Command('producer-perf-test')
    .description('A tool to test the producer performance (kafka-producer-perf-test). MB = 10^6 bytes.')
    .option('--topic <topic>', 'produce messages to this topic (it must exist)')
    .option('--num-records <n>', 'number of messages to produce')
    .option('--record-size <bytes>', 'message size in bytes (incompressible payload)')
    .option('--throughput <n>', 'throttle to about this many messages/sec; -1 = no throttling')
    .option('--producer-props <props...>', `producer properties, e.g. acks=all linger.ms=5 batch.size=262144 (known: ${PRODUCER_PROPERTY_KEYS.join(', ')})`)
    .option('--producer.config <file>', 'producer config properties file')
    .option('--bootstrap-server <host:port>', 'the broker(s) to connect to; wins over bootstrap.servers in --producer-props or --producer.config')
    .option('--records-per-send <n>', 'records per send() call; every record of a call gets the call\'s latency (Kafka sends one at a time)', '1')
    .option('--sends-in-flight <n>', 'send() calls unanswered at once (default: as many as buffer.memory holds)')
    .option('--warmup-records <n>', 'records sent and answered before the measured ones (not counted)', '0')
    .option('--reporting-interval <ms>', 'interval between progress lines; 0 = none', String(REPORTING_INTERVAL_MS))
    .option('--payload-file <file>', 'not supported (payloads are fixed incompressible bytes)')
    .option('--json', 'print the result as one JSON object on stdout (progress lines go to stderr)')
    .action(async (flags: ProducerPerfFlags) => {
      if (flags.payloadFile !== undefined) throw new CliError('--payload-file is not supported; use --record-size')
      if (flags.topic === undefined || flags.topic === '') throw new CliError('--topic is required')
      const numRecords = intFlag('--num-records', flags.numRecords, 1)
      const recordSize = intFlag('--record-size', flags.recordSize, 0)
      const throughput = throughputFlag(flags.throughput)
      const recordsPerSend = intFlag('--records-per-send', flags.recordsPerSend, 1)
      const sendsInFlight = flags.sendsInFlight === undefined ? null : intFlag('--sends-in-flight', flags.sendsInFlight, 1)
      const reportingIntervalMs = intFlag('--reporting-interval', flags.reportingInterval, 0)
      const warmupRecords = intFlag('--warmup-records', flags.warmupRecords, 0)
      const { config, client } = await producerLoadClient(flags, 'producer-perf-test')
      try {
        const producer = client.producer(config.producer)
        const progress = flags.json === true ? io.err : io.out
        const result = await runProducerPerf(producer, { topic: flags.topic, numRecords, recordSize, throughput, recordsPerSend, sendsInFlight, warmupRecords, reportingIntervalMs }, progress)
        await producer.close()
        if (flags.json === true) io.out(JSON.stringify({ ...result, processCpuSeconds: processCpuSeconds() }))
        else io.out(formatProducerFinal(result))
        if (result.records === 0) throw new CliError(`no record was acknowledged: ${result.firstError ?? 'unknown error'}`)
      } finally {
        await client.close()
      }
    })
}

/** The producer config (--producer.config, then --producer-props) and a client for it, once a broker answered. */
export async function producerLoadClient(flags: ProducerLoadFlags, defaultClientId: string): Promise<{ config: PerfClientConfig; client: Client }> {
  const fileText = flags['producer.config'] === undefined ? null : readFlagFile(flags['producer.config'], '--producer.config')
  const config = producerConfig(fileText, flags.producerProps ?? [])
  // KIP-1147's order (Kafka 4): --bootstrap-server, then --producer-props, then --producer.config.
  const bootstrap = flags.bootstrapServer !== undefined ? bootstrapFlag(flags.bootstrapServer) : (config.client.bootstrap ?? bootstrapFlag(undefined))
  const client = new Client({ ...config.client, bootstrap, clientId: config.client.clientId ?? defaultClientId })
  await reachCluster(client, bootstrap)
  return { config, client }
}
