import {
  createPageUserAuthHandler,
  currentPageTips,
  providePageTips,
  type NavigateOptions,
  type PageLike,
  type PageRuntime,
} from '../../hub/page-ui';
import { userAuthHub } from '../../hub/index';
import { openAuthModal } from '../../components/auth-modal/auth-modal';
import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import { isLoginError } from '../../lib/errors';
import type { AuthResult, UserAuthHandler } from '../../lib/types';
import { LoginKit } from '../../lib/login-kit';
import { createFakeWx, createLogger, FakeBackend, flush, userInfoResult } from '../helpers/fakes';

const tips = { ...DEFAULT_AUTH_TIPS, title: '登录后评论' };
const success: AuthResult = { succeeded: true, authType: 'phone', data: { code: 'c' } };

function runtime(pages: PageLike[], navigateTo: PageRuntime['navigateTo'] = jest.fn()): PageRuntime {
  return { getCurrentPages: () => pages, navigateTo };
}

describe('the default userAuthHandler', () => {
  afterEach(() => {
    userAuthHub.notify({ succeeded: false, errMsg: 'cleanup' });
  });

  it("opens the current page's AuthModal with the merged tips, without navigating", async () => {
    const open = jest.fn(async () => success);
    const navigateTo = jest.fn();
    const page: PageLike = { selectComponent: jest.fn((selector: string) => (selector === '#auth-modal' ? { open } : null)) };
    const handler = createPageUserAuthHandler({ runtime: runtime([{}, page], navigateTo) });
    expect(await handler({ tips })).toBe(success);
    expect(open).toHaveBeenCalledWith(tips);
    expect(navigateTo).not.toHaveBeenCalled();
  });

  it('subscribes before navigating to the login page, so an answer published at once is not lost', async () => {
    const navigateTo = jest.fn<void, Parameters<PageRuntime['navigateTo']>>(() => {
      expect(userAuthHub.request).toEqual({ tips });
      userAuthHub.notify(success);
    });
    const handler = createPageUserAuthHandler({
      runtime: runtime([{ selectComponent: () => null }], navigateTo),
      loginPageUrl: '/pages/login',
    });
    expect(await handler({ tips })).toBe(success);
    expect(navigateTo.mock.calls[0][0].url).toBe('/pages/login');
  });

  it('falls back to redirectTo when navigateTo fails (e.g. a navigation is already running)', async () => {
    const navigateTo = jest.fn((options: NavigateOptions) => options.fail?.({ errMsg: 'navigateTo:fail navigation in progress' }));
    const redirectTo = jest.fn(() => userAuthHub.notify(success));
    const handler = createPageUserAuthHandler({ runtime: { ...runtime([{}], navigateTo), redirectTo }, loginPageUrl: '/pages/login' });
    expect(await handler({ tips })).toBe(success);
    expect(redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login' }));
  });

  it('redirects instead of navigating when the page stack is full (10 pages)', async () => {
    const navigateTo = jest.fn();
    const redirectTo = jest.fn(() => userAuthHub.notify(success));
    const handler = createPageUserAuthHandler({
      runtime: {
        ...runtime(
          Array.from({ length: 10 }, () => ({})),
          navigateTo,
        ),
        redirectTo,
      },
    });
    expect(await handler({ tips })).toBe(success);
    expect(navigateTo).not.toHaveBeenCalled();
  });

  it('rejects UI_UNAVAILABLE when no navigation works, leaving no subscriber behind', async () => {
    const fail = (errMsg: string) => (options: NavigateOptions) => options.fail?.({ errMsg });
    const handler = createPageUserAuthHandler({
      runtime: { ...runtime([], fail('navigateTo:fail webview count limit exceed')), redirectTo: fail('redirectTo:fail page not found') },
    });
    const error = await handler({ tips }).catch((e: unknown) => e);
    expect(isLoginError(error) && error.code).toBe('UI_UNAVAILABLE');
    expect(isLoginError(error) && error.errMsg).toMatch(
      /navigateTo:fail webview count limit exceed; redirectTo: redirectTo:fail page not found/,
    );
    // The message says how to fix it, not only what failed.
    expect((error as Error).message).toContain(
      'add "miniprogram_npm/miniprogram-login-kit/pages/login/index" to "pages" in app.json, or put <auth-modal id="auth-modal" /> on this page',
    );
    expect(userAuthHub.size).toBe(0);
    expect(userAuthHub.request).toBeNull();
  });

  it('never stacks a second login page: when the login page is on top, it waits for its answer', async () => {
    const navigateTo = jest.fn();
    const handler = createPageUserAuthHandler({
      runtime: runtime([{}, { route: 'pages/login' }], navigateTo),
      loginPageUrl: '/pages/login',
    });
    const answer = handler({ tips });
    expect(userAuthHub.request).toEqual({ tips });
    userAuthHub.notify(success);
    expect(await answer).toBe(success);
    expect(navigateTo).not.toHaveBeenCalled();
  });
});

describe("the default userAuthHandler's follow (a caller joined the waiting login)", () => {
  afterEach(() => {
    for (const request of userAuthHub.pending) userAuthHub.answer(request, { succeeded: false, errMsg: 'cleanup' });
  });

  it("moves a question from a hidden modal to the top page's modal; only the new place answers", async () => {
    let answerA!: (result: AuthResult) => void;
    let answerB!: (result: AuthResult) => void;
    const openA = jest.fn(() => new Promise<AuthResult>((resolve) => (answerA = resolve)));
    const withdrawA = jest.fn();
    const openB = jest.fn(() => new Promise<AuthResult>((resolve) => (answerB = resolve)));
    const pageA: PageLike = { route: 'pages/a', selectComponent: () => ({ open: openA, withdraw: withdrawA }) };
    const pageB: PageLike = { route: 'pages/b', selectComponent: () => ({ open: openB }) };
    const pages = [pageA];
    const shown = jest.fn();
    const handler = createPageUserAuthHandler({ runtime: runtime(pages) });
    const request = { tips, shown };
    const answer = handler(request);
    handler.follow!(request); // still on A: nothing moves
    expect(withdrawA).not.toHaveBeenCalled();
    pages.push(pageB);
    handler.follow!(request);
    expect(withdrawA).toHaveBeenCalledWith(openA.mock.results[0].value); // the very promise open() returned
    expect(openB).toHaveBeenCalledWith(tips);
    expect(shown).toHaveBeenLastCalledWith({ via: 'modal', route: 'pages/b' });
    answerA({ succeeded: false, errMsg: 'auth:fail cancel (the question moved to another page)' }); // ignored
    answerB(success);
    expect(await answer).toBe(success);
  });

  it('moves a question off a hidden login page (off userAuthHub), so that page answers nothing', async () => {
    const navigateTo = jest.fn();
    const pages: PageLike[] = [{ route: 'pages/a' }];
    const handler = createPageUserAuthHandler({ runtime: runtime(pages, navigateTo), loginPageUrl: '/pages/login' });
    const request = { tips };
    const answer = handler(request);
    const shownOnLoginPage = userAuthHub.request!;
    expect(shownOnLoginPage.tips).toBe(tips);
    pages.push({ route: 'pages/login' });
    handler.follow!(request); // the login page is on top: it stays
    expect(userAuthHub.isWaiting(shownOnLoginPage)).toBe(true);
    const open = jest.fn(async () => success);
    pages.push({ route: 'pages/b', selectComponent: () => ({ open }) }); // the user went on to B (which has a modal)
    handler.follow!(request);
    expect(userAuthHub.isWaiting(shownOnLoginPage)).toBe(false);
    expect(userAuthHub.answer(shownOnLoginPage, { succeeded: false, errMsg: 'phone:fail cancel (late)' })).toBe(false);
    expect(await answer).toBe(success);
    expect(navigateTo).toHaveBeenCalledTimes(1);
  });

  it('does not move a question while the navigation to the login page is still running (the asking page is on top)', () => {
    const navigateTo = jest.fn();
    const pages: PageLike[] = [{ route: 'pages/a' }];
    const handler = createPageUserAuthHandler({ runtime: runtime(pages, navigateTo), loginPageUrl: '/pages/login' });
    const request = { tips };
    void handler(request);
    handler.follow!(request);
    expect(navigateTo).toHaveBeenCalledTimes(1);
    expect(userAuthHub.pending).toHaveLength(1);
  });
});

describe('the core calls userAuthHandler.follow when a caller joins a login waiting for the user', () => {
  function kitWith(handler: UserAuthHandler) {
    const fake = createFakeWx(new FakeBackend());
    const logger = createLogger();
    const kit = new LoginKit();
    kit.config({ source: 'app', baseURL: 'https://api.test', wx: fake.wx, logger, userAuthHandler: handler });
    return { kit, logger };
  }

  it('with the request it handed the handler, for callers that may show UI, never after the answer', async () => {
    let answer!: (result: AuthResult) => void;
    const handler: UserAuthHandler = jest.fn(() => new Promise<AuthResult>((resolve) => (answer = resolve)));
    handler.follow = jest.fn();
    const { kit } = kitWith(handler);
    const first = kit.login();
    await flush();
    expect(handler).toHaveBeenCalledTimes(1);
    const silent = kit.login({ mode: 'silent' }).catch((e: unknown) => e);
    expect(handler.follow).not.toHaveBeenCalled(); // a silent caller never wants the UI
    const second = kit.login();
    expect(handler.follow).toHaveBeenCalledTimes(1);
    expect(jest.mocked(handler.follow).mock.calls[0][0]).toBe(jest.mocked(handler).mock.calls[0][0]);
    answer(userInfoResult());
    for (let i = 0; i < 10; i++) await Promise.resolve(); // the answer is in; the flight now awaits the backend
    const third = kit.login();
    expect(handler.follow).toHaveBeenCalledTimes(1); // answered: nothing left to move
    const [a, b, c] = await Promise.all([first, second, third]);
    expect(new Set([a.accessToken, b.accessToken, c.accessToken]).size).toBe(1);
    await silent;
  });

  it('logs a follow that throws and keeps the question where it is', async () => {
    let answer!: (result: AuthResult) => void;
    const handler: UserAuthHandler = () => new Promise<AuthResult>((resolve) => (answer = resolve));
    handler.follow = () => {
      throw new Error('boom');
    };
    const { kit, logger } = kitWith(handler);
    const first = kit.login();
    await flush();
    const second = kit.login();
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/userAuthHandler.follow threw/), expect.any(Error));
    answer(userInfoResult());
    expect((await first).accessToken).toBe((await second).accessToken);
  });
});

