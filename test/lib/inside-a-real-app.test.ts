/**
 * The kit inside a real app (issue 10), tested from the app's side: a `wx` written here from WeChat's documented
 * behaviour — it records every `wx.request` in order with its headers and answers only what each test routes — not
 * the in-memory backend the other suites share with the kit's assumptions.
 */
import { LoginKit } from '../../lib/login-kit';
import type { LoginOptions } from '../../lib/options';
import type { WxAdapter, WxRequestOptions } from '../../lib/runtime';
import type { RequestTaskHandle } from '../../lib/types';
import { FakeClock, flush } from '../helpers/fakes';

type Answer = { statusCode: number; data?: unknown } | { fail: string } | 'hang';
interface Sent {
  url: string;
  authorization?: string;
  options: WxRequestOptions;
  answer(answer: Exclude<Answer, 'hang'>): void;
}

/** WeChat's `wx` as the docs describe it, with a router the test controls. */
function appWx(route: (sent: Sent) => Answer | undefined) {
  const sent: Sent[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let codes = 0;
  const storage = new Map<string, unknown>();
  const task = { headers: [] as Array<(r: unknown) => void>, chunks: [] as Array<(r: unknown) => void> };
  const wx: WxAdapter = {
    login: (options) => setImmediate(() => options.success?.({ code: `code-${++codes}` })),
    request(options) {
      let done = false;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const record: Sent = {
        url: options.url,
        authorization: (options.header as Record<string, string> | undefined)?.Authorization,
        options,
        answer: (answer) => {
          if (done) return;
          done = true;
          inFlight--;
          if ('fail' in answer) options.fail?.({ errMsg: answer.fail });
          else options.success?.({ statusCode: answer.statusCode, data: answer.data ?? {}, header: {} });
        },
      };
      sent.push(record);
      const answer = route(record);
      if (answer && answer !== 'hang') setImmediate(() => record.answer(answer));
      return {
        abort: () => record.answer({ fail: 'request:fail abort' }),
        onHeadersReceived: (listener: (r: unknown) => void) => task.headers.push(listener),
        onChunkReceived: (listener: (r: unknown) => void) => task.chunks.push(listener),
      };
    },
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => void storage.set(key, JSON.parse(JSON.stringify(value))),
    removeStorageSync: (key) => void storage.delete(key),
  };
  return {
    wx,
    sent,
    storage,
    task,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    /** Paths of the requests sent so far, in order. */
    paths: () => sent.map((s) => s.url.replace(/^https?:\/\/[^/]+/, '')),
  };
}

const session = (n: number, expiresIn = 900) => ({
  statusCode: 200,
  data: { accessToken: `access-${n}`, expiresIn, refreshToken: `refresh-${n}`, refreshExpiresIn: 86400, user: { id: 'u1' } },
});

function kitWith(wx: WxAdapter, overrides: Partial<LoginOptions> = {}) {
  const kit = new LoginKit();
  const clock = new FakeClock();
  kit.config({ source: 'app', baseURL: 'https://api.example.com', wx, clock, logger: { warn: jest.fn(), error: jest.fn() }, ...overrides });
  return { kit, clock };
}

async function caught(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: { code?: string; retryAfterMs?: number }) => error,
  );
}

