/**
 * A wepy 1 page's `$loginUserAuthTips()`, from the position of a wepy 1 app: the real `wepy` 1.7.2 runtime builds the
 * Page options the way `wepy-cli` 1.7.3's output does (`Page(wepy.$createPage(IndexPage, 'pages/index'))`), and the
 * kit reads the tips of the page the user is on. wepy 1 copies a page class's methods onto the native page only as
 * wrappers that drop the return value, so the native page alone cannot give the tips; `pageTipsFrom` maps the native
 * page back to wepy's page object without the kit importing wepy.
 */
import { createLogin, isLoginError, pageTipsFrom, type PageLike } from '../../index';
import type { AuthResult, UserAuthHandler } from '../../lib/types';
import { currentPageTips } from '../../hub/page-ui';
import { createFakeWx, FakeBackend, FakeClock, userInfoResult } from '../helpers/fakes';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports */
type WepyPage = Record<string, any>;
interface Wepy1 {
  app: new () => object;
  page: new () => WepyPage;
  $instance: { $pages: Record<string, WepyPage> };
  $createApp(appClass: new () => object, config: object): Record<string, (...args: unknown[]) => unknown>;
  $createPage(pageClass: new () => WepyPage, path: string): Record<string, (...args: unknown[]) => unknown>;
}

const globals = globalThis as Record<string, unknown>;
let stack: PageLike[] = [];

/** Loads a fresh wepy 1 runtime with the mini-program globals it reads (`wx`, `getApp`, `getCurrentPages`). */
function loadWepy1(): Wepy1 {
  globals.wx = { request() {}, getSystemInfoSync: () => ({ SDKVersion: '3.6.0' }) };
  globals.getApp = () => ({});
  globals.getCurrentPages = () => stack;
  let wepy!: Wepy1;
  jest.isolateModules(() => {
    wepy = require('wepy').default as Wepy1;
  });
  wepy.$createApp(class extends wepy.app {}, { pages: ['pages/index', 'pages/plain'] });
  return wepy;
}

/** What the mini-program does with `Page(options)` when the user opens the page: an instance on top of the stack, then onLoad and onShow. */
function openPage(options: Record<string, (...args: unknown[]) => unknown>, route: string): PageLike {
  const page: PageLike = Object.assign(Object.create(options) as PageLike, { route, __route__: route, data: {}, setData() {} });
  stack.push(page);
  options.onLoad.call(page, {});
  options.onShow.call(page);
  return page;
}

afterEach(() => {
  stack = [];
  delete globals.wx;
  delete globals.getApp;
  delete globals.getCurrentPages;
});

function indexPage(wepy: Wepy1) {
  return class IndexPage extends wepy.page {
    data = { goods: '会员专享券' };
    $loginUserAuthTips() {
      return { title: `登录后领取${this.data.goods}` };
    }
  };
}

describe('a wepy 1 page’s $loginUserAuthTips()', () => {
  it('is lost on the native page alone: wepy 1’s wrapper drops the return value', () => {
    const wepy = loadWepy1();
    const native = openPage(wepy.$createPage(indexPage(wepy), 'pages/index'), 'pages/index');
    expect(typeof native.$loginUserAuthTips).toBe('function');
    expect(currentPageTips()).toBeUndefined();
  });

  it('is read with pageTipsFrom, `this` being the wepy page with its data', () => {
    const wepy = loadWepy1();
    openPage(wepy.$createPage(indexPage(wepy), 'pages/index'), 'pages/index');
    const pageTips = pageTipsFrom((page) => wepy.$instance.$pages['/' + page.route]);
    expect(pageTips()).toEqual({ title: '登录后领取会员专享券' });
  });

  it('falls back to the native page when the mapping finds nothing, and to nothing without a page', () => {
    const wepy = loadWepy1();
    const pageTips = pageTipsFrom((page) => wepy.$instance.$pages['/' + page.route]);
    expect(pageTips()).toBeUndefined();
    openPage({ ...wepy.$createPage(indexPage(wepy), 'pages/index'), $loginUserAuthTips: () => ({ title: 'native' }) }, 'pages/native');
    expect(pageTips()).toEqual({ title: 'native' });
  });

  it('rejects a mapping that is not a function with INVALID_OPTIONS', () => {
    let thrown: unknown;
    try {
      pageTipsFrom('pages/index' as never);
    } catch (error) {
      thrown = error;
    }
    expect(isLoginError(thrown) && thrown.code).toBe('INVALID_OPTIONS');
  });

  it('titles the login UI of a wepy 1 app configured as the README says', async () => {
    const wepy = loadWepy1();
    openPage(wepy.$createPage(indexPage(wepy), 'pages/index'), 'pages/index');
    const ui = jest.fn<Promise<AuthResult>, Parameters<UserAuthHandler>>(async () => userInfoResult());
    const login = createLogin({
      source: 'wepy1-app',
      baseURL: 'https://api.test',
      wx: createFakeWx(new FakeBackend()).wx,
      clock: new FakeClock(),
      userAuthHandler: ui,
      pageTips: pageTipsFrom((page) => wepy.$instance.$pages['/' + page.route]),
    });
    await login.login({ mode: 'common' });
    expect(ui).toHaveBeenCalledTimes(1);
    expect(ui.mock.calls[0][0].tips.title).toBe('登录后领取会员专享券');
  });
});
