/** What each login mode means: the one table the flight, `login()` and `requestWithLogin()` read. */
import { invalid } from './options';
import type { LoginMode } from './types';

/** The rules of one mode. */
export interface ModeRules {
  /** A valid local session is reused (no `wx.login`, no request). */
  reuseSession: boolean;
  /** The login may show the login UI (else it rejects `AUTH_REQUIRED` where the user must authorize). */
  mayShowUI: boolean;
  /** A flight this mode starts tries the refresh token before a login. */
  refreshFirst: boolean;
  /** The mode a request of this mode renews its session as, after a "session expired" answer. */
  renewAs: LoginMode;
  /** `requestWithLogin`: a failed login sends the request without credentials instead of rejecting. */
  sendAnonymouslyOnFailure: boolean;
}

/** The modes (README "Login modes"). */
export const MODES: Readonly<Record<LoginMode, ModeRules>> = {
  common: { reuseSession: true, mayShowUI: true, refreshFirst: true, renewAs: 'common', sendAnonymouslyOnFailure: false },
  silent: { reuseSession: true, mayShowUI: false, refreshFirst: true, renewAs: 'silent', sendAnonymouslyOnFailure: true },
  force: { reuseSession: false, mayShowUI: true, refreshFirst: false, renewAs: 'common', sendAnonymouslyOnFailure: false },
};

const MODE_NAMES = Object.keys(MODES) as LoginMode[];

/**
 * The mode of a call's options (default `common`).
 * @throws LoginError `INVALID_OPTIONS` when `options` is not an object or `mode` is not a known mode.
 */
export function modeOf(options: { mode?: unknown }, where: string): LoginMode {
  if (typeof options !== 'object' || options === null) throw invalid(`${where} must be an object such as {mode: "common"}`);
  const mode = options.mode ?? 'common';
  if (MODE_NAMES.indexOf(mode as LoginMode) < 0)
    throw invalid(`${where}.mode must be one of ${MODE_NAMES.join(', ')}, got ${JSON.stringify(mode)}`);
  return mode as LoginMode;
}
