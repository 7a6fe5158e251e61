/**
 * `trib metadata-quorum [--bootstrap-server H:P | --bootstrap-controller H:P] describe
 * (--status | --replication [--human-readable])`, Kafka's kafka-metadata-quorum.sh.
 *
 * Asks each bootstrap address in turn for DescribeQuorum (a follower forwards to the leader)
 * and prints the first complete answer. Until brokers exist nothing answers on
 * --bootstrap-server's default port, and the error says to use --bootstrap-controller.
 */
import { Command, Option } from 'commander'
import { ControllerClient, isServiceError } from '@tributary/metadata-quorum'
import { errorInfo, type quorum } from '@tributary/protocol'
import { CliError, foldLines, oneLine } from '../cli-error.js'
import { formatReplication, formatStatus } from './quorum-format.js'
import { DEFAULT_BOOTSTRAP_SERVERS } from '../cluster/cluster-defaults.js'


/** Each DescribeQuorum attempt's deadline. */
export const DESCRIBE_TIMEOUT_MS = 5000

interface ParentOptions {
  bootstrapServer?: string
  bootstrapController?: string
  commandConfig?: string
}

interface DescribeOptions {
  status?: boolean
  replication?: boolean
  humanReadable?: boolean
}

export function parseAddressList(raw: string, flag: string): string[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new CliError(`${flag} needs host:port`)
  for (const item of items) {
    const m = /^(?:\[[^\]]+\]|[^:\s]+):(\d+)$/.exec(item)
    const port = m === null ? NaN : Number(m[1])
    if (!(port >= 1 && port <= 65535)) throw new CliError(`${flag}: '${item}' is not host:port`)
  }
  return items
}

export async function fetchQuorum(addresses: readonly string[], via: 'controller' | 'server'): Promise<quorum.DescribeQuorumResponse> {
  const problems: string[] = []
  let reachedAny = false
  for (const address of addresses) {
    const client = new ControllerClient(address, { timeoutMs: DESCRIBE_TIMEOUT_MS })
    try {
      const q = await client.describeQuorum()
      reachedAny = true
      if (q.errorCode === 0) return q
      const hint = q.leaderId >= 0 ? ` (leader ${q.leaderId} did not answer)` : ' (no leader elected yet)'
      problems.push(`${address}: ${errorInfo(q.errorCode).name}${hint}`)
    } catch (err) {
      problems.push(`${address}: ${isServiceError(err) ? foldLines(err.details || err.message) : oneLine(err)}`)
    } finally {
      client.close()
    }
  }
  if (via === 'server' && !reachedAny) {
    throw new CliError(`no broker answered at ${addresses.join(',')} (brokers do not serve DescribeQuorum yet); use --bootstrap-controller host:port`)
  }
  throw new CliError(`could not describe the metadata quorum: ${problems.join('; ')}`)
}

export function metadataQuorumCommand(out: (text: string) => void): Command {
  const cmd = new Command('metadata-quorum')
    .description('This tool describes kraft metadata quorum status.')
    .addOption(new Option('--bootstrap-server <host:port>', 'A comma-separated list of host:port pairs to use for establishing the connection to the cluster.').conflicts('bootstrapController'))
    .option('--bootstrap-controller <host:port>', 'A comma-separated list of host:port pairs to use for establishing the connection to the controllers.')
    .option('--command-config <file>', 'Property file containing configs to be passed to the admin client (not supported yet).')

  cmd
    .command('describe')
    .description('Describe the metadata quorum info')
    .option('--status', 'A short summary of the quorum status and the other provides detailed information about the status of replication.')
    .option('--replication', 'Detailed information about the status of replication')
    .option('--human-readable', 'Human-readable output (with --replication)')
    .action(async (options: DescribeOptions, self: Command) => {
      const parent = (self.parent?.opts() ?? {}) as ParentOptions
      if (parent.commandConfig !== undefined) throw new CliError('--command-config is not supported yet')
      if (options.status === true && options.replication === true) throw new CliError('Only one of --status or --replication should be specified with describe sub-command')
      if (options.status !== true && options.replication !== true) throw new CliError('One of --status or --replication must be specified with describe sub-command')
      if (options.status === true && options.humanReadable === true) throw new CliError('The option --human-readable is only supported along with --replication')
      const q =
        parent.bootstrapController !== undefined
          ? await fetchQuorum(parseAddressList(parent.bootstrapController, '--bootstrap-controller'), 'controller')
          : await fetchQuorum(parseAddressList(parent.bootstrapServer ?? DEFAULT_BOOTSTRAP_SERVERS.join(','), '--bootstrap-server'), 'server')
      out(options.status === true ? formatStatus(q) : formatReplication(q, { humanReadable: options.humanReadable === true }))
    })
  return cmd
}
