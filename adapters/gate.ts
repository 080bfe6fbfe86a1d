/** What every adapter needs of a kit: the two primitives of the session gate (`LoginKit.authorize`, `handleExpired`). */
import type { LoginKit } from '../lib/login-kit';
import type { AuthorizeOptions } from '../lib/request-gate';

/** A kit instance as the adapters use it: `Login`, or one from `createLogin()` / `new LoginKit()`. */
export type LoginGate = Pick<LoginKit, 'authorize' | 'handleExpired'>;

/** A `LoginError` (or any error) with WeChat's `errMsg`, as the `fail` callback of a `wx`-style API expects it. */
export function asFailResult(api: string, error: unknown): unknown {
  if (error && typeof error === 'object' && !('errMsg' in error)) {
    (error as { errMsg?: string }).errMsg = `${api}:fail ${(error as Error).message}`;
  }
  return error;
}

/** A request of the app's layer, with an optional `loginOpts` of its own (`{mode, tips, require, reTry}`). */
export type WithLoginOpts<T> = T & { loginOpts?: Omit<AuthorizeOptions, 'kind'> };

/**
 * Splits a request into what to send and how it may log in: the request's own `loginOpts` (which never reaches the
 * network) over the adapter's `defaults`.
 */
export function splitLoginOpts<T extends object>(request: WithLoginOpts<T>, defaults: AuthorizeOptions): [T, AuthorizeOptions] {
  if (!('loginOpts' in request)) return [request, defaults];
  const { loginOpts, ...rest } = request;
  return [rest as T, { ...defaults, ...loginOpts }];
}
