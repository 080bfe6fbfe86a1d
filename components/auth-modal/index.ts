/**
 * AuthModal: a login dialog to drop into any page (`<auth-modal id="auth-modal"/>`). The default login UI uses it
 * when the current page has one. `open(tips)` shows it and resolves with the user's `AuthResult`; the same result is
 * published on `userAuthHub` and as the `result` event. Closing it (mask, cancel button, page unload) is a cancel.
 * It asks for what `tips.authType` says (profile form, phone, classic userInfo) and shows the privacy agreement when
 * WeChat asks for it while the modal is open. Thin over the hub and the core: all login logic stays in `lib/`.
 */
import { cancelledResult } from '../common/auth-events';
import { userAuthHub } from '../../hub/index';
import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import type { AuthResult, AuthTips } from '../../lib/types';
import { authBehavior, EMPTY_PROFILE } from '../common/auth-behavior';
import type { AuthModalData } from './types';

interface Pending {
  promise: Promise<AuthResult>;
  resolve: (result: AuthResult) => void;
}

Component<
  AuthModalData,
  WechatMiniprogram.Component.PropertyOption,
  {
    open(tips?: Partial<AuthTips>): Promise<AuthResult>;
    finish(result: AuthResult): void;
  },
  [typeof authBehavior],
  { pending: Pending | null }
>({
  behaviors: [authBehavior],
  externalClasses: ['custom-class'],
  data: { visible: false, tips: { ...DEFAULT_AUTH_TIPS }, profile: { ...EMPTY_PROFILE }, privacy: { visible: false, contractName: '' } },
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
     * Shows the modal with `tips` — the tips the core merged for this login (defaults ← `config.tips` ← page ← call), shown
     * as they are; keys missing from a partial set take the defaults. Resolves with the user's `AuthResult` (never rejects).
     * While it is open, further calls share the same promise.
     */
    open(tips?: Partial<AuthTips>): Promise<AuthResult> {
      if (this.pending) return this.pending.promise;
      let resolve!: (result: AuthResult) => void;
      const promise = new Promise<AuthResult>((r) => (resolve = r));
      this.pending = { promise, resolve };
      const shown: AuthTips = { ...DEFAULT_AUTH_TIPS, ...tips };
      this.setData({ visible: true, tips: shown });
      this.showAuthUi(shown.authType);
      return promise;
    },
    /** Closes the modal and publishes `result` (promise, `userAuthHub`, `result` event); no-op when not open. */
    finish(result: AuthResult) {
      const pending = this.pending;
      if (!pending) return;
      this.pending = null;
      this.hideAuthUi();
      this.setData({ visible: false });
      pending.resolve(result);
      userAuthHub.notify(result);
      this.triggerEvent('result', result);
    },
  },
});
