/**
 * The "cluster is up" banner the launcher prints once a controller leader is elected and
 * every broker is unfenced: where to connect, a first command to try, and how to stop or
 * wipe. Pure.
 */
import { NO_PAINT, type Paint } from './node-output.js'

export interface BannerInput {
  readonly nodeCount: number
  readonly leaderId: number
  readonly epoch: number
  readonly bootstrapControllers: string
  /** `localhost:9092,...`: every broker listener; the first is the CLI's default bootstrap. */
  readonly bootstrapServers: string
  /** The first node's controller address, for the command to try. */
  readonly firstController: string
  /** As the user should read it (`./data`). */
  readonly dataDir: string
  /** `npx trib cluster status`, with --data-dir when it is not the default. */
  readonly statusCommand: string
}

/** The CLI tools' default --bootstrap-server. */
const DEFAULT_BOOTSTRAP = 'localhost:9092'

/** The banner's first line; tests and scripts wait for it. */
export const READY_HEADLINE = 'Tributary local cluster is ready'

export function formatReadyBanner(b: BannerInput, paint: Paint = NO_PAINT): string {
  const rule = '-'.repeat(78)
  const row = (key: string, value: string): string => `  ${key.padEnd(22)}${value}`
  const first = b.bootstrapServers.split(',')[0]!
  // The tools default to localhost:9092; name the bootstrap only when it differs (--port-offset).
  const bootstrapFlag = first === DEFAULT_BOOTSTRAP ? '' : ` --bootstrap-server ${first}`
  return [
    rule,
    `${paint('bold', READY_HEADLINE)}: ${b.nodeCount} node${b.nodeCount === 1 ? '' : 's'} (broker + controller), controller leader node ${b.leaderId} in epoch ${b.epoch}`,
    row('bootstrap server:', `${first} (brokers: ${b.bootstrapServers})`),
    row('controller bootstrap:', b.bootstrapControllers),
    row('data and logs:', `${b.dataDir}/node-N (JSON log in node-N/server.log)`),
    row('try:', `npx trib topics${bootstrapFlag} --create --topic my-topic --partitions 3 --replication-factor ${Math.min(3, b.nodeCount)}`),
    row('', `npx trib console-producer${bootstrapFlag} --topic my-topic`),
    row('', `npx trib console-consumer${bootstrapFlag} --topic my-topic --from-beginning`),
    row('', `npx trib metadata-quorum --bootstrap-controller ${b.firstController} describe --status`),
    row('', b.statusCommand),
    row('chaos:', `${b.statusCommand.replace('cluster status', 'cluster kill-leader')}, then ${b.statusCommand.replace('cluster status', 'cluster restart N')}`),
    row('stop:', 'Ctrl-C stops every node; the data stays (start with --clean to wipe it)'),
    rule,
  ].join('\n')
}
