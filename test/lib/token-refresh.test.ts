/** Seamless sessions: refresh tokens, one reset per burst, the queue, and when not to refresh (issue 3). */
import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import { isLoginError, type LoginError } from '../../lib/errors';
import type { AuthResult, LoginEvent, UserAuthHandler } from '../../lib/types';
import { createFakeWx, createLogger, FakeBackend, FakeClock, flush, userInfoResult } from '../helpers/fakes';

function setup(overrides: Partial<LoginOptions> = {}) {
  const backend = new FakeBackend();
  backend.registered.add('alice');
  const fake = createFakeWx(backend);
  const clock = new FakeClock();
  const ui = jest.fn<Promise<AuthResult>, Parameters<UserAuthHandler>>(async () => userInfoResult());
  const kit = new LoginKit();
  kit.config({
    source: 'test-app',
    baseURL: 'https://api.test',
    wx: fake.wx,
    clock,
    logger: createLogger(),
    userAuthHandler: ui,
    ...overrides,
  });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  return { kit, fake, backend, clock, ui, events };
}

async function rejection(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(isLoginError(error)).toBe(true);
  return error as LoginError;
}

const count = (events: LoginEvent[], type: LoginEvent['type']) => events.filter((e) => e.type === type).length;

describe('one refresh for any burst of 401s', () => {
  it('refreshes exactly once for 20 concurrent 401s; only the 10 in flight carry the dead token, each is replayed once', async () => {
    const { kit, fake, backend, events } = setup();
    const first = await kit.login();
    backend.expireAll();
    const responses = await Promise.all(Array.from({ length: 20 }, () => kit.requestWithLogin({ url: '/api/data' })));
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    expect(backend.refreshCalls).toEqual([{ refreshToken: first.refreshToken }]);
    expect(fake.loginCount).toBe(1);
    const current = kit.getState()!;
    expect(backend.apiCalls.filter((c) => c.authorization === `Bearer ${current.accessToken}`)).toHaveLength(20);
    // The first 10 were in flight with the dead token; the 10 queued behind them waited for the refresh instead.
    expect(backend.apiCalls.filter((c) => c.authorization === `Bearer ${first.accessToken}`)).toHaveLength(10);
    expect(backend.apiCalls).toHaveLength(30);
    expect([count(events, 'sessionExpired'), count(events, 'refreshStart'), count(events, 'refreshEnd'), count(events, 'relogin')]).toEqual(
      [1, 1, 1, 0],
    );
  });

  it('replays a 401 that arrives after the refresh with the new token, without a second refresh', async () => {
    const { kit, backend } = setup();
    const old = await kit.login();
    const gate = backend.holdBack('/api/slow');
    const slow = kit.requestWithLogin({ url: '/api/slow' });
    await flush();
    backend.expireAll();
    await kit.requestWithLogin({ url: '/api/data' }); // 401 -> refresh -> replay
    gate.resolve();
    expect((await slow).statusCode).toBe(200);
    expect(backend.refreshCalls).toHaveLength(1);
    const slowCalls = backend.apiCalls.filter((c) => c.url === '/api/slow').map((c) => c.authorization);
    expect(slowCalls).toEqual([`Bearer ${old.accessToken}`, `Bearer ${kit.getState()!.accessToken}`]);
  });

  it('refreshes an access token known to be expired before sending, so the request goes out once', async () => {
    const { kit, backend, clock } = setup();
    await kit.login();
    await clock.advance(900_000);
    const response = await kit.requestWithLogin({ url: '/api/data' });
    expect(response.statusCode).toBe(200);
    expect(backend.refreshCalls).toHaveLength(1);
    expect(backend.apiCalls).toHaveLength(1);
  });

  it('writes the rotated refresh token to storage before any waiting request is replayed', async () => {
    const { kit, fake, backend } = setup();
    await kit.login();
    backend.expireAll();
    const storedAtReplay: unknown[] = [];
    const serve = backend.handle;
    backend.handle = async (req) => {
      if (req.url.endsWith('/api/data') && backend.refreshCalls.length === 1) {
        storedAtReplay.push((fake.storage.get('miniprogram-login-kit:session') as { refreshToken: string }).refreshToken);
      }
      return serve(req);
    };
    await Promise.all([kit.requestWithLogin({ url: '/api/data' }), kit.requestWithLogin({ url: '/api/data' })]);
    expect(storedAtReplay).toEqual([kit.getState()!.refreshToken, kit.getState()!.refreshToken]);
  });
});

