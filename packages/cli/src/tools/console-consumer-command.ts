/**
 * `trib console-consumer`: kafka-console-consumer. Prints each record (record-formatter.ts)
 * and stops after --max-messages, after --timeout-ms without a new record, or on Ctrl-C; the
 * last stderr line is Kafka's "Processed a total of N messages".
 * - With --group the consumer joins the group (subscribe) and commits what it printed (auto
 *   commit, and on close). Without one there is no group: every partition is assigned (or
 *   only --partition), starting at the end, or the log start with --from-beginning, or at
 *   --offset.
 * - A timeout is a normal end (exit 0), as in Kafka.
 */
import { Command } from 'commander'
import type { Consumer, ConsumerOptions, ConsumerRecord } from '@tributary/client'
import { CliError, oneLine } from '../cli-error.js'
import { collect, mergeProperties, parsePairs } from './client-properties.js'
import { addConnectionOptions, openClient, readCommandConfig, readPropertiesFile, type ConnectionFlags } from './connection.js'
import { CONSUMER_PROPERTY_KEYS, consumerOptionsFrom } from './consumer-properties.js'
import { formatRecord, formatterConfig, type FormatterConfig } from './record-formatter.js'
import { intFlag, tidyErrors } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'

export interface ConsoleConsumerFlags extends ConnectionFlags {
  readonly topic?: string
  /** Kafka's --include (formerly --whitelist): a regular expression of topics to consume. */
  readonly include?: string
  readonly whitelist?: string
  readonly fromBeginning?: boolean
  readonly group?: string
  readonly maxMessages?: string
  readonly timeoutMs?: string
  readonly partition?: string
  readonly offset?: string
  readonly property?: string[]
  readonly consumerProperty?: string[]
  readonly consumerConfig?: string
}

export interface ConsumerPlan {
  /** One topic by name, or every non-internal topic whose whole name matches (--include). */
  readonly topic: string | RegExp
  readonly groupId: string | null
  readonly fromBeginning: boolean
  readonly maxMessages: number | null
  readonly timeoutMs: number | null
  readonly partition: number | null
  /** A fixed start offset for --partition (earliest/latest are fromBeginning). */
  readonly offset: bigint | null
}

/** The flags as a plan, or Kafka's complaint. Pure. */
export function consumerPlan(flags: ConsoleConsumerFlags, options: ConsumerOptions): ConsumerPlan {
  const include = flags.include ?? flags.whitelist
  if ((flags.topic === undefined || flags.topic === '') === (include === undefined || include === '')) throw new CliError('Exactly one of --include/--topic is required.')
  let topic: string | RegExp
  if (include !== undefined && include !== '') {
    try {
      topic = new RegExp(`^(?:${include})$`)
    } catch {
      throw new CliError(`--include '${include}' is not a valid regular expression`)
    }
    if (flags.partition !== undefined) throw new CliError('The topic is required when partition is specified.')
  } else topic = flags.topic!
  const groupId = flags.group ?? options.groupId ?? null
  const partition = flags.partition === undefined ? null : intFlag(flags.partition, '--partition', 0)
  if (flags.offset !== undefined && partition === null) throw new CliError('The partition is required when offset is specified.')
  if (flags.offset !== undefined && flags.fromBeginning === true) throw new CliError('Options from-beginning and offset cannot be specified together.')
  if (partition !== null && groupId !== null) throw new CliError('Options group and partition cannot be specified together (a group assigns its own partitions).')
  let fromBeginning = flags.fromBeginning === true || options.fromBeginning === true
  let offset: bigint | null = null
  if (flags.offset !== undefined) {
    const o = flags.offset.trim()
    if (o === 'earliest') fromBeginning = true
    else if (o === 'latest') fromBeginning = false
    else if (/^\d+$/.test(o)) offset = BigInt(o)
    else throw new CliError(`--offset must be earliest, latest or a non-negative offset, got '${flags.offset}'`)
  }
  return {
    topic,
    groupId,
    fromBeginning,
    maxMessages: flags.maxMessages === undefined ? null : intFlag(flags.maxMessages, '--max-messages'),
    timeoutMs: flags.timeoutMs === undefined ? null : intFlag(flags.timeoutMs, '--timeout-ms', 0),
    partition,
    offset,
  }
}

type Step = { readonly kind: 'record'; readonly record: ConsumerRecord | null } | { readonly kind: 'timeout' } | { readonly kind: 'stop' }

/** The next record, or the timeout, or the stop signal, whichever comes first. */
function nextStep(next: Promise<ConsumerRecord | null>, timeoutMs: number | null, stop: AbortSignal): Promise<Step> {
  return new Promise<Step>((resolve, reject) => {
    if (stop.aborted) return resolve({ kind: 'stop' })
    const timer = timeoutMs === null ? null : setTimeout(() => finish({ kind: 'timeout' }), timeoutMs)
    const onStop = (): void => finish({ kind: 'stop' })
    stop.addEventListener('abort', onStop)
    function finish(step: Step): void {
      if (timer !== null) clearTimeout(timer)
      stop.removeEventListener('abort', onStop)
      resolve(step)
    }
    next.then((record) => finish({ kind: 'record', record }), (err: unknown) => {
      if (timer !== null) clearTimeout(timer)
      stop.removeEventListener('abort', onStop)
      reject(err)
    })
  })
}

