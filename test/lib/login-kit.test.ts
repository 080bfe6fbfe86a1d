import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import type { WxAdapter } from '../../lib/runtime';
import { createContractBackend } from '../../lib/contract-backend';
import { LoginError } from '../../lib/errors';
import type { AuthResult, LoginEvent, UserAuthHandler } from '../../lib/types';
import { createFakeWx, createLogger, deferred, FakeBackend, FakeClock, flush, userInfoResult, rejection } from '../helpers/fakes';

function setup(overrides: Partial<LoginOptions> = {}, options: { registered?: boolean } = {}) {
  const backend = new FakeBackend();
  if (options.registered) backend.registered.add('alice');
  const fake = createFakeWx(backend);
  const clock = new FakeClock();
  const logger = createLogger();
  const ui = jest.fn<Promise<AuthResult>, Parameters<UserAuthHandler>>(async () => userInfoResult());
  const kit = new LoginKit();
  kit.config({ source: 'test-app', baseURL: 'https://api.test', wx: fake.wx, clock, logger, userAuthHandler: ui, ...overrides });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  return { kit, fake, backend, clock, logger, ui, events };
}

const eventTypes = (events: LoginEvent[]) => events.map((e) => e.type);

describe('configuration', () => {
  it('rejects every async method and throws from every sync method before config, logging one message', async () => {
    const logger = createLogger();
    const kit = new LoginKit({ logger });
    expect((await rejection(kit.login())).code).toBe('NOT_CONFIGURED');
    expect((await rejection(kit.requestWithLogin({ url: '/x' }))).code).toBe('NOT_CONFIGURED');
    expect((await rejection(kit.logout())).code).toBe('NOT_CONFIGURED');
    expect(() => kit.checkLogin()).toThrow(expect.objectContaining({ code: 'NOT_CONFIGURED' }));
    expect(() => kit.getState()).toThrow(expect.objectContaining({ code: 'NOT_CONFIGURED' }));
    expect(() => kit.getUser()).toThrow(expect.objectContaining({ code: 'NOT_CONFIGURED' }));
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0][0]).toMatch(/^miniprogram-login-kit: call Login.config/);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a missing source', { source: undefined }, /config.source must be a non-empty string/],
    ['a baseURL that is not http(s)', { baseURL: 'api.test' }, /config.baseURL must be an http\(s\) URL/],
    ['a misspelt option', { baseUrl: 'https://x' }, /unknown option "baseUrl"/],
    ['a handler that is not a function', { userAuthHandler: 'modal' }, /config.userAuthHandler must be a function/],
    ['a negative timeout', { timeouts: { wxLogin: -1 } }, /config.timeouts.wxLogin must be a number of milliseconds >= 0/],
    ['an unknown timeout', { timeouts: { login: 5 } }, /unknown timeout "login"/],
    ['a zero concurrency limit', { maxConcurrentRequests: 0 }, /maxConcurrentRequests must be an integer >= 1/],
    ['a wx without request', { wx: { login() {} } }, /config.wx must be an object with methods/],
  ])('throws INVALID_OPTIONS at once for %s', (_what, patch, message) => {
    const fake = createFakeWx();
    const kit = new LoginKit();
    const call = () => kit.config({ source: 'app', baseURL: 'https://api.test', wx: fake.wx, ...patch } as LoginOptions);
    expect(call).toThrow(LoginError);
    expect(call).toThrow(message);
    expect(call).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('requires baseURL only when no custom backend is given', () => {
    const fake = createFakeWx();
    expect(() => new LoginKit().config({ source: 'app', wx: fake.wx })).toThrow(/baseURL is required/);
    expect(() =>
      new LoginKit().config({ source: 'app', wx: fake.wx, backend: { login: async () => ({ status: 'needsUser' }) } }),
    ).not.toThrow();
  });

  it('gives separate instances separate state and locks', async () => {
    const a = setup({ storageKey: 'a' }, { registered: true });
    const b = setup({ storageKey: 'b' }, { registered: true });
    await a.kit.login();
    expect(a.kit.checkLogin()).toBe(true);
    expect(b.kit.checkLogin()).toBe(false);
    expect(b.fake.loginCount).toBe(0);
  });
});

