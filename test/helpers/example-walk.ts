/**
 * The walk every framework example passes (test/e2e/example-*.test.ts, one file per example so each app runs on a
 * phone of its own: a framework's runtime leaves globals behind). The framework examples as their teams build them: examples/taro (Taro 4, React, webpack 5) and examples/uni-app
 * (uni-app, Vue 3, vite), each installed from its own lockfile with the kit that `npm pack` makes (scripts/examples.js
 * install, run by `npm test` before jest), built by the framework's own CLI for WeChat, and walked headlessly against
 * the reference server: a new user through the AuthModal, titled by the page's tips (Taro: `providePageTips` in
 * `useLoad`; uni-app: `defineExpose` on a `<script setup>` page); a new user through the login page hosted by a wrapper
 * page, titled by the asking page's tips (Taro: `providePageTips`; uni-app: an Options API method); a returning user
 * silently. And the one-hub property: exactly one file of each output defines `userAuthHub`.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { startStack, type Stack } from '../../scripts/stack';
import { appDevice, until } from './app-device';
import { png } from './images';

const root = path.resolve(__dirname, '../..');
/** A string only the hub module contains (its misuse error), to count the files that define a hub. */
const HUB_MARKER = 'hub.subscribe(listener) expects a function';

/** Every file under `dir`, relative to it. */
function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((entry) => {
    if (!entry.isFile()) return [];
    return [path.relative(dir, path.join(entry.parentPath, entry.name))];
  });
}

/**
 * WeChat resolves a bare `require('pkg')` left in an app (uni-app with the kit external) to `miniprogram_npm/pkg`, the
 * files the package's components load; Node looks in `node_modules`. Gives each package of `miniprogram_npm` a
 * `node_modules` entry that re-exports it by its real path, so both load the very same modules, as in WeChat.
 */
function resolveLikeWeChat(app: string): void {
  const npm = path.join(app, 'miniprogram_npm');
  if (!fs.existsSync(npm)) return;
  for (const name of fs.readdirSync(npm)) {
    const entry = path.join(app, 'node_modules', name);
    fs.mkdirSync(entry, { recursive: true });
    fs.writeFileSync(path.join(entry, 'index.js'), `module.exports = require(${JSON.stringify(path.join(npm, name, 'index.js'))});\n`);
  }
}

/** One example: its folder under examples/, its backend `source`, its build output and the file that should hold the hub. */
export interface Example {
  name: string;
  source: string;
  output: string;
  hubFile: string;
  /** Taro's everyday development build (`taro build --watch`, which prebundles dependencies) instead of the production one. */
  dev?: boolean;
}

/** Declares the example's tests (jest `describe`): build, one hub, the AuthModal, the login page, a returning user. */
export function walkExample(example: Example): void {
  describe(`examples/${example.name}${example.dev ? ' (development build)' : ''}`, () => walk(example));
}

function walk({ name, source, output, hubFile, dev }: Example): void {
  const built = path.join(root, 'examples', name, output);
  /** The phone's copy of the app: outside examples/, whose node_modules a phone does not have. */
  const app = fs.mkdtempSync(path.join(os.tmpdir(), `lk-${name}-app-`));
  let stack: Stack;

  beforeAll(async () => {
    const build = [path.join(root, 'scripts/examples.js'), 'build', name, ...(dev ? ['--dev'] : [])];
    execFileSync(process.execPath, build, { cwd: root, stdio: 'pipe' });
    fs.cpSync(built, app, { recursive: true });
    resolveLikeWeChat(app);
    stack = await startStack({ source });
  }, 180_000);
  afterAll(() => stack?.close());

  // Each test is a new device: under jest, module state (the kit's Login, the framework's app) lives in jest's registry.
  // A second copy of the kit in the app would say so on console.warn: none may.
  let warn: jest.SpyInstance;
  beforeEach(() => {
    jest.resetModules();
    warn = jest.spyOn(console, 'warn');
  });
  afterEach(() => {
    expect(warn.mock.calls.filter((call) => String(call[0]).includes('second copy'))).toEqual([]);
    warn.mockRestore();
  });

  const device = (openid: string) => appDevice(app, stack.emulator, stack.baseURL, openid);
  const avatarFile = () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `lk-${name}-`)), 'avatar.png');
    fs.writeFileSync(file, png(1, 1));
    return file;
  };

  it('has exactly one file that defines the hub, shared by the app, the AuthModal and the login page', () => {
    const defining = filesOf(app).filter(
      (file) => file.endsWith('.js') && fs.readFileSync(path.join(app, file), 'utf8').includes(HUB_MARKER),
    );
    expect(defining).toEqual([hubFile]);
  });

  it("logs a new user in through the page's AuthModal, titled by that page's tips", async () => {
    const { wx, runtime, find, text } = device(`${name}-alice`);
    runtime.reLaunch('/pages/index/index');
    expect(await until(() => text('.greeting'))).toBe('欢迎');
    find('#comment-btn')!.dispatchEvent('tap');
    await until(() => find('#auth-modal', '.lk-auth__profile'));
    expect(text('#auth-modal', '.lk-auth-modal__title')).toBe('登录后评论');
    find('#auth-modal', '.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: avatarFile() } });
    find('#auth-modal', '.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: 'Alice' } } });
    expect(await until(() => text('.status'))).toBe('评论成功');
    expect(wx.calls.login).toBe(1);
  });

  it("logs a new user in through the login page from a page without AuthModal, titled by the asking page's tips", async () => {
    const { runtime, find, text } = device(`${name}-bob`);
    runtime.reLaunch('/pages/favorite/index');
    (await until(() => find('#favorite-btn'))).dispatchEvent('tap');
    await until(() => runtime.current.route === 'pages/login/index' && find('#login-page', '.lk-auth__profile'));
    expect(text('#login-page', '.lk-login-page__title')).toBe('登录后收藏');
    find('#login-page', '.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: avatarFile() } });
    find('#login-page', '.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: 'Bob' } } });
    await until(() => runtime.current.route === 'pages/favorite/index' && text('.status'));
    expect(text('.status')).toBe('收藏成功');
    expect(runtime.depth).toBe(1);
  });

  it('logs a returning user in silently on a new device: personalised content, no UI', async () => {
    const { wx, runtime, text } = device(`${name}-alice`);
    runtime.reLaunch('/pages/index/index');
    expect(await until(() => text('.greeting'))).toBe('欢迎回来，Alice');
    expect(wx.calls.login).toBe(1);
    expect(text('#auth-modal', '.lk-auth-modal__title')).toBeNull();
  });
}
