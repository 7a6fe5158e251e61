import { describe, expect, it } from 'vitest'
import { foldLines, oneLine } from './cli-error.js'

describe('oneLine', () => {
  it('folds newlines and drops grpc-js\'s empty "Resolution note:" trailer', () => {
    const grpcMessage = '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1 (2025-01-01T00:00:00.000Z). Resolution note: '
    expect(oneLine(new Error(grpcMessage))).toBe('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1 (2025-01-01T00:00:00.000Z)')
    expect(foldLines("error: unknown option '--overide'\n(Did you mean --override?)\n")).toBe("error: unknown option '--overide' (Did you mean --override?)")
  })

  it('keeps a resolution note that says something', () => {
    expect(foldLines('No addresses resolved. Resolution note: DNS lookup failed')).toBe('No addresses resolved. Resolution note: DNS lookup failed')
  })
})
