/**
 * The session: the login state in memory and in its one storage key, its freshness (computed on read, with a
 * leeway), commit, mark-expired, and the deliberate-logout marker. Corrupt or missing data reads as "logged out"; a
 * storage that throws (full: WeChat allows 1 MB per key, 10 MB in all) is reported once and the session lives on in
 * memory.
 */
import { PACKAGE_NAME } from './errors';
import type { Clock, Logger, WxAdapter } from './runtime';
import type { BackendSession, LoginState } from './types';

const FORMAT_VERSION = 1;

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && isFinite(value);
}

/** What storage holds: a session, or the fact that the user logged out on purpose (so nothing logs them back in silently). */
export interface StoredLogin {
  state: LoginState | null;
  loggedOut: boolean;
}

/**
 * Parses a stored value of this format; null when it is not one (corrupt, another format) or when its session was
 * issued for another API (`iss`: `config.baseURL` then — a session belongs to the origin that issued it).
 */
function parseStored(value: unknown, issuer: string): StoredLogin | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.v !== FORMAT_VERSION) return null;
  if (v.iss !== undefined && v.iss !== issuer) return null;
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
class SessionStore {
  private reportedWriteFailure = false;

  constructor(
    private readonly wx: WxAdapter,
    readonly key: string,
    private readonly logger: Logger,
    /** Who issued the sessions stored here (`config.baseURL`'s API base, '' for a custom backend without one). */
    private readonly issuer: string,
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
    const stored = parseStored(raw, this.issuer);
    if (!stored) {
      this.logger.warn(`${PACKAGE_NAME}: storage key "${this.key}" held unreadable login data, or another API's; starting logged out`);
      this.clear();
    }
    return stored ?? empty;
  }

  /**
   * Writes `state`; returns false when the write failed (reported once; the caller keeps the state in memory). The
   * stored session is then removed, so that storage never keeps a refresh token the kit has since spent: after a
   * restart it would be presented again, and the backend reads a spent token as theft.
   */
  save(state: LoginState): boolean {
    if (this.guard(() => this.wx.setStorageSync(this.key, { v: FORMAT_VERSION, iss: this.issuer, ...state }))) return true;
    this.clear();
    return false;
  }

  /** Records a deliberate logout (replacing any session), so a restart does not log the user back in silently. */
  saveLoggedOut(): void {
    this.guard(() => this.wx.setStorageSync(this.key, { v: FORMAT_VERSION, loggedOut: true }));
  }

  /** Removes the stored state. */
  clear(): void {
    this.guard(() => this.wx.removeStorageSync(this.key));
  }

  private guard(write: () => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      if (!this.reportedWriteFailure) {
        this.reportedWriteFailure = true;
        this.logger.error(`${PACKAGE_NAME}: could not write storage key "${this.key}"; the session is kept in memory only`, error);
      }
      return false;
    }
  }
}

/**
 * The current session of one kit instance. Times are epoch ms from the clock; the backend's `expiresIn` values are
 * seconds (contract). Expiry is never cached: `fresh()` computes it at each call.
 */
export class Session {
  /** The state, or null when logged out. Its access token may be expired: `fresh()` tells. */
  state: LoginState | null = null;
  /** The user logged out on purpose: nothing logs them back in silently until they log in through the UI. */
  loggedOut = false;
  private readonly store: SessionStore;

  /**
   * @param leewayMs an access token counts as expired this many ms early, at most a quarter of its lifetime.
   * @param issuer the API the sessions belong to (`config.baseURL` without trailing slashes; '' without one): a stored
   *   session of another API is not loaded.
   */
  constructor(
    wx: WxAdapter,
    key: string,
    logger: Logger,
    private readonly clock: Clock,
    private readonly leewayMs: number,
    readonly issuer: string,
  ) {
    this.store = new SessionStore(wx, key, logger, issuer);
  }

  /** Reads the stored session (call once per `config()`). */
  load(): void {
    const stored = this.store.load();
    this.state = stored.state;
    this.loggedOut = stored.loggedOut;
  }

  /** Takes over the state of the session this one replaces (a `config()` call with the same storage key). */
  adopt(previous: Session): void {
    this.state = previous.state;
    this.loggedOut = previous.loggedOut;
  }

  /** The state if its access token is still valid now (with the leeway), else null. */
  fresh(now: number = this.clock.now()): LoginState | null {
    const state = this.state;
    if (!state) return null;
    const lifetime = state.accessExpiresAt - state.accessIssuedAt;
    const leeway = Math.min(this.leewayMs, Math.max(0, lifetime / 4));
    return now < state.accessExpiresAt - leeway ? state : null;
  }

  /**
   * The state a backend session (`expiresIn`/`refreshExpiresIn` in s) makes now. A refresh keeps the user and
   * `isNewUser` when the backend sends no user.
   */
  stateOf(session: BackendSession, via: 'login' | 'refresh'): LoginState {
    const now = this.clock.now();
    return {
      accessToken: session.accessToken,
      accessIssuedAt: now,
      accessExpiresAt: now + session.expiresIn * 1000,
      refreshToken: session.refreshToken,
      refreshExpiresAt: session.refreshToken && session.refreshExpiresIn ? now + session.refreshExpiresIn * 1000 : undefined,
      user: session.user ?? this.state?.user ?? null,
      isNewUser: via === 'login' ? session.isNewUser === true : (this.state?.isNewUser ?? false),
    };
  }

  /**
   * Makes `state` the current state, in memory and in storage (so a rotated refresh token is written before anyone
   * waiting on it is released), and ends a deliberate logout. Returns false when storage could not take it: the
   * session then lives in memory only and storage holds none (see `SessionStore.save`).
   */
  commit(state: LoginState): boolean {
    this.state = state;
    this.loggedOut = false;
    return this.store.save(state);
  }

  /**
   * The backend said the access token of `sent` expired. If `sent` is still the current, fresh session, its access
   * token is marked expired now (the refresh token stays) and true is returned; otherwise nothing changes.
   */
  markExpired(sent: LoginState): boolean {
    const current = this.state;
    if (!current || current.accessToken !== sent.accessToken || !this.fresh()) return false;
    const now = this.clock.now();
    this.state = { ...current, accessIssuedAt: Math.min(current.accessIssuedAt, now), accessExpiresAt: now };
    this.store.save(this.state);
    return true;
  }

  /** The backend rejected the refresh token of `previous`: drops the session if it is still the current one. */
  drop(previous: LoginState): void {
    if (this.state !== previous) return;
    this.state = null;
    this.store.clear();
  }

  /** A deliberate logout: clears the state and records the logout in storage. Returns the state it ended. */
  logOut(): LoginState | null {
    const state = this.state;
    this.state = null;
    this.loggedOut = true;
    this.store.saveLoggedOut();
    return state;
  }
}
