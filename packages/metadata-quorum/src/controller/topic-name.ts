/**
 * Kafka's topic name rules (org.apache.kafka.common.internals.Topic): 1 to 249 characters
 * of ASCII alphanumerics, '.', '_' and '-', and not "." or "..". Messages match Kafka's so
 * tools and users see the same text.
 *
 * '.' and '_' collide in metric names, so Kafka refuses a topic whose name differs from an
 * existing one only by those two characters; `topicCollisionKey` is the name both map to.
 */
export const TOPIC_NAME_LENGTH_MAX = 249

const LEGAL_CHARS = /^[a-zA-Z0-9._-]+$/

/** Why the name is illegal, in Kafka's words, or null if it is legal. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "Topic name is illegal, it can't be empty"
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."'
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_LENGTH_MAX} characters, topic name: ${name}`
  }
  if (!LEGAL_CHARS.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`
  }
  return null
}

export function topicCollisionKey(name: string): string {
  return name.replaceAll('.', '_')
}
