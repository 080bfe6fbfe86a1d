/** The reference server against the WeChat emulator, through Fastify's inject (no client kit involved). */
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../server/app';
import { openSqliteStore } from '../../server/store-sqlite';
import { WeChatEmulator } from '../../emulator/wechat';

let emulator: WeChatEmulator;
let server: FastifyInstance;
let clock: number;

beforeAll(async () => {
  emulator = new WeChatEmulator({ now: () => clock });
  await emulator.listen();
});
afterAll(() => emulator.close());

beforeEach(async () => {
  clock = Date.now();
  server = await buildServer({
    store: openSqliteStore(':memory:'),
    jwtSecret: 'x'.repeat(32),
    wechatBaseURL: emulator.baseURL,
    apps: { demo: { appid: emulator.appid, secret: emulator.secret } },
    accessTtlSeconds: 60,
    now: () => clock,
  });
});
afterEach(() => server.close());

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  server.inject({ method: 'POST', url, payload: payload as object, headers: { 'content-type': 'application/json', ...headers } });

async function register(openid: string) {
  const silent = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode(openid) });
  const { loginTicket } = silent.json();
  const { signature, rawData, encryptedData, iv } = emulator.userInfoDetail(openid);
  return post('/auth/login', { source: 'demo', mode: 'authorize', loginTicket, userInfo: { signature, rawData, encryptedData, iv } });
}

