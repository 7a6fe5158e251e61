/**
 * A metadata snapshot is the image written out as records (Kafka's image writers), encoded
 * as one MetadataRecordBatch. Replaying those records onto EMPTY rebuilds the image, so
 * snapshots need no second schema.
 *
 * Canonical order, so that equal images give identical bytes: brokers by id (each a
 * RegisterBrokerRecord carrying its fenced flag), then topics by name (TopicRecord, then
 * its PartitionRecords by id), then topic configs by topic name and key, then broker
 * configs by resource name and key, then one ProducerIdsRecord if any id was handed out.
 * Configs come after all topics so a replay never sees a config before its topic.
 */
import { metadata } from '@tributary/protocol'
import { MetadataImage } from './metadata-image.js'
import { decodeMetadataRecordBatch, encodeMetadataRecordBatch } from './metadata-record-codec.js'

export function imageToSnapshotRecords(image: MetadataImage): metadata.MetadataRecord[] {
  const records: metadata.MetadataRecord[] = []
  for (const id of [...image.brokers.keys()].sort((a, b) => a - b)) {
    const b = image.brokers.get(id)!
    records.push({
      record: {
        $case: 'registerBroker',
        value: {
          brokerId: b.brokerId,
          brokerEpoch: b.brokerEpoch,
          incarnationId: b.incarnationId,
          endpoints: b.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
          rack: b.rack,
          fenced: b.fenced,
        },
      },
    })
  }
  for (const name of [...image.topicsByName.keys()].sort()) {
    const t = image.topicsByName.get(name)!
    records.push({ record: { $case: 'topic', value: { name: t.name, topicId: t.topicId } } })
    for (let p = 0; p < t.partitions.size; p++) {
      const r = t.partitions.get(p)!
      records.push({
        record: {
          $case: 'partition',
          value: {
            topicId: t.topicId,
            partitionId: p,
            replicas: r.replicas.slice(),
            isr: r.isr.slice(),
            leader: r.leader,
            leaderEpoch: r.leaderEpoch,
            partitionEpoch: r.partitionEpoch,
          },
        },
      })
    }
  }
  const configs = (resourceType: metadata.ConfigRecord_ResourceType, all: ReadonlyMap<string, ReadonlyMap<string, string>>): void => {
    for (const resourceName of [...all.keys()].sort()) {
      const kv = all.get(resourceName)!
      for (const name of [...kv.keys()].sort()) {
        records.push({ record: { $case: 'config', value: { resourceType, resourceName, name, value: kv.get(name) } } })
      }
    }
  }
  configs(metadata.ConfigRecord_ResourceType.TOPIC, image.topicConfigs)
  configs(metadata.ConfigRecord_ResourceType.BROKER, image.brokerConfigs)
  if (image.nextProducerId > 0n) {
    // The image keeps only the next id; which broker took the last block is not state.
    records.push({ record: { $case: 'producerIds', value: { brokerId: -1, brokerEpoch: -1n, nextProducerId: image.nextProducerId } } })
  }
  return records
}

export function imageToSnapshotData(image: MetadataImage): Uint8Array {
  return encodeMetadataRecordBatch(imageToSnapshotRecords(image))
}

/**
 * The image a snapshot holds. `offset` is the last offset the snapshot covers
 * (SnapshotId.endOffset - 1). Corrupt bytes throw a CORRUPT_MESSAGE TributaryError.
 */
export function imageFromSnapshotData(bytes: Uint8Array, offset: number): MetadataImage {
  return MetadataImage.EMPTY.replay(decodeMetadataRecordBatch(bytes), offset)
}
