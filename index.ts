/**
 * miniprogram-login-kit — the package entry. `Login` is the default instance, already wired to the page UI
 * (the current page's `<auth-modal id="auth-modal">`, else the login page) and to each page's
 * `$loginUserAuthTips()`. Call `Login.config({source, baseURL})` once in `App.onLaunch`.
 */
import { LoginKit, type LoginOptions } from './lib/login-kit';
export type { Backoff } from './lib/login-kit';
import { createPageUserAuthHandler, currentPageTips, openAuthModal } from './hub/page-ui';

export * from './lib/index';
export { userAuthHub, Hub, UserAuthHub } from './hub/index';
export { privacyRouter, PrivacyRouter, PRIVACY_AGREE_BUTTON_ID } from './hub/privacy';
export type { PrivacyPresenter, PrivacyRequest, PrivacyWx } from './hub/privacy';
export { cancelledResult, resultFromUserInfo, resultFromPhoneNumber } from './hub/auth-events';
export type { GetUserInfoDetail } from './hub/auth-events';
export type { HubListener } from './hub/index';
export {
  createPageUserAuthHandler,
  openAuthModal,
  currentPage,
  currentPageTips,
  findAuthModal,
  globalPageRuntime,
  DEFAULT_LOGIN_PAGE_URL,
  DEFAULT_AUTH_MODAL_SELECTOR,
  PAGE_STACK_LIMIT,
} from './hub/page-ui';
export type {
  AuthModalLike,
  NavigateOptions,
  OpenAuthModalOptions,
  PageLike,
  PageRuntime,
  PageUserAuthHandlerOptions,
} from './hub/page-ui';

/** Call-from-code API of the AuthModal component: `AuthModal.open({title, ...})` opens the current page's modal. */
export const AuthModal = {
  /** Opens the current page's AuthModal; see `openAuthModal`. Rejects `UI_UNAVAILABLE` when the page has none. */
  open: openAuthModal,
};

/**
 * Creates an independent kit (its own state, storage key and locks) with the page UI as default `userAuthHandler`
 * and the current page's `$loginUserAuthTips()` as `pageTips`. Configures it at once when `options` are given.
 * @throws LoginError `INVALID_OPTIONS` for bad options.
 */
export function createLogin(options?: LoginOptions): LoginKit {
  const kit = new LoginKit({ userAuthHandler: createPageUserAuthHandler(), pageTips: () => currentPageTips() });
  if (options !== undefined) kit.config(options);
  return kit;
}

/** The default kit instance. */
export const Login: LoginKit = createLogin();
