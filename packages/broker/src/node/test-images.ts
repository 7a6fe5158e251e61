/**
 * Small metadata images for the node shell's tests: brokers and one topic, built by replaying
 * records as the controller writes them. Test-only (not exported, not built).
 */
import { MetadataImage } from '@tributary/metadata-quorum'
import type { metadata } from '@tributary/protocol'

export const TOPIC_ID = 'ordersAAAAAAAAAAAAAAAA'

export function register(brokerId: number, brokerEpoch: bigint, fenced = false): metadata.MetadataRecord {
  return {
    record: {
      $case: 'registerBroker',
      value: { brokerId, brokerEpoch, incarnationId: `inc-${brokerId}`, endpoints: [{ name: 'PLAINTEXT', host: 'h', port: 9090 + brokerId }], rack: '', fenced },
    },
  }
}

export function fence(brokerId: number, brokerEpoch: bigint): metadata.MetadataRecord {
  return { record: { $case: 'fenceBroker', value: { brokerId, brokerEpoch } } }
}

export function topic(name = 'orders', topicId = TOPIC_ID): metadata.MetadataRecord {
  return { record: { $case: 'topic', value: { name, topicId } } }
}

export function partition(partitionId: number, replicas: number[], leader = replicas[0]!, topicId = TOPIC_ID): metadata.MetadataRecord {
  return { record: { $case: 'partition', value: { topicId, partitionId, replicas, isr: replicas, leader, leaderEpoch: 0, partitionEpoch: 0 } } }
}

export function change(partitionId: number, c: { leader?: number; isr?: number[] }, topicId = TOPIC_ID): metadata.MetadataRecord {
  return {
    record: {
      $case: 'partitionChange',
      value: { topicId, partitionId, leader: c.leader, isr: c.isr ?? [], isrSet: c.isr !== undefined, replicas: [], replicasSet: false },
    },
  }
}

/** Brokers 1-3 unfenced (epochs 1-3) and `orders` with partitions led by 1, 2 and 3. */
export function threeBrokers(): MetadataImage {
  return MetadataImage.EMPTY.replay(
    [register(1, 1n), register(2, 2n), register(3, 3n), topic(), partition(0, [1, 2, 3]), partition(1, [2, 3, 1]), partition(2, [3, 1, 2])],
    5,
  )
}
