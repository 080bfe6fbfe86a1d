/** Faults from WeChat and the network, one at a time (issue 5). The mixed, randomised matrix is in fault-matrix.test.ts. */
import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import { backoffDelay } from '../../lib/code-login';
import { isLoginError, type LoginError } from '../../lib/errors';
import { createFakeWx, createLogger, FakeBackend, FakeClock, flush, userInfoResult } from '../helpers/fakes';

function setup(overrides: Partial<LoginOptions> = {}) {
  const backend = new FakeBackend();
  backend.registered.add('alice');
  const fake = createFakeWx(backend);
  const clock = new FakeClock();
  const logger = createLogger();
  const kit = new LoginKit();
  kit.config({
    source: 'app',
    baseURL: 'https://api.test',
    wx: fake.wx,
    clock,
    logger,
    userAuthHandler: async () => userInfoResult(),
    ...overrides,
  });
  return { kit, fake, backend, clock, logger };
}

async function rejection(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  expect(isLoginError(error)).toBe(true);
  return error as LoginError;
}

const answer = (statusCode: number, code: string, extra: object = {}) => ({
  statusCode,
  header: {},
  data: { code, message: code, ...extra },
});

describe('WeChat error codes from the backend', () => {
  it('RATE_LIMITED: rejects with retryAfterMs and makes no attempt (not even wx.login) before it has passed', async () => {
    const { kit, fake, backend, clock } = setup();
    backend.loginOverrides.push(answer(429, 'RATE_LIMITED', { retryAfter: 30 }));
    expect(await rejection(kit.login())).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 30_000, statusCode: 429 });
    await clock.advance(10_000);
    expect(await rejection(kit.login())).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 20_000 });
    expect([fake.loginCount, backend.loginCalls.length]).toEqual([1, 1]);
    await clock.advance(20_000);
    await kit.login();
    expect(backend.loginCalls).toHaveLength(2);
  });

  it('USER_BLOCKED: terminal — later logins reject at once, without wx.login or a backend call', async () => {
    const { kit, fake, backend } = setup();
    backend.loginOverrides.push(answer(403, 'USER_BLOCKED'));
    expect((await rejection(kit.login())).code).toBe('USER_BLOCKED');
    expect((await rejection(kit.login())).code).toBe('USER_BLOCKED');
    expect((await rejection(kit.requestWithLogin({ url: '/api/data' }))).code).toBe('USER_BLOCKED');
    expect([fake.loginCount, backend.loginCalls.length, backend.apiCalls.length]).toEqual([1, 1, 0]);
  });

  it('WECHAT_UNAVAILABLE: retries with a fresh code after a backoff, and succeeds', async () => {
    const { kit, fake, backend, clock } = setup({ backoff: { random: () => 1 } });
    backend.loginOverrides.push(answer(503, 'WECHAT_UNAVAILABLE'), answer(503, 'WECHAT_UNAVAILABLE'));
    const login = kit.login();
    await flush();
    expect(backend.loginCalls).toHaveLength(1);
    await clock.advance(499);
    expect(backend.loginCalls).toHaveLength(1); // 500 ms before the first retry
    await clock.advance(1);
    await clock.advance(1000); // then 1000 ms
    const state = await login;
    expect(state.user?.id).toBe('alice');
    expect(fake.loginCount).toBe(3);
    expect(new Set(backend.loginCalls.map((c) => c.code)).size).toBe(3);
  });

  it('WECHAT_UNAVAILABLE: gives up after the bounded retries with the backend code', async () => {
    const { kit, backend, clock } = setup({ backoff: { retries: 2 } });
    backend.loginOverrides.push(...Array.from({ length: 3 }, () => answer(503, 'WECHAT_UNAVAILABLE')));
    const login = rejection(kit.login());
    await clock.advance(10_000);
    expect(await login).toMatchObject({ code: 'LOGIN_FAILED', backendCode: 'WECHAT_UNAVAILABLE', statusCode: 503 });
    expect(backend.loginCalls).toHaveLength(3);
  });

  it('backoff delays grow exponentially, are capped, and jitter within [half, full]', () => {
    const backoff = { retries: 5, baseDelayMs: 500, maxDelayMs: 3000 };
    expect([0, 1, 2, 3].map((n) => backoffDelay({ ...backoff, random: () => 1 }, n))).toEqual([500, 1000, 2000, 3000]);
    expect([0, 1, 2, 3].map((n) => backoffDelay({ ...backoff, random: () => 0 }, n))).toEqual([250, 500, 1000, 1500]);
  });
});

describe('network faults', () => {
  it('treats "request:fail interrupted" (background) as a transient NETWORK_ERROR: the session stays', async () => {
    const { kit, fake, backend } = setup();
    const state = await kit.login();
    const serve = backend.handle;
    backend.handle = async (req) => (req.url.endsWith('/api/data') ? { fail: 'request:fail interrupted' } : serve(req));
    expect(await rejection(kit.requestWithLogin({ url: '/api/data' }))).toMatchObject({
      code: 'NETWORK_ERROR',
      errMsg: 'request:fail interrupted',
    });
    expect(kit.getState()).toBe(state);
    expect([fake.loginCount, backend.refreshCalls.length]).toEqual([1, 0]);
  });

  it('bounds a wx.request that never calls back by its timeout', async () => {
    const { kit, backend, clock } = setup({ timeouts: { request: 3000 } });
    await kit.login();
    backend.handle = () => new Promise(() => undefined);
    const pending = rejection(kit.requestWithLogin({ url: '/api/data' }));
    await flush();
    await clock.advance(4000);
    expect((await pending).code).toBe('TIMEOUT');
  });
});

describe('App.onShow after a long suspension', () => {
  it('renews an expired session in the background, once, without UI', async () => {
    const { kit, backend, clock } = setup();
    await kit.login();
    await clock.advance(5 * 3600_000);
    kit.onAppShow();
    kit.onAppShow();
    await flush();
    expect(backend.refreshCalls).toHaveLength(1);
    expect(kit.checkLogin()).toBe(true);
  });

  it('does nothing for a fresh session or after a deliberate logout', async () => {
    const { kit, fake, backend, clock } = setup();
    await kit.login();
    kit.onAppShow();
    await kit.logout();
    await clock.advance(5 * 3600_000);
    kit.onAppShow();
    await flush();
    expect([fake.loginCount, backend.refreshCalls.length]).toEqual([1, 0]);
  });
});
