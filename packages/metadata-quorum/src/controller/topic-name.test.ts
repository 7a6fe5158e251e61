import { describe, expect, it } from 'vitest'
import { TOPIC_NAME_LENGTH_MAX, topicCollisionKey, topicNameError } from './topic-name.js'

describe('topic names', () => {
  it.each(['a', 'orders', 'my.topic_v-2', '__consumer_offsets', 'x'.repeat(TOPIC_NAME_LENGTH_MAX), '...'])('accepts %s', (name) => {
    expect(topicNameError(name)).toBeNull()
  })

  it.each([
    ['', "Topic name is illegal, it can't be empty"],
    ['.', 'Topic name cannot be "." or ".."'],
    ['..', 'Topic name cannot be "." or ".."'],
    ['x'.repeat(250), `Topic name is illegal, it can't be longer than 249 characters, topic name: ${'x'.repeat(250)}`],
    ['a b', `Topic name "a b" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`],
    ['héllo', `Topic name "héllo" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`],
    ['a/b', `Topic name "a/b" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`],
  ])('refuses %j with Kafka\'s message', (name, message) => {
    expect(topicNameError(name)).toBe(message)
  })

  it("maps names that differ only by '.' and '_' to one key", () => {
    expect(topicCollisionKey('a.b_c')).toBe(topicCollisionKey('a_b.c'))
    expect(topicCollisionKey('a.b')).not.toBe(topicCollisionKey('a-b'))
  })
})
