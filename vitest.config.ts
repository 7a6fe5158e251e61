import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

const src = (pkg: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources, so a test never sees a stale dist/.
    alias: {
      '@tributary/protocol': src('protocol'),
      '@tributary/metadata-quorum': src('metadata-quorum'),
      '@tributary/broker': src('broker'),
      '@tributary/client': src('client'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test-cluster/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
