/**
 * A native mini-program (Page(), app.json, usingComponents) using the kit as a team gets it: the tarball `npm pack`
 * makes, installed into the app's node_modules, then built into miniprogram_npm by miniprogram-ci's `packNpmManually`
 * (WeChat's own "Build npm", offline), walked headlessly against the reference server:
 * the AuthModal on a page that has one, the kit's login page registered in app.json on a page that has none.
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

let stack: Stack;
let emulator: WeChatEmulator;
let baseURL: string;
let app: string;
/** What packNpmManually put into miniprogram_npm/miniprogram-login-kit. */
let built: string[];

beforeAll(async () => {
  stack = await startStack({ source: 'native-app' });
  ({ emulator, baseURL } = stack);
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-native-'));
  fs.cpSync(path.join(root, 'test/fixtures/native-app'), app, { recursive: true });
  // npm pack → the app's node_modules (as `npm install <tarball>` lays it out) → WeChat's "Build npm".
  const packed = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-pack-'));
  const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packed], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .trim()
    .split('\n')
    .pop()!;
  const installed = path.join(app, 'node_modules/miniprogram-login-kit');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(packed, tarball), '-C', installed, '--strip-components=1']);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'native-app', dependencies: { 'miniprogram-login-kit': '*' } }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ci = require('miniprogram-ci') as {
    packNpmManually(o: { packageJsonPath: string; miniprogramNpmDistDir: string }): Promise<unknown>;
  };
  await ci.packNpmManually({ packageJsonPath: path.join(app, 'package.json'), miniprogramNpmDistDir: app });
  built = fs.readdirSync(path.join(app, 'miniprogram_npm/miniprogram-login-kit'));
}, 60_000);
afterAll(() => stack.close());

// Each test is a new device: under jest, module state lives in jest's registry (not require.cache), so reset it.
beforeEach(() => jest.resetModules());

const device = (openid: string) => appDevice(app, emulator, baseURL, openid);

it('logs a new user in through the AuthModal of a native Page(), with the page tips', async () => {
  const { runtime, find, text } = device('native-1');
  runtime.reLaunch('/pages/index/index');
  find('#comment')!.dispatchEvent('tap');
  await until(() => find('#auth-modal', '.lk-auth__profile'));
  expect(text('#auth-modal', '.lk-auth-modal__title')).toBe('原生页面登录');
  const avatar = path.join(app, 'avatar.png');
  fs.writeFileSync(avatar, png(1, 1));
  find('#auth-modal', '.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: avatar } });
  find('#auth-modal', '.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: '原生' } } });
  expect(await until(() => text('.status'))).toBe('ok');
});

it("goes through the kit's login page (registered in app.json) from a page without AuthModal", async () => {
  const { runtime, find, text } = device('native-2');
  runtime.reLaunch('/pages/favorite/favorite');
  find('#favorite')!.dispatchEvent('tap');
  await until(() => runtime.current.route === 'miniprogram_npm/miniprogram-login-kit/pages/login/index' && find('.lk-auth__profile'));
  const avatar = path.join(app, 'avatar2.png');
  fs.writeFileSync(avatar, png(1, 1));
  find('.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: avatar } });
  find('.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: '原生2' } } });
  await until(() => runtime.current.route === 'pages/favorite/favorite' && text('.status'));
  expect(text('.status')).toBe('ok');
  expect(runtime.depth).toBe(1);
});

it("is built by WeChat's own Build npm (miniprogram-ci packNpmManually) from the packed tarball", () => {
  expect(built).toEqual(expect.arrayContaining(['index.js', 'components', 'pages', 'lib', 'adapters']));
  // Only what a mini-program runs: the type declarations stay in the package's types/.
  const copied = fs.readdirSync(path.join(app, 'miniprogram_npm/miniprogram-login-kit'), { recursive: true }).map(String);
  expect(copied.filter((file) => file.endsWith('.d.ts'))).toEqual([]);
  expect(fs.existsSync(path.join(app, 'miniprogram_npm/miniprogram-login-kit/components/auth-modal/index.wxml'))).toBe(true);
});
