import { describe, expect, it } from 'vitest'
import { formatOffsetLine, parsePartitionList, parseTimeSpec, topicMatcher } from './get-offsets-args.js'
import { checkRunClass } from './run-class-command.js'
import { tidyMessage } from './tool-errors.js'

describe('GetOffsetShell arguments', () => {
  it('reads partition lists and ranges', () => {
    expect(parsePartitionList('0,1')).toEqual([0, 1])
    expect(parsePartitionList('3, 0-2,1')).toEqual([0, 1, 2, 3])
    expect(() => parsePartitionList('a')).toThrow("--partitions: 'a' is not a partition number or range")
    expect(() => parsePartitionList('2-1')).toThrow('empty range')
  })

  it('reads --time as Kafka does', () => {
    expect(parseTimeSpec('-1')).toBe('latest')
    expect(parseTimeSpec('latest')).toBe('latest')
    expect(parseTimeSpec('-2')).toBe('earliest')
    expect(parseTimeSpec('1700000000000')).toBe(1700000000000n)
    expect(() => parseTimeSpec('-3')).toThrow('not supported')
    expect(() => parseTimeSpec('yesterday')).toThrow("--time must be -1 (latest), -2 (earliest) or a timestamp in ms, got 'yesterday'")
  })

  it('matches --topic as a name or a whole-name regular expression', () => {
    expect(topicMatcher('my-topic-name')('my-topic-name')).toBe(true)
    expect(topicMatcher('my-topic')('my-topic-name')).toBe(false)
    expect(topicMatcher('orders-.*')('orders-eu')).toBe(true)
    expect(() => topicMatcher('(')).toThrow("--topic '(' is neither a topic name nor a valid regular expression")
  })

  it('prints topic:partition:offset', () => {
    expect(formatOffsetLine('my-topic-name', 2, 42n)).toBe('my-topic-name:2:42')
  })

  it('runs only GetOffsetShell through run-class', () => {
    expect(() => checkRunClass(undefined)).not.toThrow()
    expect(() => checkRunClass('kafka.tools.GetOffsetShell')).not.toThrow()
    expect(() => checkRunClass('org.apache.kafka.tools.GetOffsetShell')).not.toThrow()
    expect(() => checkRunClass('kafka.admin.TopicCommand')).toThrow("run-class runs only kafka.tools.GetOffsetShell (trib get-offsets), not 'kafka.admin.TopicCommand'")
  })
})

describe('tidyMessage', () => {
  it("drops grpc-js's noise from a connection failure", () => {
    expect(tidyMessage('listOffsets chaos timed out after 33 attempt(s); last: ListOffsets at localhost:12192: gRPC UNAVAILABLE (No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:12192. Resolution note: )')).toBe(
      'listOffsets chaos timed out after 33 attempt(s); last: ListOffsets at localhost:12192: gRPC UNAVAILABLE (No connection established. Last error: connect ECONNREFUSED 127.0.0.1:12192)',
    )
    expect(tidyMessage("Topic 'x' does not exist")).toBe("Topic 'x' does not exist")
  })
})