describe('login modes', () => {
  it('logs a returning user in silently: one wx.login, one backend call, no UI', async () => {
    const { kit, fake, backend, ui, events } = setup({}, { registered: true });
    const state = await kit.login();
    expect(state.user?.id).toBe('alice');
    expect(fake.loginCount).toBe(1);
    expect(backend.loginCalls).toEqual([{ source: 'test-app', mode: 'silent', code: 'code-1' }]);
    expect(ui).not.toHaveBeenCalled();
    expect(eventTypes(events)).toEqual(['login']);
    expect(kit.checkLogin()).toBe(true);
  });

  it('asks a new user once, then authorizes with the loginTicket and no second wx.login', async () => {
    const { kit, fake, backend, ui, events } = setup();
    const state = await kit.login();
    expect(ui).toHaveBeenCalledTimes(1);
    expect(fake.loginCount).toBe(1);
    expect(backend.loginCalls).toHaveLength(2);
    expect(backend.loginCalls[1]).toMatchObject({
      mode: 'authorize',
      loginTicket: expect.stringMatching(/^ticket-/),
      userInfo: { signature: 'sig' },
    });
    expect(backend.loginCalls[1].code).toBeUndefined();
    expect(state.isNewUser).toBe(true);
    expect(events).toEqual([
      { type: 'uiShown', authType: 'profile', via: 'custom' },
      { type: 'uiAnswered', authType: 'profile', succeeded: true, errMsg: undefined, privacyRefused: false, openMs: 0 },
      { type: 'login', state, isNewUser: true, timings: { wxLoginMs: 0, backendMs: 0, uiMs: 0, totalMs: 0 } },
    ]);
  });

  it('reuses a valid local session without wx.login or any request', async () => {
    const { kit, fake } = setup({}, { registered: true });
    const first = await kit.login();
    const requests = fake.requests.length;
    expect(await kit.login()).toBe(first);
    expect(fake.loginCount).toBe(1);
    expect(fake.requests.length).toBe(requests);
  });

  it('computes expiry when read: checkLogin turns false once the access token expires, and login renews it', async () => {
    const { kit, fake, backend, clock } = setup({ expiryLeewayMs: 5000 }, { registered: true });
    backend.issueRefreshTokens = false;
    await kit.login();
    await clock.advance(900_000 - 5000 - 1);
    expect(kit.checkLogin()).toBe(true);
    await clock.advance(1);
    expect(kit.checkLogin()).toBe(false);
    await kit.login();
    expect(fake.loginCount).toBe(2);
  });

  it('force ignores a valid local session and logs in again', async () => {
    const { kit, fake } = setup({}, { registered: true });
    const first = await kit.login();
    const second = await kit.login({ mode: 'force' });
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(fake.loginCount).toBe(2);
  });

  it('silent rejects AUTH_REQUIRED for a new user without showing UI, and a later common login reuses the ticket', async () => {
    const { kit, fake, ui, backend } = setup();
    expect((await rejection(kit.login({ mode: 'silent' }))).code).toBe('AUTH_REQUIRED');
    expect(ui).not.toHaveBeenCalled();
    await kit.login();
    expect(fake.loginCount).toBe(1);
    expect(backend.loginCalls.map((c) => c.mode)).toEqual(['silent', 'authorize']);
  });

  it('does not send a loginTicket that expired while the user looked at the UI: the authorize step takes a fresh code', async () => {
    const { kit, fake, backend, clock, ui } = setup();
    ui.mockImplementation(async () => {
      await clock.advance(296_000); // the ticket lives 300 s; the kit keeps a 10 s margin
      return userInfoResult();
    });
    await kit.login();
    expect(fake.loginCount).toBe(2);
    expect(backend.loginCalls[1]).toMatchObject({ mode: 'authorize', code: 'code-3' });
    expect(backend.loginCalls[1].loginTicket).toBeUndefined();
  });

  it('starts over with wx.login when a cached ticket has expired', async () => {
    const { kit, fake, backend, clock } = setup();
    await rejection(kit.login({ mode: 'silent' }));
    await clock.advance(300_000);
    await kit.login();
    expect(fake.loginCount).toBe(2);
    expect(backend.loginCalls.map((c) => c.mode)).toEqual(['silent', 'silent', 'authorize']);
  });

  it('falls back to a fresh code once when the backend rejects the ticket', async () => {
    const { kit, fake, backend } = setup();
    const original = backend.handle;
    let calls = 0;
    backend.handle = async (req) => {
      if (req.body.loginTicket) {
        calls++;
        return { statusCode: 400, header: {}, data: { code: 'INVALID_TICKET', message: 'used' } };
      }
      return original(req);
    };
    const state = await kit.login();
    expect(calls).toBe(1);
    expect(fake.loginCount).toBe(2);
    expect(state.user?.id).toBe('alice');
  });

  it('retries INVALID_CODE once with a fresh code, then fails with the backend code', async () => {
    const { kit, fake, backend } = setup({}, { registered: true });
    const invalid = { statusCode: 400, header: {}, data: { code: 'INVALID_CODE', message: 'used' } };
    backend.loginOverrides.push(invalid);
    await kit.login();
    expect(fake.loginCount).toBe(2);

    backend.loginOverrides.push(invalid, invalid);
    const error = await rejection(kit.login({ mode: 'force' }));
    expect(error).toMatchObject({ code: 'LOGIN_FAILED', backendCode: 'INVALID_CODE', statusCode: 400 });
    expect(fake.loginCount).toBe(4);
  });

  it('rejects an unknown mode with INVALID_OPTIONS', async () => {
    const { kit } = setup();
    const error = await rejection(kit.login({ mode: 'sometimes' as never }));
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toMatch(/mode must be one of common, silent, force/);
  });
});

