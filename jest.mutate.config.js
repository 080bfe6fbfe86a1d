/**
 * The tests `npm run mutate` (StrykerJS) runs against each mutant of lib/ and hub/: the node project's tests that load
 * those sources (ts-jest). Left out: the components project (jsdom), and the node tests that run built artifacts
 * (miniprogram_dist, the demos, the example apps, the server's own suites) — a mutant of a source file never reaches
 * them, so they would only add time.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.tools.json', isolatedModules: true }] };
module.exports = {
  testEnvironment: 'node',
  transform,
  testMatch: ['<rootDir>/test/{lib,hub}/**/*.test.ts', '<rootDir>/test/e2e/*.test.ts', '<rootDir>/test/usage/wepy1-page-tips.test.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/lib/fast-path.test.ts',
    '<rootDir>/test/hub/shared.test.ts',
    '<rootDir>/test/e2e/demo',
    '<rootDir>/test/e2e/example-',
  ],
  testTimeout: 30_000,
};
