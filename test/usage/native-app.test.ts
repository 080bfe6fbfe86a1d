/**
 * A new native mini-program made from the README's Quick start (test/fixtures/quick-start-app: `source: 'my-app'`, the
 * AuthModal on one page, the login page in app.json), the kit installed the way a team installs it — `npm install` of
 * the tarball `npm pack` makes — and built by miniprogram-ci's `packNpmManually` (WeChat's own "Build npm", offline).
 * Then, written only from the README:
 * - the README's jest test (the `testing-example` block, copied verbatim) passes in the app's folder, run by jest as
 *   the team would run it: a new user through the AuthModal with the page's `$loginUserAuthTips`, a returning user
 *   silently, a refusal then an allow in the permission panel;
 * - `npx miniprogram-login-kit dev` from that install answers `POST /auth/login` for `source: 'my-app'`;
 * - what "Build npm" puts into the mini-program is the kit's `miniprogram_dist` and nothing else: no `node_dist`
 *   (harness, dev backend) and no dependency.
 * The app lives under build/ so jest, miniprogram-simulate and jsdom resolve from this repository's node_modules,
 * as from the team's own devDependencies.
 */
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { packKit } from '../helpers/pack';
import { spawnNode } from '../helpers/spawned';

const root = path.resolve(__dirname, '../..');
let app: string;
let packed: string;

/** Every file under `dir`, relative to it, sorted. */
function filesOf(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** The README's jest example: the code block after `<!-- testing-example -->`. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const match = /<!-- testing-example -->\n```js\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('README.md has no testing-example block');
  return match[1];
}

beforeAll(async () => {
  fs.mkdirSync(path.join(root, 'build'), { recursive: true });
  app = fs.mkdtempSync(path.join(root, 'build', 'quick-start-'));
  fs.cpSync(path.join(root, 'test/fixtures/quick-start-app'), app, { recursive: true });
  packed = fs.mkdtempSync(path.join(root, 'build', 'pack-'));
  const tarball = packKit(packed);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'quick-start-app', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app, stdio: 'pipe' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ci = require('miniprogram-ci') as {
    packNpmManually(o: { packageJsonPath: string; miniprogramNpmDistDir: string }): Promise<unknown>;
  };
  await ci.packNpmManually({ packageJsonPath: path.join(app, 'package.json'), miniprogramNpmDistDir: app });
}, 120_000);
afterAll(() => {
  for (const dir of [app, packed]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it("is built by WeChat's Build npm into the kit's miniprogram_dist and nothing else", () => {
  expect(fs.readdirSync(path.join(app, 'miniprogram_npm'))).toEqual(['miniprogram-login-kit']);
  const built = filesOf(path.join(app, 'miniprogram_npm/miniprogram-login-kit'));
  expect(built).toEqual(filesOf(path.join(app, 'node_modules/miniprogram-login-kit/miniprogram_dist')));
  expect(built.filter((file) => /node_dist|testing|cli/.test(file))).toEqual([]);
  // Only what a mini-program runs: the type declarations stay in the package's types/.
  expect(built.filter((file) => file.endsWith('.d.ts'))).toEqual([]);
});

it("passes the README's jest test of the Quick-start app, run by jest in the app's folder", () => {
  fs.writeFileSync(path.join(app, 'login.test.js'), readmeExample());
  const run = spawnSync(process.execPath, [path.join(root, 'node_modules/jest/bin/jest.js'), '--rootDir', app, '--config', '{}', '--ci'], {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 120_000,
  });
  const output = `${run.stdout}${run.stderr}`;
  expect({ status: run.status, output }).toEqual({ status: 0, output: expect.stringContaining('Tests:       3 passed, 3 total') });
}, 150_000);

it("answers POST /auth/login for source 'my-app' from `npx miniprogram-login-kit dev` of that install", async () => {
  const bin = path.join(app, 'node_modules/.bin/miniprogram-login-kit');
  expect(fs.existsSync(bin)).toBe(true);
  const dev = spawnNode([fs.realpathSync(bin), 'dev', '--port', '0'], { ...process.env }, /Login\.config\(\{[^\n]*\}\);/);
  try {
    const banner = await dev.started;
    const baseURL = /baseURL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1];
    const wechatURL = /stand-in on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1];
    expect(banner).toContain(`Login.config({ source: 'my-app', baseURL: '${baseURL}' });`);
    const post = async (url: string, body: object) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const { code } = (await post(`${wechatURL}/_emulator/code`, { user: 'npx-user' })).body as { code: string };
    expect(await post(`${baseURL}/auth/login`, { source: 'my-app', mode: 'silent', code })).toMatchObject({
      status: 401,
      body: { code: 'USER_NOT_REGISTERED', loginTicket: expect.any(String) },
    });
  } finally {
    await dev.stop();
  }
});
