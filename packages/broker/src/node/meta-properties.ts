/**
 * <logDir>/meta.properties: which node and which cluster a log dir belongs to (Kafka writes
 * it with `kafka-storage format`; we write it on the first start instead, the smooth path
 * for local clusters). Kafka's format: `key=value` lines, with version=1, cluster.id and
 * node.id.
 *
 * Rules (Kafka's MetaPropertiesEnsemble checks, simplified to one log dir):
 * - a dir whose meta.properties names another node.id is refused: it holds another node's
 *   data, and serving it as ours would mix two replicas' logs;
 * - a configured cluster.id that differs from the stored one is refused (INCONSISTENT_CLUSTER_ID);
 * - without a configured cluster.id the stored one is kept, and on a first start one is
 *   derived from controller.quorum.voters, so every node of a cluster agrees without
 *   coordination (clusterIdFromVoters).
 * The file is written durably (replaceFileDurably: write, fsync, rename, fsync the dir).
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { nodeSyncOps, replaceFileDurably, type VoterAddress } from '@tributary/metadata-quorum'
import type { NodeId } from '@tributary/protocol'

export const META_PROPERTIES_FILE = 'meta.properties'

/** The stored identity disagrees with the configuration. */
export class MetaPropertiesError extends Error {
  constructor(
    /** The config key to blame. */
    readonly key: 'node.id' | 'cluster.id' | 'log.dirs',
    message: string,
  ) {
    super(message)
    this.name = 'MetaPropertiesError'
  }
}

export interface MetaProperties {
  readonly clusterId: string
  readonly nodeId: NodeId
}

/**
 * A Kafka-shaped cluster id (22 base64url characters: 16 bytes) derived from the voters, so
 * every node configured with the same controller.quorum.voters gets the same id.
 */
export function clusterIdFromVoters(voters: readonly VoterAddress[]): string {
  const canonical = [...voters].sort((a, b) => a.id - b.id).map((v) => `${v.id}@${v.host}:${v.port}`).join(',')
  return createHash('sha256').update(`tributary-cluster:${canonical}`).digest().subarray(0, 16).toString('base64url')
}

export function parseMetaProperties(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return out
}

export function formatMetaProperties(meta: MetaProperties): string {
  return `#\n#${new Date().toUTCString()}\ncluster.id=${meta.clusterId}\nnode.id=${meta.nodeId}\nversion=1\n`
}

/**
 * Reads <logDir>/meta.properties, checks it against the configuration, writes it if missing;
 * returns the cluster id to use. Throws MetaPropertiesError on a mismatch. The caller holds
 * the log dir's lock.
 */
export async function ensureMetaProperties(logDir: string, nodeId: NodeId, configuredClusterId: string | null, voters: readonly VoterAddress[]): Promise<MetaProperties> {
  const path = join(logDir, META_PROPERTIES_FILE)
  let text: string | null = null
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (text !== null) {
    const props = parseMetaProperties(text)
    const storedNode = props.get('node.id')
    const storedCluster = props.get('cluster.id')
    if (storedNode === undefined || storedCluster === undefined || storedCluster === '') {
      throw new MetaPropertiesError('log.dirs', `${path} is missing node.id or cluster.id; fix or remove it`)
    }
    if (storedNode !== String(nodeId)) {
      throw new MetaPropertiesError('node.id', `node.id ${nodeId} does not match node.id ${storedNode} in ${path}: the log dir belongs to another node`)
    }
    if (configuredClusterId !== null && configuredClusterId !== storedCluster) {
      throw new MetaPropertiesError('cluster.id', `cluster.id ${configuredClusterId} does not match cluster.id ${storedCluster} in ${path}`)
    }
    return { clusterId: storedCluster, nodeId }
  }
  const meta: MetaProperties = { clusterId: configuredClusterId ?? clusterIdFromVoters(voters), nodeId }
  await replaceFileDurably(path, logDir, new TextEncoder().encode(formatMetaProperties(meta)), nodeSyncOps)
  return meta
}
