/** Node tests for the core, hub, server and package; jsdom tests for the components (miniprogram-simulate). */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.tools.json' }] };
module.exports = {
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/{lib,hub,server,emulator,e2e,package,usage}/**/*.test.ts'],
    },
    {
      displayName: 'components',
      testEnvironment: 'jsdom',
      transform,
      testMatch: ['<rootDir>/test/{components,pages}/**/*.test.ts'],
    },
  ],
};
