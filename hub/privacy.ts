/**
 * The kit's privacy-agreement routing (base library >= 2.32.3, "wx.onNeedPrivacyAuthorization").
 * - `'official'` (the default): the kit registers nothing. Registering a listener switches WeChat's official privacy
 *   popup off for the whole app and cannot be undone, so the kit leaves the agreement to WeChat (the UI calls
 *   `wx.requirePrivacyAuthorize` before its profile form, whose nickname input does not raise the popup by itself).
 * - `'kit'` (opt-in, `Login.config({privacy: 'kit', privacyAppHandler})`): the kit registers the app's one listener
 *   and routes each request to the visible kit UI (AuthModal or login page, which shows the agreement), else to the
 *   app's handler. Only if the app removed its handler is a request answered `disagree`, with a warning — the pending
 *   API then fails with "privacy permission is not authorized" instead of hanging.
 * Below 2.32.3 there is no privacy API and nothing is registered.
 */
import { LoginError } from '../lib/errors';
import { globalWx } from '../lib/runtime';
import { shared } from './shared';
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
  /** Raises WeChat's official privacy popup if the user has not agreed yet; `fail` when they refuse. */
  requirePrivacyAuthorize?: (options: { success?: () => void; fail?: (error: { errMsg?: string }) => void }) => void;
}

/**
 * Routes WeChat's privacy requests to whoever can show the agreement (see the module doc). `privacyRouter` is the
 * kit's one instance; create others only in tests.
 */
export class PrivacyRouter {
  private readonly presenters: PrivacyPresenter[] = [];
  private appHandler: NeedPrivacyAuthorizationListener | null = null;
  private installed = false;
  private current: 'official' | 'kit' = 'official';

  /** Who shows the agreement: `'official'` (WeChat's popup; the default) or `'kit'` (the kit's UI, opted in). */
  get mode(): 'official' | 'kit' {
    return this.current;
  }

  /**
   * Checks `config.privacy` and `config.privacyAppHandler` — the one place that knows them — and returns the function
   * that applies them (`Login.config` calls it once every option passed; see `configure`). Changes nothing itself.
   * @throws LoginError `INVALID_OPTIONS` for a mode other than `'official'` / `'kit'`, a handler that is not a function,
   *   or `'kit'` without a handler.
   */
  prepare(privacy: unknown, appHandler: unknown, target?: PrivacyWx): () => void {
    const mode = privacy ?? 'official';
    if (mode !== 'official' && mode !== 'kit')
      throw new LoginError('INVALID_OPTIONS', `config.privacy must be "official" or "kit", got ${JSON.stringify(privacy)}`);
    if (appHandler !== undefined && typeof appHandler !== 'function')
      throw new LoginError('INVALID_OPTIONS', 'config.privacyAppHandler must be a function');
    if (mode === 'kit' && !appHandler)
      throw new LoginError('INVALID_OPTIONS', 'config.privacy "kit" needs config.privacyAppHandler, for requests while no kit UI shows');
    const handler = appHandler as NeedPrivacyAuthorizationListener | undefined;
    return () => {
      this.current = mode;
      this.appHandler = handler ?? this.appHandler;
      if (mode === 'kit') this.install(target);
    };
  }

  /**
   * Sets the mode: `prepare` and apply at once. `'kit'` registers the kit's listener at once (once: there is no way to
   * unregister) and requires the app's handler. Switching back to `'official'` after that cannot give WeChat its popup
   * back: requests then go to the app's handler.
   * @throws LoginError `INVALID_OPTIONS` as `prepare`.
   */
  configure(mode: 'official' | 'kit', appHandler?: NeedPrivacyAuthorizationListener, target?: PrivacyWx): void {
    this.prepare(mode, appHandler, target)();
  }

  /**
   * Registers the kit's listener once (normally through `configure('kit', ...)`). Returns false when the base library
   * has no privacy API (< 2.32.3).
   */
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
    const presenter = this.current === 'kit' ? this.presenters[this.presenters.length - 1] : undefined;
    if (presenter) return presenter({ resolve, eventInfo });
    if (this.appHandler) return this.appHandler(resolve, eventInfo);
    console.warn(
      `miniprogram-login-kit: "${eventInfo && eventInfo.referrer}" needs the privacy agreement but no login UI is visible; ` +
        'answering "disagree". Give Login.config a privacyAppHandler (your own privacy UI).',
    );
    resolve({ event: 'disagree' });
  };
}

/** The kit's one privacy router, shared by every copy of the kit in the app (see `hub/shared`): WeChat has one listener. */
export const privacyRouter: PrivacyRouter = shared('privacyRouter', () => new PrivacyRouter());
