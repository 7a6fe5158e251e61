/**
 * `trib end-to-end-latency --topic T [--num-records N] [--record-size S] [--throughput R]
 * [--producer-props k=v ...] [--bootstrap-server H:P] [--json]`: produce at a fixed rate and
 * consume in the same process; end-to-end and acknowledgement latency percentiles
 * (end-to-end-latency.ts). Kafka's kafka-e2e-latency.sh measures one record at a time; this
 * tool measures a steady stream (default 10,000 records/s).
 */
import { Command } from 'commander'
import { CliError } from '../cli-error.js'
import { runEndToEnd } from './end-to-end-latency.js'
import { intFlag, throughputFlag } from './perf-flags.js'
import { formatEndToEndFinal } from './perf-format.js'
import { processCpuSeconds } from './perf-result.js'
import { producerLoadClient, type PerfIo, type ProducerLoadFlags } from './producer-perf-command.js'

interface EndToEndFlags extends ProducerLoadFlags {
  timeout?: string
  warmupRecords?: string
  json?: boolean
}

export function endToEndLatencyCommand(io: PerfIo): Command {
  return new Command('end-to-end-latency')
    .description('Produce at a fixed rate and consume in the same process: end-to-end and ack latency percentiles.')
    .option('--topic <topic>', 'the topic to use (it must exist)')
    .option('--num-records <n>', 'records to send', '100000')
    .option('--record-size <bytes>', 'record size in bytes (at least 16)', '100')
    .option('--throughput <n>', 'records/sec to send at; -1 = no throttling', '10000')
    .option('--producer-props <props...>', 'producer properties, e.g. acks=all linger.ms=0')
    .option('--producer.config <file>', 'producer config properties file')
    .option('--bootstrap-server <host:port>', 'the broker(s) to connect to')
    .option('--timeout <ms>', 'how long to wait for missing records after the last send', '10000')
    .option('--warmup-records <n>', 'records sent one at a time, each acknowledged, before the measured ones (not counted)', '0')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(async (flags: EndToEndFlags) => {
      if (flags.topic === undefined || flags.topic === '') throw new CliError('--topic is required')
      const numRecords = intFlag('--num-records', flags.numRecords, 1)
      const recordSize = intFlag('--record-size', flags.recordSize, 16)
      const throughput = throughputFlag(flags.throughput)
      const timeoutMs = intFlag('--timeout', flags.timeout, 1)
      const warmupRecords = intFlag('--warmup-records', flags.warmupRecords, 0)
      const { config, client } = await producerLoadClient(flags, 'end-to-end-latency')
      try {
        const result = await runEndToEnd(client, { topic: flags.topic, numRecords, recordSize, throughput, producer: config.producer, timeoutMs, warmupRecords })
        io.out(flags.json === true ? JSON.stringify({ ...result, processCpuSeconds: processCpuSeconds() }) : formatEndToEndFinal(result))
        if (result.received < result.sent) throw new CliError(`${result.sent - result.received} of ${result.sent} records were not read back within ${timeoutMs} ms`)
      } finally {
        await client.close()
      }
    })
}