describe('single flight', () => {
  it('is created only once for 10 concurrent callers: one wx.login, one of each backend call, one UI, one event', async () => {
    const { kit, fake, backend, ui, events } = setup();
    const states = await Promise.all(Array.from({ length: 10 }, () => kit.login()));
    expect(new Set(states).size).toBe(1);
    expect(fake.loginCount).toBe(1);
    expect(backend.loginCalls).toHaveLength(2);
    expect(ui).toHaveBeenCalledTimes(1);
    expect(eventTypes(events)).toEqual(['uiShown', 'uiAnswered', 'login']); // each once for the whole burst
  });

  it('releases silent callers when the silent part ends, while common callers wait for the UI', async () => {
    const { kit, fake, ui } = setup();
    const answer = deferred<AuthResult>();
    ui.mockImplementation(() => answer.promise);
    const common = kit.login();
    const silent = kit.login({ mode: 'silent' });
    expect((await rejection(silent)).code).toBe('AUTH_REQUIRED');
    expect(ui).toHaveBeenCalledTimes(1);
    answer.resolve(userInfoResult());
    expect((await common).user?.id).toBe('alice');
    expect(fake.loginCount).toBe(1);
  });

  it('fires loginFailed once when five callers share a cancelled login', async () => {
    const { kit, ui, events } = setup();
    ui.mockResolvedValue({ succeeded: false, errMsg: 'getUserInfo:fail cancel' });
    const errors = await Promise.all(Array.from({ length: 5 }, () => rejection(kit.login())));
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('AUTH_CANCELLED'));
    expect(ui).toHaveBeenCalledTimes(1);
    expect(eventTypes(events)).toEqual(['uiShown', 'uiAnswered', 'loginFailed']);
  });

  it('starts a new login for a caller that arrives after the previous one failed', async () => {
    const { kit, ui } = setup();
    ui.mockResolvedValueOnce({ succeeded: false, errMsg: 'cancel' });
    await rejection(kit.login());
    await kit.login();
    expect(ui).toHaveBeenCalledTimes(2);
  });
});

