/**
 * `trib get-offsets` (and `trib run-class kafka.tools.GetOffsetShell`): Kafka's
 * GetOffsetShell. Prints `topic:partition:offset` per partition, sorted, for --time -1
 * (latest: the high watermark, the default), -2 (earliest: the log start) or a timestamp
 * (the first offset at or after it; -1 when none is). --topic is a name or, as in Kafka, a
 * regular expression matching whole names; without it every topic (internal ones too unless
 * --exclude-internal-topics). An unknown topic, or partitions that match
 * nothing, is an error.
 */
import { Command } from 'commander'
import { CliError } from '../cli-error.js'
import { addConnectionOptions, openClient, type ConnectionFlags } from './connection.js'
import { formatOffsetLine, parsePartitionList, parseTimeSpec, topicMatcher } from './get-offsets-args.js'
import { tidyErrors } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'

export interface GetOffsetsFlags extends ConnectionFlags {
  readonly topic?: string
  readonly partitions?: string
  readonly time?: string
  readonly excludeInternalTopics?: boolean
}

export async function runGetOffsets(flags: GetOffsetsFlags, io: ToolIo): Promise<void> {
  const partitions = flags.partitions === undefined ? null : parsePartitionList(flags.partitions)
  const spec = parseTimeSpec(flags.time ?? '-1')
  const { client, close } = await openClient(flags, io, 'trib-get-offsets')
  try {
    const admin = client.admin()
    const listed = await admin.listTopics({ includeInternal: flags.excludeInternalTopics !== true })
    const matches = flags.topic === undefined ? () => true : topicMatcher(flags.topic)
    const topics = listed.filter((t) => matches(t.name))
    if (flags.topic !== undefined && topics.length === 0) throw new CliError(`Topic '${flags.topic}' does not exist`)
    let printed = 0
    for (const t of topics) {
      const wanted = partitions === null ? undefined : partitions.filter((p) => p < t.partitions)
      if (wanted !== undefined && wanted.length === 0) continue
      for (const o of await admin.listOffsets(t.name, spec, wanted)) {
        line(io.stdout, formatOffsetLine(o.topic, o.partition, o.offset))
        printed++
      }
    }
    if (printed === 0 && partitions !== null) {
      const sizes = topics.map((t) => `'${t.name}' has ${t.partitions}`).join(', ')
      throw new CliError(`Could not match any topic-partitions with the specified filters${sizes === '' ? '' : ` (${sizes} partition(s))`}`)
    }
  } finally {
    await close()
  }
}

const HELP = `
Prints topic:partition:offset, one line per partition. Examples:
  trib get-offsets --bootstrap-server localhost:9092 --topic my-topic
  trib get-offsets --topic my-topic --partitions 0,1 --time -2
  trib run-class kafka.tools.GetOffsetShell --broker-list localhost:9092 --topic my-topic
Exit code 0 on success; otherwise 1 with one line on stderr.`

/** The GetOffsetShell flags on `cmd` (shared by get-offsets and run-class). */
export function addGetOffsetsOptions(cmd: Command): Command {
  cmd
    .option('--topic <topic>', 'The topic to get the offsets of; also a regular expression matching whole names (default: every topic).')
    .option('--partitions <list>', 'Comma-separated list of partition ids or ranges (0,1 or 0-2); default: all partitions.')
    .option('--time <time>', 'The offsets to get: -1 or latest (the high watermark), -2 or earliest (the log start), or a timestamp in ms (the first offset at or after it).', '-1')
    .option('--exclude-internal-topics', 'Leave out internal topics when no --topic is given.')
  return addConnectionOptions(cmd)
}

export function getOffsetsCommand(io: ToolIo): Command {
  const cmd = new Command('get-offsets').description('An interactive shell for getting topic-partition offsets (kafka-get-offsets, GetOffsetShell).').addHelpText('after', HELP)
  addGetOffsetsOptions(cmd)
  cmd.action((flags: GetOffsetsFlags) => tidyErrors(runGetOffsets(flags, io)))
  return cmd
}
