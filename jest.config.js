/**
 * Node tests for the core, hub, server and package; jsdom tests for the components (miniprogram-simulate).
 * `testTimeout`: every test and hook gets 60 s instead of jest's 5 s. Heavy set-up — PGlite, an embedded Postgres,
 * building the demos and the example apps — takes seconds on a quiet machine and several times that on a busy one
 * (a CI runner, a laptop building something else); nothing in the suite asserts on wall-clock speed, and anything that
 * hangs still fails, after the budget. Suites with heavier set-up give their hooks an explicit budget of their own.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.tools.json' }] };
const testTimeout = 60_000;
// A mutation run's sandbox (npm run mutate) holds a copy of the package: never a second module of the same name.
const modulePathIgnorePatterns = ['<rootDir>/.stryker-tmp'];
module.exports = {
  testTimeout,
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      transform,
      modulePathIgnorePatterns,
      testMatch: ['<rootDir>/test/{lib,hub,server,emulator,e2e,package,usage}/**/*.test.ts'],
    },
    {
      displayName: 'components',
      testEnvironment: 'jsdom',
      transform,
      modulePathIgnorePatterns,
      testMatch: ['<rootDir>/test/{components,pages}/**/*.test.ts'],
    },
  ],
};
