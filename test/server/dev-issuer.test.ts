/**
 * The development backend of the package (`startBackend`, `npx miniprogram-login-kit dev`) signs its access tokens
 * with an issuer of its own: the reference server rejects them even when both share a key, and accepts its own.
 */
import { buildServer, REFERENCE_ISSUER } from '../../server/app';
import { openMemoryStore } from '../../server/store-memory';
import { WeChatEmulator } from '../../emulator/wechat';
import { DEV_ISSUER, startBackend } from '../../tooling/backend';

// A secret this repository already lists as known (server/known-secrets.ts): never usable in production.
const SECRET = 'development-stack-secret-'.padEnd(40, 'x');
const emulator = new WeChatEmulator();

/** A server signing with `issuer` (default: the reference server's), and the access token of a new user it issued. */
async function serverAndToken(issuer?: string) {
  const server = await buildServer({
    store: openMemoryStore(),
    jwtSecret: SECRET,
    wechatBaseURL: emulator.baseURL,
    apps: { 'demo-app': { appid: emulator.appid, secret: emulator.secret } },
    ...(issuer ? { issuer } : {}),
  });
  const login = await server.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { source: 'demo-app', mode: 'authorize', code: emulator.issueCode(`issuer-${issuer}`), profile: { nickName: 'I' } },
  });
  return { server, token: (login.json() as { accessToken: string }).accessToken };
}

beforeAll(() => emulator.listen());
afterAll(() => emulator.close());

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { iss?: string };

it("rejects the development backend's tokens, signed with the same key, and accepts its own", async () => {
  const reference = await serverAndToken();
  const dev = await serverAndToken(DEV_ISSUER);
  expect([claims(reference.token).iss, claims(dev.token).iss]).toEqual([REFERENCE_ISSUER, DEV_ISSUER]);
  const me = (token: string) => reference.server.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } });
  expect((await me(reference.token)).statusCode).toBe(200);
  expect((await me(dev.token)).json()).toMatchObject({ code: 'TOKEN_INVALID' });
  await Promise.all([reference.server.close(), dev.server.close()]);
});

it('startBackend signs with the development issuer, serves any source, and refuses NODE_ENV=production', async () => {
  const backend = await startBackend();
  try {
    const code = await backend.wechat.issueCode('issuer-any');
    const response = await fetch(`${backend.baseURL}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'some-team-app', mode: 'authorize', code, profile: { nickName: 'Any' } }),
    });
    expect(claims(((await response.json()) as { accessToken: string }).accessToken).iss).toBe(DEV_ISSUER);
  } finally {
    await backend.close();
  }
  const before = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await expect(startBackend()).rejects.toThrow(/refusing to start under NODE_ENV=production/);
  } finally {
    process.env.NODE_ENV = before;
  }
});