describe('currentPageTips', () => {
  it('calls a native page hook with the page as this', () => {
    const page = {
      label: 'native',
      $loginUserAuthTips(this: { label: string }) {
        return { title: this.label };
      },
    };
    expect(currentPageTips(runtime([page]))).toEqual({ title: 'native' });
  });

  it('calls a wepy 2 page hook on its view model', () => {
    const vm = {
      label: 'wepy',
      $loginUserAuthTips(this: { label: string }) {
        return { title: this.label };
      },
    };
    expect(currentPageTips(runtime([{ $wepy: vm }]))).toEqual({ title: 'wepy' });
  });

  it('calls a uni-app page hook on its $vm (an Options API method, or what <script setup> exposes)', () => {
    const vm = {
      label: 'uni',
      $loginUserAuthTips(this: { label: string }) {
        return { title: this.label };
      },
    };
    expect(currentPageTips(runtime([{ $vm: vm }]))).toEqual({ title: 'uni' });
    // A uni-app page whose $vm has no hook, but whose native page got one (providePageTips) still gives its tips.
    expect(currentPageTips(runtime([{ $vm: {}, $loginUserAuthTips: () => ({ title: 'native' }) }]))).toEqual({ title: 'native' });
  });

  it('returns undefined with no page (App.onLaunch) or no hook', () => {
    expect(currentPageTips(runtime([]))).toBeUndefined();
    expect(currentPageTips(runtime([{}]))).toBeUndefined();
  });
});

