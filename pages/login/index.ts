/**
 * The kit's login page, a `Component()` (WeChat allows pages built that way, and it stays testable like a component).
 * The default login UI navigates here when the current page has no AuthModal: the page shows the tips of the waiting
 * login (`userAuthHub.request`), publishes the user's `AuthResult` on `userAuthHub` and goes back. Leaving it any other
 * way (back button, `reLaunch`, unload) publishes a cancel, so the waiting login never hangs.
 * It also works embedded as a component in a host page (e.g. a wepy page), thanks to `attached`/`detached`.
 */
import { cancelledResult, resultFromPhoneNumber, resultFromUserInfo, type GetPhoneNumberDetail, type GetUserInfoDetail } from '../../hub/auth-events';
import { userAuthHub } from '../../hub/index';
import { DEFAULT_AUTH_TIPS, mergeTips } from '../../lib/tips';
import type { AuthResult, AuthTips } from '../../lib/types';

Component<{ tips: AuthTips }, {}, {
  onGetUserInfo(event: { detail: GetUserInfoDetail }): void;
  onGetPhoneNumber(event: { detail: GetPhoneNumberDetail }): void;
  onCancel(): void;
  onUnload(): void;
  finish(result: AuthResult, goBack: boolean): void;
}, [], { done: boolean }>({
  externalClasses: ['custom-class'],
  data: { tips: { ...DEFAULT_AUTH_TIPS } },
  lifetimes: {
    attached() {
      this.done = false;
      const request = userAuthHub.request;
      this.setData({ tips: mergeTips(console, DEFAULT_AUTH_TIPS, [{ where: 'the login request', tips: request && request.tips }]) });
    },
    detached() {
      this.finish(cancelledResult(this.data.tips.authType, 'the user left the login page'), false);
    },
  },
  methods: {
    onGetUserInfo(event) {
      this.finish(resultFromUserInfo(event.detail), true);
    },
    onGetPhoneNumber(event) {
      this.finish(resultFromPhoneNumber(event.detail), true);
    },
    onCancel() {
      this.finish(cancelledResult(this.data.tips.authType, 'the user tapped cancel on the login page'), true);
    },
    /** Page lifecycle: leaving without an answer is a cancel. */
    onUnload() {
      this.finish(cancelledResult(this.data.tips.authType, 'the user left the login page'), false);
    },
    /** Publishes `result` once; `goBack` returns to the page that asked. */
    finish(result: AuthResult, goBack: boolean) {
      if (this.done) return;
      this.done = true;
      userAuthHub.notify(result);
      this.triggerEvent('result', result);
      if (goBack) wx.navigateBack({ delta: 1, fail: () => undefined });
    },
  },
});