describe('POST /auth/login', () => {
  it('answers USER_NOT_REGISTERED with a ticket for an unknown user, then registers them with verified userInfo', async () => {
    emulator.user('u1', { nickName: '小明' });
    const silent = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u1') });
    expect(silent.statusCode).toBe(401);
    expect(silent.json()).toMatchObject({ code: 'USER_NOT_REGISTERED', loginTicket: expect.any(String) });

    const { signature, rawData, encryptedData, iv } = emulator.userInfoDetail('u1');
    const auth = await post('/auth/login', {
      source: 'demo',
      mode: 'authorize',
      loginTicket: silent.json().loginTicket,
      userInfo: { signature, rawData, encryptedData, iv },
    });
    expect(auth.statusCode).toBe(200);
    expect(auth.json()).toMatchObject({
      expiresIn: 60,
      refreshExpiresIn: 2_592_000,
      isNewUser: true,
      user: { nickName: '小明', phoneBound: false },
    });

    const again = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u1') });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ isNewUser: false, user: { id: auth.json().user.id } });
  });

  it('never sends session_key to the client', async () => {
    const response = await register('u2');
    expect(response.body).not.toContain(emulator.user('u2').sessionKey);
    expect(response.body).not.toMatch(/session_?key/i);
  });

  it.each([
    ['a tampered rawData', (d: Record<string, string>) => ({ ...d, rawData: d.rawData.replace('}', ',"x":1}') })],
    ['a wrong signature', (d: Record<string, string>) => ({ ...d, signature: 'f'.repeat(40) })],
    ['garbage ciphertext', (d: Record<string, string>) => ({ ...d, encryptedData: Buffer.from('nope').toString('base64') })],
  ])('rejects userInfo with %s as INVALID_USER_DATA', async (_what, tamper) => {
    const silent = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u3') });
    const { signature, rawData, encryptedData, iv } = emulator.userInfoDetail('u3');
    const response = await post('/auth/login', {
      source: 'demo',
      mode: 'authorize',
      loginTicket: silent.json().loginTicket,
      userInfo: tamper({ signature, rawData, encryptedData, iv }),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('INVALID_USER_DATA');
  });

  it('accepts a ticket once and not after 5 minutes', async () => {
    const first = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u4') });
    const ticket = first.json().loginTicket;
    const profile = { nickName: 'n', avatarUrl: '' };
    expect((await post('/auth/login', { source: 'demo', mode: 'authorize', loginTicket: ticket, profile })).statusCode).toBe(200);
    expect((await post('/auth/login', { source: 'demo', mode: 'authorize', loginTicket: ticket, profile })).json().code).toBe(
      'INVALID_TICKET',
    );

    const second = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u5') });
    clock += 300_001;
    expect(
      (await post('/auth/login', { source: 'demo', mode: 'authorize', loginTicket: second.json().loginTicket, profile })).json().code,
    ).toBe('INVALID_TICKET');
  });

  it('answers INVALID_CODE for a code used twice or older than 5 minutes', async () => {
    await register('u6');
    const code = emulator.issueCode('u6');
    expect((await post('/auth/login', { source: 'demo', mode: 'silent', code })).statusCode).toBe(200);
    expect((await post('/auth/login', { source: 'demo', mode: 'silent', code })).json().code).toBe('INVALID_CODE');
    const old = emulator.issueCode('u6');
    clock += 300_000;
    expect((await post('/auth/login', { source: 'demo', mode: 'silent', code: old })).json().code).toBe('INVALID_CODE');
  });

  it.each([
    [45011, 429, 'RATE_LIMITED'],
    [40226, 403, 'USER_BLOCKED'],
    [-1, 503, 'WECHAT_UNAVAILABLE'],
    [41008, 400, 'INVALID_CODE'],
    [40013, 500, 'BACKEND_MISCONFIGURED'],
    [40125, 500, 'BACKEND_MISCONFIGURED'],
    [99999, 502, 'WECHAT_ERROR'],
  ])('maps WeChat errcode %i to HTTP %i %s', async (errcode, status, code) => {
    emulator.queuedErrors.push(errcode);
    const response = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u7') });
    expect(response.statusCode).toBe(status);
    expect(response.json().code).toBe(code);
    if (code === 'RATE_LIMITED') expect(response.json().retryAfter).toBe(60);
    if (code === 'RATE_LIMITED') expect(response.headers['retry-after']).toBe('60');
  });

  it.each<[string, string | object]>([
    ['bad JSON', '{"source":'],
    [
      'an unknown field inside profile (contract 1.3: a typo in a known field)',
      { source: 'demo', mode: 'authorize', code: 'c', profile: { nickname: 'x' } },
    ],
    ['both code and loginTicket (contract 1.3)', { source: 'demo', mode: 'authorize', code: 'c', loginTicket: 't' }],
    ['a loginTicket with mode silent (contract 1.3)', { source: 'demo', mode: 'silent', loginTicket: 't' }],
    ['a wrong type', { source: 'demo', mode: 'silent', code: 42 }],
    ['a missing source', { mode: 'silent', code: 'c' }],
    ['an unknown mode', { source: 'demo', mode: 'maybe', code: 'c' }],
    ['neither code nor ticket', { source: 'demo', mode: 'silent' }],
    ['an unknown source', { source: 'other', mode: 'silent', code: 'c' }],
    ['a huge body', { source: 'demo', mode: 'silent', code: 'c'.repeat(20_000) }],
  ])('answers BAD_REQUEST for %s, never a 500', async (_what, payload) => {
    const response = await post('/auth/login', payload);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json().code).toBe('BAD_REQUEST');
  });
});

describe('tokens', () => {
  it('protects /api/me: TOKEN_INVALID without or with a bad token, TOKEN_EXPIRED after expiry', async () => {
    const { accessToken } = (await register('u8')).json();
    const me = (authorization?: string) =>
      server.inject({ method: 'GET', url: '/api/me', headers: authorization ? { authorization } : {} });
    expect((await me(`Bearer ${accessToken}`)).statusCode).toBe(200);
    expect((await me()).json().code).toBe('TOKEN_INVALID');
    expect((await me('Bearer nope')).json().code).toBe('TOKEN_INVALID');
    clock += 61_000;
    const expired = await me(`Bearer ${accessToken}`);
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe('TOKEN_EXPIRED');
  });

  it('rotates refresh tokens, and a reused one (past the 10 s reuse interval) revokes the whole family', async () => {
    const { refreshToken } = (await register('u9')).json();
    const rotated = await post('/auth/refresh', { refreshToken });
    expect(rotated.statusCode).toBe(200);
    const next = rotated.json().refreshToken;
    expect(next).not.toBe(refreshToken);
    clock += 11_000;
    const reuse = await post('/auth/refresh', { refreshToken });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().code).toBe('REFRESH_TOKEN_INVALID');
    expect((await post('/auth/refresh', { refreshToken: next })).json().code).toBe('REFRESH_TOKEN_INVALID');
  });

  it('contract 1.3: a repeat inside the reuse interval gets the same successor; once that is used, the repeat revokes the family', async () => {
    const { refreshToken } = (await register('u11')).json();
    const first = await post('/auth/refresh', { refreshToken });
    clock += 5_000;
    const repeat = await post('/auth/refresh', { refreshToken });
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json().refreshToken).toBe(first.json().refreshToken);
    // The interval runs from the first rotation: 5 s + 6 s is past 10 s, whatever the repeat did.
    clock += 6_000;
    expect((await post('/auth/refresh', { refreshToken })).json().code).toBe('REFRESH_TOKEN_INVALID');
    expect((await post('/auth/refresh', { refreshToken: first.json().refreshToken })).json().code).toBe('REFRESH_TOKEN_INVALID');

    const other = (await register('u12')).json().refreshToken;
    const successor = (await post('/auth/refresh', { refreshToken: other })).json().refreshToken;
    const third = await post('/auth/refresh', { refreshToken: successor });
    expect(third.statusCode).toBe(200);
    const reuse = await post('/auth/refresh', { refreshToken: other });
    expect(reuse.json().code).toBe('REFRESH_TOKEN_INVALID');
    expect((await post('/auth/refresh', { refreshToken: third.json().refreshToken })).json().code).toBe('REFRESH_TOKEN_INVALID');
  });

  it('contract 1.3: ignores unknown top-level fields, accepts a lower-case bearer scheme and iat up to 60 s ahead', async () => {
    const registered = (await register('u13')).json();
    const refreshed = await post('/auth/refresh', { refreshToken: registered.refreshToken, deviceId: 'from-a-newer-client' });
    expect(refreshed.statusCode).toBe(200);
    const silent = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u13'), newerField: { x: 1 } });
    expect(silent.statusCode).toBe(200);
    const me = (authorization: string) => server.inject({ method: 'GET', url: '/api/me', headers: { authorization } });
    expect((await me(`bearer ${silent.json().accessToken}`)).statusCode).toBe(200);
    // A token another instance signed with its clock 30 s ahead: accepted; 2 minutes ahead: refused.
    clock -= 30_000;
    expect((await me(`Bearer ${silent.json().accessToken}`)).statusCode).toBe(200);
    clock -= 90_000;
    expect((await me(`Bearer ${silent.json().accessToken}`)).json().code).toBe('TOKEN_INVALID');
  });

  it('contract 1.3: the ticket lifetime is in the answer; authorize with nothing authorized registers nobody', async () => {
    const silent = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u14') });
    expect(silent.json().ticketExpiresIn).toBe(300);
    const bare = await post('/auth/login', { source: 'demo', mode: 'authorize', loginTicket: silent.json().loginTicket });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().code).toBe('BAD_REQUEST');
    expect((await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u14') })).json().code).toBe(
      'USER_NOT_REGISTERED',
    );
  });

  it('contract 1.3: logout with a refresh token only, or a bearer only, revokes that family; with nothing, 204', async () => {
    const a = (await register('u15')).json();
    expect((await post('/auth/logout', { refreshToken: a.refreshToken })).statusCode).toBe(204);
    expect((await post('/auth/refresh', { refreshToken: a.refreshToken })).json().code).toBe('REFRESH_TOKEN_INVALID');
    const b = (await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('u15') })).json();
    expect((await post('/auth/logout', {}, { authorization: `Bearer ${b.accessToken}` })).statusCode).toBe(204);
    expect((await post('/auth/refresh', { refreshToken: b.refreshToken })).json().code).toBe('REFRESH_TOKEN_INVALID');
    expect((await server.inject({ method: 'POST', url: '/auth/logout' })).statusCode).toBe(204);
  });

  it('logout revokes the refresh token family and is idempotent', async () => {
    const { accessToken, refreshToken } = (await register('u10')).json();
    const logout = () => post('/auth/logout', { refreshToken }, { authorization: `Bearer ${accessToken}` });
    expect((await logout()).statusCode).toBe(204);
    expect((await logout()).statusCode).toBe(204);
    expect((await post('/auth/refresh', { refreshToken })).json().code).toBe('REFRESH_TOKEN_INVALID');
  });
});

