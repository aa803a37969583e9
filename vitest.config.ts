import { defineConfig } from 'vitest/config'

// Pure-module tests run in threads; tests that open sockets and spawn the proxy run in forks so a stuck
// socket or worker thread cannot leak into another file; the data-phase ones run twice, once per relay.
export default defineConfig({
  test: {
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      // the pure codecs and the config are held to 95% (pino's gate); relay/pool run mostly inside
      // worker threads and child processes, which v8 coverage of the test process does not see
      thresholds: {
        'src/hello/**': { lines: 95, branches: 90 },
        'src/routes/**': { lines: 95, branches: 90 },
        'src/config/**': { lines: 95, branches: 85 },
      },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/property/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // the data-phase tests again with the JavaScript relay forced: both relays stay tested (the
        // project above runs the native splice relay wherever `npm run build` could compile it)
        test: {
          name: 'integration-js',
          include: [
            'test/integration/relay.test.ts',
            'test/integration/relay-early.test.ts',
            'test/integration/limits.test.ts',
            'test/integration/splice.test.ts',
          ],
          env: { HELLOGATE_RELAY: 'js' },
          pool: 'forks',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // and with Node opening the origin connections (HELLOGATE_ORIGIN_DIAL=js) while the splice relay
        // runs: the origin net.Socket whose data phase is handed over after SPLICE_AFTER_BYTES, and the
        // path every host-name origin takes
        test: {
          name: 'integration-node-dial',
          include: [
            'test/integration/relay.test.ts',
            'test/integration/relay-early.test.ts',
            'test/integration/splice.test.ts',
          ],
          env: { HELLOGATE_ORIGIN_DIAL: 'js' },
          pool: 'forks',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
})
