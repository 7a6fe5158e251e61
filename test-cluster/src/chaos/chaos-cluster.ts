/**
 * ChaosCluster: what the chaos runner needs from a cluster it injects faults into, whatever
 * runs the nodes: the multi-process harness on loopback (local-chaos-cluster.ts), the same
 * with one network namespace per node (netns), or a running `npm start` cluster controlled
 * through `trib cluster` (trib-chaos-cluster.ts).
 *
 * Node ids are the cluster's node.id values. "Up" means the process exists (it may be
 * paused); every method that changes a process waits until the change happened (killed
 * means exited, started means serving).
 */

/** One partition as the freshest metadata view has it. */
export interface PartitionView {
  readonly partition: number
  /** -1 while leaderless. */
  readonly leader: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
}

/** Link faults between nodes (network namespaces); client traffic is never cut. */
export interface NetworkFaults {
  cut(a: number, b: number): Promise<void>
  heal(a: number, b: number): Promise<void>
  /** Cuts every link between `id` and the other nodes. */
  isolate(id: number): Promise<void>
  healAll(): Promise<void>
}

export interface ChaosCluster {
  /** 'local', 'netns' or 'bootstrap': printed with the summary. */
  readonly kind: string
  readonly ids: readonly number[]
  /** The nodes' broker.session.timeout.ms: a pause fault lasts longer than this. */
  readonly sessionTimeoutMs: number
  /** Broker addresses for clients. */
  bootstrap(): string[]
  /** The node's log.dirs directory (partition directories inside). */
  dataDir(id: number): string
  isUp(id: number): boolean
  isPaused(id: number): boolean
  /** Signals the node and waits until it has exited. */
  kill(id: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>
  /** Starts a stopped node with the same id and directory; waits until it serves. */
  start(id: number): Promise<void>
  pause(id: number): Promise<void>
  resume(id: number): Promise<void>
  /** The active controller (Raft leader) as the nodes report it now, or null. */
  activeController(): Promise<number | null>
  /** The topic's partitions as the freshest view has them (empty when no node answers). */
  partitions(topic: string): Promise<PartitionView[]>
  /** Waits until every node is up, unpaused and listed as an unfenced broker. */
  waitWhole(timeoutMs: number): Promise<void>
  /** Network faults, or null with the reason they are unavailable. */
  readonly network: NetworkFaults | null
  readonly networkUnavailableReason: string | null
  /** Creates the workload topic and waits until every partition has a leader. */
  createTopic(name: string, partitions: number, replicationFactor: number, configs: Readonly<Record<string, string>>): Promise<void>
  /** Process output, for a failure report. */
  dump(): string
  /** Stops every node (SIGTERM, for clean images of the data dirs); nodes already down stay down. */
  stopAll(): Promise<void>
  /** Releases everything the runner started (a fresh cluster is killed; its dirs are kept when keepDirs). */
  close(options: { keepDirs: boolean }): Promise<void>
}
