/**
 * The user-authorization step: the tip layers, the login UI asked once and bounded by `timeouts.userAuth`, the
 * refusal → permission panel recovery (WeChat: `wx.openSetting` needs a tap since base library 2.3.0), and the
 * `AuthResult` turned into the backend's payload or a typed `LoginError`. It knows the tips, not the flight.
 */
import { LoginError, PACKAGE_NAME, isLoginError } from './errors';
import { FEATURES, supports, unsupported } from './base-library';
import { callAdapter } from './code-login';
import type { ResolvedOptions } from './options';
import { callWx, developing, withTimeout, type AuthSettingLike } from './runtime';
import { DEFAULT_AUTH_TIPS, mergeTips } from './tips';
import type { AuthResult, AuthTips, AvatarCredentials, BackendLoginRequest, LoginEvent } from './types';
import { PHONE_QUOTA_ERRNO } from './wechat-types';

function isAuthResult(value: unknown): value is AuthResult {
  return typeof value === 'object' && value !== null && typeof (value as { succeeded?: unknown }).succeeded === 'boolean';
}

/** The backend fields for what the user authorized; throws `LOGIN_FAILED` when the UI's data is incomplete. */
function authPayload(result: Extract<AuthResult, { succeeded: true }>): Partial<BackendLoginRequest> {
  const incomplete = (what: string) =>
    new LoginError('LOGIN_FAILED', `the login UI reported success for "${result.authType}" without ${what}`, { cause: result });
  const data = result.data as unknown as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null) throw incomplete('data');
  switch (result.authType) {
    case 'userInfo': {
      const { rawData, signature, encryptedData, iv } = result.data;
      if ([rawData, signature, encryptedData, iv].some((v) => typeof v !== 'string'))
        throw incomplete('rawData/signature/encryptedData/iv');
      return { userInfo: { rawData, signature, encryptedData, iv } };
    }
    case 'profile': {
      const { nickName, avatarUrl } = result.data;
      if (typeof nickName !== 'string' || typeof avatarUrl !== 'string') throw incomplete('nickName/avatarUrl');
      return { profile: { nickName, avatarUrl } };
    }
    case 'phone':
      if (typeof result.data.code !== 'string' || result.data.code === '') throw incomplete('the phone code');
      return { phoneCode: result.data.code };
    default:
      throw incomplete('a known authType');
  }
}

/** A refusal in WeChat's words: "auth deny", "auth denied" (authorize, getUserInfo), "user deny" (getPhoneNumber). */
const REFUSAL = /\b(auth|user) den(y|ied)\b/i;
const PRIVACY_REFUSAL = /privacy permission is not authorized/i;

/** The typed error of a UI answer that is not a success. */
function authFailure(result: Extract<AuthResult, { succeeded: false }>, afterPermissionPanel: boolean): LoginError {
  const errMsg = typeof result.errMsg === 'string' ? result.errMsg : 'cancel';
  const details = { errMsg, errno: result.errno };
  if (PRIVACY_REFUSAL.test(errMsg)) return new LoginError('PRIVACY_DENIED', 'the user disagreed with the privacy agreement', details);
  if (result.errno === PHONE_QUOTA_ERRNO)
    return new LoginError('PHONE_QUOTA_EXCEEDED', "the app's phone-number quota is used up (errno 1400001)", details);
  if (afterPermissionPanel || REFUSAL.test(errMsg)) return new LoginError('AUTH_DENIED', 'the user refused the authorization', details);
  return new LoginError('AUTH_CANCELLED', 'the user cancelled the login', details);
}

/**
 * The backend fields (`userInfo`, `profile` or `phoneCode`) for what the user authorized. A profile's temporary
 * avatar (a local path from `chooseAvatar`) is uploaded first with `credentials` — the login ticket, or the access
 * token of a step-up — (`backend.uploadAvatar`) and its permanent URL sent; without credentials it is left for after
 * the login (`avatarLater`); a backend without the upload
 * capability (or no `uploadAvatar`) gets the nickname only — a device path means nothing to a server.
 * Rejects `LOGIN_FAILED` when the UI's data is incomplete, and with the upload's error when the upload fails.
 */
