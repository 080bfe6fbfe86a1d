/**
 * The README's promises "nothing waits forever", "every failure rejects" and "bad input loses nothing", held on the
 * paths where they once failed: a step-up whose bind never answers, `require()` before `config()`, a `config()` that
 * throws half-way, privacy "kit" on a kit with no UI, and the step-up's bind under the session rule every request
 * follows (`isSessionExpired`, `maxReplays`).
 */
import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import { LoginError } from '../../lib/errors';
import type { AuthResult, BindRequest, LoginBackend, LoginState, LoginUser } from '../../lib/types';
import { createFakeWx, createLogger, FakeClock, flush, rejection } from '../helpers/fakes';

const phoneAnswer: AuthResult = { succeeded: true, authType: 'phone', errMsg: 'getPhoneNumber:ok', data: { code: 'phone-code' } };

/** A kit whose backend registers silently and whose `bind` is the test's; the UI answers a phone number at once. */
function stepUpKit(bind: LoginBackend['bind'], overrides: Partial<LoginOptions> = {}) {
  const clock = new FakeClock();
  const fake = createFakeWx();
  let issued = 0;
  const logins: number[] = [];
  const backend: LoginBackend = {
    login: async () => {
      logins.push(++issued);
      return { status: 'ok', session: { accessToken: `token-${issued}`, expiresIn: 3600, user: { id: 'u1', phoneBound: false } } };
    },
    bind,
  };
  const ui = jest.fn(async () => phoneAnswer);
  const kit = new LoginKit();
  kit.config({ source: 'app', wx: fake.wx, clock, backend, userAuthHandler: ui, logger: createLogger(), ...overrides });
  return { kit, clock, ui, logins };
}

describe('a step-up whose bind never answers', () => {
  it('rejects TIMEOUT within timeouts.backend, and the next require() runs a new step-up instead of waiting behind it', async () => {
    const binds: BindRequest[] = [];
    let answer = false;
    const { kit, clock } = stepUpKit(
      (request) => {
        binds.push(request);
        return answer ? Promise.resolve({ id: 'u1', phoneBound: true }) : new Promise<LoginUser>(() => undefined);
      },
      { timeouts: { backend: 300 } },
    );
    const first = kit.require('phone');
    const joined = kit.require('phone'); // shares the step-up in flight
    await flush();
    await clock.advance(299);
    let settled = false;
    first.then(
      () => (settled = true),
      () => (settled = true),
    );
    await flush();
    expect(settled).toBe(false);
    await clock.advance(1);
    expect((await rejection(first)).code).toBe('TIMEOUT');
    expect((await rejection(joined)).code).toBe('TIMEOUT');
    answer = true;
    const user = await kit.require('phone');
    expect(user.phoneBound).toBe(true);
    expect(binds).toHaveLength(2);
  });
});

