/**
 * Persists the login state in one storage key. Corrupt or missing data reads as "logged out"; a storage that
 * throws (full: WeChat allows 1 MB per key, 10 MB in all) is reported once and the session lives on in memory.
 */
import { PACKAGE_NAME } from './errors';
import type { Logger, WxAdapter } from './runtime';
import type { LoginState } from './types';

const FORMAT_VERSION = 1;

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && isFinite(value);
}

/** Returns the state if `value` is a stored state of this format, else null. */
function parseStored(value: unknown): LoginState | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.v !== FORMAT_VERSION) return null;
  if (typeof v.accessToken !== 'string' || !v.accessToken) return null;
  if (!isFiniteNumber(v.accessIssuedAt) || !isFiniteNumber(v.accessExpiresAt)) return null;
  if (v.refreshToken !== undefined && typeof v.refreshToken !== 'string') return null;
  if (v.refreshExpiresAt !== undefined && !isFiniteNumber(v.refreshExpiresAt)) return null;
  const user = v.user;
  if (user !== null && (typeof user !== 'object' || typeof (user as { id?: unknown }).id !== 'string')) return null;
  return {
    accessToken: v.accessToken,
    accessIssuedAt: v.accessIssuedAt,
    accessExpiresAt: v.accessExpiresAt,
    refreshToken: v.refreshToken as string | undefined,
    refreshExpiresAt: v.refreshExpiresAt as number | undefined,
    user: user as LoginState['user'],
    isNewUser: v.isNewUser === true,
  };
}

/** Reads and writes the login state under `key` through `wx.*StorageSync`. Never throws. */
export class SessionStore {
  private reportedWriteFailure = false;

  constructor(
    private readonly wx: WxAdapter,
    readonly key: string,
    private readonly logger: Logger,
  ) {}

  /** The stored state, or null when there is none or it is corrupt (corrupt data is removed). */
  load(): LoginState | null {
    let raw: unknown;
    try {
      raw = this.wx.getStorageSync(this.key);
    } catch (error) {
      this.logger.warn(`${PACKAGE_NAME}: could not read storage key "${this.key}"; starting logged out`, error);
      return null;
    }
    if (raw === '' || raw === undefined || raw === null) return null;
    const state = parseStored(raw);
    if (!state) {
      this.logger.warn(`${PACKAGE_NAME}: storage key "${this.key}" held unreadable login data; starting logged out`);
      this.clear();
    }
    return state;
  }

  /** Writes `state`; a failure is reported once (the caller keeps the state in memory). */
  save(state: LoginState): void {
    this.guard(() => this.wx.setStorageSync(this.key, { v: FORMAT_VERSION, ...state }));
  }

  /** Removes the stored state. */
  clear(): void {
    this.guard(() => this.wx.removeStorageSync(this.key));
  }

  private guard(write: () => void): void {
    try {
      write();
    } catch (error) {
      if (this.reportedWriteFailure) return;
      this.reportedWriteFailure = true;
      this.logger.error(`${PACKAGE_NAME}: could not write storage key "${this.key}"; the session is kept in memory only`, error);
    }
  }
}
