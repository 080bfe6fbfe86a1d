/**
 * The walk every framework example passes (test/e2e/example-*.test.ts, one file per example so each app runs on a
 * phone of its own: a framework's runtime leaves globals behind). The framework examples as their teams build them: examples/taro (Taro 4, React, webpack 5) and examples/uni-app
 * (uni-app, Vue 3, vite), each installed from its own lockfile with the kit that `npm pack` makes (scripts/examples.js
 * install, run by `npm test` before jest), built by the framework's own CLI for WeChat, and walked headlessly with the public harness (`miniprogram-login-kit/testing`, built) against its
 * development backend: a new user through the AuthModal, titled by the page's tips (Taro: `providePageTips` in
 * `useLoad`; uni-app: `defineExpose` on a `<script setup>` page); a new user through the login page hosted by a wrapper
 * page, titled by the asking page's tips (Taro: `providePageTips`; uni-app: an Options API method); a returning user
 * silently. And the one-hub property: exactly one file of each output defines `userAuthHub`.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type * as Testing from '../../tooling/testing';

const root = path.resolve(__dirname, '../..');
/** The harness as published: the built `miniprogram-login-kit/testing` (node_dist/testing). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startBackend, launchApp } = require(path.join(root, 'node_dist/testing')) as typeof Testing;
/** A string only the hub module contains (its misuse error), to count the files that define a hub. */
const HUB_MARKER = 'hub.subscribe(listener) expects a function';

/** Every file under `dir`, relative to it. */
function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((entry) => {
    if (!entry.isFile()) return [];
    return [path.relative(dir, path.join(entry.parentPath, entry.name))];
  });
}

/** One example: its folder under examples/, its build output and the file that should hold the hub. */
export interface Example {
  name: string;
  output: string;
  hubFile: string;
  /** Taro's everyday development build (`taro build --watch`, which prebundles dependencies) instead of the production one. */
  dev?: boolean;
}

/** Declares the example's tests (jest `describe`): build, one hub, the AuthModal, the login page, a returning user. */
export function walkExample(example: Example): void {
  describe(`examples/${example.name}${example.dev ? ' (development build)' : ''}`, () => walk(example));
}

function walk({ name, output, hubFile, dev }: Example): void {
  const built = path.join(root, 'examples', name, output);
  let backend: Testing.DevBackend;

  beforeAll(async () => {
    const build = [path.join(root, 'scripts/examples.js'), 'build', name, ...(dev ? ['--dev'] : [])];
    execFileSync(process.execPath, build, { cwd: root, stdio: 'pipe' });
    backend = await startBackend();
  }, 180_000);
  afterAll(() => backend?.close());

  // Each launch is a new device (launchApp resets jest's module registry: the kit's Login, the framework's app).
  // A second copy of the kit in the app would say so on console.warn: none may.
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn');
  });
  afterEach(() => {
    expect(warn.mock.calls.filter((call) => String(call[0]).includes('second copy'))).toEqual([]);
    warn.mockRestore();
  });

  const launch = (user: string) => launchApp(built, { backend, user, log: process.env.LK_LOG ? (line) => console.log(line) : undefined });

  it('has exactly one file that defines the hub, shared by the app, the AuthModal and the login page', () => {
    const defining = filesOf(built).filter(
      (file) => file.endsWith('.js') && fs.readFileSync(path.join(built, file), 'utf8').includes(HUB_MARKER),
    );
    expect(defining).toEqual([hubFile]);
  });

  it("logs a new user in through the page's AuthModal, titled by that page's tips", async () => {
    const app = await launch(`${name}-alice`);
    await app.open('/pages/index/index');
    expect(await app.waitForText('.greeting')).toBe('欢迎');
    await app.tap('#comment-btn');
    const ui = await app.loginUI();
    expect(ui.title()).toBe('登录后评论');
    expect(ui.asksForProfile()).toBe(true);
    await ui.completeProfile('Alice');
    expect(await app.waitForText('.status')).toBe('评论成功');
    expect(app.calls.login).toBe(1);
    expect(app.events.filter((event) => event.type === 'login')).toEqual([expect.objectContaining({ isNewUser: true })]);
  });

  it("logs a new user in through the login page from a page without AuthModal, titled by the asking page's tips", async () => {
    const app = await launch(`${name}-bob`);
    await app.open('/pages/favorite/index');
    await app.tap('#favorite-btn');
    await app.waitForRoute('pages/login/index');
    const ui = await app.loginUI();
    expect(ui.title()).toBe('登录后收藏');
    await ui.completeProfile('Bob');
    await app.waitForRoute('pages/favorite/index');
    expect(await app.waitForText('.status')).toBe('收藏成功');
    expect(app.stack).toEqual(['pages/favorite/index']);
  });

  it('logs a returning user in silently on a new device: personalised content, no UI', async () => {
    const app = await launch(`${name}-alice`);
    await app.open('/pages/index/index');
    expect(await app.waitForText('.greeting')).toBe('欢迎回来，Alice');
    expect(app.calls.login).toBe(1);
    expect(app.hasLoginUI()).toBe(false);
    const logins = app.received.filter((request) => request.path === '/auth/login');
    expect(logins.map((request) => [request.body, request.status])).toEqual([[expect.objectContaining({ mode: 'silent' }), 200]]);
  });
}
