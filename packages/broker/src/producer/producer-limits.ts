// Named limits and defaults for idempotent-producer state (packages/broker/src/producer).

/**
 * Batches remembered per producer. Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: a
 * client keeps at most max.in.flight.requests.per.connection = 5 batches in flight per
 * partition with idempotence on, so a retry is always among the last 5 appended batches.
 */
export const PRODUCER_BATCHES_RETAINED = 5

/** Kafka's producer.id.expiration.ms default (1 day): a producer idle this long is forgotten. */
export const PRODUCER_ID_EXPIRATION_MS_DEFAULT = 86_400_000

/**
 * Producers tracked per partition. Kafka has no such bound; we keep one so a storm of
 * short-lived producer ids cannot grow memory without limit. Past it, the producer that
 * appended least recently is evicted (it becomes unknown, see ProducerStateManager).
 */
export const PRODUCERS_MAX_DEFAULT = 100_000
