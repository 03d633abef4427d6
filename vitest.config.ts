import { defineConfig } from 'vitest/config';

// Integration and e2e tests use real Postgres/Redis and child processes; each test file
// creates its own database / key prefix, so files run in parallel safely.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
