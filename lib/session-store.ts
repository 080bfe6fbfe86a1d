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

/** What storage holds: a session, or the fact that the user logged out on purpose (so nothing logs them back in silently). */
export interface StoredLogin {
  state: LoginState | null;
  loggedOut: boolean;
}

/** Parses a stored value of this format; null when it is not one (corrupt, another format). */
function parseStored(value: unknown): StoredLogin | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.v !== FORMAT_VERSION) return null;
  if (v.loggedOut === true) return { state: null, loggedOut: true };
  if (typeof v.accessToken !== 'string' || !v.accessToken) return null;
  if (!isFiniteNumber(v.accessIssuedAt) || !isFiniteNumber(v.accessExpiresAt)) return null;
  if (v.refreshToken !== undefined && typeof v.refreshToken !== 'string') return null;
  if (v.refreshExpiresAt !== undefined && !isFiniteNumber(v.refreshExpiresAt)) return null;
  const user = v.user;
  if (user !== null && (typeof user !== 'object' || typeof (user as { id?: unknown }).id !== 'string')) return null;
  const state: LoginState = {
    accessToken: v.accessToken,
    accessIssuedAt: v.accessIssuedAt,
    accessExpiresAt: v.accessExpiresAt,
    refreshToken: v.refreshToken as string | undefined,
    refreshExpiresAt: v.refreshExpiresAt as number | undefined,
    user: user as LoginState['user'],
    isNewUser: v.isNewUser === true,
  };
  return { state, loggedOut: false };
}

/** Reads and writes the login state under `key` through `wx.*StorageSync`. Never throws. */
export class SessionStore {
  private reportedWriteFailure = false;

  constructor(
    private readonly wx: WxAdapter,
    readonly key: string,
    private readonly logger: Logger,
  ) {}

  /** The stored login; logged out (not on purpose) when there is none or it is corrupt (corrupt data is removed). */
  load(): StoredLogin {
    const empty: StoredLogin = { state: null, loggedOut: false };
    let raw: unknown;
    try {
      raw = this.wx.getStorageSync(this.key);
    } catch (error) {
      this.logger.warn(`${PACKAGE_NAME}: could not read storage key "${this.key}"; starting logged out`, error);
      return empty;
    }
    if (raw === '' || raw === undefined || raw === null) return empty;
    const stored = parseStored(raw);
    if (!stored) {
      this.logger.warn(`${PACKAGE_NAME}: storage key "${this.key}" held unreadable login data; starting logged out`);
      this.clear();
    }
    return stored ?? empty;
  }

  /** Writes `state`; a failure is reported once (the caller keeps the state in memory). */
  save(state: LoginState): void {
    this.guard(() => this.wx.setStorageSync(this.key, { v: FORMAT_VERSION, ...state }));
  }

  /** Records a deliberate logout (replacing any session), so a restart does not log the user back in silently. */
  saveLoggedOut(): void {
    this.guard(() => this.wx.setStorageSync(this.key, { v: FORMAT_VERSION, loggedOut: true }));
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
