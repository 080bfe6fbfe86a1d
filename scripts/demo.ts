/**
 * The headless demo: runs the built wepy 2 demo app (demo/dist) against the reference server and the WeChat
 * emulator on 127.0.0.1, walking the login flows a user would, and printing for each step the `wx` calls, the
 * backend answers and what the page shows. Exits non-zero if any step does not end as expected.
 * Run with `npm run demo` (which builds the kit and the demo first).
 */
import '../emulator/dom';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { WeChatEmulator } from '../emulator/wechat';
import { startStack } from './stack';
import { createNodeWx, type NodeWx } from '../emulator/node-wx';
import { PageRuntime } from '../emulator/page-runtime';

const root = path.resolve(__dirname, '../..');
const appDir = path.join(root, 'demo/dist');

interface Device {
  wx: NodeWx;
  runtime: PageRuntime;
}

type Node = { dom: Element; querySelector(selector: string): Node | null; dispatchEvent(name: string, init?: object): void };

let step = 0;
let failures = 0;
let serverSkewMs = 0;

function say(line: string) {
  console.log(`    ${line}`);
}

async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function find(scope: Node, selectors: string[]): Node | null {
  let node: Node | null = scope;
  for (const selector of selectors) {
    node = node ? node.querySelector(selector) : null;
  }
  return node;
}

function textOf(device: Device, ...selectors: string[]): string | null {
  const node = find(device.runtime.current.rendered as unknown as Node, selectors);
  return node ? (node.dom.textContent ?? '').trim() : null;
}

function tap(device: Device, ...selectors: string[]) {
  const node = find(device.runtime.current.rendered as unknown as Node, selectors);
  if (!node) throw new Error(`nothing to tap at ${selectors.join(' ')}`);
  say(`user taps ${selectors[selectors.length - 1]}`);
  node.dispatchEvent('tap');
}

/** A node inside the current page, or null. */
function nodeAt(device: Device, selectors: string[]): Node | null {
  return find(device.runtime.current.rendered as unknown as Node, selectors);
}

/** A temporary avatar file, as `chooseAvatar` gives one (a 1x1 PNG). */
function temporaryAvatar(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-demo-')), 'avatar.png');
  fs.writeFileSync(
    file,
    Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201ffa65c9c0000000049454e44ae426082',
      'hex',
    ),
  );
  return file;
}

