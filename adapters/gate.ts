/** What every adapter needs of a kit: the two primitives of the session gate (`LoginKit.authorize`, `handleExpired`). */
import type { LoginKit } from '../lib/login-kit';

/** A kit instance as the adapters use it: `Login`, or one from `createLogin()` / `new LoginKit()`. */
export type LoginGate = Pick<LoginKit, 'authorize' | 'handleExpired'>;

/** A `LoginError` (or any error) with WeChat's `errMsg`, as the `fail` callback of a `wx`-style API expects it. */
export function asFailResult(api: string, error: unknown): unknown {
  if (error && typeof error === 'object' && !('errMsg' in error)) {
    (error as { errMsg?: string }).errMsg = `${api}:fail ${(error as Error).message}`;
  }
  return error;
}
