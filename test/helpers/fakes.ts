/** Test doubles: the in-memory fakes of the emulator, plus jest-specific helpers. */
import { isLoginError, type LoginError } from '../../lib/errors';

export * from '../../emulator/in-memory';

/** The `LoginError` `promise` rejects with; fails the test when it resolves, or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<LoginError> {
  try {
    await promise;
  } catch (error) {
    expect(isLoginError(error)).toBe(true);
    return error as LoginError;
  }
  throw new Error('expected the promise to reject');
}

/** A silent logger whose calls tests can inspect. */
export function createLogger() {
  return { warn: jest.fn(), error: jest.fn() };
}
