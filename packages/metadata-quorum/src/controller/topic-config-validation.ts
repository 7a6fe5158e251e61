/**
 * The topic-level config keys Tributary honours (Kafka's names; the broker reads them in
 * packages/broker/src/partition/topic-config.ts) and the values each accepts. The controller
 * checks them on CreateTopics and AlterConfigs (Kafka's ConfigurationControlManager validates
 * against LogConfig the same way), so a bad value is refused with INVALID_CONFIG instead of
 * being stored and ignored by every broker.
 */

/** Kafka's LogConfig.SegmentBytesProp minimum, rounded; the broker judges topic configs with this same rule (topic-config.ts), and its log accepts [64, INT32_MAX]. */
const SEGMENT_BYTES_MIN = 64
const INT32_MAX = 0x7fffffff
const INTEGER = /^-?[0-9]{1,19}$/

interface KeyRule {
  /** What the value must be, for the error message. */
  readonly expected: string
  readonly valid: (n: number) => boolean
}

const RULES: ReadonlyMap<string, KeyRule> = new Map<string, KeyRule>([
  ['segment.bytes', { expected: `an integer in [${SEGMENT_BYTES_MIN}, ${INT32_MAX}]`, valid: (n) => Number.isInteger(n) && n >= SEGMENT_BYTES_MIN && n <= INT32_MAX }],
  ['segment.ms', { expected: 'an integer >= 1', valid: (n) => Number.isSafeInteger(n) && n >= 1 }],
  ['retention.ms', { expected: 'an integer >= -1 (-1: no limit)', valid: (n) => Number.isSafeInteger(n) && n >= -1 }],
  ['retention.bytes', { expected: 'an integer >= -1 (-1: no limit)', valid: (n) => Number.isSafeInteger(n) && n >= -1 }],
  ['max.message.bytes', { expected: `an integer in [0, ${INT32_MAX}]`, valid: (n) => Number.isInteger(n) && n >= 0 && n <= INT32_MAX }],
  ['min.insync.replicas', { expected: `an integer in [1, ${INT32_MAX}]`, valid: (n) => Number.isInteger(n) && n >= 1 && n <= INT32_MAX }],
  // The log cleaner (Kafka's LogConfig; KIP-58 for the lag).
  ['delete.retention.ms', { expected: 'an integer >= 0', valid: (n) => Number.isSafeInteger(n) && n >= 0 }],
  ['min.compaction.lag.ms', { expected: 'an integer >= 0', valid: (n) => Number.isSafeInteger(n) && n >= 0 }],
])

/** Keys whose values are not integers: each with its own parse. */
const TEXT_RULES: ReadonlyMap<string, { readonly expected: string; readonly valid: (text: string) => boolean }> = new Map([
  [
    'cleanup.policy',
    {
      expected: "'delete', 'compact' or 'compact,delete'",
      valid: (text: string) => {
        const parts = text.split(',').map((p) => p.trim())
        return parts.length <= 2 && parts.every((p) => p === 'delete' || p === 'compact') && (parts.length === 1 || parts[0] !== parts[1])
      },
    },
  ],
  ['min.cleanable.dirty.ratio', { expected: 'a number in [0, 1]', valid: (text: string) => /^[0-9]*\.?[0-9]+$/.test(text) && Number(text) >= 0 && Number(text) <= 1 }],
])

/** The keys AlterConfigs accepts and DescribeConfigs reports, sorted. */
export const TOPIC_CONFIG_KEYS: readonly string[] = [...RULES.keys(), ...TEXT_RULES.keys()].sort()

export function isKnownTopicConfig(key: string): boolean {
  return RULES.has(key) || TEXT_RULES.has(key)
}

/**
 * Why `value` is not acceptable for `key`, or null. Unknown keys are not judged here: the
 * controller refuses them first (isKnownTopicConfig), and a broker ignores keys it does not honour.
 */
export function topicConfigValueError(key: string, value: string): string | null {
  if (key.length === 0 || value.length === 0) return `Invalid value '${value}' for configuration '${key}': keys and values must not be empty.`
  const textRule = TEXT_RULES.get(key)
  if (textRule !== undefined) return textRule.valid(value.trim()) ? null : `Invalid value '${value}' for configuration '${key}': must be ${textRule.expected}.`
  const rule = RULES.get(key)
  if (rule === undefined) return null
  const text = value.trim()
  const n = INTEGER.test(text) ? Number(text) : Number.NaN
  return rule.valid(n) ? null : `Invalid value '${value}' for configuration '${key}': must be ${rule.expected}.`
}
