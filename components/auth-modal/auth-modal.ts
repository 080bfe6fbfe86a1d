/**
 * The call-from-code API of the AuthModal component (as vant-weapp's `dialog.ts` sits beside its dialog):
 * `AuthModal.open({title, ...})` opens the current page's `<auth-modal id="auth-modal">` and resolves with the
 * user's `AuthResult`.
 */
import { LoginError } from '../../lib/errors';
import { DEFAULT_AUTH_TIPS, mergeTips } from '../../lib/tips';
import type { AuthResult, AuthTips } from '../../lib/types';
import { DEFAULT_AUTH_MODAL_SELECTOR, currentPage, findAuthModal, globalPageRuntime, type PageRuntime } from '../../hub/page-ui';

/** Options of `openAuthModal`: tips for this opening, and where to find the modal. */
export interface OpenAuthModalOptions extends Partial<AuthTips> {
  /** Selector of the AuthModal on the current page (default `#auth-modal`). */
  selector?: string;
  /** Runtime globals (tests inject these). */
  runtime?: PageRuntime;
}

/**
 * Opens the current page's AuthModal from code (the `AuthModal.open` of the package entry) and resolves with the
 * user's `AuthResult`. The tips given here are merged over the kit's defaults once, here (a field of the wrong type is
 * skipped with a warning); the modal shows the result. Rejects with `UI_UNAVAILABLE` when the current page has no
 * AuthModal.
 */
export function openAuthModal(options: OpenAuthModalOptions = {}): Promise<AuthResult> {
  const { selector = DEFAULT_AUTH_MODAL_SELECTOR, runtime = globalPageRuntime, ...tips } = options;
  const modal = findAuthModal(currentPage(runtime), selector);
  if (!modal) return Promise.reject(new LoginError('UI_UNAVAILABLE', `the current page has no AuthModal matching "${selector}"`));
  return modal.open(mergeTips(console, DEFAULT_AUTH_TIPS, [{ where: 'AuthModal.open(tips)', tips }]));
}

/** Call-from-code API of the AuthModal component: `AuthModal.open({title, ...})` opens the current page's modal. */
export const AuthModal = {
  /** Opens the current page's AuthModal; see `openAuthModal`. Rejects `UI_UNAVAILABLE` when the page has none. */
  open: openAuthModal,
};