describe('the user-auth step', () => {
  it.each<[string, AuthResult, string]>([
    ['a cancel', { succeeded: false, errMsg: 'getUserInfo:fail cancel' }, 'AUTH_CANCELLED'],
    ['a refusal ("auth deny")', { succeeded: false, errMsg: 'getUserInfo:fail auth deny' }, 'AUTH_DENIED'],
    ['a refusal ("auth denied")', { succeeded: false, errMsg: 'getUserProfile:fail auth denied' }, 'AUTH_DENIED'],
  ])('maps %s to %s, keeping WeChat errMsg', async (_what, result, code) => {
    const { kit, ui } = setup();
    ui.mockResolvedValue(result);
    const error = await rejection(kit.login());
    expect(error.code).toBe(code);
    expect(error.errMsg).toBe(result.errMsg);
  });

  it('fails with UI_UNAVAILABLE when the handler throws, resolves garbage, or is missing', async () => {
    const throwing = setup();
    throwing.ui.mockImplementation(() => {
      throw new Error('no page');
    });
    expect((await rejection(throwing.kit.login())).code).toBe('UI_UNAVAILABLE');

    const garbage = setup();
    garbage.ui.mockResolvedValue(undefined as never);
    expect((await rejection(garbage.kit.login())).code).toBe('UI_UNAVAILABLE');

    const none = setup({ userAuthHandler: undefined });
    expect((await rejection(none.kit.login())).message).toMatch(/no userAuthHandler/);
  });

  it('rejects a success without the data the backend needs', async () => {
    const { kit, ui } = setup();
    ui.mockResolvedValue({ succeeded: true, authType: 'phone', data: { code: '' } });
    const error = await rejection(kit.login());
    expect(error.code).toBe('LOGIN_FAILED');
    expect(error.message).toMatch(/without the phone code/);
  });

  it('bounds a UI that never answers by timeouts.userAuth', async () => {
    const { kit, ui, clock } = setup({ timeouts: { userAuth: 60_000 } });
    ui.mockImplementation(() => new Promise(() => undefined));
    const pending = rejection(kit.login());
    await flush();
    await clock.advance(60_000);
    expect((await pending).code).toBe('TIMEOUT');
  });

  it('merges tips: defaults <- config <- page tips (awaited) <- call tips', async () => {
    const pageTips = jest.fn(async () => ({ content: 'page content', confirmText: 'page confirm' }));
    const { kit, ui } = setup({ tips: { title: 'config title', content: 'config content' }, pageTips });
    await kit.login({ tips: { confirmText: 'call confirm' } });
    expect(ui.mock.calls[0][0].tips).toMatchObject({
      title: 'config title',
      content: 'page content',
      confirmText: 'call confirm',
      cancelText: '暂不登录',
      authType: 'profile',
    });
  });

  it('logs a page tips hook that throws and shows the other tips', async () => {
    const { kit, ui, logger } = setup({
      tips: { title: 'T' },
      pageTips: () => {
        throw new Error('bad hook');
      },
    });
    await kit.login();
    expect(ui.mock.calls[0][0].tips.title).toBe('T');
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/\$loginUserAuthTips\(\) threw/), expect.any(Error));
  });
});

