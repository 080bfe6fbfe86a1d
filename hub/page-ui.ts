/**
 * The default login UI of the package: the current page's AuthModal if it has one, else the login page.
 * This is the only place that knows about pages (`getCurrentPages`, `wx.navigateTo`); the core stays page-free.
 */
import { LoginError } from '../lib/errors';
import { developing, globalWx } from '../lib/runtime';
import type { AuthResult, AuthTips, UserAuthHandler, UserAuthRequest } from '../lib/types';
import { userAuthHub, type PendingAuthResult } from './index';

/**
 * A page instance as `getCurrentPages()` returns it (native), possibly with a framework's page object: the wepy 2 view
 * model in `$wepy`, the uni-app (Vue 3) page instance in `$vm`.
 */
export interface PageLike {
  /** Page path without the leading slash, e.g. `pages/index`. */
  route?: string;
  /** Finds a child component instance (`this.selectComponent`); null when nothing matches. */
  selectComponent?: (selector: string) => unknown;
  /** The wepy 2 view model of a wepy page. */
  $wepy?: Record<string, unknown>;
  /** The uni-app page instance (its Options API methods, or what `<script setup>` exposes with `defineExpose`). */
  $vm?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Anything with the AuthModal's `open(tips)` method (and, optionally, its `withdraw`). */
export interface AuthModalLike {
  /** Shows the modal with these tips; resolves with the user's answer. */
  open(tips?: Partial<AuthTips>): Promise<AuthResult>;
  /**
   * Takes back the question `answer` (what `open` returned) without answering it, when the question moves to the page
   * the user is on. A modal without it stays open on its hidden page; its answer is then ignored.
   */
  withdraw?(answer: Promise<AuthResult>): unknown;
}

/** Options of `wx.navigateTo` / `wx.redirectTo` as the page UI uses them. */
export interface NavigateOptions {
  /** Page path, e.g. `/pages/login`. */
  url: string;
  /** Called when the page opened. */
  success?: () => void;
  /** Called with WeChat's `errMsg` (e.g. `navigateTo:fail webview count limit exceed`). */
  fail?: (error: { errMsg: string; errno?: number }) => void;
}

/** What the page UI needs from the mini-program runtime; default: the globals `getCurrentPages`, `wx.navigateTo`, `wx.redirectTo`. */
export interface PageRuntime {
  /** The page stack, bottom first (WeChat's `getCurrentPages`). */
  getCurrentPages(): PageLike[];
  /** Opens a page on top of the stack (`wx.navigateTo`). */
  navigateTo(options: NavigateOptions): void;
  /** Used when `navigateTo` cannot open the login page (full stack, a navigation already running). */
  redirectTo?(options: NavigateOptions): void;
}

/** WeChat's page stack limit ("navigateTo" doc; community: "webview count limit exceed"). */
export const PAGE_STACK_LIMIT = 10;

/** Where Build npm puts the kit's login page; add it to `app.json` `pages` or pass your own `loginPageUrl`. */
export const DEFAULT_LOGIN_PAGE_URL = '/miniprogram_npm/miniprogram-login-kit/pages/login/index';
/** The selector the default UI looks for on the current page. */
export const DEFAULT_AUTH_MODAL_SELECTOR = '#auth-modal';

declare const getCurrentPages: (() => PageLike[]) | undefined;
type NavigationWx = { navigateTo?: PageRuntime['navigateTo']; redirectTo?: PageRuntime['navigateTo'] };

/** Calls `wx[name]` of the global `wx`, read at call time; throws when the host has none. */
function navigate(name: 'navigateTo' | 'redirectTo', options: NavigateOptions): void {
  const wx = globalWx<NavigationWx>();
  const method = wx && wx[name];
  if (typeof method !== 'function') throw new Error(`wx.${name} is not available`);
  method.call(wx, options);
}

/** The mini-program globals, read at call time (they may be installed after this module loads). */
export const globalPageRuntime: PageRuntime = {
  getCurrentPages: () => (typeof getCurrentPages === 'function' ? getCurrentPages() : []),
  navigateTo: (options) => navigate('navigateTo', options),
  redirectTo: (options) => navigate('redirectTo', options),
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
 * Maps a page of the page stack to the object that holds its `$loginUserAuthTips()` (a framework's page object), or
 * undefined to use the page itself. wepy 1 keeps its page objects on its app, not on the native page:
 * `page => wepy.$instance.$pages['/' + page.route]`.
 */
export type PageObjectOf = (page: PageLike) => object | null | undefined;

/** Whether `owner` is an object with a `$loginUserAuthTips` method. */
const hasTips = (owner: unknown): owner is Record<string, unknown> =>
  !!owner && typeof (owner as Record<string, unknown>).$loginUserAuthTips === 'function';

/**
 * The object whose `$loginUserAuthTips` to call: `pageObject(page)` if given and found, else the first of the wepy 2
 * view model (`$wepy`) and the uni-app page instance (`$vm`) that has the method, else the page itself (native pages,
 * and Taro pages, whose hook puts the method on `Taro.getCurrentInstance().page`).
 */
function tipsOwner(page: PageLike, pageObject?: PageObjectOf): Record<string, unknown> {
  const mapped = pageObject && pageObject(page);
  if (mapped && typeof mapped === 'object') return mapped as Record<string, unknown>;
  if (hasTips(page.$wepy)) return page.$wepy;
  return hasTips(page.$vm) ? page.$vm : page;
}

/**
 * Calls the current page's `$loginUserAuthTips()` with its owner as `this` (see `tipsOwner`: the mapped page object,
 * the wepy 2 view model, the uni-app page instance, else the native page) and returns what it returns (may be a promise; the core awaits it).
 * Undefined when there is no page or no such method.
 */
export function currentPageTips(runtime: PageRuntime = globalPageRuntime, pageObject?: PageObjectOf): unknown {
  const page = currentPage(runtime);
  if (!page) return undefined;
  const owner = tipsOwner(page, pageObject);
  const hook = owner.$loginUserAuthTips;
  if (typeof hook === 'function') return hook.call(owner);
  // A native Page() copies `methods: {...}` as a plain field: tips put there (as for a Component or a wepy page) are
  // never called. Said in development and trial versions.
  const methods = page.methods as Record<string, unknown> | undefined;
  if (methods && hasTips(methods) && developing(globalWx())) {
    console.warn(
      `miniprogram-login-kit: the page ${page.route} has $loginUserAuthTips inside "methods", which a native Page() never ` +
        'calls: put it at the top level of Page({ ... })',
    );
  }
  return undefined;
}

/**
 * A `pageTips` option that reads the tips from a framework's page object instead of the native page. For wepy 1,
 * whose page methods reach the native page only through wrappers that drop their return value (wepy 1.7
 * `$createPage`), so the page's tips would otherwise be lost:
 * `Login.config({ source, baseURL, pageTips: pageTipsFrom((page) => wepy.$instance.$pages['/' + page.route]) })`.
 * Pages the mapping does not find (undefined) fall back to the native page / wepy 2 view model.
 * @param pageObject maps a page of `getCurrentPages()` to the object with `$loginUserAuthTips()`.
 * @throws LoginError `INVALID_OPTIONS` when `pageObject` is not a function.
 */
export function pageTipsFrom(pageObject: PageObjectOf, runtime: PageRuntime = globalPageRuntime): () => unknown {
  if (typeof pageObject !== 'function')
    throw new LoginError('INVALID_OPTIONS', 'pageTipsFrom(pageObject): pageObject must be a function (page) => object');
  return () => currentPageTips(runtime, pageObject);
}

/**
 * Gives a page its tips from outside the page object — for frameworks whose page code is not the native page's
 * methods. Taro (React), in the page component:
 * `useLoad(() => providePageTips(Taro.getCurrentInstance().page, { title: '登录后评论' }))`.
 * Sets `page.$loginUserAuthTips` (replacing any before it), which the default `pageTips` calls while this page is on
 * top; the page's tips then override `Login.config({tips})` and lose to `loginOpts.tips`, as anywhere else.
 * @param page the native page (`Taro.getCurrentInstance().page`, a `getCurrentPages()` entry).
 * @param tips the tips, or a function returning them (or a promise of them) at the moment a login asks.
 * @throws LoginError `INVALID_OPTIONS` when `page` is not an object (e.g. called before the page exists) or `tips`
 *   is neither an object nor a function.
 */
export function providePageTips(page: object | null | undefined, tips: Partial<AuthTips> | (() => unknown)): void {
  if (!page || typeof page !== 'object')
    throw new LoginError('INVALID_OPTIONS', 'providePageTips(page, tips): page must be the page object (is the page loaded yet?)');
  if (!tips || (typeof tips !== 'object' && typeof tips !== 'function'))
    throw new LoginError('INVALID_OPTIONS', 'providePageTips(page, tips): tips must be an object or a function');
  (page as Record<string, unknown>).$loginUserAuthTips = typeof tips === 'function' ? tips : () => tips;
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

/** The page path of a URL (`/pages/login?x=1` → `pages/login`), to compare with a page's `route`. */
const routeOf = (url: string) => url.replace(/^\//, '').replace(/[?#].*$/, '');

/** Where a question of the default UI is asked: a page's AuthModal, or the login page (through `userAuthHub`). */
type Place =
  | { via: 'modal'; page: PageLike | undefined; modal: AuthModalLike; answer: Promise<AuthResult> }
  | { via: 'page'; from: PageLike | undefined; pending: PendingAuthResult };

/** A question of the default UI: the core's request, where it is asked now, and how to settle the core's promise. */
interface Question {
  request: UserAuthRequest;
  place: Place | null;
  settle(result: AuthResult): void;
  fail(error: unknown): void;
}

/**
 * The default `userAuthHandler`: asks on the top page's AuthModal if it has one; else queues the request on
 * `userAuthHub` first and then opens the login page (queueing after navigating could miss the answer). Never hangs:
 * - the top page already is the login page → it answers; no second login page is stacked on the first;
 * - the page stack is full (10 pages) or `navigateTo` fails (e.g. a navigation is already running) → `redirectTo`;
 * - that fails too → rejects with `UI_UNAVAILABLE` (WeChat's `errMsg` kept) and leaves no request behind.
 * Its `follow(request)` (called by the core when another caller joins the waiting login, e.g. page B asks for a login
 * while A's modal waits) moves the question to the page the user is on: when the page it is asked on is no longer the
 * top page, it is taken back there without an answer (`AuthModalLike.withdraw`, or off `userAuthHub`) and asked again
 * on the top page (its AuthModal, else the login page). Only the place it is asked now can answer it: a hidden modal
 * or login page it moved away from (and their unload) answers nothing.
 */
export function createPageUserAuthHandler(options: PageUserAuthHandlerOptions = {}): UserAuthHandler {
  const runtime = options.runtime ?? globalPageRuntime;
  const url = options.loginPageUrl ?? DEFAULT_LOGIN_PAGE_URL;
  const loginRoute = routeOf(url);
  /** The questions waiting for the user, by the core's request. */
  const questions = new Map<UserAuthRequest, Question>();

  /** Asks `question` on the top page: its AuthModal, else the login page. */
  const ask = (question: Question) => {
    const { request } = question;
    const pages = runtime.getCurrentPages();
    const page = pages[pages.length - 1];
    const modal = findAuthModal(page, options.modalSelector);
    const report = (via: 'modal' | 'page', route?: string) => request.shown && request.shown({ via, route });
    // Each place answers only while it is the question's place: a place it moved away from answers nothing.
    const answerFrom = (place: Place) => (result: AuthResult) => question.place === place && question.settle(result);
    if (modal) {
      report('modal', page && page.route);
      let answer: Promise<AuthResult>;
      try {
        answer = modal.open(request.tips); // kept as it is: `withdraw` knows the question by this promise
      } catch (error) {
        return question.fail(error);
      }
      const place: Place = { via: 'modal', page, modal, answer };
      question.place = place;
      Promise.resolve(answer).then(answerFrom(place), (error: unknown) => question.place === place && question.fail(error));
      return;
    }
    report('page', loginRoute);
    // A copy per showing: a login page still showing an earlier showing of this question cannot answer this one.
    const pending = userAuthHub.awaitResult({ ...request });
    const place: Place = { via: 'page', from: page, pending };
    question.place = place;
    void pending.result.then(answerFrom(place));
    if (page && page.route === loginRoute) return;
    const failed = (errMsg: string, errno?: number) => {
      if (question.place !== place) return;
      pending.withdraw();
      const fix = `add "${loginRoute}" to "pages" in app.json, or put <auth-modal id="auth-modal" /> on this page`;
      question.fail(new LoginError('UI_UNAVAILABLE', `could not open the login page ${url} (${errMsg}): ${fix}`, { errMsg, errno }));
    };
    const attempt = (navigate: PageRuntime['navigateTo'] | undefined, onFail: (errMsg: string, errno?: number) => void) => {
      if (!navigate) return onFail('not available');
      try {
        navigate.call(runtime, { url, fail: (error) => onFail(error?.errMsg ?? 'fail', error?.errno) });
      } catch (error) {
        onFail(String(error));
      }
    };
    const redirect = (why: string) => attempt(runtime.redirectTo, (errMsg, errno) => failed(`${why}; redirectTo: ${errMsg}`, errno));
    if (pages.length >= PAGE_STACK_LIMIT) redirect(`the page stack is full (${PAGE_STACK_LIMIT} pages)`);
    else attempt(runtime.navigateTo, (errMsg) => redirect(`navigateTo: ${errMsg}`));
  };

  /**
   * Whether `place` is where the user is: the top page for a modal; for the login page, a login page on top, or the
   * page it was opened from (the navigation may still be running).
   */
  const visible = (place: Place) => {
    const top = currentPage(runtime);
    if (place.via === 'modal') return top === place.page;
    return !top || top === place.from || top.route === loginRoute;
  };

  /** Takes the question back from its place without answering it. */
  const leave = (question: Question) => {
    const place = question.place;
    question.place = null;
    if (!place) return;
    if (place.via === 'page') return place.pending.withdraw();
    if (typeof place.modal.withdraw === 'function') place.modal.withdraw(place.answer);
  };

  const handler: UserAuthHandler = (request: UserAuthRequest) =>
    new Promise<AuthResult>((resolve, reject) => {
      const question: Question = {
        request,
        place: null,
        settle: (result) => {
          questions.delete(request);
          question.place = null;
          resolve(result);
        },
        fail: (error) => {
          questions.delete(request);
          question.place = null;
          reject(error);
        },
      };
      questions.set(request, question);
      ask(question);
    });
  handler.follow = (request: UserAuthRequest) => {
    const question = questions.get(request);
    if (!question || !question.place || visible(question.place)) return;
    leave(question);
    ask(question);
  };
  return handler;
}
