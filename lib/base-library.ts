/**
 * WeChat base-library versions: what the kit needs, read from the running `wx` (`wx.getAppBaseInfo().SDKVersion`,
 * 2.25.3; before it `wx.getSystemInfoSync().SDKVersion`). `canIUse` is not trusted: it is reported to answer false for
 * `button.open-type.getRealtimePhoneNumber` on versions that have it. Versions from WeChat's documentation of each API
 * (and, where marked, the developer community).
 */
import { LoginError } from './errors';

/**
 * The oldest base library the kit supports. The kit ships ES2015 (classes, `let`/`const`, arrow and generator
 * functions; no `async` syntax), and WeChat's own compatibility data (the `miniprogram-compat` project: browserslist
 * per base library) gives iOS 10 and Chrome 53 from base library 2.11.0, both of which run ES2015. Components with
 * `lifetimes` and `wx.getUserProfile` (the profile fallback) are older still.
 */
export const MIN_BASE_LIBRARY = '2.11.0';

/** The base library each capability needs. */
export const FEATURES = {
  /** `wx.getUserProfile` (anonymous since 2022-11-08, still signed): the profile fallback below 2.21.2. */
  getUserProfile: '2.10.4',
  /** `<button open-type="chooseAvatar">` and `<input type="nickname">`: the profile form. */
  chooseAvatar: '2.21.2',
  /** `getPhoneNumber` gives the one-time `code` the server exchanges. */
  phoneCode: '2.21.2',
  /** `<button open-type="getRealtimePhoneNumber">` (community: works from 2.24.4; `canIUse` says false). */
  realtimePhone: '2.24.4',
  /** The privacy APIs: `onNeedPrivacyAuthorization`, `requirePrivacyAuthorize`, `agreePrivacyAuthorization`. */
  privacy: '2.32.3',
} as const;

/** A capability of `FEATURES`. */
export type Feature = keyof typeof FEATURES;

/** -1, 0 or 1 as `a` is older than, equal to or newer than `b` (dotted versions such as `2.21.2`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

type VersionSource = { getAppBaseInfo?: () => { SDKVersion?: string }; getSystemInfoSync?: () => { SDKVersion?: string } };

/** The running base library's version, or undefined where none is known (Node, a fake `wx`). */
export function sdkVersion(wx: unknown): string | undefined {
  const w = wx as VersionSource | undefined;
  if (!w) return undefined;
  try {
    const info =
      typeof w.getAppBaseInfo === 'function'
        ? w.getAppBaseInfo()
        : typeof w.getSystemInfoSync === 'function'
          ? w.getSystemInfoSync()
          : undefined;
    return info && typeof info.SDKVersion === 'string' ? info.SDKVersion : undefined;
  } catch {
    return undefined;
  }
}

/** True when the running base library has `feature` (or its version is unknown). */
export function supports(wx: unknown, feature: Feature): boolean {
  const version = sdkVersion(wx);
  return version === undefined || compareVersions(version, FEATURES[feature]) >= 0;
}

/** The `UNSUPPORTED_BASE_LIBRARY` error for `what` needing `needed`. */
export function unsupported(what: string, needed: string, wx: unknown): LoginError {
  return new LoginError('UNSUPPORTED_BASE_LIBRARY', `${what} needs WeChat base library ${needed} or later; this one is ${sdkVersion(wx)}`);
}
