/**
 * What the core needs from its environment: a `wx`-like object and a clock. Both are injectable so the same core
 * runs in a mini-program, under wepy, and in Node tests where races are driven by hand.
 */
import { LoginError, type LoginErrorCode } from './errors';
import type { DownloadOptions, RequestOptions, UploadOptions } from './types';

/** `fail` argument of a `wx.*` call. `errno` exists from base library 2.24.0. */
export interface WxFailResult {
  /** WeChat's message, e.g. `"request:fail interrupted"`. */
  errMsg: string;
  /** WeChat's error number (base library >= 2.24.0). */
  errno?: number;
}

/** The `wx.request` options the kit passes: every caller option, and the kit's own callbacks. */
export interface WxRequestOptions extends RequestOptions {
  /** Called with the answer, for any HTTP status. */
  success?: (result: { statusCode: number; data: unknown; header: Record<string, string> }) => void;
  /** Called when no answer came (network, timeout, abort). */
  fail?: (error: WxFailResult) => void;
}

/**
 * The part of `wx` the core uses. The global `wx` of a mini-program satisfies it; tests pass a fake.
 * `wx.login` is always called with `success`/`fail` callbacks: its promise style is documented as unsupported.
 */
export interface WxAdapter {
  /** `wx.login`: a one-time `code` valid 5 minutes. */
  login(options: {
    timeout?: number;
    success?: (result: { code: string; errMsg?: string }) => void;
    fail?: (error: WxFailResult) => void;
  }): void;
  /** `wx.request`; returns a task with `abort()`. At most 10 run at once (WeChat's limit). */
  request(options: WxRequestOptions): unknown;
  /** Reads a storage key; `''` when absent. */
  getStorageSync(key: string): unknown;
  /** Writes a storage key; throws past 1 MB per key or 10 MB in all. */
  setStorageSync(key: string, data: unknown): void;
  /** Removes a storage key. */
  removeStorageSync(key: string): void;
  /** Optional: reads `authSetting` to tell a recent refusal (`scope.userInfo === false`). */
  getSetting?(options: { success?: (result: { authSetting: AuthSettingLike }) => void; fail?: (error: WxFailResult) => void }): void;
  /**
   * Optional: asks the user before opening the permission panel (its confirm is a tap, which `openSetting` needs), and
   * before an account deletion (`confirmColor` in WeChat's warning red).
   */
  showModal?(options: {
    title?: string;
    content?: string;
    confirmText?: string;
    cancelText?: string;
    confirmColor?: string;
    success?: (result: { confirm: boolean; cancel: boolean }) => void;
    fail?: (error: WxFailResult) => void;
  }): void;
  /** Optional: the permission panel; opens only from a user tap since base library 2.3.0. */
  openSetting?(options: { success?: (result: { authSetting: AuthSettingLike }) => void; fail?: (error: WxFailResult) => void }): void;
  /** Optional: downloads a file (`wx.downloadFile`); returns its `DownloadTask`. */
  downloadFile?(
    options: DownloadOptions & {
      success?: (result: { statusCode: number; tempFilePath?: string; filePath?: string }) => void;
      fail?: (error: WxFailResult) => void;
    },
  ): unknown;
  /** Optional: WeChat's loading toast (`showLoading` option of the calls). */
  showLoading?(options: { title: string; mask?: boolean }): void;
  /** Optional: hides the loading toast. */
  hideLoading?(options?: object): void;
  /** Optional: uploads a local file (`wx.uploadFile`); returns its `UploadTask`. */
  uploadFile?(
    options: UploadOptions & {
      success?: (result: { statusCode: number; data: string }) => void;
      fail?: (error: WxFailResult) => void;
    },
  ): unknown;
}

/** The part of `authSetting` the kit reads. */
export interface AuthSettingLike {
  /** `true` granted, `false` refused, absent never asked. */
  'scope.userInfo'?: boolean;
}

/** Time source and timers. `now()` is epoch ms; timer delays are ms. */
export interface Clock {
  /** Current time, epoch ms. */
  now(): number;
  /** Runs `callback` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

declare const wx: unknown;

/**
 * The mini-program's global `wx`, read at call time (hosts may install it after the kit loads), seen as `T`; undefined
 * where there is none (Node, a test before its fake is installed). The one place the kit reads the global.
 */
export function globalWx<T = WxAdapter>(): T | undefined {
  return typeof wx === 'object' && wx !== null ? (wx as T) : undefined;
}

/**
 * True in a development or trial version of the mini-program — `wx.getAccountInfoSync().miniProgram.envVersion` is not
 * `'release'` (a mini-program has no `NODE_ENV`) — and where it cannot be told (no such API: Node, tests). The kit's
 * set-up warnings (tips in the wrong place, a misspelt tip) show only there.
 */
export function developing(wx: unknown): boolean {
  try {
    const info = (wx as { getAccountInfoSync?: () => { miniProgram?: { envVersion?: string } } }).getAccountInfoSync!();
    return info.miniProgram!.envVersion !== 'release';
  } catch {
    return true;
  }
}

/** The real clock (`Date.now`, global timers). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Where the kit writes diagnostics. Default: `console`. */
export interface Logger {
  /** Something the app should know about (corrupt storage, a failed background renewal). */
  warn(...args: unknown[]): void;
  /** Something the app should fix (storage full, a throwing hook, a call before `config`). */
  error(...args: unknown[]): void;
}

/** Settles with `promise`, or rejects with a `TIMEOUT` `LoginError` after `ms` milliseconds (ms <= 0: no bound). */
export function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  if (!(ms > 0)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(new LoginError('TIMEOUT', `${what} did not finish within ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Calls a callback-style `wx` API, resolving with its `success` result and rejecting with a `LoginError` carrying
 * WeChat's `errMsg`/`errno` and the code `failCode`. A synchronous throw is turned
 * into the same rejection.
 */
export function callWx<R>(
  start: (callbacks: { success: (result: R) => void; fail: (error: WxFailResult) => void }) => void,
  failCode: LoginErrorCode,
  what: string,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const fail = (error: WxFailResult | undefined) => {
      const errMsg = error && typeof error.errMsg === 'string' ? error.errMsg : `${what}:fail`;
      reject(new LoginError(failCode, `${what} failed: ${errMsg}`, { errMsg, errno: error?.errno, cause: error }));
    };
    try {
      start({ success: resolve, fail });
    } catch (error) {
      fail({ errMsg: `${what}:fail ${String(error)}` });
    }
  });
}
