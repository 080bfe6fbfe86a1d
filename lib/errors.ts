/**
 * The kit's one error class. Every promise the kit returns rejects with a `LoginError` (never `undefined`, a plain
 * object or a component instance); every synchronous misuse throws one. See `LoginErrorCode` for the codes.
 */

/**
 * Why a kit call failed.
 * - `NOT_CONFIGURED`: a method was called before `Login.config()`.
 * - `INVALID_OPTIONS`: bad options passed to `config`, `login` or `requestWithLogin` (the message says what was expected).
 * - `WX_LOGIN_FAILED`: `wx.login` called `fail` (see `errMsg`/`errno`).
 * - `AUTH_REQUIRED`: the user must authorize, but the call's mode (`silent`) forbids showing UI.
 * - `AUTH_CANCELLED`: the user closed the login UI or left the login page without authorizing.
 * - `AUTH_DENIED`: the user refused the WeChat authorization (`errMsg` "auth deny"/"auth denied"/"user deny") and did
 *   not grant it in the permission panel.
 * - `PRIVACY_DENIED`: the user disagreed with the mini-program's privacy agreement (base library >= 2.32.3), in the kit's
 *   agreement step (`privacy: 'kit'`) or in WeChat's official popup raised by `wx.requirePrivacyAuthorize`.
 * - `PHONE_QUOTA_EXCEEDED`: the phone-number authorization failed with `errno` 1400001 (the app's paid quota is used up).
 * - `UI_UNAVAILABLE`: no login UI could be shown (no `userAuthHandler`, navigation to the login page failed).
 * - `LOGIN_FAILED`: the backend refused or could not complete the login (see `backendCode`, `statusCode`).
 * - `RATE_LIMITED`: too many logins or refreshes (contract `RATE_LIMITED`, WeChat 45011); no new attempt before
 *   `retryAfterMs`. A refresh that met it keeps the session and its refresh token.
 * - `USER_BLOCKED`: WeChat flagged the user as high-risk (contract `USER_BLOCKED`, WeChat 40226); terminal, never retried.
 * - `NETWORK_ERROR`: `wx.request` called `fail` (see `errMsg`/`errno`).
 * - `TIMEOUT`: a step did not finish within its configured time (`wx.login`, a request, the user-auth step, a backend
 *   adapter call).
 * - `SESSION_EXPIRED`: the backend still answered "session expired" after the kit logged in again and retried once.
 * - `LOGGED_OUT`: `logout()` was called while this login or request was waiting (for a login, a renewal or a slot).
 * - `ABORTED`: the caller aborted the request through its task handle (`onTask`).
 * - `ACCOUNT_CONFLICT`: a step-up's phone number is bound to another account (contract 409 `ACCOUNT_CONFLICT`); the
 *   backend never merges accounts by itself.
 * - `DELETION_REFUSED`: the backend refused to delete the account: the proof of identity failed (contract 1.4 `400
 *   INVALID_CODE` after a retry with a second fresh code, or `403 IDENTITY_MISMATCH`: another WeChat user). Nothing changed.
 * - `DELETION_VETOED`: the app's backend vetoed the deletion (contract 1.4 `409 DELETION_VETOED`); `reason` is the text to
 *   show the user. The account stays whole.
 * - `DELETION_UNAVAILABLE`: this backend does not offer account deletion (contract 1.4 optional capability: HTTP 404, 405
 *   or 501), or `config.backend` has no `deleteAccount`.
 * - `UNSUPPORTED_BASE_LIBRARY`: the user's WeChat base library is older than the kit (2.11.0) or a capability needs
 *   (the phone code: 2.21.2; real-time phone verification: 2.24.4); see `FEATURES`.
 */
export type LoginErrorCode =
  | 'NOT_CONFIGURED'
  | 'INVALID_OPTIONS'
  | 'WX_LOGIN_FAILED'
  | 'AUTH_REQUIRED'
  | 'AUTH_CANCELLED'
  | 'AUTH_DENIED'
  | 'PRIVACY_DENIED'
  | 'PHONE_QUOTA_EXCEEDED'
  | 'UI_UNAVAILABLE'
  | 'LOGIN_FAILED'
  | 'RATE_LIMITED'
  | 'USER_BLOCKED'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'SESSION_EXPIRED'
  | 'LOGGED_OUT'
  | 'ABORTED'
  | 'ACCOUNT_CONFLICT'
  | 'DELETION_REFUSED'
  | 'DELETION_VETOED'
  | 'DELETION_UNAVAILABLE'
  | 'UNSUPPORTED_BASE_LIBRARY';

/** Context a `LoginError` may carry; every field is optional. */
export interface LoginErrorDetails {
  /** WeChat's `errMsg` from a failed `wx.*` call or UI event, e.g. `"login:fail timeout"`. */
  errMsg?: string;
  /** WeChat's numeric `errno` (base library >= 2.24.0), when WeChat gave one. */
  errno?: number;
  /** HTTP status of the backend answer that caused the error. */
  statusCode?: number;
  /** The backend's error code from the contract body `{code, message}`, e.g. `"USER_BLOCKED"`. */
  backendCode?: string;
  /** `RATE_LIMITED` only: how long (ms) to wait before the next attempt, from the contract's `retryAfter` (s). */
  retryAfterMs?: number;
  /** `DELETION_VETOED` only: why the app's backend keeps the account, in words for the user (the answer's `reason`). */
  reason?: string;
  /** The underlying error or value. */
  cause?: unknown;
}

/** Prefix of every message the kit writes, so its logs and errors are easy to find. */
export const PACKAGE_NAME = 'miniprogram-login-kit';

/**
 * The error every kit failure rejects (or throws) with.
 * `name` is always `"LoginError"`; `code` says why (see `LoginErrorCode`); the other fields give context.
 */
export class LoginError extends Error {
  /** Always `"LoginError"`, also after ES5 transpilation and across bundles (checked by `isLoginError`). */
  override readonly name = 'LoginError' as const;
  /** Why it failed; see `LoginErrorCode`. */
  readonly code: LoginErrorCode;
  /** WeChat's `errMsg`, when a `wx.*` call or UI event failed. */
  readonly errMsg?: string;
  /** WeChat's `errno` (base library >= 2.24.0). */
  readonly errno?: number;
  /** HTTP status of the backend answer. */
  readonly statusCode?: number;
  /** The backend's contract code, e.g. `"INVALID_CODE"`. */
  readonly backendCode?: string;
  /** `RATE_LIMITED`: ms until the next attempt is allowed. */
  readonly retryAfterMs?: number;
  /** `DELETION_VETOED`: the backend's reason, for the user. */
  readonly reason?: string;
  /** The underlying error or value. */
  readonly cause?: unknown;

  /** The message is prefixed with the package name. */
  constructor(code: LoginErrorCode, message: string, details: LoginErrorDetails = {}) {
    super(`${PACKAGE_NAME}: ${message}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.errMsg = details.errMsg;
    this.errno = details.errno;
    this.statusCode = details.statusCode;
    this.backendCode = details.backendCode;
    this.retryAfterMs = details.retryAfterMs;
    this.reason = details.reason;
    this.cause = details.cause;
  }
}

/**
 * True when `value` is a `LoginError` — also one created by another copy of the kit (checks `name` and `code`,
 * not only `instanceof`).
 */
export function isLoginError(value: unknown): value is LoginError {
  if (value instanceof LoginError) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'LoginError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
