import { describe, expect, it } from 'vitest'
import type { ConsumerRecord } from '@tributary/client'
import { formatRecord, formatterConfig } from './record-formatter.js'

const record: ConsumerRecord = { topic: 't', partition: 2, offset: 41n, timestamp: 1700000000000n, key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') }] }
const config = (pairs: Record<string, string>) => formatterConfig(new Map(Object.entries(pairs)), [])

describe('formatRecord', () => {
  it('prints the value alone by default', () => {
    expect(formatRecord(record, config({}))).toBe('v1\n')
    expect(formatRecord({ ...record, value: null }, config({}))).toBe('null\n')
  })

  it("prints Kafka's columns in Kafka's order with the key separator", () => {
    const all = config({ 'print.timestamp': 'true', 'print.partition': 'true', 'print.offset': 'true', 'print.headers': 'true', 'print.key': 'true', 'key.separator': ':' })
    expect(formatRecord(record, all)).toBe('CreateTime:1700000000000:Partition:2:Offset:41:h:x:k1:v1\n')
    expect(formatRecord({ ...record, key: null }, config({ 'print.key': 'true' }))).toBe('null\tv1\n')
    expect(formatRecord(record, config({ 'print.key': 'true', 'print.value': 'false', 'key.separator': '\\t' }))).toBe('k1\n')
  })

  it('warns about unknown properties and refuses bad booleans', () => {
    const warnings: string[] = []
    formatterConfig(new Map([['print.colour', 'true']]), warnings)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^WARN --property 'print.colour' is not used by the console consumer/)
    expect(() => config({ 'print.key': 'yes' })).toThrow("--property print.key must be true or false, got 'yes'")
  })
})
