/** Test doubles: the in-memory fakes of the emulator, plus jest-specific helpers. */
export * from '../../emulator/in-memory';

/** A silent logger whose calls tests can inspect. */
export function createLogger() {
  return { warn: jest.fn(), error: jest.fn() };
}
