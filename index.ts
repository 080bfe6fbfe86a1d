/**
 * miniprogram-login-kit — the package entry. `Login` is the default instance, already wired to the page UI
 * (the current page's `<auth-modal id="auth-modal">`, else the login page) and to each page's
 * `$loginUserAuthTips()`. Call `Login.config({source, baseURL})` once in `App.onLaunch`.
 * Runtime values: the core's seven (`lib/index.ts`), `Login`, `createLogin`, `userAuthHub`, `AuthModal`,
 * `createPageUserAuthHandler`, `pageTipsFrom`, `providePageTips` and `privacyRouter`; everything else is types.
 */
import { LoginKit, type LoginOptions } from './lib/login-kit';
import { createPageUserAuthHandler, currentPageTips, pageTipsFrom, providePageTips } from './hub/page-ui';
import { privacyRouter } from './hub/privacy';
import { shared } from './hub/shared';
import { PACKAGE_NAME } from './lib/errors';
import { developing, globalWx } from './lib/runtime';

export * from './lib/index';
export { userAuthHub } from './hub/index';
export type { Hub, HubListener, PendingAuthResult, UserAuthHub } from './hub/index';
export { privacyRouter };
export type { PrivacyPresenter, PrivacyRequest, PrivacyRouter, PrivacyWx } from './hub/privacy';
export { createPageUserAuthHandler, pageTipsFrom, providePageTips };
export type { AuthModalLike, NavigateOptions, PageLike, PageObjectOf, PageRuntime, PageUserAuthHandlerOptions } from './hub/page-ui';
export { AuthModal } from './components/auth-modal/auth-modal';
export type { OpenAuthModalOptions } from './components/auth-modal/auth-modal';

/**
 * Creates an independent kit (its own state, storage key and locks) with the page UI as default `userAuthHandler`
 * and the current page's `$loginUserAuthTips()` as `pageTips`. Configures it at once when `options` are given.
 * Its `config()` also sets the app-wide `privacyRouter` from `privacy` / `privacyAppHandler` (the last call wins).
 * @throws LoginError `INVALID_OPTIONS` for bad options.
 */
export function createLogin(options?: LoginOptions): LoginKit {
  const kit = new LoginKit({ userAuthHandler: createPageUserAuthHandler(), pageTips: () => currentPageTips() }, privacyRouter);
  if (options !== undefined) kit.config(options);
  return kit;
}

/**
 * The default kit instance. Shared by every copy of the kit in the app (see `hub/shared`): two default instances would
 * log in twice and spend one refresh token twice, which the contract's reuse detection answers by revoking the session.
 */
export const Login: LoginKit = shared('Login', () => {
  if (bundledByUni() && developing(globalWx())) {
    console.warn(
      `${PACKAGE_NAME}: uni-app bundled the kit into its own output, so the pages' /miniprogram_npm/${PACKAGE_NAME}/ ` +
        `components do not exist: add loginKitUni() from '${PACKAGE_NAME}/vite' to the plugins of vite.config`,
    );
  }
  return createLogin();
});

declare const process: { env: Record<string, string | undefined> };

/**
 * Whether uni-app's build bundled this file: its vite `define` turns `process.env.UNI_PLATFORM` into "mp-weixin" in
 * what it bundles, which it does to the kit only without `loginKitUni()` (that plugin keeps the kit a `require` of
 * miniprogram_npm, where WeChat loads it as built and a mini-program has no `process`). Said in development and
 * trial versions (README, "uni-app").
 */
function bundledByUni(): boolean {
  try {
    return process.env.UNI_PLATFORM === 'mp-weixin';
  } catch {
    return false;
  }
}