describe('failures of wx.login and the backend', () => {
  it('rejects WX_LOGIN_FAILED with WeChat errMsg and errno', async () => {
    const { kit, fake } = setup();
    fake.loginBehaviour = () => ({ errMsg: 'login:fail system error', errno: 1 });
    expect(await rejection(kit.login())).toMatchObject({ code: 'WX_LOGIN_FAILED', errMsg: 'login:fail system error', errno: 1 });
  });

  it('bounds a wx.login that never calls back by timeouts.wxLogin', async () => {
    const { kit, fake, clock } = setup({ timeouts: { wxLogin: 5000 } });
    fake.loginBehaviour = () => 'hang';
    const pending = rejection(kit.login());
    await clock.advance(5000);
    expect((await pending).code).toBe('TIMEOUT');
  });

  it('rejects NETWORK_ERROR when the backend is down', async () => {
    const { kit, backend } = setup();
    backend.loginOverrides.push({ fail: 'request:fail net::ERR_CONNECTION_REFUSED' });
    expect(await rejection(kit.login())).toMatchObject({ code: 'NETWORK_ERROR', errMsg: 'request:fail net::ERR_CONNECTION_REFUSED' });
  });

  it('rejects LOGIN_FAILED for a malformed backend answer', async () => {
    const { kit, backend } = setup();
    backend.loginOverrides.push({ statusCode: 200, header: {}, data: '<html>502 Bad Gateway</html>' });
    const error = await rejection(kit.login());
    expect(error.code).toBe('LOGIN_FAILED');
    expect(error.message).toMatch(/malformed body: not a JSON object/);
  });

  it('carries the backend code of a contract error', async () => {
    const { kit, backend } = setup();
    backend.loginOverrides.push({ statusCode: 403, header: {}, data: { code: 'USER_BLOCKED', message: 'risk' } });
    expect(await rejection(kit.login())).toMatchObject({ code: 'USER_BLOCKED', backendCode: 'USER_BLOCKED', statusCode: 403 });
  });
});

