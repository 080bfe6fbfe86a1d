/**
 * The default login UI of the package: the current page's AuthModal if it has one, else the login page.
 * This is the only place that knows about pages (`getCurrentPages`, `wx.navigateTo`); the core stays page-free.
 */
import { LoginError } from '../lib/errors';
import type { AuthResult, AuthTips, UserAuthHandler, UserAuthRequest } from '../lib/types';
import { userAuthHub } from './index';

/** A page instance as `getCurrentPages()` returns it (native), possibly with a wepy 2 view model in `$wepy`. */
export interface PageLike {
  route?: string;
  selectComponent?: (selector: string) => unknown;
  $wepy?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Anything with the AuthModal's `open(tips)` method. */
export interface AuthModalLike {
  open(tips?: Partial<AuthTips>): Promise<AuthResult>;
}

/** What the page UI needs from the mini-program runtime; default: the globals `getCurrentPages` and `wx.navigateTo`. */
export interface PageRuntime {
  getCurrentPages(): PageLike[];
  navigateTo(options: { url: string; success?: () => void; fail?: (error: { errMsg: string; errno?: number }) => void }): void;
}

/** Where Build npm puts the kit's login page; add it to `app.json` `pages` or pass your own `loginPageUrl`. */
export const DEFAULT_LOGIN_PAGE_URL = '/miniprogram_npm/miniprogram-login-kit/pages/login/index';
/** The selector the default UI looks for on the current page. */
export const DEFAULT_AUTH_MODAL_SELECTOR = '#auth-modal';

declare const getCurrentPages: (() => PageLike[]) | undefined;
declare const wx: { navigateTo: PageRuntime['navigateTo'] } | undefined;

/** The mini-program globals, read at call time (they may be installed after this module loads). */
export const globalPageRuntime: PageRuntime = {
  getCurrentPages: () => (typeof getCurrentPages === 'function' ? getCurrentPages() : []),
  navigateTo: (options) => {
    if (typeof wx === 'undefined' || typeof wx.navigateTo !== 'function') throw new Error('wx.navigateTo is not available');
    wx.navigateTo(options);
  },
};

/** The top page of the page stack, or undefined (e.g. during `App.onLaunch`). */
export function currentPage(runtime: PageRuntime = globalPageRuntime): PageLike | undefined {
  const pages = runtime.getCurrentPages();
  return pages.length ? pages[pages.length - 1] : undefined;
}

/** The page's AuthModal (a component with `open`) matched by `selector`, or null. */
export function findAuthModal(page: PageLike | undefined, selector = DEFAULT_AUTH_MODAL_SELECTOR): AuthModalLike | null {
  if (!page || typeof page.selectComponent !== 'function') return null;
  const found = page.selectComponent(selector) as Partial<AuthModalLike> | null | undefined;
  return found && typeof found.open === 'function' ? (found as AuthModalLike) : null;
}

/**
 * Calls the current page's `$loginUserAuthTips()` with the page as `this` (the wepy 2 view model on wepy pages) and
 * returns what it returns (may be a promise; the core awaits it). Undefined when the page has no such method.
 */
export function currentPageTips(runtime: PageRuntime = globalPageRuntime): unknown {
  const page = currentPage(runtime);
  if (!page) return undefined;
  const owner = page.$wepy && typeof page.$wepy.$loginUserAuthTips === 'function' ? page.$wepy : page;
  const hook = owner.$loginUserAuthTips;
  return typeof hook === 'function' ? hook.call(owner) : undefined;
}

/** Options of `openAuthModal`: tips for this opening, and where to find the modal. */
export interface OpenAuthModalOptions extends Partial<AuthTips> {
  /** Selector of the AuthModal on the current page (default `#auth-modal`). */
  selector?: string;
  /** Runtime globals (tests inject these). */
  runtime?: PageRuntime;
}

/**
 * Opens the current page's AuthModal from code (the `AuthModal.open` of the package entry) and resolves with the
 * user's `AuthResult`. Rejects with `UI_UNAVAILABLE` when the current page has no AuthModal.
 */
export function openAuthModal(options: OpenAuthModalOptions = {}): Promise<AuthResult> {
  const { selector = DEFAULT_AUTH_MODAL_SELECTOR, runtime = globalPageRuntime, ...tips } = options;
  const modal = findAuthModal(currentPage(runtime), selector);
  if (!modal) return Promise.reject(new LoginError('UI_UNAVAILABLE', `the current page has no AuthModal matching "${selector}"`));
  return modal.open(tips);
}

/** Options of `createPageUserAuthHandler`. */
export interface PageUserAuthHandlerOptions {
  /** Page path of the login page (default `DEFAULT_LOGIN_PAGE_URL`). */
  loginPageUrl?: string;
  /** Selector of the AuthModal on the current page (default `#auth-modal`). */
  modalSelector?: string;
  /** Runtime globals (tests inject these). */
  runtime?: PageRuntime;
}

/**
 * The default `userAuthHandler`: opens the current page's AuthModal if it has one; else subscribes to
 * `userAuthHub` first and then navigates to the login page (subscribing after navigating could miss the answer).
 * Rejects with `UI_UNAVAILABLE` when navigation fails (e.g. the 10-page stack is full), so nothing hangs.
 */
export function createPageUserAuthHandler(options: PageUserAuthHandlerOptions = {}): UserAuthHandler {
  const runtime = options.runtime ?? globalPageRuntime;
  const url = options.loginPageUrl ?? DEFAULT_LOGIN_PAGE_URL;
  return (request: UserAuthRequest) => {
    const modal = findAuthModal(currentPage(runtime), options.modalSelector);
    if (modal) return modal.open(request.tips);
    return new Promise<AuthResult>((resolve, reject) => {
      const unsubscribe = userAuthHub.subscribe(resolve);
      userAuthHub.request = request;
      const failed = (errMsg: string, errno?: number) => {
        unsubscribe();
        userAuthHub.request = null;
        reject(new LoginError('UI_UNAVAILABLE', `could not open the login page ${url}: ${errMsg}`, { errMsg, errno }));
      };
      try {
        runtime.navigateTo({ url, fail: (error) => failed(error?.errMsg ?? 'navigateTo:fail', error?.errno) });
      } catch (error) {
        failed(String(error));
      }
    });
  };
}
