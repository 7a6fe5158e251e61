export * from './raft/types.js'
export * from './util/assert.js'
export * from './util/random.js'
export * from './util/logger.js'