describe('requestWithLogin', () => {
  it('logs in, then sends the request with the access token to a URL relative to baseURL', async () => {
    const { kit, fake } = setup({}, { registered: true });
    const response = await kit.requestWithLogin<{ ok: boolean }>({ url: '/api/data', method: 'GET' });
    expect(response.statusCode).toBe(200);
    expect(response.data.ok).toBe(true);
    const sent = fake.requests[fake.requests.length - 1];
    expect(sent.url).toBe('https://api.test/api/data');
    expect(sent.header?.Authorization).toBe(`Bearer ${kit.getState()?.accessToken}`);
  });

  it('in common mode does not send the request when the user cancels, and shows the UI once', async () => {
    const { kit, ui, backend } = setup();
    ui.mockResolvedValue({ succeeded: false, errMsg: 'cancel' });
    expect((await rejection(kit.requestWithLogin({ url: '/api/data' }))).code).toBe('AUTH_CANCELLED');
    expect(backend.apiCalls).toHaveLength(0);
    expect(ui).toHaveBeenCalledTimes(1);
  });

  it('in silent mode sends the request without credentials when login fails, with no UI and no second attempt', async () => {
    const { kit, ui, backend } = setup();
    const response = await kit.requestWithLogin({ url: '/api/data', loginOpts: { mode: 'silent' } });
    expect(response.statusCode).toBe(401);
    expect(backend.apiCalls).toEqual([{ url: '/api/data', authorization: undefined }]);
    expect(ui).not.toHaveBeenCalled();
  });

  it('re-logs in once when the session expired and the backend issues no refresh token, retrying with the new credentials', async () => {
    const { kit, fake, backend, events } = setup({}, { registered: true });
    backend.issueRefreshTokens = false;
    const first = await kit.login();
    backend.expireAll();
    const response = await kit.requestWithLogin({ url: '/api/data' });
    expect(response.statusCode).toBe(200);
    const second = kit.getState()!;
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(backend.apiCalls.map((c) => c.authorization)).toEqual([`Bearer ${first.accessToken}`, `Bearer ${second.accessToken}`]);
    expect(fake.loginCount).toBe(2);
    expect(eventTypes(events)).toEqual(['login', 'sessionExpired', 'relogin', 'login']);
  });

  it('rejects SESSION_EXPIRED when the retry is answered "expired" again', async () => {
    const { kit } = setup({ isSessionExpired: (res) => res.statusCode === 200 }, { registered: true });
    const error = await rejection(kit.requestWithLogin({ url: '/api/data' }));
    expect(error).toMatchObject({ code: 'SESSION_EXPIRED', statusCode: 200 });
  });

  it('shares one re-login among five requests that all hit an expired session, each replayed once', async () => {
    const { kit, fake, backend, events } = setup({}, { registered: true });
    backend.issueRefreshTokens = false;
    await kit.login();
    backend.expireAll();
    const responses = await Promise.all(Array.from({ length: 5 }, () => kit.requestWithLogin({ url: '/api/data' })));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(5).fill(200));
    expect(fake.loginCount).toBe(2);
    expect(backend.apiCalls).toHaveLength(10);
    expect(eventTypes(events)).toEqual(['login', 'sessionExpired', 'relogin', 'login']);
  });

  it('replays a late 401 for an older token with the current one, without logging in again or clearing anything', async () => {
    const { kit, fake, backend, events } = setup({}, { registered: true });
    const old = await kit.login();
    const gate = backend.holdBack('/api/slow');
    const slow = kit.requestWithLogin({ url: '/api/slow' });
    await flush(); // sent with the old token; its answer is held back
    const fresh = await kit.login({ mode: 'force' });
    backend.validTokens.delete(old.accessToken);
    gate.resolve();
    const response = await slow;
    expect(response.statusCode).toBe(200);
    expect(fake.loginCount).toBe(2);
    expect(backend.apiCalls.map((c) => c.authorization)).toEqual([`Bearer ${old.accessToken}`, `Bearer ${fresh.accessToken}`]);
    expect(kit.getState()).toBe(fresh);
    expect(eventTypes(events)).toEqual(['login', 'login']);
  });

  it('supports a legacy backend that answers HTTP 200 with an expired business code', async () => {
    const { kit, fake, backend } = setup(
      { isSessionExpired: (res) => (res.data as { code?: number }).code === 3001 },
      { registered: true },
    );
    backend.issueRefreshTokens = false; // contract: legacy sessions are re-established by a fresh login
    await kit.login();
    const original = backend.handle;
    let expired = true;
    backend.handle = async (req) => {
      if (req.url.endsWith('/api/legacy')) {
        const answer = expired ? { code: 3001 } : { code: 0 };
        expired = false;
        return { statusCode: 200, header: {}, data: answer };
      }
      return original(req);
    };
    const response = await kit.requestWithLogin<{ code: number }>({ url: '/api/legacy' });
    expect(response.data.code).toBe(0);
    expect(fake.loginCount).toBe(2);
  });

  it('rejects INVALID_OPTIONS for a missing url, and for a relative url without baseURL', async () => {
    const { kit } = setup();
    expect((await rejection(kit.requestWithLogin({} as never))).code).toBe('INVALID_OPTIONS');
    const fake = createFakeWx();
    fake.backend.registered.add('alice');
    const custom = new LoginKit();
    custom.config({
      source: 'a',
      wx: fake.wx,
      backend: { login: async () => ({ status: 'ok', session: { accessToken: 't', expiresIn: 60 } }) },
    });
    expect((await rejection(custom.requestWithLogin({ url: '/api/data' }))).message).toMatch(/relative but config.baseURL is not set/);
  });

  it('never puts more than 10 wx.request in flight, even for 30 concurrent requests', async () => {
    const { kit, fake } = setup({}, { registered: true });
    await kit.login();
    await Promise.all(Array.from({ length: 30 }, () => kit.requestWithLogin({ url: '/api/data' })));
    expect(fake.maxInFlight).toBe(10);
  });
});

