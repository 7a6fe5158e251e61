/**
 * Whole-request error responses for controller commands (NOT_CONTROLLER with a leader hint,
 * REQUEST_TIMED_OUT, ...), shaped as each command's own response so callers handle one type.
 * Per-topic results repeat the error, as Kafka's controller does, so a client that only reads
 * per-topic codes still sees it.
 */
import { errorInfo, type NodeId } from '@tributary/protocol'
import type { ControllerCommand, ControllerResponse } from './types.js'

/** The wire's "no controller known". */
export const NO_CONTROLLER_ID = -1

export function errorResponse(command: ControllerCommand, errorCode: number, errorMessage: string | undefined, leaderId: NodeId | null): ControllerResponse {
  const message = errorMessage ?? errorInfo(errorCode).message
  const controllerId = leaderId ?? NO_CONTROLLER_ID
  switch (command.type) {
    case 'register_broker':
      return { type: 'register_broker', response: { errorCode, errorMessage: message, brokerEpoch: -1n, controllerId } }
    case 'broker_heartbeat':
      return {
        type: 'broker_heartbeat',
        response: { errorCode, errorMessage: message, isCaughtUp: false, isFenced: true, shouldShutDown: false, controllerId },
      }
    case 'create_topics':
      return {
        type: 'create_topics',
        response: {
          errorCode,
          errorMessage: message,
          controllerId,
          topics: command.request.topics.map((t) => ({
            name: t.name, topicId: '', errorCode, errorMessage: message, numPartitions: -1, replicationFactor: -1,
          })),
        },
      }
    case 'delete_topics':
      return {
        type: 'delete_topics',
        response: { errorCode, errorMessage: message, controllerId, topics: command.request.names.map((name) => ({ name, errorCode, errorMessage: message })) },
      }
    case 'create_partitions':
      return {
        type: 'create_partitions',
        response: { errorCode, errorMessage: message, controllerId, topics: command.request.topics.map((t) => ({ name: t.name, errorCode, errorMessage: message })) },
      }
    case 'alter_partition':
      return {
        type: 'alter_partition',
        response: {
          errorCode, errorMessage: message, controllerId,
          topics: command.request.topics.map((t) => ({
            topicId: t.topicId,
            partitions: t.partitions.map((p) => ({ partitionId: p.partitionId, errorCode, errorMessage: message, leaderId: -1, leaderEpoch: -1, isr: [], partitionEpoch: -1 })),
          })),
        },
      }
    case 'elect_leaders':
      return {
        type: 'elect_leaders',
        response: {
          errorCode, errorMessage: message, controllerId,
          topics: command.request.topicPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage: message })) })),
        },
      }
    case 'allocate_producer_ids':
      return { type: 'allocate_producer_ids', response: { errorCode, errorMessage: message, producerIdStart: -1n, producerIdLen: 0, controllerId } }
    case 'alter_configs':
      return {
        type: 'alter_configs',
        response: { errorCode, errorMessage: message, controllerId, results: command.request.resources.map((r) => ({ topic: r.topic, errorCode, errorMessage: message })) },
      }
  }
}