function check(what: string, ok: boolean) {
  say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

/** The second mini-program of the demo's Open Platform account, whose backend registers users silently. */
const SHOP = 'demo-shop';
let shopAppid = '';

/** A phone of `openid` running the demo app as mini-program `source` (default `demo-app`). */
function device(emulator: WeChatEmulator, baseURL: string, openid: string, source = 'demo-app'): Device {
  const appid = source === SHOP ? shopAppid : undefined;
  const wx = createNodeWx({ emulator, openid, appid, extConfig: { baseURL, source }, log: (line) => say(line) });
  const runtime = new PageRuntime(appDir, wx, (line) => say(line));
  runtime.launch();
  return { wx, runtime };
}

async function run(title: string, body: () => Promise<void>) {
  step++;
  console.log(`\n${step}. ${title}`);
  try {
    await body();
  } catch (error) {
    failures++;
    say(`FAIL ${(error as Error).message}`);
  }
}

async function main() {
  const stack = await startStack({
    otherSources: [{ source: SHOP, registration: 'silent' }],
    server: { now: () => Date.now() + serverSkewMs },
  });
  const { emulator, baseURL } = stack;
  shopAppid = stack.appids[SHOP];
  console.log(`reference server on ${baseURL}, WeChat emulator on ${emulator.baseURL}, demo app ${path.relative(root, appDir)}`);
  emulator.user('alice', { nickName: 'Alice', unionid: 'union-alice' });
  emulator.user('bob', { nickName: 'Bob' });

  await run('A new user logs in through the AuthModal', async () => {
    const alice = device(emulator, baseURL, 'alice');
    alice.runtime.reLaunch('/pages/index');
    await until('the feed', () => textOf(alice, '.greeting'));
    say(`page shows "${textOf(alice, '.greeting')}" (silent login failed quietly: no UI)`);
    tap(alice, '#comment-btn');
    await until('the AuthModal', () => textOf(alice, '#auth-modal', '.lk-auth-modal__title'));
    say(
      `AuthModal shows "${textOf(alice, '#auth-modal', '.lk-auth-modal__title')}" / "${textOf(alice, '#auth-modal', '.lk-auth-modal__content')}"`,
    );
    check('the page tips ($loginUserAuthTips) set the title', textOf(alice, '#auth-modal', '.lk-auth-modal__title') === '登录后评论');
    const modal = (...selectors: string[]) => find(alice.runtime.current.rendered as unknown as Node, ['#auth-modal', ...selectors])!;
    say('user taps the avatar button and picks a photo (chooseAvatar gives a temporary file)');
    modal('.lk-auth__avatar').dispatchEvent('chooseavatar', { detail: { avatarUrl: temporaryAvatar() } });
    say('user types the nickname "Alice" and submits the form');
    modal('.lk-auth__profile').dispatchEvent('submit', { detail: { value: { nickName: 'Alice' } } });
    const status = await until('the comment', () => textOf(alice, '.status'));
    say(`page shows "${status}"`);
    check('the comment was posted after login', status === '评论成功');
    check('one wx.login for the whole flow', alice.wx.calls.login === 1);
    check('the page got the AuthModal result event through e.$wx.detail', textOf(alice, '.last-auth') === '授权方式：profile');
    check(
      'the temporary avatar was uploaded before the authorize call',
      alice.wx.requested.indexOf('UPLOAD /auth/avatar') < alice.wx.requested.lastIndexOf('POST /auth/login'),
    );
  });

  await run('A new user logs in through the login page', async () => {
    const bob = device(emulator, baseURL, 'bob');
    bob.runtime.reLaunch('/pages/favorite');
    tap(bob, '#favorite-btn');
    await until(
      'the login page',
      () => bob.runtime.current.route === 'pages/login' && textOf(bob, '#login-page', '.lk-login-page__title'),
    ).catch((error: Error) => {
      throw new Error(`${error.message} (top page: ${bob.runtime.current.route}, it shows "${textOf(bob, '.status')}")`);
    });
    say(
      `login page shows "${textOf(bob, '#login-page', '.lk-login-page__title')}" / "${textOf(bob, '#login-page', '.lk-login-page__content')}"`,
    );
    check(
      'the login page shows the merged tips (page title, config content)',
      textOf(bob, '#login-page', '.lk-login-page__title') === '登录后收藏' &&
        textOf(bob, '#login-page', '.lk-login-page__content') === '登录后即可评论、收藏，并看到为你推荐的内容',
    );
    say('user taps the getUserInfo button');
    find(bob.runtime.current.rendered as unknown as Node, ['#login-page', '.lk-auth__confirm'])!.dispatchEvent('getuserinfo', {
      detail: emulator.userInfoDetail('bob'),
    });
    const status = await until('the favorite', () => bob.runtime.current.route === 'pages/favorite' && textOf(bob, '.status'));
    say(`back on ${bob.runtime.current.route}, page shows "${status}"`);
    check('the favorite was saved after login', status === '收藏成功');
    check('the login page closed itself', bob.runtime.depth === 1);
  });

  await run('A returning user logs in silently (new device, empty storage)', async () => {
    const alice = device(emulator, baseURL, 'alice');
    alice.runtime.reLaunch('/pages/index');
    const greeting = await until('the feed', () => textOf(alice, '.greeting'));
    say(`page shows "${greeting}"`);
    check('personalised content without any UI', greeting === '欢迎回来，Alice');
    check('one wx.login, no AuthModal', alice.wx.calls.login === 1 && !textOf(alice, '#auth-modal', '.lk-auth-modal__title'));
  });

  let busy: Device | null = null;
  await run('Ten concurrent requests share one login', async () => {
    busy = device(emulator, baseURL, 'alice');
    busy.runtime.reLaunch('/pages/favorite');
    for (let i = 0; i < 10; i++) tap(busy, '#favorite-btn');
    await until('ten favorites', () => busy!.wx.calls.request === 11 && busy!.wx.inFlight === 0);
    const status = textOf(busy, '.status');
    say(`page shows "${status}"`);
    check('one wx.login and one /auth/login for ten requests', busy.wx.calls.login === 1 && busy.wx.calls.request === 11);
    check('every request succeeded', status === '收藏成功');
  });

  const requests = (d: Device, what: string) => d.wx.requested.filter((r) => r === what).length;

  await run('An expired session is re-established transparently', async () => {
    if (!busy) throw new Error('needs the previous step');
    const device = busy as Device;
    serverSkewMs += 901_000;
    say('(server clock moves 901 s ahead: every access token it issued has expired)');
    const before = { login: device.wx.calls.login, request: device.wx.calls.request, refresh: requests(device, 'POST /auth/refresh') };
    tap(device, '#favorite-btn');
    await until('the retried favorite', () => device.wx.calls.request === before.request + 3 && device.wx.inFlight === 0);
    check(
      'request -> 401 TOKEN_EXPIRED -> one refresh -> the request replayed with the new token',
      requests(device, 'POST /auth/refresh') === before.refresh + 1,
    );
    check('no wx.login and no UI needed', device.wx.calls.login === before.login);
    check('the user saw only success', textOf(device, '.status') === '收藏成功');
  });

  await run('The token expires while the user is busy: ten requests, one refresh', async () => {
    if (!busy) throw new Error('needs the previous step');
    const device = busy as Device;
    serverSkewMs += 901_000;
    say('(server clock moves 901 s ahead again)');
    const before = { login: device.wx.calls.login, request: device.wx.calls.request, refresh: requests(device, 'POST /auth/refresh') };
    for (let i = 0; i < 10; i++) tap(device, '#favorite-btn');
    await until('ten replayed favorites', () => device.wx.calls.request === before.request + 21 && device.wx.inFlight === 0);
    check('ten 401s -> exactly one /auth/refresh -> ten replays', requests(device, 'POST /auth/refresh') === before.refresh + 1);
    check('at most 10 wx.request in flight', device.wx.maxInFlight <= 10);
    check('no wx.login, and the user saw only success', device.wx.calls.login === before.login && textOf(device, '.status') === '收藏成功');
  });

  await run('A refusal is recovered through the permission panel', async () => {
    emulator.user('dave', { nickName: 'Dave' });
    const dave = device(emulator, baseURL, 'dave');
    dave.runtime.reLaunch('/pages/favorite');
    tap(dave, '#favorite-btn');
    const loginButton = () => nodeAt(dave, ['#login-page', '.lk-auth__confirm']);
    await until('the login page', () => dave.runtime.current.route === 'pages/login' && loginButton());
    say("user taps the getUserInfo button and refuses in WeChat's dialog");
    dave.wx.authSetting = { 'scope.userInfo': false };
    loginButton()!.dispatchEvent('getuserinfo', { detail: { errMsg: 'getUserInfo:fail auth deny' } });
    await until('the permission panel', () => dave.wx.calls.openSetting === 1);
    await until('the login page again', () => dave.runtime.current.route === 'pages/login' && loginButton());
    say('back on the login page: this time the user allows');
    loginButton()!.dispatchEvent('getuserinfo', { detail: emulator.userInfoDetail('dave') });
    const status = await until('the favorite', () => dave.runtime.current.route === 'pages/favorite' && textOf(dave, '.status'));
    say(`page shows "${status}"`);
    check(
      'showModal with the denied tips, then openSetting from its confirm tap',
      dave.wx.calls.showModal === 1 && dave.wx.calls.openSetting === 1,
    );
    check('the login finished after the permission was granted', status === '收藏成功');
  });

  await run("WeChat's official privacy popup, then a phone-number login", async () => {
    emulator.user('erin', { nickName: 'Erin' });
    const erin = device(emulator, baseURL, 'erin');
    erin.runtime.reLaunch('/pages/phone');
    tap(erin, '#phone-btn');
    const modal = (...selectors: string[]) => find(erin.runtime.current.rendered as unknown as Node, ['#auth-modal', ...selectors]);
    await until('the AuthModal', () => modal('.lk-auth__confirm'));
    say(
      `AuthModal shows "${textOf(erin, '#auth-modal', '.lk-auth-modal__title')}" with the button "${textOf(erin, '#auth-modal', '.lk-auth__confirm')}"`,
    );
    say('user taps it; WeChat first needs the privacy agreement');
    const answer = erin.wx.needPrivacy('button.getPhoneNumber');
    const resolved = await answer;
    check(
      "the kit left the agreement to WeChat's official popup (no listener of its own: the app's privacy handling is untouched)",
      !erin.wx.calls.onNeedPrivacyAuthorization && resolved.event === 'agree',
    );
    say('the getPhoneNumber button continues: WeChat gives a one-time code');
    modal('.lk-auth__confirm')!.dispatchEvent('getphonenumber', { detail: emulator.phoneDetail('erin', '13600000000') });
    const status = await until('the phone binding', () => textOf(erin, '.status'));
    say(`page shows "${status}"`);
    check('the server exchanged the code and bound the phone', status === '已绑定手机号');
  });

  await run('No-feeling login in a second mini-program: browse with no prompt, then step up for a profile and a phone', async () => {
    emulator.user('carol', { nickName: 'Carol' });
    const carol = device(emulator, baseURL, 'carol', SHOP);
    carol.runtime.reLaunch('/pages/index');
    await until('the feed', () => textOf(carol, '.greeting'));
    say(`page shows "${textOf(carol, '.greeting')}": the backend registered the new user silently`);
    check(
      'a new user browses with no prompt and one wx.login',
      carol.wx.calls.login === 1 && !nodeAt(carol, ['#auth-modal', '.lk-auth-modal__title']),
    );
    tap(carol, '#comment-btn');
    await until('the profile step-up', () => nodeAt(carol, ['#auth-modal', '.lk-auth__profile']));
    say(`AuthModal asks for a profile only now: "${textOf(carol, '#auth-modal', '.lk-auth-modal__title')}"`);
    const modal = (...selectors: string[]) => find(carol.runtime.current.rendered as unknown as Node, ['#auth-modal', ...selectors])!;
    modal('.lk-auth__avatar').dispatchEvent('chooseavatar', { detail: { avatarUrl: temporaryAvatar() } });
    modal('.lk-auth__profile').dispatchEvent('submit', { detail: { value: { nickName: 'Carol' } } });
    const commented = await until('the comment', () => textOf(carol, '.status'));
    say(`page shows "${commented}"`);
    check(
      'the comment went out after the profile step-up (POST /auth/bind)',
      commented === '评论成功' && carol.wx.requested.includes('POST /auth/bind'),
    );
    carol.runtime.reLaunch('/pages/order');
    tap(carol, '#order-btn');
    await until('the phone step-up', () => textOf(carol, '#auth-modal', '.lk-auth__confirm'));
    say(`AuthModal asks for the phone number where the order needs it: "${textOf(carol, '#auth-modal', '.lk-auth-modal__title')}"`);
    find(carol.runtime.current.rendered as unknown as Node, ['#auth-modal', '.lk-auth__confirm'])!.dispatchEvent('getphonenumber', {
      detail: emulator.phoneDetail('carol', '13700000099'),
    });
    const ordered = await until('the order', () => textOf(carol, '.status'));
    say(`page shows "${ordered}"`);
    check('the order went out after the phone step-up, still with one wx.login', ordered === '下单成功' && carol.wx.calls.login === 1);
  });

  await run('One person, one account across the app family: Alice opens the second mini-program', async () => {
    const alice = device(emulator, baseURL, 'alice', SHOP);
    alice.runtime.reLaunch('/pages/index');
    const greeting = await until('the feed', () => textOf(alice, '.greeting'));
    say(`page shows "${greeting}": another openid, the same unionid, the same account`);
    check(
      'recognised by unionid, logged in silently with no UI',
      greeting === '欢迎回来，Alice' && !nodeAt(alice, ['#auth-modal', '.lk-auth-modal__title']),
    );
  });

  await run('Settings: logout, then a forced re-login through the UI', async () => {
    const alice = device(emulator, baseURL, 'alice');
    alice.runtime.reLaunch('/pages/index');
    await until('the silent login', () => textOf(alice, '.greeting') === '欢迎回来，Alice');
    alice.runtime.reLaunch('/pages/settings');
    await until('the settings page', () => textOf(alice, '.user'));
    say(`settings page shows "${textOf(alice, '.user')}"`);
    tap(alice, '#logout-btn');
    await until('the logout', () => textOf(alice, '.status') === '已退出登录');
    check('logout revoked the session on the server', alice.wx.requested.includes('POST /auth/logout'));
    const loginsBefore = alice.wx.calls.login ?? 0;
    tap(alice, '#relogin-btn');
    const modal = (...selectors: string[]) => find(alice.runtime.current.rendered as unknown as Node, ['#auth-modal', ...selectors]);
    await until('the AuthModal', () => modal('.lk-auth__profile'));
    say(
      `AuthModal shows "${textOf(alice, '#auth-modal', '.lk-auth-modal__title')}": after a deliberate logout, no silent login brings the session back`,
    );
    check('no silent login was tried after the logout', (alice.wx.calls.login ?? 0) === loginsBefore);
    modal('.lk-auth__avatar')!.dispatchEvent('chooseavatar', { detail: { avatarUrl: temporaryAvatar() } });
    modal('.lk-auth__profile')!.dispatchEvent('submit', { detail: { value: { nickName: 'Alice' } } });
    const status = await until('the re-login', () => textOf(alice, '.status') === '已重新登录' && textOf(alice, '.status'));
    say(`page shows "${status}" / "${textOf(alice, '.user')}"`);
    check('logged in again as the same user', textOf(alice, '.user') === '当前用户：Alice');
  });

  await stack.close();
  console.log(`\n${failures === 0 ? 'demo finished: every step passed' : `demo FAILED: ${failures} check(s) failed`}`);
  console.log(
    `the built demo is ready for WeChat DevTools: open ${path.relative(process.cwd(), root) || '.'} (project.config.json -> demo/dist)`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