describe('storage', () => {
  it('persists the state in one key without codes or session_key, and restores it in a new instance', async () => {
    const { kit, fake } = setup({}, { registered: true });
    const state = await kit.login();
    expect([...fake.storage.keys()]).toEqual(['miniprogram-login-kit:session']);
    const stored = JSON.stringify(fake.storage.get('miniprogram-login-kit:session'));
    expect(stored).not.toMatch(/code-\d|session_key|sessionKey/);
    const again = new LoginKit();
    again.config({ source: 'test-app', baseURL: 'https://api.test', wx: fake.wx, clock: new FakeClock() });
    expect(again.getState()).toEqual(state);
    expect(again.checkLogin()).toBe(true);
  });

  it.each([
    ['a string', 'garbage'],
    ['wrong types', { v: 1, accessToken: 5 }],
    ['an old format', { accessToken: 't' }],
  ])('treats corrupt data (%s) as logged out, removes it and warns', (_what, value) => {
    const fake = createFakeWx();
    fake.storage.set('miniprogram-login-kit:session', value);
    const logger = createLogger();
    const kit = new LoginKit();
    kit.config({ source: 'a', baseURL: 'https://api.test', wx: fake.wx, logger });
    expect(kit.checkLogin()).toBe(false);
    expect(fake.storage.has('miniprogram-login-kit:session')).toBe(false);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/unreadable login data/));
  });

  it('keeps the session in memory when storage is full, reporting it once', async () => {
    const { kit, fake, logger } = setup({}, { registered: true });
    fake.storageFull = true;
    await kit.login();
    await kit.login({ mode: 'force' });
    expect(kit.checkLogin()).toBe(true);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0][0]).toMatch(/kept in memory only/);
  });
});

describe('logout', () => {
  it('revokes the session on the backend, keeps only a "logged out" marker in storage and fires logout once', async () => {
    const { kit, fake, backend, events } = setup({}, { registered: true });
    const state = await kit.login();
    await kit.logout();
    expect(backend.logoutCalls).toEqual([{ authorization: `Bearer ${state.accessToken}`, body: { refreshToken: state.refreshToken } }]);
    expect([...fake.storage.values()]).toEqual([{ v: 1, loggedOut: true }]);
    expect(kit.checkLogin()).toBe(false);
    expect(kit.getUser()).toBeNull();
    expect(eventTypes(events)).toEqual(['login', 'logout']);
  });

  it('clears the local session even when the backend is down', async () => {
    const { kit, backend, logger } = setup({}, { registered: true });
    await kit.login();
    backend.handle = async () => ({ fail: 'request:fail' });
    await kit.logout();
    expect(kit.checkLogin()).toBe(false);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/backend logout failed/), expect.any(LoginError));
  });

  it('fails a login that is still running with LOGGED_OUT and keeps the user logged out', async () => {
    const { kit, backend } = setup({}, { registered: true });
    const gate = backend.holdBack('/auth/login');
    const pending = rejection(kit.login());
    await flush();
    await kit.logout();
    gate.resolve();
    expect((await pending).code).toBe('LOGGED_OUT');
    expect(kit.checkLogin()).toBe(false);
  });
});