describe('phone and avatar', () => {
  it('binds a phone from a one-time code, and answers INVALID_USER_DATA for a used code', async () => {
    const silent = await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode('p1') });
    const { code } = emulator.phoneDetail('p1', '13700000000');
    const bound = await post('/auth/login', { source: 'demo', mode: 'authorize', loginTicket: silent.json().loginTicket, phoneCode: code });
    expect(bound.json()).toMatchObject({ isNewUser: true, user: { phoneBound: true } });
    expect(bound.body).not.toContain('13700000000');
    const again = await post('/auth/login', { source: 'demo', mode: 'authorize', code: emulator.issueCode('p1'), phoneCode: code });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('INVALID_USER_DATA');
  });

  /** A real PNG signature and header: uploads are checked by content. */
  const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
  /** A login ticket from a silent login of an unknown user: what the kit holds before the authorize call. */
  const ticket = async (openid: string): Promise<string> =>
    (await post('/auth/login', { source: 'demo', mode: 'silent', code: emulator.issueCode(openid) })).json().loginTicket;

  it('refuses an anonymous upload (no ticket, no access token) with 401', async () => {
    const response = await upload([
      ['source', 'demo'],
      ['file', new Blob([PNG], { type: 'image/png' }), 'a.png'],
    ]);
    expect(response.statusCode).toBe(401);
  });

  const upload = (parts: Array<[string, string | Blob, string?]>) => {
    const form = new FormData();
    for (const [name, value, filename] of parts) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, value, filename);
    }
    const request = new Request('http://x/auth/avatar', { method: 'POST', body: form });
    return request.arrayBuffer().then((body) =>
      server.inject({
        method: 'POST',
        url: '/auth/avatar',
        payload: Buffer.from(body),
        headers: { 'content-type': request.headers.get('content-type')! },
      }),
    );
  };

  it('stores an uploaded avatar (with the login ticket) and serves it back', async () => {
    const response = await upload([
      ['source', 'demo'],
      ['loginTicket', await ticket('av1')],
      ['file', new Blob([PNG], { type: 'image/png' }), 'a.png'],
    ]);
    expect(response.statusCode).toBe(200);
    const url = new URL(response.json().avatarUrl);
    const served = await server.inject({ method: 'GET', url: url.pathname });
    expect(served.headers['content-type']).toBe('image/png');
    expect(Buffer.from(served.rawPayload).equals(PNG)).toBe(true);
  });

  it.each<[string, Array<[string, string | Blob, string?]>]>([
    [
      'an unknown source',
      [
        ['source', 'other'],
        ['file', new Blob(['x'], { type: 'image/png' }), 'a.png'],
      ],
    ],
    [
      'a file that is not an image',
      [
        ['source', 'demo'],
        ['loginTicket', 'TICKET'],
        ['file', new Blob(['x'], { type: 'text/html' }), 'a.html'],
      ],
    ],
    [
      'HTML declared as a PNG (the content decides, not the declared type)',
      [
        ['source', 'demo'],
        ['loginTicket', 'TICKET'],
        ['file', new Blob(['<html><script>alert(1)</script>'], { type: 'image/png' }), 'a.png'],
      ],
    ],
    [
      'a file over 1 MB',
      [
        ['source', 'demo'],
        ['loginTicket', 'TICKET'],
        ['file', new Blob([Buffer.concat([PNG, Buffer.alloc(1024 * 1024)])], { type: 'image/png' }), 'a.png'],
      ],
    ],
  ])('refuses %s with BAD_REQUEST', async (_what, parts) => {
    const withTicket = await ticket('av2');
    const response = await upload(parts.map(([name, value, filename]) => [name, value === 'TICKET' ? withTicket : value, filename]));
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json().code).toBe('BAD_REQUEST');
  });
});

