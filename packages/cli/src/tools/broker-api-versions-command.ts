/**
 * `trib broker-api-versions`: kafka-broker-api-versions. `--version` prints Tributary's
 * version (Kafka prints its own) without contacting the cluster. Otherwise, per broker,
 * Kafka's layout `host:port (id: N rack: null) -> (` then the RPCs the broker serves, one per
 * line, then `)`. Tributary speaks gRPC, not Kafka's protocol: its RPCs have one version
 * (0), so each line reads `<TAB>Name(0): 0 [usable: 0]`, the key being the RPC's index in
 * BrokerService.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import type { BrokerInfo } from '@tributary/client'
import { broker } from '@tributary/protocol'
import { addConnectionOptions, openClient, type ConnectionFlags } from './connection.js'
import { tidyErrors } from './tool-errors.js'
import { line, type ToolIo } from './tool-io.js'

/** The RPC names of BrokerService, in the service's order (from the generated definition). */
export function brokerRpcNames(): string[] {
  return Object.values(broker.BrokerServiceService).map((m) => m.path.slice(m.path.lastIndexOf('/') + 1))
}

export function formatBrokerApiVersions(b: BrokerInfo, rpcs: readonly string[]): string[] {
  const entries = rpcs.map((name, key) => `\t${name}(${key}): 0 [usable: 0]`)
  return [`${b.host}:${b.port} (id: ${b.nodeId} rack: ${b.rack ?? 'null'}) -> (`, entries.join(',\n'), ')']
}

/** The @tributary/cli package's version (dist/tools and src/tools both sit two levels below it). */
export function tributaryVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version
  } catch {
    // Fall through: a missing package.json only loses the version string.
  }
  return 'unknown'
}

export interface BrokerApiVersionsFlags extends ConnectionFlags {
  readonly version?: boolean
}

export async function runBrokerApiVersions(flags: BrokerApiVersionsFlags, io: ToolIo): Promise<void> {
  if (flags.version === true) {
    line(io.stdout, `${tributaryVersion()} (Tributary)`)
    return
  }
  const { cluster, close } = await openClient(flags, io, 'trib-broker-api-versions')
  try {
    const rpcs = brokerRpcNames()
    for (const b of [...cluster.brokers].sort((x, y) => x.nodeId - y.nodeId)) for (const text of formatBrokerApiVersions(b, rpcs)) line(io.stdout, text)
  } finally {
    await close()
  }
}

export function brokerApiVersionsCommand(io: ToolIo): Command {
  const cmd = new Command('broker-api-versions')
    .description('Print the RPCs each broker serves (kafka-broker-api-versions); --version prints the Tributary version.')
    .option('--version', 'Display Tributary version.')
    .addHelpText('after', `
Examples:
  trib broker-api-versions --bootstrap-server localhost:9092 --version
  trib broker-api-versions --bootstrap-server localhost:9092`)
  addConnectionOptions(cmd)
  cmd.action((flags: BrokerApiVersionsFlags) => tidyErrors(runBrokerApiVersions(flags, io)))
  return cmd
}
