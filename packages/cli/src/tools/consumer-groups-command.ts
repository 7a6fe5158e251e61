/**
 * `trib consumer-groups`: kafka-consumer-groups (ConsumerGroupCommand) for --list,
 * --describe --group G (or --all-groups) with lag, and --delete --group G.
 */
import { Command } from 'commander'
import type { Admin } from '@tributary/client'
import { ErrorCode } from '@tributary/protocol'
import { CliError, oneLine } from '../cli-error.js'
import { addConnectionOptions, openClient, type ConnectionFlags } from './connection.js'
import { formatGroupMembers, formatGroupOffsets, formatGroupState } from './consumer-groups-format.js'
import { hasCode, tidyErrors } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'

export interface ConsumerGroupsFlags extends ConnectionFlags {
  readonly list?: boolean
  readonly describe?: boolean
  readonly delete?: boolean
  readonly group?: string[]
  readonly allGroups?: boolean
  readonly members?: boolean
  readonly state?: boolean
  readonly offsets?: boolean
}

export type ConsumerGroupsAction =
  | { readonly kind: 'list' }
  | { readonly kind: 'describe'; readonly groups: readonly string[] | 'all'; readonly view: DescribeView }
  | { readonly kind: 'delete'; readonly groups: readonly string[] }

/** What --describe prints: the offsets (default), the members, or the state. */
export type DescribeView = 'offsets' | 'members' | 'state'

/** Pure: the flags as one action, or Kafka's complaint. */
export function consumerGroupsAction(flags: ConsumerGroupsFlags): ConsumerGroupsAction {
  const chosen = (['list', 'describe', 'delete'] as const).filter((a) => flags[a] === true)
  if (chosen.length !== 1) throw new CliError('Command must include exactly one action: --list, --describe, --delete')
  const groups = flags.group ?? []
  for (const flag of ['members', 'state', 'offsets', 'allGroups'] as const) {
    if (flags[flag] === true && chosen[0] !== 'describe') throw new CliError(`Option [${flag === 'allGroups' ? 'all-groups' : flag}] is only used with [describe]`)
  }
  switch (chosen[0]!) {
    case 'list':
      return { kind: 'list' }
    case 'describe': {
      const views = (['offsets', 'members', 'state'] as const).filter((v) => flags[v] === true)
      if (views.length > 1) throw new CliError('Option [describe] takes at most one of these options: [members], [offsets], [state]')
      const view = views[0] ?? 'offsets'
      if (flags.allGroups === true) return { kind: 'describe', groups: 'all', view }
      if (groups.length === 0) throw new CliError('Option [describe] takes one of these options: [all-groups], [group]')
      return { kind: 'describe', groups, view }
    }
    case 'delete':
      if (groups.length === 0) throw new CliError('Option [delete] takes the option: [group]')
      return { kind: 'delete', groups }
  }
}

export async function runConsumerGroups(flags: ConsumerGroupsFlags, io: ToolIo): Promise<void> {
  const action = consumerGroupsAction(flags)
  const { client, close } = await openClient(flags, io, 'trib-consumer-groups')
  try {
    await perform(client.admin(), action, io)
  } finally {
    await close()
  }
}

async function perform(admin: Admin, action: ConsumerGroupsAction, io: ToolIo): Promise<void> {
  const out = (text: string): void => line(io.stdout, text)
  switch (action.kind) {
    case 'list':
      for (const g of await admin.listGroups()) out(g.groupId)
      return
    case 'describe': {
      const ids = action.groups === 'all' ? (await admin.listGroups()).map((g) => g.groupId) : action.groups
      for (const id of ids) {
        let group
        try {
          group = await admin.describeGroup(id)
        } catch (err) {
          if (hasCode(err, ErrorCode.GROUP_ID_NOT_FOUND)) throw new CliError(`Consumer group '${id}' does not exist.`)
          throw err
        }
        if (group.state === 'Dead') throw new CliError(`Consumer group '${id}' does not exist.`)
        if (action.view === 'state') {
          for (const text of formatGroupState(group)) out(text)
          continue
        }
        if (group.members.length === 0) {
          out('')
          out(`Consumer group '${id}' has no active members.`)
        }
        for (const text of action.view === 'members' ? formatGroupMembers(group) : formatGroupOffsets(group)) out(text)
      }
      return
    }
    case 'delete': {
      const failures: string[] = []
      for (const id of action.groups) {
        try {
          await admin.deleteGroup(id)
        } catch (err) {
          if (hasCode(err, ErrorCode.GROUP_ID_NOT_FOUND)) failures.push(`Group '${id}' could not be deleted: it does not exist`)
          else if (hasCode(err, ErrorCode.NON_EMPTY_GROUP)) failures.push(`Group '${id}' could not be deleted: the group is not empty (NON_EMPTY_GROUP)`)
          else failures.push(`Group '${id}' could not be deleted: ${oneLine(err)}`)
        }
      }
      if (failures.length > 0) throw new CliError(`Deletion of some consumer groups failed: ${failures.join('; ')}`)
      out(`Deletion of requested consumer groups (${action.groups.map((g) => `'${g}'`).join(', ')}) was successful.`)
      return
    }
  }
}

const HELP = `
Examples:
  trib consumer-groups --bootstrap-server localhost:9092 --list
  trib consumer-groups --describe --group my-group [--members | --state]
  trib consumer-groups --delete --group my-group
--describe prints a blank line, then the columns GROUP TOPIC PARTITION CURRENT-OFFSET
LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID (HOST and CLIENT-ID are '-': not reported).`

export function consumerGroupsCommand(io: ToolIo): Command {
  const cmd = new Command('consumer-groups')
    .description('List all consumer groups, describe a consumer group (offsets and lag), or delete consumer group info (kafka-consumer-groups).')
    .option('--list', 'List all consumer groups.')
    .option('--describe', 'Describe consumer group and list offset lag (number of messages not yet processed) related to given group.')
    .option('--delete', 'Pass in groups to delete topic partition offsets and ownership information over the entire consumer group.')
    .option('--group <group>', 'The consumer group we wish to act on (repeatable).', (v: string, prev: string[] = []) => [...prev, v])
    .option('--all-groups', 'With --describe: apply to all consumer groups.')
    .option('--offsets', 'With --describe: the offsets and lag per partition (the default).')
    .option('--members', 'With --describe: the members and how many partitions each owns.')
    .option('--state', 'With --describe: the group state and member count.')
    .addHelpText('after', HELP)
  addConnectionOptions(cmd)
  cmd.action((flags: ConsumerGroupsFlags) => tidyErrors(runConsumerGroups(flags, io)))
  return cmd
}