describe('abuse and configuration', () => {
  const limitedServer = (rateLimit: { perIp: number; perOpenid: number }) =>
    buildServer({
      store: openSqliteStore(':memory:'),
      jwtSecret: 'y'.repeat(32),
      wechatBaseURL: emulator.baseURL,
      apps: { demo: { appid: emulator.appid, secret: emulator.secret } },
      rateLimit,
      now: () => clock,
    });

  it('rate-limits logins per openid with RATE_LIMITED and retryAfter, and lets them through in the next window', async () => {
    const limited = await limitedServer({ perIp: 100, perOpenid: 3 });
    const login = () =>
      limited.inject({ method: 'POST', url: '/auth/login', payload: { source: 'demo', mode: 'silent', code: emulator.issueCode('busy') } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await login()).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const body = (await login()).json();
    expect(body).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60 });
    clock += 60_000;
    expect((await login()).statusCode).toBe(401);
    await limited.close();
  });

  it('rate-limits per client IP before any code exchange', async () => {
    const limited = await limitedServer({ perIp: 2, perOpenid: 100 });
    const before = emulator.code2SessionCalls;
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(
        (
          await limited.inject({
            method: 'POST',
            url: '/auth/login',
            payload: { source: 'demo', mode: 'silent', code: emulator.issueCode(`ip${i}`) },
          })
        ).statusCode,
      );
    expect(answers).toEqual([401, 401, 429]);
    expect(emulator.code2SessionCalls - before).toBe(2);
    await limited.close();
  });

  it('refuses to start in production with the development secret or without WeChat credentials', async () => {
    const { startServer } = await import('../../server/main');
    await expect(startServer({ NODE_ENV: 'production', PORT: '0' })).rejects.toThrow(/refusing to start in production/);
    await expect(startServer({ NODE_ENV: 'production', PORT: '0', WX_APPID: 'a', WX_SECRET: 'b' })).rejects.toThrow(/JWT_SECRET/);
    await expect(
      startServer({
        NODE_ENV: 'production',
        PORT: '0',
        JWT_SECRET: 'development-only-secret-change-me-0123456789',
        WX_APPID: 'a',
        WX_SECRET: 'b',
      }),
    ).rejects.toThrow(/JWT_SECRET/);
  });

  it('refuses a JWT secret shorter than 32 characters', async () => {
    await expect(buildServer({ store: openSqliteStore(':memory:'), jwtSecret: 'short', wechatBaseURL: '', apps: {} })).rejects.toThrow(
      /32 characters/,
    );
  });
});

