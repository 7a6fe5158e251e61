/**
 * `trib topics`: kafka-topics.sh (TopicCommand) against the cluster through the admin client.
 * Exactly one action: --create, --list, --describe, --alter (partitions) or --delete.
 * Messages are Kafka's ("Created topic T.", "Topic 'T' already exists.", "Topic 'T' does
 * not exist as expected"); --alter and --delete print nothing on success, as Kafka 3.x.
 */
import { Command } from 'commander'
import type { Admin, TopicConfigs } from '@tributary/client'
import { ErrorCode } from '@tributary/protocol'
import { CliError } from '../cli-error.js'
import { collect, parsePairs } from './client-properties.js'
import { addConnectionOptions, openClient, type ConnectionFlags } from './connection.js'
import { formatTopicDescription } from './topics-format.js'
import { hasCode, intFlag, tidyErrors } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'
import { TOOL_LIMITS } from './tool-limits.js'

export interface TopicsFlags extends ConnectionFlags {
  readonly create?: boolean
  readonly list?: boolean
  readonly describe?: boolean
  readonly alter?: boolean
  readonly delete?: boolean
  readonly topic?: string
  readonly partitions?: string
  readonly replicationFactor?: string
  readonly config?: string[]
  readonly ifNotExists?: boolean
  readonly ifExists?: boolean
  readonly excludeInternal?: boolean
  readonly underReplicatedPartitions?: boolean
  readonly unavailablePartitions?: boolean
}

export type TopicsAction =
  | { readonly kind: 'create'; readonly topic: string; readonly partitions?: number; readonly replicationFactor?: number; readonly configs: Record<string, string>; readonly ifNotExists: boolean }
  | { readonly kind: 'list'; readonly topic?: string; readonly excludeInternal: boolean }
  | { readonly kind: 'describe'; readonly topic?: string; readonly excludeInternal: boolean; readonly ifExists: boolean; readonly underReplicated: boolean; readonly unavailable: boolean }
  | { readonly kind: 'alter'; readonly topic: string; readonly partitions: number; readonly ifExists: boolean }
  | { readonly kind: 'delete'; readonly topic: string; readonly ifExists: boolean }

const ACTIONS = ['create', 'list', 'describe', 'alter', 'delete'] as const

/** The flags as one action, or a CliError with Kafka's complaint. Pure. */
export function topicsAction(flags: TopicsFlags): TopicsAction {
  const chosen = ACTIONS.filter((a) => flags[a] === true)
  if (chosen.length !== 1) throw new CliError('Command must include exactly one action: --list, --describe, --create, --alter or --delete')
  const action = chosen[0]!
  const topic = flags.topic
  const needTopic = (): string => {
    if (topic === undefined || topic === '') throw new CliError(`--${action} needs --topic`)
    return topic
  }
  const only = (flag: string, set: boolean | undefined, allowed: readonly string[]): void => {
    if (set === true && !allowed.includes(action)) throw new CliError(`Option "[${flag}]" can't be used with option "[${action}]"`)
  }
  only('if-not-exists', flags.ifNotExists, ['create'])
  only('if-exists', flags.ifExists, ['alter', 'delete', 'describe'])
  only('replication-factor', flags.replicationFactor !== undefined, ['create'])
  only('config', (flags.config?.length ?? 0) > 0, ['create'])
  only('partitions', flags.partitions !== undefined, ['create', 'alter'])
  only('under-replicated-partitions', flags.underReplicatedPartitions, ['describe'])
  only('unavailable-partitions', flags.unavailablePartitions, ['describe'])
  only('exclude-internal', flags.excludeInternal, ['list', 'describe'])
  switch (action) {
    case 'create':
      return {
        kind: 'create',
        topic: needTopic(),
        ...(flags.partitions === undefined ? {} : { partitions: intFlag(flags.partitions, '--partitions') }),
        ...(flags.replicationFactor === undefined ? {} : { replicationFactor: intFlag(flags.replicationFactor, '--replication-factor') }),
        configs: Object.fromEntries(parsePairs(flags.config ?? [], '--config')),
        ifNotExists: flags.ifNotExists === true,
      }
    case 'list':
      return { kind: 'list', ...(topic === undefined ? {} : { topic }), excludeInternal: flags.excludeInternal === true }
    case 'describe':
      return {
        kind: 'describe',
        ...(topic === undefined ? {} : { topic }),
        excludeInternal: flags.excludeInternal === true,
        ifExists: flags.ifExists === true,
        underReplicated: flags.underReplicatedPartitions === true,
        unavailable: flags.unavailablePartitions === true,
      }
    case 'alter': {
      const t = needTopic()
      if (flags.partitions === undefined) throw new CliError('--alter needs --partitions (topic configs: not through kafka-topics in KRaft mode)')
      return { kind: 'alter', topic: t, partitions: intFlag(flags.partitions, '--partitions'), ifExists: flags.ifExists === true }
    }
    case 'delete':
      return { kind: 'delete', topic: needTopic(), ifExists: flags.ifExists === true }
  }
}

/** Polls `done` until it holds or TOOL_LIMITS.metadataPropagationWaitMs passed (then returns anyway). */
async function settle(done: () => Promise<boolean>): Promise<void> {
  const deadlineMs = Date.now() + TOOL_LIMITS.metadataPropagationWaitMs
  while (Date.now() < deadlineMs) {
    if (await done().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, TOOL_LIMITS.metadataPollMs))
  }
}

