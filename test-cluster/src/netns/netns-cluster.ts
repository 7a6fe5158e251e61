/**
 * NetnsCluster: a BrokerCluster (real `trib server` processes, combined mode) whose nodes
 * each run in a network namespace of their own (NetnsTopology), so links between nodes can
 * be cut and healed (issue 6's partition faults). Node n binds and advertises its listeners
 * on topology.addressOf(n); the test process, in the root namespace, reaches every node
 * through that node's root link, which partitions never touch, so a test can still watch an
 * isolated node.
 *
 * Everything about processes, clients and waits is the BrokerCluster's (`brokers`); this class
 * adds the partition operations and tears the network down after the processes.
 */
import { BrokerCluster, type BrokerClusterOptions } from '../broker-cluster.ts'
import { netnsAvailable } from './net-command-runner.ts'
import { NetnsTopology } from './netns-topology.ts'

export type NetnsClusterOptions = Omit<BrokerClusterOptions, 'network'>

export class NetnsCluster {
  readonly brokers: BrokerCluster
  readonly net: NetnsTopology

  private constructor(brokers: BrokerCluster, net: NetnsTopology) {
    this.brokers = brokers
    this.net = net
  }

  /**
   * Builds the namespaces, then starts the nodes in them and waits until every broker is
   * registered and unfenced. Throws (with the reason) where netnsAvailable() is not ok.
   */
  static async start(options: NetnsClusterOptions = {}): Promise<NetnsCluster> {
    const available = await netnsAvailable()
    if (!available.ok) throw new Error(available.reason)
    const net = await NetnsTopology.create(options.size ?? 3)
    let brokers: BrokerCluster
    try {
      brokers = await BrokerCluster.start({
        dirPrefix: 'trib-netns-',
        ...options,
        network: { hostOf: (id) => net.addressOf(id), commandPrefix: (id) => net.execPrefix(id) },
      })
    } catch (err) {
      await net.destroy()
      throw err
    }
    return new NetnsCluster(brokers, net)
  }

  get ids(): number[] {
    return this.brokers.ids
  }

  /** Every node's broker address (host:port on the node's own address): a client's bootstrap list. */
  bootstrap(): string[] {
    return this.brokers.bootstrap()
  }

  addressOf(id: number): string {
    return this.net.addressOf(id)
  }

  // ---- partitions (NetnsTopology's) -----------------------------------------------------

  /** Drops all traffic between nodes a and b, both ways. */
  cut(a: number, b: number): Promise<void> {
    return this.net.cut(a, b)
  }

  heal(a: number, b: number): Promise<void> {
    return this.net.heal(a, b)
  }

  /** Cuts node n from every other node (the test still reaches it). */
  isolate(id: number): Promise<void> {
    return this.net.isolate(id)
  }

  /** Cuts every link between `side` and the other nodes. */
  partition(side: readonly number[]): Promise<void> {
    return this.net.partition(side)
  }

  /**
   * Cuts node n off from the test process and its clients (the root namespace); its peer links
   * stay. While it lasts, BrokerCluster waits that ask every live node time out on it: give
   * them `on: <the other nodes>`.
   */
  cutRoot(id: number): Promise<void> {
    return this.net.cutRoot(id)
  }

  healRoot(id: number): Promise<void> {
    return this.net.healRoot(id)
  }

  /** Heals every cut, root links included. */
  healAll(): Promise<void> {
    return this.net.healAll()
  }

  isConnected(a: number, b: number): boolean {
    return this.net.isConnected(a, b)
  }

  dump(): string {
    const cuts = [...this.net.cuts().map(([a, b]) => `${a}-${b}`), ...this.ids.filter((id) => !this.net.isRootConnected(id)).map((id) => `${id}-test`)]
    return `netns run ${this.net.runId}, cut links: ${cuts.length === 0 ? 'none' : cuts.join(', ')}\n${this.brokers.dump()}`
  }

  /** Stops every process (BrokerCluster.close), then removes the namespaces. */
  async close(options: { keepDirs?: boolean } = {}): Promise<void> {
    try {
      await this.brokers.close(options)
    } finally {
      await this.net.destroy()
    }
  }
}
