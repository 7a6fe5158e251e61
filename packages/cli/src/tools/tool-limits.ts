/** Every bound of the Kafka tools (packages/cli/src/tools), in one place. */
export const TOOL_LIMITS = {
  /** How long a tool waits for the first broker answer before it says the cluster is unreachable. */
  connectTimeoutMs: 5000,
  /** How long closing the client may wait for calls in flight when a tool ends. */
  closeTimeoutMs: 10_000,
  /**
   * After --alter / --delete, how long kafka-topics waits for the brokers' metadata to show the
   * change (the controller has committed it; brokers apply it a moment later), so a --describe
   * or --list right after sees it. Past it the tool ends anyway (the change is made).
   */
  metadataPropagationWaitMs: 10_000,
  metadataPollMs: 100,
  /** Console producer: sends awaiting their acknowledgement before the next line is read. */
  producerPendingSendsMax: 1000,
} as const

export { DEFAULT_BOOTSTRAP_SERVER, DEFAULT_BOOTSTRAP_SERVERS } from '../cluster/cluster-defaults.js'