const doesNotExist = (topic: string): CliError => new CliError(`Topic '${topic}' does not exist as expected`)

export async function runTopics(flags: TopicsFlags, io: ToolIo): Promise<void> {
  const action = topicsAction(flags)
  const { client, close } = await openClient(flags, io, 'trib-topics')
  try {
    const admin = client.admin()
    await perform(admin, action, io)
  } finally {
    await close()
  }
}

async function perform(admin: Admin, action: TopicsAction, io: ToolIo): Promise<void> {
  const out = (text: string): void => line(io.stdout, text)
  switch (action.kind) {
    case 'create': {
      const exists = (await admin.listTopics()).some((t) => t.name === action.topic)
      if (exists) {
        if (action.ifNotExists) return
        throw new CliError(`Topic '${action.topic}' already exists.`)
      }
      try {
        await admin.createTopics(
          [{ name: action.topic, ...(action.partitions === undefined ? {} : { partitions: action.partitions }), ...(action.replicationFactor === undefined ? {} : { replicationFactor: action.replicationFactor }), configs: action.configs }],
          { ifNotExists: action.ifNotExists },
        )
      } catch (err) {
        if (hasCode(err, ErrorCode.TOPIC_ALREADY_EXISTS)) throw new CliError(`Topic '${action.topic}' already exists.`)
        throw err
      }
      out(`Created topic ${action.topic}.`)
      return
    }
    case 'list': {
      const topics = await admin.listTopics({ includeInternal: !action.excludeInternal })
      for (const t of topics) if (action.topic === undefined || t.name === action.topic) out(t.name)
      return
    }
    case 'describe': {
      const listed = await admin.listTopics({ includeInternal: !action.excludeInternal })
      const names = action.topic === undefined ? listed.map((t) => t.name) : listed.some((t) => t.name === action.topic) ? [action.topic] : []
      if (action.topic !== undefined && names.length === 0) {
        if (action.ifExists) return
        throw doesNotExist(action.topic)
      }
      if (names.length === 0) return
      const described = await admin.describeTopics(names)
      const configs = new Map<string, TopicConfigs>((await admin.describeConfigs(names.map((topic) => ({ topic })))).map((c) => [c.topic, c]))
      for (const t of described) for (const text of formatTopicDescription(t, configs.get(t.name), { underReplicated: action.underReplicated, unavailable: action.unavailable })) out(text)
      return
    }
    case 'alter':
    case 'delete': {
      try {
        if (action.kind === 'alter') {
          await admin.createPartitions([{ name: action.topic, count: action.partitions }])
          await settle(async () => (await admin.listTopics()).find((t) => t.name === action.topic)?.partitions === action.partitions)
        } else {
          await admin.deleteTopics([action.topic])
          await settle(async () => !(await admin.listTopics()).some((t) => t.name === action.topic))
        }
      } catch (err) {
        if (hasCode(err, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) {
          if (action.ifExists) return
          throw doesNotExist(action.topic)
        }
        throw err
      }
      return
    }
  }
}

const HELP = `
Examples (Kafka's kafka-topics.sh with "kafka-" replaced by "trib "):
  trib topics --bootstrap-server localhost:9092 --create --topic my-topic --partitions 3 --replication-factor 3
  trib topics --create --if-not-exists --topic my-topic --partitions 3 --replication-factor 1 --config retention.ms=60000
  trib topics --list [--exclude-internal]
  trib topics --describe [--topic my-topic]
  trib topics --alter --topic my-topic --partitions 10
  trib topics --delete --topic my-topic
--describe prints "Topic: T<TAB>TopicId: ..<TAB>PartitionCount: N<TAB>ReplicationFactor: R<TAB>Configs: k=v,.."
then "<TAB>Topic: T<TAB>Partition: P<TAB>Leader: L<TAB>Replicas: 1,2,3<TAB>Isr: 1,2,3" per partition.
Exit code 0 on success; otherwise 1 with one line on stderr.`

export function topicsCommand(io: ToolIo): Command {
  const cmd = new Command('topics')
    .description('Create, delete, describe, or change a topic (kafka-topics).')
    .option('--create', 'Create a new topic.')
    .option('--list', 'List all available topics.')
    .option('--describe', 'List details for the given topics (all topics without --topic).')
    .option('--alter', 'Alter the number of partitions of a topic.')
    .option('--delete', 'Delete a topic.')
    .option('--topic <topic>', 'The topic to create, alter, describe or delete.')
    .option('--partitions <n>', 'The number of partitions for the topic being created or altered (default: the broker\'s num.partitions).')
    .option('--replication-factor <n>', 'The replication factor for each partition in the topic being created (default: the broker\'s default.replication.factor).')
    .option('--config <name=value>', 'A topic configuration override for the topic being created (repeatable).', collect, [])
    .option('--if-not-exists', 'With --create: only create the topic if it does not already exist.')
    .option('--if-exists', 'With --alter, --describe or --delete: only act if the topic exists.')
    .option('--exclude-internal', 'Exclude internal topics when running --list or --describe.')
    .option('--under-replicated-partitions', 'With --describe: only show partitions whose ISR is smaller than their replica set.')
    .option('--unavailable-partitions', 'With --describe: only show partitions without a leader.')
    .addHelpText('after', HELP)
  addConnectionOptions(cmd)
  cmd.action((flags: TopicsFlags) => tidyErrors(runTopics(flags, io)))
  return cmd
}
