/**
 * kafka-topics' --describe text (TopicCommand's TopicDescription and PartitionDescription),
 * pure: a header line per topic, then one TAB-indented line per partition.
 */
import type { TopicDescription, TopicConfigs } from '@tributary/client'

export interface DescribeFilter {
  /** --under-replicated-partitions: only partitions whose ISR is smaller than their replicas. */
  readonly underReplicated?: boolean
  /** --unavailable-partitions: only partitions without a leader. */
  readonly unavailable?: boolean
}

/** `Configs:` lists only what the topic sets (Kafka shows the dynamic topic configs, not defaults). */
export function configsText(configs: TopicConfigs | undefined): string {
  return (configs?.entries ?? []).filter((e) => !e.isDefault).map((e) => `${e.name}=${e.value}`).join(',')
}

export function formatTopicDescription(topic: TopicDescription, configs: TopicConfigs | undefined, filter: DescribeFilter = {}): string[] {
  const partitions = [...topic.partitions].sort((a, b) => a.partition - b.partition)
  const filtered = filter.underReplicated === true || filter.unavailable === true
  const shown = partitions.filter((p) => (filter.underReplicated !== true || p.isr.length < p.replicas.length) && (filter.unavailable !== true || p.leader < 0))
  const lines: string[] = []
  // As Kafka: with a partition filter only the matching partitions are printed, without the header.
  if (!filtered) {
    const replicationFactor = partitions[0]?.replicas.length ?? 0
    lines.push(`Topic: ${topic.name}\tTopicId: ${topic.topicId}\tPartitionCount: ${partitions.length}\tReplicationFactor: ${replicationFactor}\tConfigs: ${configsText(configs)}`)
  }
  for (const p of shown) {
    const leader = p.leader >= 0 ? String(p.leader) : 'none'
    lines.push(`\tTopic: ${topic.name}\tPartition: ${p.partition}\tLeader: ${leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`)
  }
  return lines
}