describe('escalation when the refresh does not work', () => {
  it('falls back to a silent login when the refresh token is rejected, then replays', async () => {
    const { kit, fake, backend, events, ui } = setup();
    await kit.login();
    backend.expireAll();
    backend.refreshOverrides.push({ statusCode: 401, header: {}, data: { code: 'REFRESH_TOKEN_INVALID', message: 'reused' } });
    const responses = await Promise.all([kit.requestWithLogin({ url: '/api/data' }), kit.requestWithLogin({ url: '/api/data' })]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(backend.refreshCalls).toHaveLength(1);
    expect(fake.loginCount).toBe(2);
    expect(ui).not.toHaveBeenCalled();
    expect(events.map((e) => e.type)).toEqual(['login', 'sessionExpired', 'refreshStart', 'refreshEnd', 'relogin', 'login']);
  });

  it('shows the UI only in common mode when the silent login after a rejected refresh needs the user', async () => {
    const { kit, backend, ui } = setup();
    await kit.login();
    backend.expireAll();
    backend.registered.clear(); // the backend forgot the user: silent login answers USER_NOT_REGISTERED
    backend.refreshOverrides.push({ statusCode: 401, header: {}, data: { code: 'REFRESH_TOKEN_INVALID', message: 'x' } });
    const silent = await kit.requestWithLogin({ url: '/api/data', loginOpts: { mode: 'silent' } });
    expect(silent.statusCode).toBe(401);
    expect(ui).not.toHaveBeenCalled();
    expect((await kit.requestWithLogin({ url: '/api/data' })).statusCode).toBe(200);
    expect(ui).toHaveBeenCalledTimes(1);
  });

  it('rejects every queued request with the real cause when the refresh fails on the network, and the next request starts afresh', async () => {
    const { kit, fake, backend } = setup();
    await kit.login();
    backend.expireAll();
    backend.refreshOverrides.push({ fail: 'request:fail interrupted' });
    const errors = await Promise.all(Array.from({ length: 5 }, () => rejection(kit.requestWithLogin({ url: '/api/data' }))));
    expect(errors.map((e) => [e.code, e.errMsg])).toEqual(Array(5).fill(['NETWORK_ERROR', 'request:fail interrupted']));
    expect(fake.loginCount).toBe(1); // a network failure is not an auth failure: no re-login
    expect((await kit.requestWithLogin({ url: '/api/data' })).statusCode).toBe(200);
    expect(backend.refreshCalls).toHaveLength(2);
  });
});

describe('when not to refresh', () => {
  it('returns the 401 of a request marked reTry: false as it is', async () => {
    const { kit, backend } = setup();
    await kit.login();
    backend.expireAll();
    expect((await kit.requestWithLogin({ url: '/api/data', reTry: false })).statusCode).toBe(401);
    expect(backend.refreshCalls).toHaveLength(0);
  });

  it('lets a business predicate veto the renewal', async () => {
    const { kit, backend } = setup({ shouldRenew: (_response, request) => request.url !== '/api/admin' });
    await kit.login();
    backend.expireAll();
    expect((await kit.requestWithLogin({ url: '/api/admin' })).statusCode).toBe(401);
    expect(backend.refreshCalls).toHaveLength(0);
  });

  it("never refreshes nor attaches a token for the kit's own /auth/ endpoints", async () => {
    const { kit, fake, backend } = setup();
    await kit.login();
    const response = await kit.requestWithLogin({ url: '/auth/refresh', method: 'POST', data: { refreshToken: 'nope' } });
    expect(response.statusCode).toBe(401);
    expect(backend.refreshCalls).toEqual([{ refreshToken: 'nope' }]);
    expect(fake.requests[fake.requests.length - 1].header?.Authorization).toBeUndefined();
  });

  it('sends no-auth URLs (prefix strings and RegExps) at once and without a token, even while a login runs', async () => {
    const { kit, backend } = setup({ noAuthUrls: ['/public', /\/health$/] });
    const gate = backend.holdBack('/auth/login');
    const login = kit.login();
    await flush();
    const publicFeed = await kit.requestWithLogin({ url: '/public/feed' });
    const health = await kit.requestWithLogin({ url: 'https://api.test/health' });
    expect([publicFeed.statusCode, health.statusCode]).toEqual([401, 401]); // the fake answers 401 to any tokenless call
    expect(backend.apiCalls.map((c) => c.authorization)).toEqual([undefined, undefined]);
    gate.resolve();
    await login;
  });

  it('stops after the replay budget: maxReplays 0 rejects SESSION_EXPIRED at the first expiry', async () => {
    const { kit, backend } = setup({ maxReplays: 0 });
    await kit.login();
    backend.expireAll();
    expect((await rejection(kit.requestWithLogin({ url: '/api/data' }))).code).toBe('SESSION_EXPIRED');
    expect(backend.refreshCalls).toHaveLength(0);
  });
});

describe('the queue', () => {
  it('replays 30 queued requests with never more than 10 wx.request in flight', async () => {
    const { kit, fake, backend } = setup();
    await kit.login();
    backend.expireAll();
    fake.maxInFlight = 0;
    const responses = await Promise.all(Array.from({ length: 30 }, () => kit.requestWithLogin({ url: '/api/data' })));
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    expect(fake.maxInFlight).toBeLessThanOrEqual(10);
    expect(backend.refreshCalls).toHaveLength(1);
  });

  it('makes requests issued during the launch login wait for it: none goes out without a token', async () => {
    const { kit, backend } = setup();
    const gate = backend.holdBack('/auth/login');
    const launch = kit.login({ mode: 'silent' }); // App.onLaunch
    const requests = Array.from({ length: 5 }, () => kit.requestWithLogin({ url: '/api/data' }));
    await flush();
    expect(backend.apiCalls).toHaveLength(0);
    gate.resolve();
    const state = await launch;
    await Promise.all(requests);
    expect(backend.apiCalls.map((c) => c.authorization)).toEqual(Array(5).fill(`Bearer ${state.accessToken}`));
    expect(backend.loginCalls).toHaveLength(1);
  });
});

describe('logout', () => {
  it('rejects the requests waiting on a refresh with LOGGED_OUT at once, and discards (revokes) the refreshed session', async () => {
    const { kit, backend } = setup();
    await kit.login();
    backend.expireAll();
    const gate = backend.holdBack('/auth/refresh');
    const waiting = Array.from({ length: 3 }, () => rejection(kit.requestWithLogin({ url: '/api/data' })));
    await flush();
    expect(backend.refreshCalls).toHaveLength(1);
    await kit.logout();
    expect((await Promise.all(waiting)).map((e) => e.code)).toEqual(['LOGGED_OUT', 'LOGGED_OUT', 'LOGGED_OUT']);
    gate.resolve();
    await flush();
    expect(kit.getState()).toBeNull();
    expect(backend.logoutCalls).toHaveLength(2); // the session logged out, and the one the late refresh produced
  });

  it('does not log the user back in silently after a logout, not even after a restart; an explicit login does', async () => {
    const { kit, fake, ui, backend } = setup();
    await kit.login();
    await kit.logout();
    const response = await kit.requestWithLogin({ url: '/api/data', loginOpts: { mode: 'silent' } });
    expect(response.statusCode).toBe(401);
    expect(fake.loginCount).toBe(1);

    const restarted = new LoginKit();
    restarted.config({ source: 'test-app', baseURL: 'https://api.test', wx: fake.wx, clock: new FakeClock(), userAuthHandler: ui });
    expect((await rejection(restarted.login({ mode: 'silent' }))).code).toBe('AUTH_REQUIRED');
    expect(fake.loginCount).toBe(1);

    await restarted.login();
    expect(ui).toHaveBeenCalledTimes(1);
    expect(backend.loginCalls[backend.loginCalls.length - 1]).toMatchObject({ mode: 'authorize', code: expect.any(String) });
    expect((await restarted.requestWithLogin({ url: '/api/data', loginOpts: { mode: 'silent' } })).statusCode).toBe(200);
  });
});

describe('credentials are chosen at dispatch', () => {
  it('sends a request that waited for a slot with the session that replaced its own meanwhile', async () => {
    // A custom backend adapter that logs in without the kit's transport, so the new session commits while the
    // request still waits for the only slot.
    let issued = 0;
    const backend = {
      login: async () => {
        const accessToken = `custom-${++issued}`;
        http.validTokens.add(accessToken); // called after setup, below
        return { status: 'ok' as const, session: { accessToken, expiresIn: 900 } };
      },
    };
    const { kit, backend: http } = setup({ maxConcurrentRequests: 1, backend });
    const old = await kit.login();
    const gate = http.holdBack('/api/slow');
    const slow = kit.requestWithLogin({ url: '/api/slow' }); // holds the only slot
    const queued = kit.requestWithLogin({ url: '/api/data' }); // starts with the old session, waits for the slot
    await flush();
    const fresh = await kit.login({ mode: 'force' });
    gate.resolve();
    const [response] = await Promise.all([queued, slow]);
    expect(response.statusCode).toBe(200);
    expect(fresh.accessToken).not.toBe(old.accessToken);
    expect(http.apiCalls.filter((c) => c.url === '/api/data').map((c) => c.authorization)).toEqual([`Bearer ${fresh.accessToken}`]);
  });
});
