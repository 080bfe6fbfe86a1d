/**
 * The reference server as an adversary and an operator meet it (issue 12): started the way a deployment starts it
 * (`startServer` with environment variables, against a WeChat stand-in at `WECHAT_API_BASE`), then attacked over
 * real HTTP — disk filling, forged tokens, malformed multipart, `__proto__`, a spoofed `Host` — and raced.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { SignJWT } from 'jose';
import { WeChatEmulator } from '../../emulator/wechat';
import { startServer, type RunningServer } from '../../server/main';
import { MAX_AVATAR_SIDE } from '../../server/avatar-image';
import { jpegHeader, png, pngHeader, webpHeader } from '../helpers/images';

const SECRET = 'a-deployment-secret-of-its-own-0123456789';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

let emulator: WeChatEmulator;
let server: RunningServer;
let dbFile: string;

beforeAll(async () => {
  emulator = new WeChatEmulator({ appid: 'wx1234567890abcdef', secret: 'a-real-looking-app-secret' });
  await emulator.listen();
  dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-db-')), 'login.db');
  server = await startServer({
    PORT: '0',
    DB_FILE: dbFile,
    JWT_SECRET: SECRET,
    WX_APPID: emulator.appid,
    WX_SECRET: emulator.secret,
    WECHAT_API_BASE: emulator.baseURL,
    PUBLIC_BASE_URL: 'https://api.example.com',
    TRUST_PROXY: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
});
afterAll(async () => {
  await server.close();
  await emulator.close();
});

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(server.url + url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const login = (body: object, headers: Record<string, string> = {}) => post('/auth/login', { source: 'demo-app', ...body }, headers);
async function registered(openid: string, headers: Record<string, string> = {}) {
  const silent = await (await login({ mode: 'silent', code: emulator.issueCode(openid) }, headers)).json();
  return (await login({ mode: 'authorize', loginTicket: silent.loginTicket, profile: { nickName: openid } }, headers)).json();
}
const upload = (fields: Record<string, string>, file: Buffer = PNG, headers: Record<string, string> = {}) => {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([new Uint8Array(file)], { type: 'image/png' }), 'a.png');
  return fetch(`${server.url}/auth/avatar`, { method: 'POST', body: form, headers });
};

describe('refuses to start in a way that could sign real tokens with a known secret', () => {
  it.each([undefined, 'prod', 'production', 'development'])('NODE_ENV=%s with WeChat credentials and no JWT_SECRET', async (env) => {
    await expect(startServer({ NODE_ENV: env, PORT: '0', WX_APPID: 'wxa', WX_SECRET: 'b' })).rejects.toThrow(/JWT_SECRET/);
  });

  it('`npm run server` (its script) with WX_APPID and WX_SECRET and no JWT_SECRET exits with the reason', () => {
    const script = path.resolve(__dirname, '../../build/scripts/dev-server.js');
    const run = spawnSync(process.execPath, [script], {
      env: { ...process.env, WX_APPID: 'wxa', WX_SECRET: 'b', PORT: '0' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/JWT_SECRET/);
  });

  it('refuses a lifetime that is not a number of seconds (ACCESS_TTL=15m)', async () => {
    await expect(startServer({ PORT: '0', WX_APPID: 'wxa', WX_SECRET: 'b', JWT_SECRET: SECRET, ACCESS_TTL: '15m' })).rejects.toThrow(
      /seconds/,
    );
  });

  it('creates the database file readable by its owner only', () => {
    expect(fs.statSync(dbFile).mode & 0o077).toBe(0);
  });
});

describe('the disk cannot be filled through the avatar upload', () => {
  it('refuses an anonymous upload', async () => {
    expect((await upload({ source: 'demo-app' })).status).toBe(401);
  });

  it('caps uploads per user (10 a day) even with a valid ticket', async () => {
    const silent = await (await login({ mode: 'silent', code: emulator.issueCode('filler') })).json();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await upload({ source: 'demo-app', loginTicket: silent.loginTicket })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses[10]).toBe(429);
  });

  it('checks the content, not the declared type, and serves with nosniff from the public base URL (not the Host header)', async () => {
    const silent = await (await login({ mode: 'silent', code: emulator.issueCode('sniffer') })).json();
    const html = await upload({ source: 'demo-app', loginTicket: silent.loginTicket }, Buffer.from('<script>alert(1)</script>'));
    expect(html.status).toBe(400);
    const ok = await upload({ source: 'demo-app', loginTicket: silent.loginTicket }, PNG, { host: 'evil.example' });
    const { avatarUrl } = await ok.json();
    expect(avatarUrl).toMatch(/^https:\/\/api\.example\.com\/avatars\//);
    const served = await fetch(server.url + new URL(avatarUrl).pathname);
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('avatars: the cap holds under parallel uploads, bombs and polyglots are harmless', () => {
  const ticketOf = async (openid: string): Promise<string> =>
    (await (await login({ mode: 'silent', code: emulator.issueCode(openid) }, { 'x-forwarded-for': `192.0.2.${openid.length}` })).json())
      .loginTicket;

  it('60 parallel 1 MB uploads on one ticket store at most the cap (10 a day)', async () => {
    const loginTicket = await ticketOf('parallel-uploader');
    const megabyte = Buffer.concat([png(64, 64), Buffer.alloc(1_000_000 - png(64, 64).length)]);
    const statuses = await Promise.all(
      Array.from({ length: 60 }, () =>
        upload({ source: 'demo-app', loginTicket }, megabyte, { 'x-forwarded-for': '192.0.2.60' }).then(
          (response) => response.status,
          () => 0, // a connection the server ended while the body was still on its way: nothing stored
        ),
      ),
    );
    const stored = statuses.filter((status) => status === 200).length;
    console.log(`60 parallel uploads on one ticket (SQLite): ${stored} stored, ${statuses.filter((s) => s === 429).length} × 429`);
    expect(stored).toBeLessThanOrEqual(10);
    expect(stored).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
  }, 60_000); // 60 MB over loopback on a shared machine

  it.each<[string, Buffer]>([
    ['a valid 5000 × 5000 PNG of a few KB (25 MB decoded)', png(5000, 5000)],
    ['a PNG header claiming 100 000 × 100 000', pngHeader(100_000, 100_000)],
    [`a PNG ${MAX_AVATAR_SIDE + 1} px wide`, pngHeader(MAX_AVATAR_SIDE + 1, 16)],
    ['a JPEG header claiming 20 000 × 20 000', jpegHeader(20_000, 20_000)],
    ['a WebP header claiming 16 383 × 16 383', webpHeader(16_383, 16_383)],
  ])('refuses %s with 400 and stores nothing', async (_what, image) => {
    const loginTicket = await ticketOf('bomber');
    const response = await upload({ source: 'demo-app', loginTicket }, image);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/4096/);
  });

  it(`accepts ${MAX_AVATAR_SIDE} × ${MAX_AVATAR_SIDE} (the limit) and an ordinary JPEG header`, async () => {
    const loginTicket = await ticketOf('artist');
    expect((await upload({ source: 'demo-app', loginTicket }, pngHeader(MAX_AVATAR_SIDE, MAX_AVATAR_SIDE))).status).toBe(200);
    expect((await upload({ source: 'demo-app', loginTicket }, jpegHeader(640, 640))).status).toBe(200);
  });

  it('serves a polyglot (a PNG followed by HTML) as a download under a sandboxing CSP, with nosniff', async () => {
    const loginTicket = await ticketOf('polyglot');
    const polyglot = Buffer.concat([png(8, 8), Buffer.from('<html><script>alert(document.cookie)</script></html>')]);
    const { avatarUrl } = await (await upload({ source: 'demo-app', loginTicket }, polyglot)).json();
    const served = await fetch(server.url + new URL(avatarUrl).pathname);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(served.headers.get('x-content-type-options')).toBe('nosniff');
    expect(served.headers.get('content-disposition')).toMatch(/^attachment; filename="avatar\.png"$/);
    expect(served.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
  });
});

describe("a profile avatarUrl is stored only when it is https: or one of the server's own avatars", () => {
  let painters = 10;
  it.each([
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'http://example.com/a.png',
    'not a url',
    '//evil.example/a.png',
  ])('refuses %s with 400, at the login and at the bind', async (avatarUrl) => {
    const silent = await (await login({ mode: 'silent', code: emulator.issueCode('painter') })).json();
    const authorize = await login({ mode: 'authorize', loginTicket: silent.loginTicket, profile: { nickName: 'p', avatarUrl } });
    expect([authorize.status, (await authorize.json()).code]).toEqual([400, 'BAD_REQUEST']);
    const session = await registered(`painter-${++painters}`);
    const bind = await post('/auth/bind', { profile: { nickName: 'p', avatarUrl } }, { authorization: `Bearer ${session.accessToken}` });
    expect(bind.status).toBe(400);
    const me = await (await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${session.accessToken}` } })).json();
    expect(me.user.avatarUrl).toBe('');
  });

  it("stores an https: URL and the server's own avatar link", async () => {
    const session = await registered('painter-3');
    const bind = (avatarUrl: string) =>
      post('/auth/bind', { profile: { nickName: 'p', avatarUrl } }, { authorization: `Bearer ${session.accessToken}` });
    expect((await bind('https://thirdwx.qlogo.cn/mmopen/a/132')).status).toBe(200);
    const own = await (await upload({ source: 'demo-app' }, PNG, { authorization: `Bearer ${session.accessToken}` })).json();
    const answer = await bind(own.avatarUrl);
    expect([answer.status, (await answer.json()).user.avatarUrl]).toEqual([200, own.avatarUrl]);
  });
});

describe('every malformed input is a 4xx', () => {
  it('multipart without a boundary', async () => {
    const response = await fetch(`${server.url}/auth/avatar`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data' },
      body: 'x',
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it('multipart with too many fields before the file', async () => {
    const response = await upload({ source: 'demo-app', a: '1', b: '2', c: '3', d: '4' });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it.each(['__proto__', 'constructor', 'toString'])('the source "%s" is 400 and never reaches WeChat', async (source) => {
    const before = emulator.code2SessionCalls;
    const response = await post('/auth/login', { source, mode: 'silent', code: emulator.issueCode('proto') });
    expect(response.status).toBe(400);
    expect(emulator.code2SessionCalls).toBe(before);
  });
});

describe('tokens', () => {
  it('answers token responses with Cache-Control: no-store', async () => {
    const response = await login({ mode: 'silent', code: emulator.issueCode('cache') });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('revocation reaches access tokens: after logout the old access token gets 401 on /api/me', async () => {
    const session = await registered('leaver');
    const me = () => fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${session.accessToken}` } });
    expect((await me()).status).toBe(200);
    await post('/auth/logout', { refreshToken: session.refreshToken }, { authorization: `Bearer ${session.accessToken}` });
    const after = await me();
    expect(after.status).toBe(401);
    expect((await after.json()).code).toBe('TOKEN_INVALID');
  });

  it('refuses a correctly signed token without exp, and one whose lifetime is above the maximum', async () => {
    const session = await registered('forger');
    const key = new TextEncoder().encode(SECRET);
    const sub = session.user.id;
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().sign(key);
    const forever = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('10y')
      .sign(key);
    for (const token of [noExp, forever]) {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
    }
  });

  it.each(['bearer', 'BEARER', 'Bearer  '])('accepts the scheme written "%s" (case-insensitive, RFC 9110 §11.1)', async (scheme) => {
    const session = await registered(`scheme-${scheme.trim()}`);
    const me = await fetch(`${server.url}/api/me`, { headers: { authorization: `${scheme} ${session.accessToken}` } });
    expect(me.status).toBe(200);
  });

  it('two simultaneous registrations of one new user both succeed, as the same user', async () => {
    const [a, b] = await Promise.all(
      [1, 2].map(() =>
        login({ mode: 'authorize', code: emulator.issueCode('twin'), phoneCode: emulator.phoneDetail('twin', '13900000001').code }),
      ),
    );
    expect([a.status, b.status]).toEqual([200, 200]);
    const [ja, jb] = await Promise.all([a.json(), b.json()]);
    expect(ja.user.id).toBe(jb.user.id);
  });

  it("keeps binding phones after WeChat revoked the server's access token (40001: refetch once, retry)", async () => {
    expect(
      (await login({ mode: 'authorize', code: emulator.issueCode('ph1'), phoneCode: emulator.phoneDetail('ph1', '13900000002').code }))
        .status,
    ).toBe(200);
    emulator.revokeAccessTokens();
    const again = await login({
      mode: 'authorize',
      code: emulator.issueCode('ph2'),
      phoneCode: emulator.phoneDetail('ph2', '13900000003').code,
    });
    expect(again.status).toBe(200);
    expect((await again.json()).user.phoneBound).toBe(true);
  });
});

describe('behind a reverse proxy (TRUST_PROXY)', () => {
  it('limits per client IP from X-Forwarded-For: one client is limited, another behind the same proxy is not', async () => {
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const statuses: number[] = [];
    for (let i = 0; i < 121; i++) statuses.push((await post('/auth/refresh', { refreshToken: `x${i}` }, from('203.0.113.7'))).status);
    expect(statuses.slice(0, 120).every((s) => s === 401)).toBe(true);
    expect(statuses[120]).toBe(429);
    expect((await post('/auth/refresh', { refreshToken: 'y' }, from('198.51.100.9'))).status).toBe(401);
  });
});