describe('credentials go only to the API origin', () => {
  const api = () =>
    appWx((s) => {
      if (s.url.endsWith('/auth/login')) return session(1);
      if (s.url.endsWith('/auth/refresh')) return session(2);
      return { statusCode: 401, data: { code: 'TOKEN_INVALID' } };
    });

  it.each([
    'https://evil.example/collect',
    'https://api.example.com.evil.example/collect',
    'https://api.example.com@evil.example/collect',
    'http://api.example.com/api/me',
    'https://api.example.com:8443/api/me',
    'https://evil.example/auth/steal',
  ])('sends %s without the token, and its 401 renews nothing', async (url) => {
    const app = api();
    const { kit } = kitWith(app.wx);
    await kit.login();
    const response = await kit.requestWithLogin({ url });
    expect(response.statusCode).toBe(401);
    const foreign = app.sent.filter((s) => s.url === url);
    expect(foreign).toHaveLength(1);
    expect(foreign[0].authorization).toBeUndefined();
    expect(app.paths().filter((p) => p === '/auth/refresh' || p === '/auth/login')).toEqual(['/auth/login']);
    expect(kit.getState()!.accessToken).toBe('access-1');
  });

  it('sends the token to the API origin however it is spelt, and to trustedOrigins', async () => {
    const app = appWx((s) => (s.url.endsWith('/auth/login') ? session(1) : { statusCode: 200 }));
    const { kit } = kitWith(app.wx, { trustedOrigins: ['https://upload.example.com'] });
    for (const url of ['/api/me', 'https://API.example.com:443/api/me', 'https://upload.example.com/files']) {
      await kit.requestWithLogin({ url });
    }
    expect(app.sent.slice(1).map((s) => s.authorization)).toEqual(['Bearer access-1', 'Bearer access-1', 'Bearer access-1']);
  });

  it("exempts the contract's /auth/ endpoints only on the API", async () => {
    const app = appWx((s) => (s.url.endsWith('/auth/login') ? session(1) : { statusCode: 200 }));
    const { kit } = kitWith(app.wx, { trustedOrigins: ['https://files.example.com'] });
    await kit.requestWithLogin({ url: '/auth/whoami' });
    await kit.requestWithLogin({ url: 'https://files.example.com/auth/avatars/1' });
    expect(app.sent.map((s) => [s.url, s.authorization])).toEqual([
      ['https://api.example.com/auth/whoami', undefined],
      ['https://api.example.com/auth/login', undefined],
      ['https://files.example.com/auth/avatars/1', 'Bearer access-1'],
    ]);
  });

  it('refuses a trusted origin that is not an http(s) URL', () => {
    expect(() => kitWith(appWx(() => undefined).wx, { trustedOrigins: ['upload.example.com'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('a refresh that failed for a temporary reason keeps the session', () => {
  /** A busy proxy: a neighbour's burst got the victim's refresh answered 429. */
  function busyProxy(first: Answer) {
    let refreshes = 0;
    const app = appWx((s) => {
      if (s.url.endsWith('/auth/login')) return session(1, 60);
      if (s.url.endsWith('/auth/refresh')) return ++refreshes === 1 ? first : session(2);
      return s.authorization === 'Bearer access-2' ? { statusCode: 200 } : { statusCode: 401, data: { code: 'TOKEN_EXPIRED' } };
    });
    return app;
  }

  it('429 RATE_LIMITED: the waiting requests reject with it, the refresh token and the stored session stay, nothing retries early', async () => {
    const app = busyProxy({ statusCode: 429, data: { code: 'RATE_LIMITED', message: 'busy', retryAfter: 30 } });
    const { kit, clock } = kitWith(app.wx);
    await kit.login();
    await clock.advance(61_000);
    const errors = await Promise.all([caught(kit.requestWithLogin({ url: '/api/a' })), caught(kit.requestWithLogin({ url: '/api/b' }))]);
    expect(errors.map((e) => [e.code, e.retryAfterMs])).toEqual([
      ['RATE_LIMITED', 30_000],
      ['RATE_LIMITED', 30_000],
    ]);
    expect(kit.getState()!.refreshToken).toBe('refresh-1');
    expect(JSON.stringify(app.storage.get('miniprogram-login-kit:session'))).toContain('refresh-1');
    expect(app.paths().filter((p) => p === '/auth/login')).toHaveLength(1); // no silent login was tried

    await clock.advance(10_000);
    expect((await caught(kit.requestWithLogin({ url: '/api/c' }))).code).toBe('RATE_LIMITED');
    expect(app.paths().filter((p) => p === '/auth/refresh')).toHaveLength(1); // not before retryAfter

    await clock.advance(20_000);
    expect((await kit.requestWithLogin({ url: '/api/d' })).statusCode).toBe(200);
    expect(app.sent.filter((s) => s.url.endsWith('/auth/refresh')).map((s) => s.options.data)).toEqual([
      { refreshToken: 'refresh-1' },
      { refreshToken: 'refresh-1' },
    ]);
  });

  it.each([
    ['503', { statusCode: 503, data: { code: 'UNAVAILABLE' } }, 'LOGIN_FAILED'],
    ['a network failure', { fail: 'request:fail interrupted' }, 'NETWORK_ERROR'],
  ] as const)('%s: rejects with it and keeps the refresh token for the next request', async (_what, answer, code) => {
    const app = busyProxy(answer);
    const { kit, clock } = kitWith(app.wx);
    await kit.login();
    await clock.advance(61_000);
    expect((await caught(kit.requestWithLogin({ url: '/api/a' }))).code).toBe(code);
    expect(kit.getState()!.refreshToken).toBe('refresh-1');
    expect((await kit.requestWithLogin({ url: '/api/b' })).statusCode).toBe(200);
    expect(app.paths().filter((p) => p === '/auth/login')).toHaveLength(1);
  });

  it('never stretches a RATE_LIMITED wait beyond its retryAfter when the device clock is set backwards', async () => {
    const app = busyProxy({ statusCode: 429, data: { code: 'RATE_LIMITED', retryAfter: 30 } });
    const { kit, clock } = kitWith(app.wx);
    await kit.login();
    await clock.advance(61_000);
    await caught(kit.requestWithLogin({ url: '/api/a' }));
    const backwards = clock.now() - 3_600_000;
    jest.spyOn(clock, 'now').mockImplementation(() => backwards);
    expect((await caught(kit.requestWithLogin({ url: '/api/b' }))).retryAfterMs).toBeLessThanOrEqual(30_000);
  });
});

describe('queue discipline', () => {
  it('1000 requests queued across an expiry: only the 10 in flight carry the dead token, the refresh is the 11th request', async () => {
    const held: Sent[] = [];
    const app = appWx((s) => {
      if (s.url.endsWith('/auth/login')) return session(s.url ? 1 : 0);
      if (s.url.endsWith('/auth/refresh')) return session(2);
      if (s.authorization === 'Bearer access-1') {
        held.push(s);
        return 'hang';
      }
      return { statusCode: 200 };
    });
    const { kit } = kitWith(app.wx);
    await kit.login();
    const before = app.sent.length;
    const all = Promise.all(Array.from({ length: 1000 }, (_, i) => kit.requestWithLogin({ url: `/api/item/${i}` })));
    await flush();
    expect(held).toHaveLength(10);
    held[0].answer({ statusCode: 401, data: { code: 'TOKEN_EXPIRED' } }); // the server says the token died
    await flush();
    for (const s of held.slice(1)) s.answer({ statusCode: 401, data: { code: 'TOKEN_EXPIRED' } });
    const responses = await all;
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    const after = app.sent.slice(before);
    const refreshAt = after.findIndex((s) => s.url.endsWith('/auth/refresh'));
    const dead = after.filter((s) => s.authorization === 'Bearer access-1');
    expect(dead).toHaveLength(10);
    expect(refreshAt).toBe(10); // 0-based: the 11th wx.request, right after the 10 in flight
    expect(after.filter((s) => s.url.endsWith('/auth/refresh'))).toHaveLength(1);
    expect(app.maxInFlight).toBeLessThanOrEqual(10);
  });

  it('a request that waited for a slot while its token expired by the clock waits for the renewal instead of leaving', async () => {
    const app = appWx((s) => {
      if (s.url.endsWith('/auth/login')) return session(1, 60);
      if (s.url.endsWith('/auth/refresh')) return session(2);
      if (s.url.endsWith('/slow')) return 'hang';
      return { statusCode: 200 };
    });
    const { kit, clock } = kitWith(app.wx, { maxConcurrentRequests: 1, timeouts: { request: 0 } });
    await kit.login();
    void kit.requestWithLogin({ url: '/slow' }).catch(() => undefined);
    const waiting = kit.requestWithLogin({ url: '/api/after' });
    await flush();
    await clock.advance(120_000); // access-1 expired while /api/after waited for the slot
    app.sent.find((s) => s.url.endsWith('/slow'))!.answer({ statusCode: 200 });
    expect((await waiting).statusCode).toBe(200);
    const after = app.sent.find((s) => s.url.endsWith('/api/after'))!;
    expect(after.authorization).toBe('Bearer access-2');
    expect(app.paths().indexOf('/auth/refresh')).toBeLessThan(app.paths().indexOf('/api/after'));
  });

  it('logout(): queued requests reject LOGGED_OUT at once, none leaves with the logged-out token, the revoke takes the next slot', async () => {
    const app = appWx((s) => {
      if (s.url.endsWith('/auth/login')) return session(1);
      if (s.url.endsWith('/auth/logout')) return { statusCode: 204 };
      return 'hang';
    });
    const { kit } = kitWith(app.wx);
    await kit.login();
    const requests = Array.from({ length: 13 }, (_, i) => kit.requestWithLogin({ url: `/api/${i}` }).catch((e: { code: string }) => e));
    await flush();
    expect(app.inFlight).toBe(10);
    const loggedOut = kit.logout();
    const queued = (await Promise.all(requests.slice(10))) as Array<{ code: string }>;
    expect(queued.map((e) => e.code)).toEqual(['LOGGED_OUT', 'LOGGED_OUT', 'LOGGED_OUT']);
    app.sent.find((s) => s.url.endsWith('/api/0'))!.answer({ statusCode: 200 });
    await loggedOut;
    const afterLogout = app.sent.slice(app.sent.findIndex((s) => s.url.endsWith('/auth/logout')));
    expect(afterLogout.map((s) => s.url.replace('https://api.example.com', ''))).toEqual(['/auth/logout']);
    expect(app.sent.filter((s) => s.authorization === 'Bearer access-1' && /\/api\/1[0-2]$/.test(s.url))).toHaveLength(0);
  });
});

describe('requestWithLogin is a drop-in for wx.request', () => {
  const okApp = () => appWx((s) => (s.url.endsWith('/auth/login') ? session(1) : { statusCode: 200, data: { ok: true } }));

  it('passes every wx.request option through unchanged', async () => {
    const app = okApp();
    const { kit } = kitWith(app.wx);
    const options = {
      enableHttp2: true,
      enableQuic: true,
      enableCache: true,
      enableHttpDNS: true,
      httpDNSServiceId: 'dns-id',
      enableChunked: true,
      forceCellularNetwork: true,
      redirect: 'manual' as const,
      useHighPerformanceMode: true,
      responseType: 'arraybuffer' as const,
      dataType: '其他' as const,
    };
    await kit.requestWithLogin({ url: '/api/x', method: 'PUT', data: [1, 2, 3], ...options });
    const sent = app.sent[1].options;
    expect(sent).toMatchObject({ ...options, method: 'PUT', data: [1, 2, 3] });
  });

  it('refuses success/fail/complete with INVALID_OPTIONS instead of ignoring them', async () => {
    const { kit } = kitWith(okApp().wx);
    for (const key of ['success', 'fail', 'complete']) {
      const error = await caught(kit.requestWithLogin({ url: '/api/x', [key]: () => undefined } as never));
      expect(error.code).toBe('INVALID_OPTIONS');
    }
  });

  it('aborts a queued request with ABORTED and frees its slot; aborts one in flight too', async () => {
    const app = appWx((s) => (s.url.endsWith('/auth/login') ? session(1) : s.url.endsWith('/fast') ? { statusCode: 200 } : 'hang'));
    const { kit } = kitWith(app.wx, { maxConcurrentRequests: 1 });
    let inFlight!: RequestTaskHandle;
    let queued!: RequestTaskHandle;
    const first = caught(kit.requestWithLogin({ url: '/slow', onTask: (t) => (inFlight = t) }));
    const second = caught(kit.requestWithLogin({ url: '/slow2', onTask: (t) => (queued = t) }));
    await flush();
    queued.abort();
    expect((await second).code).toBe('ABORTED');
    inFlight.abort();
    expect((await first).code).toBe('ABORTED');
    expect((await kit.requestWithLogin({ url: '/fast' })).statusCode).toBe(200);
    expect(app.paths()).not.toContain('/slow2');
  });

  it('aborts a request still waiting for its login at once', async () => {
    const app = appWx((s) => (s.url.endsWith('/auth/login') ? 'hang' : { statusCode: 200 }));
    const { kit } = kitWith(app.wx);
    let task!: RequestTaskHandle;
    const answer = caught(kit.requestWithLogin({ url: '/api/x', onTask: (t) => (task = t) }));
    await flush();
    task.abort();
    expect((await answer).code).toBe('ABORTED');
  });

  it("forwards onHeadersReceived and onChunkReceived to WeChat's task", async () => {
    const app = okApp();
    const { kit } = kitWith(app.wx);
    const headers = jest.fn();
    const chunks = jest.fn();
    await kit.requestWithLogin({
      url: '/api/stream',
      enableChunked: true,
      onTask: (t) => {
        t.onHeadersReceived(headers);
        t.onChunkReceived(chunks);
      },
    });
    app.task.headers.forEach((l) => l({ header: { a: '1' } }));
    app.task.chunks.forEach((l) => l({ data: new ArrayBuffer(2) }));
    expect(headers).toHaveBeenCalledWith({ header: { a: '1' } });
    expect(chunks).toHaveBeenCalledTimes(1);
  });
});

describe('config means what it says', () => {
  it('timeouts.request: 0 is no kit time limit (and no timeout passed to wx.request)', async () => {
    const app = appWx((s) => (s.url.endsWith('/auth/login') ? session(1, 86400) : 'hang'));
    const { kit, clock } = kitWith(app.wx, { timeouts: { request: 0 } });
    await kit.login();
    let settled = false;
    void kit.requestWithLogin({ url: '/api/slow' }).finally(() => (settled = true));
    await flush();
    await clock.advance(60_000);
    expect(settled).toBe(false);
    expect(app.sent[1].options.timeout).toBeUndefined();
  });

  it('throws on a misspelt tips key, in config and per call', async () => {
    const app = appWx(() => ({ statusCode: 200 }));
    expect(() => kitWith(app.wx, { tips: { titel: 'x' } as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    const { kit } = kitWith(app.wx);
    expect((await caught(kit.requestWithLogin({ url: '/api/x', loginOpts: { tips: { contnet: 'x' } as never } }))).code).toBe(
      'INVALID_OPTIONS',
    );
  });

  it('config() again mid-flight keeps one limiter and the session under the key in force', async () => {
    const app = appWx((s) => (s.url.endsWith('/auth/login') ? session(1) : 'hang'));
    const { kit } = kitWith(app.wx);
    await kit.login();
    for (let i = 0; i < 10; i++) void kit.requestWithLogin({ url: `/api/${i}` }).catch(() => undefined);
    kit.config({
      source: 'app',
      baseURL: 'https://api.example.com',
      wx: app.wx,
      clock: new FakeClock(),
      logger: { warn: jest.fn(), error: jest.fn() },
    });
    for (let i = 10; i < 20; i++) void kit.requestWithLogin({ url: `/api/${i}` }).catch(() => undefined);
    await flush();
    expect(app.maxInFlight).toBe(10);
    expect(kit.getState()!.accessToken).toBe('access-1');
    expect(JSON.stringify(app.storage.get('miniprogram-login-kit:session'))).toContain('access-1');
  });

  it('bounds a custom backend.login that never settles by timeouts.backend', async () => {
    const app = appWx(() => ({ statusCode: 200 }));
    const { kit, clock } = kitWith(app.wx, { backend: { login: () => new Promise(() => undefined) }, timeouts: { backend: 5000 } });
    const answer = caught(kit.requestWithLogin({ url: '/api/x' }));
    await clock.advance(5000);
    expect((await answer).code).toBe('TIMEOUT');
  });

  it('settles a request whose wx.request shim calls success(undefined) with NETWORK_ERROR at once', async () => {
    const app = appWx(() => ({ statusCode: 200 }));
    const broken: WxAdapter = { ...app.wx, request: (options) => setImmediate(() => options.success?.(undefined as never)) };
    const { kit } = kitWith(broken);
    expect((await caught(kit.requestWithLogin({ url: '/auth/anything' }))).code).toBe('NETWORK_ERROR');
  });
});
