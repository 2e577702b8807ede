/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Integration tests share one Redis; they isolate by key prefix, so parallel workers are fine.
  maxWorkers: 2,
  testTimeout: 30000,
  // TEST_REDIS_CLUSTER=1: the suite on a local Redis Cluster (test/support/cluster-global-setup.ts).
  globalSetup: '<rootDir>/test/support/cluster-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/cluster-global-teardown.ts',
  // The default reporter drops the console output of a file whose tests were all skipped; this one
  // prints their "SKIPPED: …" line (the browser tests without Chromium) at the end.
  reporters: ['default', '<rootDir>/test/support/skipped-suites-reporter.js'],
};
