/**
 * The wepy 1 demo (demo-wepy1/), as a wepy 1 team builds it: the kit's miniprogram_dist copied into
 * src/components/login-kit/, the AuthModal and the login page through `usingComponents`, page methods calling
 * `Login.requestWithLogin`, and `$loginUserAuthTips()` on page classes. Built by wepy-cli 1.7.3 (babel 6) and walked
 * headlessly with the public harness (the built `miniprogram-login-kit/testing`) against its development backend: the built app.js runs the real wepy 1.7.2 runtime that wepy-cli copied
 * into dist/npm.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type * as Testing from '../../tooling/testing';

const root = path.resolve(__dirname, '../..');
const app = path.join(root, 'demo-wepy1/dist');
/** The harness as published: the built `miniprogram-login-kit/testing`. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startBackend, launchApp } = require(path.join(root, 'node_dist/testing')) as typeof Testing;

let backend: Testing.DevBackend;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(root, 'scripts/build-demo-wepy1.js')], { cwd: root, stdio: 'pipe' });
  backend = await startBackend();
  await backend.wechat.addUser('wepy1-alice', { nickName: 'Alice' });
  await backend.wechat.addUser('wepy1-bob', { nickName: 'Bob' });
}, 60_000);
afterAll(() => backend.close());

it('is built by wepy-cli 1 with the kit copied into src/components/login-kit', () => {
  const index = JSON.parse(fs.readFileSync(path.join(app, 'pages/index.json'), 'utf8')) as { usingComponents: Record<string, string> };
  expect(index.usingComponents['auth-modal']).toBe('/components/login-kit/components/auth-modal/index');
  expect(fs.readFileSync(path.join(app, 'pages/index.wxml'), 'utf8')).toContain('<auth-modal id="auth-modal"');
  expect(fs.readFileSync(path.join(app, 'app.js'), 'utf8')).toContain("require('./npm/wepy/lib/wepy.js')");
});

it('logs a new user in through the AuthModal on a wepy 1 page, titled by that page’s $loginUserAuthTips()', async () => {
  const device = await launchApp(app, { backend, user: 'wepy1-alice' });
  await device.open('/pages/index');
  await device.waitForText('.greeting');
  await device.tap('#comment-btn');
  const ui = await device.loginUI();
  expect(ui.title()).toBe('登录后评论');
  expect(ui.content()).toBe('登录后即可评论、收藏，并看到为你推荐的内容');
  await ui.completeProfile('Alice');
  expect(await device.waitForText('.status')).toBe('评论成功');
  expect(device.calls.login).toBe(1);
});

it('logs a new user in through the login page from a wepy 1 page without AuthModal, with that page’s tips', async () => {
  const device = await launchApp(app, { backend, user: 'wepy1-bob' });
  await device.open('/pages/favorite');
  await device.tap('#favorite-btn');
  await device.waitForRoute('pages/login');
  const ui = await device.loginUI();
  expect(ui.title()).toBe('登录后收藏');
  await ui.allowUserInfo();
  await device.waitForRoute('pages/favorite');
  expect(await device.waitForText('.status')).toBe('收藏成功');
  expect(device.stack).toEqual(['pages/favorite']);
});

it('logs a returning user in silently on a new device: personalised content, no UI', async () => {
  const device = await launchApp(app, { backend, user: 'wepy1-alice' });
  await device.open('/pages/index');
  expect(await device.waitForText('.greeting')).toBe('欢迎回来，Alice');
  expect(device.calls.login).toBe(1);
  expect(device.hasLoginUI()).toBe(false);
});
