/**
 * `npm run server` as the README's Quick start uses it: started as a process, it serves the Quick start's own
 * `source: 'my-app'` (any source: development), says what it serves and what to paste, and a second start on the same
 * port says what to do instead of a bare EADDRINUSE.
 */
import path from 'path';
import { spawnNode, type Spawned } from '../helpers/spawned';

const script = path.resolve(__dirname, '../../build/scripts/dev-server.js');
const READY = /Login\.config\(\{[^\n]*\}\);/;
let first: Spawned;
let banner: string;
let baseURL: string;
let wechatURL: string;

beforeAll(async () => {
  first = spawnNode([script], { ...process.env, PORT: '0', LOG_LEVEL: 'silent' }, READY);
  banner = await first.started;
  baseURL = /baseURL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1];
  wechatURL = /stand-in on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1];
});
afterAll(() => first?.stop());

const post = async (url: string, body: object) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

it('prints its baseURL, its registration policy, that it serves any source, and the exact Login.config line', () => {
  expect(banner).toContain('for development only');
  expect(banner).toMatch(/registration\s+authorize/);
  expect(banner).toMatch(/sources\s+any/);
  expect(banner).toContain(`Login.config({ source: 'my-app', baseURL: '${baseURL}' });`);
});

it.each(['my-app', 'demo-app', 'another-app'])('logs a user in for source %s (a new user gets a login ticket)', async (source) => {
  const { code } = (await post(`${wechatURL}/_emulator/code`, { user: `quick-${source}` })).body as { code: string };
  const silent = await post(`${baseURL}/auth/login`, { source, mode: 'silent', code });
  expect(silent).toMatchObject({ status: 401, body: { code: 'USER_NOT_REGISTERED' } });
  const authorized = await post(`${baseURL}/auth/login`, {
    source,
    mode: 'authorize',
    loginTicket: silent.body.loginTicket,
    profile: { nickName: 'Quick' },
  });
  expect(authorized).toMatchObject({ status: 200, body: { isNewUser: true, user: { nickName: 'Quick' } } });
});

it('says what to do when its port is taken, and exits 1', async () => {
  const port = new URL(baseURL).port;
  const second = spawnNode([script], { ...process.env, PORT: port, LOG_LEVEL: 'silent' }, READY);
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain(`port ${port} on 127.0.0.1 is already in use`);
  expect(second.output()).toContain(`PORT=${Number(port) + 1} npm run server`);
});