export async function backendPayload(
  opts: ResolvedOptions,
  auth: Extract<AuthResult, { succeeded: true }>,
  credentials: AvatarCredentials | undefined,
): Promise<{ payload: Partial<BackendLoginRequest>; avatarLater?: string }> {
  const payload = authPayload(auth);
  const profile = payload.profile;
  if (!profile || !profile.avatarUrl || /^https:\/\//i.test(profile.avatarUrl)) return { payload };
  const nickNameOnly = { ...payload, profile: { nickName: profile.nickName } };
  const { backend } = opts;
  if (!backend.uploadAvatar) return { payload: nickNameOnly };
  if (!credentials) return { payload: nickNameOnly, avatarLater: profile.avatarUrl };
  const avatarUrl = await callAdapter(opts, 'backend.uploadAvatar', () =>
    backend.uploadAvatar!(profile.avatarUrl!, opts.context, credentials),
  );
  return { payload: avatarUrl ? { ...payload, profile: { ...profile, avatarUrl } } : nickNameOnly };
}

/** The tips of this login: defaults ← `config.tips` ← the page's tips (awaited; a throwing hook is logged) ← the call's. */
export async function mergedTips(opts: ResolvedOptions, callTips: Partial<AuthTips> | undefined): Promise<AuthTips> {
  let pageTips: unknown;
  try {
    pageTips = opts.pageTips ? await opts.pageTips() : undefined;
  } catch (error) {
    opts.logger.error(`${PACKAGE_NAME}: the page's $loginUserAuthTips() threw; using the other tips`, error);
  }
  return mergeTips(
    opts.logger,
    DEFAULT_AUTH_TIPS,
    [
      { where: 'config.tips', tips: opts.tips },
      { where: "the page's $loginUserAuthTips()", tips: pageTips },
      { where: 'loginOpts.tips', tips: callTips },
    ],
    developing(opts.wx),
  );
}

/** Where the user-auth step reports the funnel (`uiShown`, `uiAnswered`) and how long the user looked (ms). */
export interface UiReport {
  emit(event: LoginEvent): void;
  /** The time the UI was open is added here. */
  uiMs: number;
  /**
   * Set while the login UI waits for the user's answer: tells the handler a caller joined (its `follow`), so the
   * question can move to where the user is. Called by the flight when a caller that may show UI joins.
   */
  follow?: () => void;
}

/** Shows the login UI once, bounded by `timeouts.userAuth`; resolves with whatever the user answered. */
async function askUser(opts: ResolvedOptions, tips: AuthTips, report: UiReport): Promise<AuthResult> {
  const handler = opts.userAuthHandler;
  if (!handler) throw new LoginError('UI_UNAVAILABLE', 'the user must authorize but no userAuthHandler is configured');
  const openedAt = opts.clock.now();
  let announced = false;
  const shown = (info: { via: 'modal' | 'page' | 'custom'; route?: string }) => {
    if (announced) return;
    announced = true;
    report.emit({ type: 'uiShown', authType: tips.authType, via: info.via, ...(info.route ? { route: info.route } : {}) });
  };
  const answered = (result: unknown) => {
    const openMs = opts.clock.now() - openedAt;
    report.uiMs += openMs;
    const r = (isAuthResult(result) ? result : { succeeded: false, errMsg: 'no answer' }) as AuthResult;
    const errMsg = r.succeeded ? undefined : r.errMsg;
    report.emit({
      type: 'uiAnswered',
      authType: tips.authType,
      succeeded: r.succeeded,
      errMsg,
      privacyRefused: PRIVACY_REFUSAL.test(errMsg ?? ''),
      openMs,
    });
  };
  let result: unknown;
  const request = { tips, shown };
  try {
    const asked = Promise.resolve().then(() => {
      const answer = handler(request);
      shown({ via: 'custom' }); // a UI that did not say how it is shown
      report.follow = () => {
        try {
          if (handler.follow) handler.follow(request);
        } catch (error) {
          opts.logger.error(`${PACKAGE_NAME}: userAuthHandler.follow threw; the question stays where it is`, error);
        }
      };
      return answer;
    });
    result = await withTimeout(asked, opts.timeouts.userAuth, opts.clock, 'the user-auth step');
  } catch (error) {
    report.follow = undefined;
    answered({ succeeded: false, errMsg: isLoginError(error) ? error.code : String(error) });
    if (isLoginError(error)) throw error;
    throw new LoginError('UI_UNAVAILABLE', `the login UI failed: ${String(error)}`, { cause: error });
  }
  report.follow = undefined;
  answered(result);
  if (!isAuthResult(result)) {
    throw new LoginError('UI_UNAVAILABLE', 'userAuthHandler must resolve with an AuthResult {succeeded, authType, data, errMsg}', {
      cause: result,
    });
  }
  return result;
}

/**
 * The user-auth step (tips: the kit's defaults ← `config.tips` ← the page's tips ← `callTips`), with the classic rejection recovery: when the user refused `userInfo` (errMsg "auth deny" /
 * "auth denied", or `authSetting['scope.userInfo'] === false`), a `wx.showModal` with the denied tips offers the
 * permission panel; its confirm is the tap `wx.openSetting` needs (base library >= 2.3.0). If the permission is then
 * granted, the UI is shown once more. Throws `AUTH_DENIED`, `AUTH_CANCELLED`, `PRIVACY_DENIED`,
 * `PHONE_QUOTA_EXCEEDED` for the other outcomes.
 */
export async function authorizeUser(
  opts: ResolvedOptions,
  callTips: Partial<AuthTips> | undefined,
  report: UiReport,
): Promise<Extract<AuthResult, { succeeded: true }>> {
  const tips = await mergedTips(opts, callTips);
  // What the UI would ask for, this base library cannot give: say so before showing anything.
  if (tips.authType === 'phone' && !supports(opts.wx, 'phoneCode'))
    throw unsupported('the phone-number login', FEATURES.phoneCode, opts.wx);
  if (tips.authType === 'phone' && tips.realtimePhone && !supports(opts.wx, 'realtimePhone')) {
    // Real-time verification never silently becomes the quick one: they are different paid products.
    throw unsupported('real-time phone-number verification', FEATURES.realtimePhone, opts.wx);
  }
  const first = await askUser(opts, tips, report);
  if (first.succeeded) return first;
  if (first.authType === 'userInfo' && (await recentlyRefused(opts, first.errMsg)) && (await offerPermissionPanel(opts, tips))) {
    const second = await askUser(opts, tips, report);
    if (second.succeeded) return second;
    throw authFailure(second, true);
  }
  throw authFailure(first, false);
}

async function recentlyRefused(opts: ResolvedOptions, errMsg: string | undefined): Promise<boolean> {
  if (REFUSAL.test(errMsg ?? '')) return true;
  const getSetting = opts.wx.getSetting;
  if (typeof getSetting !== 'function') return false;
  try {
    const { authSetting } = await withTimeout(
      callWx<{ authSetting: AuthSettingLike }>((cb) => getSetting.call(opts.wx, cb), 'AUTH_DENIED', 'wx.getSetting'),
      opts.timeouts.wxLogin,
      opts.clock,
      'wx.getSetting',
    );
    return authSetting['scope.userInfo'] === false;
  } catch {
    return false;
  }
}

/** Resolves true when the user confirmed the prompt and granted `scope.userInfo` in the permission panel. */
function offerPermissionPanel(opts: ResolvedOptions, tips: AuthTips): Promise<boolean> {
  const { wx } = opts;
  const showModal = wx.showModal;
  const openSetting = wx.openSetting;
  if (typeof showModal !== 'function' || typeof openSetting !== 'function') return Promise.resolve(false);
  const asked = new Promise<boolean>((resolve) => {
    showModal.call(wx, {
      title: tips.deniedTitle,
      content: tips.deniedContent,
      confirmText: tips.openSettingText,
      cancelText: tips.cancelText,
      success: (answer) => {
        if (!answer.confirm) return resolve(false);
        // Called inside the confirm callback: the tap that wx.openSetting requires.
        openSetting.call(wx, { success: (result) => resolve(result.authSetting['scope.userInfo'] === true), fail: () => resolve(false) });
      },
      fail: () => resolve(false),
    });
  });
  return withTimeout(asked, opts.timeouts.userAuth, opts.clock, 'the permission panel');
}
