/**
 * The kit's login page, a `Component()` (WeChat allows pages built that way, and it stays testable like a component).
 * The default login UI navigates here when the current page has no AuthModal: the page shows the question of the
 * waiting login (`userAuthHub.request`, the oldest one waiting), answers that request — and only that one — on
 * `userAuthHub`, then shows the next waiting question if there is one, else goes back. Leaving it any other way (back
 * button, `reLaunch`, unload) answers a cancel to the question it shows and to those waiting behind it, so no login
 * hangs; a question that moved to another page meanwhile (the user navigated on) is no longer its to answer.
 * It asks for what `tips.authType` says and shows the privacy agreement when WeChat asks for it.
 * It also works embedded as a component in a host page (e.g. a wepy page), thanks to `attached`/`detached`.
 */
import { cancelledResult } from '../../components/common/auth-events';
import { userAuthHub } from '../../hub/index';
import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import type { AuthResult, AuthTips, UserAuthRequest } from '../../lib/types';
import { authBehavior, EMPTY_PROFILE } from '../../components/common/auth-behavior';

Component<
  { tips: AuthTips; profile: typeof EMPTY_PROFILE; privacy: { visible: boolean; contractName: string } },
  WechatMiniprogram.Component.PropertyOption,
  {
    onUnload(): void;
    finish(result: AuthResult): void;
    show(request: UserAuthRequest | null): void;
  },
  [typeof authBehavior],
  { done: boolean; shown: UserAuthRequest | null }
>({
  behaviors: [authBehavior],
  externalClasses: ['custom-class'],
  data: { tips: { ...DEFAULT_AUTH_TIPS }, profile: { ...EMPTY_PROFILE }, privacy: { visible: false, contractName: '' } },
  lifetimes: {
    attached() {
      this.done = false;
      this.show(userAuthHub.request);
    },
    detached() {
      this.onUnload();
    },
  },
  methods: {
    /** Shows `request`'s tips as the core merged them (the defaults when no login waits). */
    show(request: UserAuthRequest | null) {
      this.shown = request;
      const tips: AuthTips = { ...DEFAULT_AUTH_TIPS, ...(request && request.tips) };
      this.setData({ tips });
      this.showAuthUi(tips.authType);
    },
    /**
     * Page lifecycle: leaving without an answer cancels the question shown and the ones waiting behind it, each with
     * a cancel of its own `authType` (no navigation: the page is already going). A question that is no longer waiting
     * (it moved to the page the user is on) is left alone.
     */
    onUnload() {
      if (this.done) return;
      this.done = true;
      this.hideAuthUi();
      const shown = this.shown;
      if (shown && !userAuthHub.isWaiting(shown)) return; // moved to the page the user is on, or answered there
      const why = 'the user left the login page';
      userAuthHub.answer(shown, cancelledResult(this.data.tips.authType, why));
      for (const request of userAuthHub.pending) userAuthHub.answer(request, cancelledResult(request.tips.authType, why));
    },
    /** Answers the question shown with `result` once, then shows the next waiting question, else returns to the page that asked. */
    finish(result: AuthResult) {
      if (this.done) return;
      this.hideAuthUi();
      const shown = this.shown;
      userAuthHub.answer(shown, result);
      this.triggerEvent('result', result);
      const next = userAuthHub.request;
      if (next && next !== shown) return this.show(next);
      this.done = true;
      wx.navigateBack({ delta: 1, fail: () => undefined });
    },
  },
});