describe('the step-up bind follows the session rule of every request', () => {
  it('renews once on a "session expired" answer and binds again with the new token', async () => {
    const seen: string[] = [];
    const { kit, logins } = stepUpKit(async (_request, state: LoginState) => {
      seen.push(state.accessToken);
      if (seen.length === 1) throw new LoginError('LOGIN_FAILED', 'bind failed', { statusCode: 401, cause: { code: 'TOKEN_EXPIRED' } });
      return { id: 'u1', phoneBound: true };
    });
    const events: string[] = [];
    kit.onStateChange((event) => events.push(event.type));
    expect((await kit.require('phone')).phoneBound).toBe(true);
    expect(seen).toEqual(['token-1', 'token-2']);
    expect(logins).toEqual([1, 2]);
    expect(events).toContain('sessionExpired');
  });

  it('honours config.isSessionExpired and maxReplays: a legacy code renews, and a second expired answer is SESSION_EXPIRED', async () => {
    const seen: string[] = [];
    const { kit, logins } = stepUpKit(
      async (_request, state) => {
        seen.push(state.accessToken);
        throw new LoginError('LOGIN_FAILED', 'bind failed', { statusCode: 200, cause: { code: 3001 } });
      },
      { isSessionExpired: (response) => (response.data as { code?: unknown } | undefined)?.code === 3001 },
    );
    const error = await rejection(kit.require('phone'));
    expect(error.code).toBe('SESSION_EXPIRED');
    expect(seen).toEqual(['token-1', 'token-2']); // one renewal (a new login), one replay
    expect(logins).toEqual([1, 2]);
  });

  it('does not renew with maxReplays 0, and a 409 is the bind error as it is', async () => {
    const { kit, logins } = stepUpKit(
      async () => {
        throw new LoginError('LOGIN_FAILED', 'bind failed', { statusCode: 401, cause: { code: 'TOKEN_EXPIRED' } });
      },
      { maxReplays: 0 },
    );
    expect((await rejection(kit.require('phone'))).code).toBe('SESSION_EXPIRED');
    expect(logins).toEqual([1]);
    const conflict = stepUpKit(async () => {
      throw new LoginError('ACCOUNT_CONFLICT', 'bound elsewhere', { statusCode: 409, backendCode: 'ACCOUNT_CONFLICT' });
    });
    expect((await rejection(conflict.kit.require('phone'))).code).toBe('ACCOUNT_CONFLICT');
    expect(conflict.logins).toEqual([1]);
  });
});

describe('every failure rejects', () => {
  it('require() before config() and with a bad kind returns a rejected promise, never throws', async () => {
    const kit = new LoginKit({ logger: createLogger() });
    let result: Promise<unknown> | undefined;
    expect(() => (result = kit.require('phone'))).not.toThrow();
    expect((await rejection(result!)).code).toBe('NOT_CONFIGURED');
    const { kit: configured } = stepUpKit(async () => ({ id: 'u1' }));
    expect(() => (result = configured.require('email' as never))).not.toThrow();
    expect((await rejection(result!)).code).toBe('INVALID_OPTIONS');
    expect(() => (result = configured.require('phone', null as never))).not.toThrow();
    expect((await rejection(result!)).code).toBe('INVALID_OPTIONS');
  });
});

describe('a rejected config() changes nothing', () => {
  it('keeps the limiters, the options and the session of the config() before it', async () => {
    const fake = createFakeWx();
    fake.backend.registered.add('alice');
    const kit = new LoginKit();
    const base = { source: 'app', baseURL: 'https://api.test', wx: fake.wx, logger: createLogger() };
    kit.config(base);
    await kit.login();
    const state = kit.getState();
    expect(() =>
      kit.config({
        ...base,
        baseURL: 'https://other.test',
        maxConcurrentRequests: 1,
        hooks: { beforeRequest: ['not a function'] },
      } as never),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => kit.config({ ...base, maxConcurrentRequests: 1, privacy: 'kit' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(kit.getState()).toBe(state);
    // Still 10 at once (not 1), still to the first baseURL.
    const gate = fake.backend.holdBack('/api/slow');
    const calls = Array.from({ length: 10 }, () => kit.requestWithLogin({ url: '/api/slow' }));
    await new Promise((resolve) => setImmediate(resolve));
    await flush();
    expect(fake.maxInFlight).toBe(10);
    expect(fake.requests.filter((r) => r.url.startsWith('https://api.test/api/slow'))).toHaveLength(10);
    gate.resolve();
    await Promise.all(calls);
  });
});

describe('privacy "kit" on a kit that has no login UI', () => {
  it('is refused with INVALID_OPTIONS instead of being ignored', () => {
    const fake = createFakeWx();
    const kit = new LoginKit();
    const call = () =>
      kit.config({ source: 'app', baseURL: 'https://api.test', wx: fake.wx, privacy: 'kit', privacyAppHandler: () => undefined });
    expect(call).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(call).toThrow(/createLogin\(\)/);
    expect(() => kit.config({ source: 'app', baseURL: 'https://api.test', wx: fake.wx, privacy: 'official' })).not.toThrow();
  });
});
