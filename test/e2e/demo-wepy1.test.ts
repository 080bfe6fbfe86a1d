/**
 * The wepy 1 demo (demo-wepy1/), as a wepy 1 team builds it: the kit's miniprogram_dist copied into
 * src/components/login-kit/, the AuthModal and the login page through `usingComponents`, page methods calling
 * `Login.requestWithLogin`, and `$loginUserAuthTips()` on page classes. Built by wepy-cli 1.7.3 (babel 6) and walked
 * headlessly against the reference server: the built app.js runs the real wepy 1.7.2 runtime that wepy-cli copied
 * into dist/npm.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { WeChatEmulator } from '../../emulator/wechat';
import { startStack, type Stack } from '../../scripts/stack';
import { appDevice, until } from '../helpers/app-device';
import { png } from '../helpers/images';

const root = path.resolve(__dirname, '../..');
const app = path.join(root, 'demo-wepy1/dist');

let stack: Stack;
let emulator: WeChatEmulator;
let baseURL: string;

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(root, 'scripts/build-demo-wepy1.js')], { cwd: root, stdio: 'pipe' });
  stack = await startStack();
  ({ emulator, baseURL } = stack);
  emulator.user('wepy1-alice', { nickName: 'Alice' });
  emulator.user('wepy1-bob', { nickName: 'Bob' });
}, 60_000);
afterAll(() => stack.close());

// Each test is a new device: under jest, module state (the kit's Login, wepy's $instance) lives in jest's registry.
beforeEach(() => jest.resetModules());

const device = (openid: string) => appDevice(app, emulator, baseURL, openid);

it('is built by wepy-cli 1 with the kit copied into src/components/login-kit', () => {
  const index = JSON.parse(fs.readFileSync(path.join(app, 'pages/index.json'), 'utf8')) as { usingComponents: Record<string, string> };
  expect(index.usingComponents['auth-modal']).toBe('/components/login-kit/components/auth-modal/index');
  expect(fs.readFileSync(path.join(app, 'pages/index.wxml'), 'utf8')).toContain('<auth-modal id="auth-modal"');
  expect(fs.readFileSync(path.join(app, 'app.js'), 'utf8')).toContain("require('./npm/wepy/lib/wepy.js')");
});

it('logs a new user in through the AuthModal on a wepy 1 page, titled by that page’s $loginUserAuthTips()', async () => {
  const { wx, runtime, find, text } = device('wepy1-alice');
  runtime.reLaunch('/pages/index');
  await until(() => text('.greeting'));
  find('#comment-btn')!.dispatchEvent('tap');
  await until(() => find('#auth-modal', '.lk-auth__profile'));
  expect(text('#auth-modal', '.lk-auth-modal__title')).toBe('登录后评论');
  expect(text('#auth-modal', '.lk-auth-modal__content')).toBe('登录后即可评论、收藏，并看到为你推荐的内容');
  const avatar = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-wepy1-')), 'avatar.png');
  fs.writeFileSync(avatar, png(1, 1));
  find('#auth-modal', '.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: avatar } });
  find('#auth-modal', '.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: 'Alice' } } });
  expect(await until(() => text('.status'))).toBe('评论成功');
  expect(wx.calls.login).toBe(1);
});

it('logs a new user in through the login page from a wepy 1 page without AuthModal, with that page’s tips', async () => {
  const { runtime, find, text } = device('wepy1-bob');
  runtime.reLaunch('/pages/favorite');
  find('#favorite-btn')!.dispatchEvent('tap');
  await until(() => runtime.current.route === 'pages/login' && find('#login-page', '.lk-auth__confirm'));
  expect(text('#login-page', '.lk-login-page__title')).toBe('登录后收藏');
  find('#login-page', '.lk-auth__confirm')!.dispatchEvent('getuserinfo', { detail: emulator.userInfoDetail('wepy1-bob') });
  await until(() => runtime.current.route === 'pages/favorite' && text('.status'));
  expect(text('.status')).toBe('收藏成功');
  expect(runtime.depth).toBe(1);
});

it('logs a returning user in silently on a new device: personalised content, no UI', async () => {
  const { wx, runtime, text } = device('wepy1-alice');
  runtime.reLaunch('/pages/index');
  expect(await until(() => text('.greeting'))).toBe('欢迎回来，Alice');
  expect(wx.calls.login).toBe(1);
  expect(text('#auth-modal', '.lk-auth-modal__title')).toBeNull();
});
