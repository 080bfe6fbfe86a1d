/**
 * The tests `npm run mutate` (StrykerJS) runs against each mutant of lib/ and hub/: the node project's tests of those
 * sources (test/lib, test/hub; ts-jest). Left out: the components project (jsdom); the node tests that run built
 * artifacts (miniprogram_dist, the demos, the example apps, the server's own suites), which a mutant of a source file
 * never reaches; and the end-to-end suites over real HTTP, which start a server per file and would multiply the run
 * time for little (with them, 29% of the mutants took 39 minutes on two shared cores: over 2 hours in all).
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.tools.json', isolatedModules: true }] };
module.exports = {
  testEnvironment: 'node',
  transform,
  testMatch: ['<rootDir>/test/{lib,hub}/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/lib/fast-path.test.ts', '<rootDir>/test/hub/shared.test.ts'],
  testTimeout: 30_000,
};