describe('WeChat DevTools in development', () => {
  const devtoolsCode = () => `devtools-${Math.random().toString(36).slice(2)}`; // a code our emulator never issued

  it('logs a foreign code in as the stable development user when the development stack accepts them: new, returning, refresh', async () => {
    const { startStack } = await import('../../scripts/stack');
    const stack = await startStack({ acceptDevtoolsCodes: true, registration: 'silent' });
    const login = async () =>
      (await fetch(`${stack.baseURL}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: 'demo-app', mode: 'silent', code: devtoolsCode() }),
      }).then((r) => r.json())) as { user: { id: string; nickName: string }; isNewUser: boolean; refreshToken: string };
    const first = await login();
    const second = await login();
    expect([first.isNewUser, second.isNewUser, second.user.id]).toEqual([true, false, first.user.id]);
    const refreshed = await fetch(`${stack.baseURL}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: second.refreshToken }),
    });
    expect(refreshed.status).toBe(200);
    await stack.close();
  });

  it('refuses such a code everywhere else (the emulator of the tests, and any server pointed at WeChat)', async () => {
    const answer = await post('/auth/login', { source: 'demo', mode: 'silent', code: devtoolsCode() });
    expect([answer.statusCode, answer.json().code]).toEqual([400, 'INVALID_CODE']);
  });
});