describe('providePageTips (Taro: useLoad + getCurrentInstance().page)', () => {
  it('gives the native page tips, as an object or a function called when a login asks', () => {
    const page: PageLike = {};
    providePageTips(page, { title: '登录后评论' });
    expect(currentPageTips(runtime([page]))).toEqual({ title: '登录后评论' });
    let count = 0;
    providePageTips(page, () => ({ title: `第 ${++count} 次` }));
    expect(currentPageTips(runtime([page]))).toEqual({ title: '第 1 次' });
    expect(currentPageTips(runtime([page]))).toEqual({ title: '第 2 次' });
  });

  it('rejects a missing page (called before the page exists) or bad tips with INVALID_OPTIONS, changing nothing', () => {
    const page: PageLike = {};
    for (const [target, tips] of [
      [undefined, {}],
      [null, {}],
      [page, null],
      [page, 'title'],
    ] as const) {
      let caught: unknown;
      try {
        providePageTips(target as PageLike | undefined, tips as never);
      } catch (error) {
        caught = error;
      }
      expect(isLoginError(caught) && caught.code).toBe('INVALID_OPTIONS');
    }
    expect(page.$loginUserAuthTips).toBeUndefined();
  });
});

describe('openAuthModal (AuthModal.open)', () => {
  it("opens the current page's modal with the given tips merged over the defaults once, here", async () => {
    const open = jest.fn(async () => success);
    const page: PageLike = { selectComponent: () => ({ open }) };
    expect(await openAuthModal({ title: 'T', runtime: runtime([page]) })).toBe(success);
    expect(open).toHaveBeenCalledWith({ ...DEFAULT_AUTH_TIPS, title: 'T' });
  });

  it('rejects UI_UNAVAILABLE when the page has no AuthModal', async () => {
    const error = await openAuthModal({ runtime: runtime([{ selectComponent: () => null }]) }).catch((e: unknown) => e);
    expect(isLoginError(error) && error.code).toBe('UI_UNAVAILABLE');
  });
});
