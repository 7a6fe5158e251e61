/**
 * Record builders for tests of the image, the snapshot codec and the controller. Test-only
 * (not exported from the package): keeps tests readable as stories of records.
 */
import { NO_NODE, type metadata } from '@tributary/protocol'

type Rec = metadata.MetadataRecord

export function registerBroker(brokerId: number, brokerEpoch: bigint, opts: { fenced?: boolean; incarnationId?: string; rack?: string } = {}): Rec {
  return {
    record: {
      $case: 'registerBroker',
      value: {
        brokerId,
        brokerEpoch,
        incarnationId: opts.incarnationId ?? `inc-${brokerId}-${brokerEpoch}`,
        endpoints: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 + brokerId }],
        rack: opts.rack ?? '',
        fenced: opts.fenced ?? false,
      },
    },
  }
}

export function fenceBroker(brokerId: number, brokerEpoch: bigint): Rec {
  return { record: { $case: 'fenceBroker', value: { brokerId, brokerEpoch } } }
}

export function unfenceBroker(brokerId: number, brokerEpoch: bigint): Rec {
  return { record: { $case: 'unfenceBroker', value: { brokerId, brokerEpoch } } }
}

export function topic(name: string, topicId: string): Rec {
  return { record: { $case: 'topic', value: { name, topicId } } }
}

export function partition(topicId: string, partitionId: number, replicas: number[], opts: { isr?: number[]; leader?: number; leaderEpoch?: number; partitionEpoch?: number } = {}): Rec {
  return {
    record: {
      $case: 'partition',
      value: {
        topicId,
        partitionId,
        replicas,
        isr: opts.isr ?? replicas,
        leader: opts.leader ?? replicas[0] ?? NO_NODE,
        leaderEpoch: opts.leaderEpoch ?? 0,
        partitionEpoch: opts.partitionEpoch ?? 0,
      },
    },
  }
}

export function partitionChange(topicId: string, partitionId: number, change: { leader?: number; isr?: number[]; replicas?: number[] }): Rec {
  return {
    record: {
      $case: 'partitionChange',
      value: {
        topicId,
        partitionId,
        leader: change.leader,
        isr: change.isr ?? [],
        isrSet: change.isr !== undefined,
        replicas: change.replicas ?? [],
        replicasSet: change.replicas !== undefined,
      },
    },
  }
}

export function removeTopic(topicId: string): Rec {
  return { record: { $case: 'removeTopic', value: { topicId } } }
}

export function topicConfig(topicName: string, name: string, value: string | undefined): Rec {
  return { record: { $case: 'config', value: { resourceType: 2, resourceName: topicName, name, value } } }
}

export function brokerConfig(resourceName: string, name: string, value: string | undefined): Rec {
  return { record: { $case: 'config', value: { resourceType: 4, resourceName, name, value } } }
}

export function producerIds(nextProducerId: bigint): Rec {
  return { record: { $case: 'producerIds', value: { brokerId: 1, brokerEpoch: 1n, nextProducerId } } }
}

/** A 22-character base64url topic id made from a small number, for readable tests. */
export function tid(n: number): string {
  return `topic${String(n).padStart(17, '0')}`
}
