/**
 * The kit's login page, a `Component()` (WeChat allows pages built that way, and it stays testable like a component).
 * The default login UI navigates here when the current page has no AuthModal: the page shows the tips of the waiting
 * login (`userAuthHub.request`), publishes the user's `AuthResult` on `userAuthHub` and goes back. Leaving it any other
 * way (back button, `reLaunch`, unload) publishes a cancel, so the waiting login never hangs. It asks for what
 * `tips.authType` says and shows the privacy agreement when WeChat asks for it.
 * It also works embedded as a component in a host page (e.g. a wepy page), thanks to `attached`/`detached`.
 */
import { cancelledResult } from '../../components/common/auth-events';
import { userAuthHub } from '../../hub/index';
import { DEFAULT_AUTH_TIPS } from '../../lib/tips';
import type { AuthResult, AuthTips } from '../../lib/types';
import { authBehavior, EMPTY_PROFILE } from '../../components/common/auth-behavior';

Component<
  { tips: AuthTips; profile: typeof EMPTY_PROFILE; privacy: { visible: boolean; contractName: string } },
  WechatMiniprogram.Component.PropertyOption,
  {
    onUnload(): void;
    finish(result: AuthResult): void;
  },
  [typeof authBehavior],
  { done: boolean }
>({
  behaviors: [authBehavior],
  externalClasses: ['custom-class'],
  data: { tips: { ...DEFAULT_AUTH_TIPS }, profile: { ...EMPTY_PROFILE }, privacy: { visible: false, contractName: '' } },
  lifetimes: {
    attached() {
      this.done = false;
      const request = userAuthHub.request;
      // The tips the core merged for the waiting login, shown as they are (the defaults when no login waits).
      const tips: AuthTips = { ...DEFAULT_AUTH_TIPS, ...(request && request.tips) };
      this.setData({ tips });
      this.showAuthUi(tips.authType);
    },
    detached() {
      this.onUnload();
    },
  },
  methods: {
    /** Page lifecycle: leaving without an answer is a cancel (no navigation: the page is already going). */
    onUnload() {
      if (this.done) return;
      this.done = true;
      this.hideAuthUi();
      userAuthHub.notify(cancelledResult(this.data.tips.authType, 'the user left the login page'));
    },
    /** Publishes `result` once, then returns to the page that asked. */
    finish(result: AuthResult) {
      if (this.done) return;
      this.done = true;
      this.hideAuthUi();
      userAuthHub.notify(result);
      this.triggerEvent('result', result);
      wx.navigateBack({ delta: 1, fail: () => undefined });
    },
  },
});