/** Prints records until max, timeout or stop; returns how many were printed. Closes the consumer. */
export async function consumeRecords(consumer: Consumer, plan: ConsumerPlan, format: FormatterConfig, io: ToolIo, stop: AbortSignal, onCount: (count: number) => void = () => {}): Promise<number> {
  let count = 0
  const print = (r: ConsumerRecord): void => {
    io.stdout(formatRecord(r, format))
    count++
    onCount(count)
  }
  let pending: Promise<ConsumerRecord | null> | null = null
  try {
    while (plan.maxMessages === null || count < plan.maxMessages) {
      const next = consumer.next()
      const step = await nextStep(next, plan.timeoutMs, stop)
      if (step.kind !== 'record') {
        pending = next
        break
      }
      if (step.record === null) break
      print(step.record)
    }
  } finally {
    pending?.catch(() => undefined)
    await consumer.close()
  }
  // A record handed out in the same moment the timeout fired is printed: its position counts as consumed.
  const late = pending === null ? null : await pending.catch(() => null)
  if (late !== null && (plan.maxMessages === null || count < plan.maxMessages)) print(late)
  return count
}

export async function runConsoleConsumer(flags: ConsoleConsumerFlags, io: ToolIo): Promise<void> {
  const warnings: string[] = []
  const format = formatterConfig(parsePairs(flags.property ?? [], '--property'), warnings)
  const fileProps = readPropertiesFile(flags.consumerConfig, '--consumer.config')
  const props = mergeProperties(readCommandConfig(flags), fileProps, parsePairs(flags.consumerProperty ?? [], '--consumer-property'))
  const base = consumerOptionsFrom(props)
  const plan = consumerPlan(flags, base)
  for (const w of warnings) line(io.stderr, w)
  const { client, close } = await openClient(flags, io, 'console-consumer', props, CONSUMER_PROPERTY_KEYS)
  let count: number | null = null
  try {
    const listed = await client.admin().listTopics()
    const wanted = typeof plan.topic === 'string' ? listed.filter((t) => t.name === plan.topic) : listed.filter((t) => !t.isInternal && (plan.topic as RegExp).test(t.name))
    if (wanted.length === 0) throw new CliError(typeof plan.topic === 'string' ? `Topic '${plan.topic}' does not exist` : `No topic matches --include '${plan.topic.source.slice(4, -2)}'`)
    const consumer = client.consumer({ ...base, groupId: plan.groupId ?? undefined, fromBeginning: plan.fromBeginning })
    if (plan.groupId !== null) await consumer.subscribe(wanted.map((t) => t.name))
    else if (plan.partition !== null) {
      const t = wanted[0]!
      if (plan.partition >= t.partitions) throw new CliError(`Partition ${plan.partition} of topic '${t.name}' does not exist (it has ${t.partitions})`)
      consumer.assign([{ topic: t.name, partition: plan.partition }])
      if (plan.offset !== null) consumer.seek(t.name, plan.partition, plan.offset)
    } else consumer.assign(wanted.flatMap((t) => Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition }))))
    const stop = new AbortController()
    const unsubscribe = io.onInterrupt(() => stop.abort())
    count = 0
    try {
      count = await consumeRecords(consumer, plan, format, io, stop.signal, (n) => (count = n))
    } catch (err) {
      throw new CliError(`Error processing message, terminating consumer process: ${oneLine(err)}`)
    } finally {
      unsubscribe()
    }
  } finally {
    await close()
    if (count !== null) line(io.stderr, `Processed a total of ${count} messages`)
  }
}

const HELP = `
Prints each record's value (and more with --property print.key=true etc.). Examples:
  trib console-consumer --bootstrap-server localhost:9092 --topic my-topic --from-beginning
  trib console-consumer --topic my-topic --group my-group --max-messages 10
  trib console-consumer --topic my-topic --partition 0 --offset 5 --timeout-ms 2000 --property print.key=true --property key.separator=:
--property keys: print.key, print.value (true), print.timestamp, print.partition, print.offset,
print.headers, key.separator (TAB), line.separator, headers.separator, null.literal.
Stops after --max-messages, after --timeout-ms with no new record, or on Ctrl-C, and prints
"Processed a total of N messages" on stderr. Without --group no group is used (every partition
is read, nothing is committed); with --group the consumed offsets are committed.`

export function consoleConsumerCommand(io: ToolIo): Command {
  const cmd = new Command('console-consumer')
    .description('Consume records from a topic and print them on standard output (kafka-console-consumer).')
    .option('--topic <topic>', 'The topic to consume on.')
    .option('--include <regex>', 'Regular expression specifying the list of topics to include for consumption (whole names; internal topics left out).')
    .option('--whitelist <regex>', 'DEPRECATED, use --include instead.')
    .option('--from-beginning', 'If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message.')
    .option('--group <group>', 'The consumer group id of the consumer (its offsets are committed).')
    .option('--max-messages <n>', 'The maximum number of messages to consume before exiting. If not set, consumption is continual.')
    .option('--timeout-ms <ms>', 'If specified, exit if no message is available for consumption for the specified interval.')
    .option('--partition <p>', 'The partition to consume from (no group). Consumption starts from the end of the partition unless --offset is specified.')
    .option('--offset <offset>', "The offset to consume from (a non-negative number), or 'earliest' / 'latest' (default: latest). Needs --partition.")
    .option('--property <prop=value>', 'The properties to initialize the message formatter: print.key, print.timestamp, print.partition, print.offset, print.headers, key.separator, ... (repeatable).', collect, [])
    .option('--consumer-property <prop=value>', 'A mechanism to pass user-defined properties to the consumer: auto.offset.reset, fetch.max.wait.ms, ... (repeatable).', collect, [])
    .option('--consumer.config <file>', 'Consumer config properties file (--consumer-property wins over it).')
    .addHelpText('after', HELP)
  addConnectionOptions(cmd)
  cmd.action((raw: ConsoleConsumerFlags & { 'consumer.config'?: string }) => tidyErrors(runConsoleConsumer({ ...raw, ...(raw['consumer.config'] === undefined ? {} : { consumerConfig: raw['consumer.config'] }) }, io)))
  return cmd
}
