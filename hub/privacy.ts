/**
 * The kit's privacy-agreement routing (base library >= 2.32.3, "wx.onNeedPrivacyAuthorization"). Registering a
 * listener replaces the previous one, so the kit registers exactly one and routes each request to:
 * the visible kit UI (AuthModal or login page, which shows the agreement), else the app's plugged-in handler
 * (`privacyRouter.setAppHandler`), else it answers `disagree` with a warning — the pending API then fails with
 * "privacy permission is not authorized" instead of hanging. Below 2.32.3 `install` does nothing.
 */
import { globalWx } from '../lib/runtime';
import type { NeedPrivacyAuthorizationListener, PrivacyEventInfo, PrivacyResolveOption, PrivacySetting } from '../lib/wechat-types';

/** One pending privacy request: answer it with `resolve` (exposure first, then agree or disagree). */
export interface PrivacyRequest {
  /** Which API or component triggered it (`referrer`, e.g. `"button.getPhoneNumber"`). */
  eventInfo: PrivacyEventInfo;
  /** WeChat's `resolve`: `exposureAuthorization` when shown, then `agree` (with the button id) or `disagree`. */
  resolve(option: PrivacyResolveOption): void;
}

/** A visible UI able to show the agreement. */
export type PrivacyPresenter = (request: PrivacyRequest) => void;

/** Id of the kit's `<button open-type="agreePrivacyAuthorization">`; `resolve({event: 'agree', buttonId})` names it. */
export const PRIVACY_AGREE_BUTTON_ID = 'lk-agree-privacy';

/** WeChat's privacy APIs as the kit sees them (all absent below base library 2.32.3). */
export interface PrivacyWx {
  /** Registers the one privacy listener; a new registration replaces the previous one. */
  onNeedPrivacyAuthorization?: (listener: NeedPrivacyAuthorizationListener) => void;
  /** Whether the user still has to agree, and the name of the app's privacy contract. */
  getPrivacySetting?: (options: { success?: (setting: PrivacySetting) => void }) => void;
  /** Opens the app's privacy contract. */
  openPrivacyContract?: (options: object) => void;
}

/**
 * Routes WeChat's privacy requests to whoever can show the agreement (see the module doc). `privacyRouter` is the
 * kit's one instance; create others only in tests.
 */
export class PrivacyRouter {
  private readonly presenters: PrivacyPresenter[] = [];
  private appHandler: NeedPrivacyAuthorizationListener | null = null;
  private installed = false;

  /** Registers the kit's listener once. Returns false when the base library has no privacy API (< 2.32.3). */
  install(target: PrivacyWx | undefined = globalWx<PrivacyWx>()): boolean {
    if (this.installed) return true;
    if (!target || typeof target.onNeedPrivacyAuthorization !== 'function') return false;
    target.onNeedPrivacyAuthorization(this.listener);
    this.installed = true;
    return true;
  }

  /** Plugs in the app's own privacy UI, used when no kit UI is visible (null removes it). */
  setAppHandler(handler: NeedPrivacyAuthorizationListener | null): void {
    this.appHandler = handler;
  }

  /** A kit UI became visible and can show the agreement. Returns the function to call when it hides. */
  present(presenter: PrivacyPresenter): () => void {
    this.presenters.push(presenter);
    return () => {
      const index = this.presenters.indexOf(presenter);
      if (index >= 0) this.presenters.splice(index, 1);
    };
  }

  /** The listener the kit registers with WeChat. */
  readonly listener: NeedPrivacyAuthorizationListener = (resolve, eventInfo) => {
    const presenter = this.presenters[this.presenters.length - 1];
    if (presenter) return presenter({ resolve, eventInfo });
    if (this.appHandler) return this.appHandler(resolve, eventInfo);
    console.warn(
      `miniprogram-login-kit: "${eventInfo && eventInfo.referrer}" needs the privacy agreement but no login UI is visible; ` +
        'answering "disagree". Plug your own privacy UI in with privacyRouter.setAppHandler().',
    );
    resolve({ event: 'disagree' });
  };
}

/** The kit's one privacy router. */
export const privacyRouter = new PrivacyRouter();
