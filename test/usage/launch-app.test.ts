/**
 * What `launchApp` (the built `miniprogram-login-kit/testing`) promises beyond the login walks: app.json's pages and
 * subpackages (a page it does not declare is not found, as in WeChat), WeChat's 10-page stack, bounded waits that
 * say what they waited for, and an error that names what it does not support.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type * as Testing from '../../tooling/testing';

const root = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startBackend, launchApp } = require(path.join(root, 'node_dist/testing')) as typeof Testing;

/** Writes a built app (file → content) into a new folder. */
function appOf(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-launch-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

const page = (js: string, wxml: string) => ({ js, wxml, json: '{}' });
const files = (route: string, p: { js: string; wxml: string; json: string }) => ({
  [`${route}.js`]: p.js,
  [`${route}.wxml`]: p.wxml,
  [`${route}.json`]: p.json,
});

const app = appOf({
  'app.js': 'App({});',
  'app.json': JSON.stringify({ pages: ['pages/home/index'], subpackages: [{ root: 'pkg', pages: ['pages/deep/index'] }] }),
  ...files('pages/home/index', page("Page({ data: { title: 'home' } });", '<view class="title">{{title}}</view>')),
  ...files(
    'pkg/pages/deep/index',
    page(
      `Page({
        data: { error: '' },
        onLoad(query) { this.setData({ level: Number(query.level || 1) }); },
        deeper() {
          wx.navigateTo({ url: '/pkg/pages/deep/index?level=' + (this.data.level + 1), fail: (e) => this.setData({ error: e.errMsg }) });
        },
      });`,
      '<view class="level">{{level}}</view><button id="deeper" bindtap="deeper">deeper</button><view class="error">{{error}}</view>',
    ),
  ),
});

let backend: Testing.DevBackend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(() => backend.close());

it('opens the pages of app.json and of its subpackages, and finds no page it does not declare', async () => {
  const device = await launchApp(app, { backend });
  await device.open('/pages/home/index');
  expect(device.text('.title')).toBe('home');
  expect(device.data()).toMatchObject({ title: 'home' });
  await device.open('/pkg/pages/deep/index');
  expect(device.route).toBe('pkg/pages/deep/index');
  await expect(device.open('/pages/missing/index')).rejects.toThrow('page "pages/missing/index" is not found');
});

it('keeps WeChat’s page stack: ten pages, then navigateTo fails with WeChat’s message', async () => {
  const device = await launchApp(app, { backend });
  await device.open('/pkg/pages/deep/index');
  for (let level = 2; level <= 10; level++) {
    await device.tap('#deeper');
    await device.waitForText('.level', String(level));
  }
  expect(device.stack).toHaveLength(10);
  await device.tap('#deeper');
  expect(await device.waitForText('.error')).toBe('navigateTo:fail webview count limit exceed');
  expect(device.stack).toHaveLength(10);
});

it('bounds every wait and says what it waited for, and where', async () => {
  const device = await launchApp(app, { backend, timeoutMs: 200 });
  await device.open('/pages/home/index');
  await expect(device.tap('#nowhere')).rejects.toThrow(
    /timed out after 200 ms waiting for "#nowhere" to tap \(top page pages\/home\/index, showing "home"\)/,
  );
  await expect(device.loginUI()).rejects.toThrow(/waiting for the kit's login UI/);
});

it('refuses what it cannot run, saying so', async () => {
  const withPlugin = appOf({ 'app.js': 'App({});', 'app.json': JSON.stringify({ pages: ['p/index'], plugins: { chart: {} } }) });
  await expect(launchApp(withPlugin, { backend })).rejects.toThrow(
    'app.json uses mini-program plugins ("plugins"), which launchApp does not support',
  );
  await expect(launchApp(path.join(app, 'pages'), { backend })).rejects.toThrow(/has no app\.js: launchApp runs a built mini-program/);
});