describe("today's WeChat: refusals, privacy, phone quota, avatar upload", () => {
  function withPanel(fake: ReturnType<typeof createFakeWx>, behaviour: { confirm: boolean; grant: boolean; setting?: boolean }) {
    const calls: string[] = [];
    const wx = fake.wx as WxAdapter;
    wx.getSetting = (o) => {
      calls.push('getSetting');
      setImmediate(() => o.success?.({ authSetting: behaviour.setting === undefined ? {} : { 'scope.userInfo': behaviour.setting } }));
    };
    wx.showModal = (o) => {
      calls.push(`showModal:${o.title}`);
      setImmediate(() => o.success?.({ confirm: behaviour.confirm, cancel: !behaviour.confirm }));
    };
    wx.openSetting = (o) => {
      calls.push('openSetting');
      setImmediate(() => o.success?.({ authSetting: { 'scope.userInfo': behaviour.grant } }));
    };
    return calls;
  }
  const refused: AuthResult = { succeeded: false, authType: 'userInfo', errMsg: 'getUserInfo:fail auth deny' };

  it('recovers a refusal through the permission panel: tips, openSetting from the confirm tap, then the UI once more', async () => {
    const { kit, fake, ui } = setup({ tips: { authType: 'userInfo', deniedTitle: '需要授权' } });
    const calls = withPanel(fake, { confirm: true, grant: true });
    ui.mockResolvedValueOnce(refused);
    const state = await kit.login();
    expect(state.user?.id).toBe('alice');
    expect(calls).toEqual(['showModal:需要授权', 'openSetting']);
    expect(ui).toHaveBeenCalledTimes(2);
    expect(fake.loginCount).toBe(1);
  });

  it('fails with AUTH_DENIED when the permission stays off, or the user declines the prompt', async () => {
    for (const behaviour of [
      { confirm: true, grant: false },
      { confirm: false, grant: true },
    ]) {
      const { kit, fake, ui } = setup({ tips: { authType: 'userInfo' } });
      withPanel(fake, behaviour);
      ui.mockResolvedValue(refused);
      expect(await rejection(kit.login())).toMatchObject({ code: 'AUTH_DENIED', errMsg: 'getUserInfo:fail auth deny' });
      expect(ui).toHaveBeenCalledTimes(1);
    }
  });

  it('treats a plain cancel with scope.userInfo === false in authSetting as a refusal too', async () => {
    const { kit, fake, ui } = setup({ tips: { authType: 'userInfo' } });
    const calls = withPanel(fake, { confirm: true, grant: true, setting: false });
    ui.mockResolvedValueOnce({ succeeded: false, authType: 'userInfo', errMsg: 'getUserInfo:fail' });
    await kit.login();
    expect(calls).toEqual(['getSetting', 'showModal:需要你的授权', 'openSetting']);
  });

  it('does not offer the panel for a plain cancel', async () => {
    const { kit, fake, ui } = setup({ tips: { authType: 'userInfo' } });
    const calls = withPanel(fake, { confirm: true, grant: true, setting: true });
    ui.mockResolvedValue({ succeeded: false, authType: 'userInfo', errMsg: 'userInfo:fail cancel (closed)' });
    expect((await rejection(kit.login())).code).toBe('AUTH_CANCELLED');
    expect(calls).toEqual(['getSetting']);
  });

  it('fails with PRIVACY_DENIED when the user disagrees with the privacy agreement', async () => {
    const { kit, ui } = setup();
    ui.mockResolvedValue({ succeeded: false, authType: 'phone', errMsg: 'getPhoneNumber:fail privacy permission is not authorized' });
    expect((await rejection(kit.login())).code).toBe('PRIVACY_DENIED');
  });

  it('tells a used-up phone quota (errno 1400001) from a user refusal', async () => {
    const quota = setup();
    quota.ui.mockResolvedValue({ succeeded: false, authType: 'phone', errMsg: 'getPhoneNumber:fail', errno: 1400001 });
    expect(await rejection(quota.kit.login())).toMatchObject({ code: 'PHONE_QUOTA_EXCEEDED', errno: 1400001 });
    const refusal = setup();
    refusal.ui.mockResolvedValue({ succeeded: false, authType: 'phone', errMsg: 'getPhoneNumber:fail user deny' });
    expect((await rejection(refusal.kit.login())).code).toBe('AUTH_DENIED');
  });

  it('uploads a temporary avatar before the authorize call and sends its permanent URL', async () => {
    const uploadAvatar = jest.fn(async () => 'https://cdn.test/avatars/1.png');
    const { kit, ui, backend } = setup({ backend: { ...createContractBackend(), uploadAvatar } });
    ui.mockResolvedValue({ succeeded: true, authType: 'profile', data: { nickName: '小明', avatarUrl: 'http://tmp/avatar.png' } });
    await kit.login();
    expect(uploadAvatar).toHaveBeenCalledWith('http://tmp/avatar.png', expect.objectContaining({ source: 'test-app' }), {
      loginTicket: expect.any(String),
    });
    expect(backend.loginCalls[1]).toMatchObject({
      mode: 'authorize',
      profile: { nickName: '小明', avatarUrl: 'https://cdn.test/avatars/1.png' },
    });
  });
});
