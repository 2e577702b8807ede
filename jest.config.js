/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Integration tests share one Redis; they isolate by key prefix, so parallel workers are fine.
  maxWorkers: 2,
  testTimeout: 30000,
};
