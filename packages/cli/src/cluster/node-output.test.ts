import { describe, expect, it } from 'vitest'
import { formatNodeLine, nodeColor, nodeTag, type Paint } from './node-output.js'

describe('node output', () => {
  it('replaces the tag the server printed with the launcher\'s own, once', () => {
    expect(formatNodeLine(2, 3, '[node 2] became leader in epoch 3')).toBe('[node 2] became leader in epoch 3')
    expect(formatNodeLine(2, 3, 'trib server: [node 2] stopped: disk full')).toBe('[node 2] trib server: stopped: disk full')
  })

  it('keeps another node\'s tag and untagged lines', () => {
    expect(formatNodeLine(1, 3, 'following leader 3 in epoch 1')).toBe('[node 1] following leader 3 in epoch 1')
    expect(formatNodeLine(1, 3, '[node 3] says hi')).toBe('[node 1] [node 3] says hi')
  })

  it('pads tags to the widest id so the text lines up', () => {
    expect(nodeTag(1, 9)).toBe('[node 1]')
    expect(nodeTag(1, 10)).toBe('[node 1] ')
    expect(formatNodeLine(10, 10, 'x')).toBe('[node 10] x')
    expect(formatNodeLine(9, 10, 'x')).toBe('[node 9]  x')
  })

  it('colors only the tag, one color per node', () => {
    const paint: Paint = (color, text) => `<${color}>${text}</>`
    expect(formatNodeLine(1, 3, '[node 1] started', paint)).toBe('<cyan>[node 1]</> started')
    expect(nodeColor(2)).not.toBe(nodeColor(1))
    expect(nodeColor(7)).toBe(nodeColor(1))
  })
})
