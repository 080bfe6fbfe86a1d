/**
 * AuthModal: a login dialog to drop into any page (`<auth-modal id="auth-modal"/>`). The default login UI uses it
 * when the current page has one. `open(tips)` shows it and resolves with the user's `AuthResult`; the same result is
 * published on `userAuthHub` and as the `result` event. Closing it (mask, cancel button, page unload) is a cancel.
 * Thin over the hub and the core's tips: all login logic stays in `lib/`.
 */
import { cancelledResult, resultFromPhoneNumber, resultFromUserInfo, type GetPhoneNumberDetail, type GetUserInfoDetail } from '../../hub/auth-events';
import { userAuthHub } from '../../hub/index';
import { DEFAULT_AUTH_TIPS, mergeTips } from '../../lib/tips';
import type { AuthResult, AuthTips } from '../../lib/types';
import type { AuthModalData } from './types';

interface Pending {
  promise: Promise<AuthResult>;
  resolve: (result: AuthResult) => void;
}

Component<AuthModalData, {}, {
  open(tips?: Partial<AuthTips>): Promise<AuthResult>;
  onGetUserInfo(event: { detail: GetUserInfoDetail }): void;
  onGetPhoneNumber(event: { detail: GetPhoneNumberDetail }): void;
  onCancel(): void;
  finish(result: AuthResult): void;
}, [], { pending: Pending | null }>({
  externalClasses: ['custom-class'],
  data: { visible: false, tips: { ...DEFAULT_AUTH_TIPS } },
  lifetimes: {
    created() {
      this.pending = null;
    },
    detached() {
      this.finish(cancelledResult(this.data.tips.authType, 'the AuthModal was removed'));
    },
  },
  methods: {
    /**
     * Shows the modal with `tips` merged over the defaults. Resolves with the user's `AuthResult` (never rejects).
     * While it is open, further calls share the same promise.
     */
    open(tips?: Partial<AuthTips>): Promise<AuthResult> {
      if (this.pending) return this.pending.promise;
      let resolve!: (result: AuthResult) => void;
      const promise = new Promise<AuthResult>((r) => (resolve = r));
      this.pending = { promise, resolve };
      this.setData({ visible: true, tips: mergeTips(console, DEFAULT_AUTH_TIPS, [{ where: 'AuthModal.open(tips)', tips }]) });
      return promise;
    },
    onGetUserInfo(event) {
      this.finish(resultFromUserInfo(event.detail));
    },
    onGetPhoneNumber(event) {
      this.finish(resultFromPhoneNumber(event.detail));
    },
    onCancel() {
      this.finish(cancelledResult(this.data.tips.authType, 'the user closed the AuthModal'));
    },
    /** Closes the modal and publishes `result` (promise, `userAuthHub`, `result` event); no-op when not open. */
    finish(result: AuthResult) {
      const pending = this.pending;
      if (!pending) return;
      this.pending = null;
      this.setData({ visible: false });
      pending.resolve(result);
      userAuthHub.notify(result);
      this.triggerEvent('result', result);
    },
  },
});
