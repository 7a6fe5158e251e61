/**
 * The flags every Kafka tool shares to reach the cluster, and the connect step:
 * - `--bootstrap-server H:P[,H:P]` (default localhost:9092, then the local cluster's 9093 and
 *   9094) and its older name `--broker-list`
 *   (console-producer and GetOffsetShell still take it in Kafka 3.x; the seed uses it);
 * - `--zookeeper` is refused with one line: there is no ZooKeeper (KRaft, DESIGN.md);
 * - `--command-config FILE`: client properties (client.id, request.timeout.ms, ...).
 * openClient() asks the cluster for its brokers within TOOL_LIMITS.connectTimeoutMs, so an
 * unreachable address fails in seconds with one line naming it, instead of the admin
 * client's 30 s of retries.
 */
import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { Client, type ClientOptions, type ClusterDescription } from '@tributary/client'
import { ErrorCode } from '@tributary/protocol'
import { CliError, oneLine } from '../cli-error.js'
import { parseAddressList } from '../metadata-quorum/metadata-quorum-command.js'
import { CLIENT_PROPERTY_KEYS, clientOptionsFrom, propertiesFromText, unknownKeys, unknownKeyWarning, type Properties } from './client-properties.js'
import { hasCode } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'
import { DEFAULT_BOOTSTRAP_SERVER, DEFAULT_BOOTSTRAP_SERVERS, TOOL_LIMITS } from './tool-limits.js'

export interface ConnectionFlags {
  readonly bootstrapServer?: string
  readonly brokerList?: string
  readonly zookeeper?: string
  readonly commandConfig?: string
}

export function addConnectionOptions(cmd: Command, options: { readonly commandConfig?: boolean } = {}): Command {
  cmd
    .option('--bootstrap-server <host:port>', `REQUIRED in Kafka: the server(s) to connect to, comma-separated (default: ${DEFAULT_BOOTSTRAP_SERVERS.join(',')}, the local cluster)`)
    .option('--broker-list <host:port>', 'DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is given')
    .addOption(new Option('--zookeeper <host:port>', 'not supported: Tributary has no ZooKeeper (use --bootstrap-server)'))
  if (options.commandConfig !== false) cmd.option('--command-config <file>', 'Property file containing configs to be passed to the client (client.id, request.timeout.ms, default.api.timeout.ms, retry.backoff.ms, ...)')
  return cmd
}

/** The refusal of --zookeeper, the same line for every tool. */
export const ZOOKEEPER_REFUSED = `--zookeeper is not supported (Tributary has no ZooKeeper: metadata lives in its KRaft quorum); use --bootstrap-server ${DEFAULT_BOOTSTRAP_SERVER}`

/**
 * The addresses to bootstrap from: --bootstrap-server, else --broker-list, else the config's
 * bootstrap.servers, else the local cluster's brokers (localhost:9092 first). Pure.
 */
export function bootstrapFrom(flags: ConnectionFlags, config: Properties): string[] {
  if (flags.zookeeper !== undefined) throw new CliError(ZOOKEEPER_REFUSED)
  if (flags.bootstrapServer !== undefined) return parseAddressList(flags.bootstrapServer, '--bootstrap-server')
  if (flags.brokerList !== undefined) return parseAddressList(flags.brokerList, '--broker-list')
  const fromConfig = config.get('bootstrap.servers')
  if (fromConfig !== undefined) return parseAddressList(fromConfig, 'bootstrap.servers')
  return [...DEFAULT_BOOTSTRAP_SERVERS]
}

/** The --command-config file's properties (empty without the flag). */
export function readCommandConfig(flags: ConnectionFlags): Map<string, string> {
  return readPropertiesFile(flags.commandConfig, '--command-config')
}

/** A properties file named by `flag` (--command-config, --producer.config, ...); empty when not given. */
export function readPropertiesFile(path: string | undefined, flag: string): Map<string, string> {
  return path === undefined ? new Map() : propertiesFromText(readFlagFile(path, flag))
}

/** The text of the file a flag names, or one CliError naming the flag and the file. */
export function readFlagFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read ${flag} ${path}: ${oneLine(err)}`)
  }
}

export interface Connected {
  readonly client: Client
  readonly cluster: ClusterDescription
  readonly bootstrap: readonly string[]
  /** Closes the client (bounded). */
  close(): Promise<void>
}

/**
 * A client on the cluster, once a broker answered. `properties` are client-level Kafka
 * properties (the command config merged with the tool's own); `knownKeys` are the keys the
 * tool itself uses: any other key gets Kafka's warning on stderr.
 */
export async function openClient(
  flags: ConnectionFlags,
  io: ToolIo,
  clientId: string,
  properties: Properties = readCommandConfig(flags),
  knownKeys: readonly string[] = [],
): Promise<Connected> {
  const bootstrap = bootstrapFrom(flags, properties)
  for (const key of unknownKeys(properties, [...CLIENT_PROPERTY_KEYS, ...knownKeys])) line(io.stderr, unknownKeyWarning(key))
  const options: ClientOptions = { clientId, ...clientOptionsFrom(properties), bootstrap }
  let client: Client
  try {
    client = new Client(options)
  } catch (err) {
    throw new CliError(oneLine(err))
  }
  const close = (): Promise<void> => client.close({ timeoutMs: TOOL_LIMITS.closeTimeoutMs })
  const cluster = await reachCluster(client, bootstrap)
  return { client, cluster, bootstrap, close }
}

/**
 * The cluster's brokers, once one of `bootstrap` answered within TOOL_LIMITS.connectTimeoutMs.
 * Otherwise the client is closed and one CliError names the addresses (the perf tools used to
 * print "0 records sent" every 5 s until the delivery timeout).
 */
export async function reachCluster(client: Client, bootstrap: readonly string[]): Promise<ClusterDescription> {
  const timeoutMs = TOOL_LIMITS.connectTimeoutMs
  let timer: NodeJS.Timeout | undefined
  try {
    // The race bounds an address that swallows packets (each call waits request.timeout.ms);
    // a refused connection fails each attempt at once and the retries end at timeoutMs.
    return await Promise.race([
      client.admin().describeCluster({ timeoutMs }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), timeoutMs + 1000)
      }),
    ])
  } catch (err) {
    await client.close({ timeoutMs: 0 }).catch(() => undefined)
    // gRPC UNIMPLEMENTED: something answered that serves no BrokerService (a controller listener).
    if (hasCode(lastAttempt(err), ErrorCode.UNSUPPORTED_VERSION)) {
      throw new CliError(`${bootstrap.join(',')} answered but is not a Tributary broker (a controller listener?); brokers listen on ${DEFAULT_BOOTSTRAP_SERVER} and up in the local cluster`)
    }
    throw new CliError(`could not reach any broker at ${bootstrap.join(',')} within ${timeoutMs} ms (${lastCause(err)})`)
  } finally {
    clearTimeout(timer)
  }
}

/** For exhausted retries the last attempt's error, else the error itself. */
function lastAttempt(err: unknown): unknown {
  const errors = typeof err === 'object' && err !== null && 'errors' in err && Array.isArray(err.errors) ? (err.errors as unknown[]) : []
  return errors.length > 0 ? errors[errors.length - 1] : err
}

/** The most telling part of a connect failure: the last attempt's gRPC detail. */
function lastCause(err: unknown): string {
  const text = oneLine(lastAttempt(err))
  const detail = /Last error: (.*)$/.exec(text)?.[1] ?? text
  return detail.replace(/\.?\s*Resolution note:\s*\)?$/, '').replace(/^Error: /, '')
}
