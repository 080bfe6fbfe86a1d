/**
 * The public class and the state machine: the modes (`lib/modes.ts`), the flight (single flight, silent and full
 * waiters, the logout epoch), `requestWithLogin`'s replay, and the events. Framework-free: it talks to the world only
 * through the injected `wx` adapter, clock, backend adapter and `userAuthHandler` (the package entry wires the
 * default page UI in). The other concepts have rooms of their own: options (`options.ts`), the session
 * (`session.ts`), the code exchange (`code-login.ts`) and the user-authorization step (`user-auth.ts`).
 */
import { CodeLogin, toLoginError } from './code-login';
import { contractErrorCode } from './contract-backend';
import { LoginError, PACKAGE_NAME } from './errors';
import { MODES, modeOf } from './modes';
import { invalid, resolveOptions, type LoginOptions, type ResolvedOptions } from './options';
import { Session } from './session';
import type {
  AuthTips,
  BackendSession,
  LoginCallOptions,
  LoginEvent,
  LoginEventListener,
  LoginMode,
  LoginState,
  LoginUser,
  RequestOptions,
  RequestResponse,
  RequestWithLoginOptions,
} from './types';
import { authorizeUser, backendPayload } from './user-auth';

export type { LoginOptions } from './options';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: LoginError): void;
}

/** A promise settled from outside; settling twice is a no-op. Rejections nobody waits for are not reported. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: LoginError) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * One session renewal shared by every caller that arrives while it runs: the queue of waiting requests.
 * Steps: refresh token (if any, unless `force`) → silent login → the login UI (only if a caller allows it).
 */
interface Flight {
  /** Set when a caller whose mode may show the UI joins: the flight may then show the login UI. */
  allowUI: boolean;
  /** `loginOpts.tips` of the first caller that allowed UI. */
  tips?: Partial<AuthTips>;
  /** Whether the flight may use the refresh token (not when it was started by a `force` login). */
  refresh: boolean;
  /** `logout()` count when the flight started; a logout during the flight discards its session. */
  epoch: number;
  /** Settles when the part without UI is decided: silent callers wait for this, never for the UI. */
  silent: Deferred<LoginState>;
  /** Settles when the whole renewal (UI included) is done. */
  full: Deferred<LoginState>;
}

/**
 * One login kit instance: its own options, state, storage key and locks. `Login` (package entry) is the default
 * one; `createLogin()` makes more. All methods but `config`/`onStateChange` need `config()` first.
 */
export class LoginKit {
  private options: ResolvedOptions | null = null;
  /** Set by `config()`; every method that reads it calls `requireConfigured()` first. */
  private session!: Session;
  private readonly codeLogin = new CodeLogin();
  private flight: Flight | null = null;
  private epoch = 0;
  private readonly listeners: LoginEventListener[] = [];
  private reportedNotConfigured = false;

  /** @param defaults options merged under every `config()` call (the package entry passes the page UI here). */
  constructor(private readonly defaults: Partial<LoginOptions> = {}) {}

  /**
   * Sets the options and restores the stored login state (corrupt or missing data: logged out).
   * Call once at launch (e.g. `App.onLaunch`); a later call replaces the options for later calls.
   * @throws LoginError `INVALID_OPTIONS` with a message saying what was expected.
   */
  config(options: LoginOptions): void {
    const resolved = resolveOptions({ ...this.defaults, ...options } as LoginOptions);
    const session = new Session(resolved.wx, resolved.storageKey, resolved.logger, resolved.clock, resolved.expiryLeewayMs);
    session.load();
    this.options = resolved;
    this.session = session;
  }

  /**
   * Logs in per `mode` (default `common`) and resolves with the login state. Concurrent calls share one login
   * (one `wx.login`, one backend login, at most one UI); a `silent` caller never waits for the UI.
   * Flow: `wx.login` → backend `mode:"silent"` → if the backend needs the user: the login UI → `mode:"authorize"`
   * with the backend's `loginTicket` (a fresh code only when the ticket is rejected or expired).
   * @throws LoginError `NOT_CONFIGURED`, `INVALID_OPTIONS`, `WX_LOGIN_FAILED`, `AUTH_REQUIRED` (silent), `AUTH_CANCELLED`,
   *   `AUTH_DENIED`, `UI_UNAVAILABLE`, `LOGIN_FAILED`, `NETWORK_ERROR`, `TIMEOUT`, `LOGGED_OUT`.
   */
  async login(options: LoginCallOptions = {}): Promise<LoginState> {
    this.requireConfigured();
    const mode = modeOf(options, 'login');
    if (MODES[mode].reuseSession) {
      const state = this.session.fresh();
      if (state) return state;
    }
    return this.joinFlight(mode, options.tips);
  }

  /**
   * Sends a request with the user's credentials, logging in first per `loginOpts.mode` (default `common`).
   * URLs in `config.noAuthUrls` (and the contract's `/auth/` endpoints) go out at once, without a token.
   * When the answer says the session expired (`config.isSessionExpired`), it escalates, each step at most once per
   * token generation and shared by every request in the same situation: (1) the request went out with an older token
   * than the current one → replayed with the current one, nothing refreshed or cleared; (2) refresh with the refresh
   * token; (3) no refresh token, or it was rejected → silent login; (4) the backend needs the user → the login UI, in
   * `common` mode only. Then the request is replayed with the new token, at most `config.maxReplays` times (default 1).
   * Requests that wait meanwhile are replayed together, at most 10 `wx.request`s at once. Resolves with the response
   * for any HTTP status.
   * - `common`/`force`: a failed or cancelled login rejects, and the request is not sent.
   * - `silent`: a failed login sends the request without credentials and resolves with whatever the backend answers.
   * - `reTry: false`, or `config.shouldRenew` saying no: a "session expired" answer is returned as it is.
   * @throws LoginError `SESSION_EXPIRED` (still expired after the replays), `NETWORK_ERROR`, `TIMEOUT`, `INVALID_OPTIONS`,
   *   `NOT_CONFIGURED`, `LOGGED_OUT`, and every `login()` error in `common`/`force` mode (a failed refresh: its cause).
   */
  async requestWithLogin<T = unknown>(options: RequestWithLoginOptions): Promise<RequestResponse<T>> {
    const opts = this.requireConfigured();
    if (typeof options !== 'object' || options === null || typeof options.url !== 'string' || options.url === '') {
      throw invalid('requestWithLogin(options) expects {url, ...wx.request options, loginOpts?}');
    }
    const { loginOpts = {}, reTry = true, ...request } = options;
    const mode = modeOf(loginOpts, 'requestWithLogin loginOpts');
    if (this.isNoAuth(opts, request.url)) return opts.transport<T>(request);

    let state = await this.credentials({ mode, tips: loginOpts.tips });
    let { response, sent } = await this.send<T>(opts, request, state);
    const renewal = { mode: MODES[mode].renewAs, tips: loginOpts.tips };
    for (let replays = 0; sent && opts.isSessionExpired(response); replays++) {
      if (!reTry || !opts.shouldRenew(response, request)) return response;
      if (replays >= opts.maxReplays) {
        throw new LoginError('SESSION_EXPIRED', `${request.url} still answered "session expired" after ${replays} replay(s)`, {
          statusCode: response.statusCode,
          backendCode: contractErrorCode(response.data),
          cause: response.data,
        });
      }
      state = await this.renewAfterExpiry(sent, renewal);
      if (!state) return response;
      ({ response, sent } = await this.send<T>(opts, request, state));
    }
    return response;
  }

  /**
   * True when a local session exists and its access token is not expired. Expiry is computed now (with the
   * leeway), never cached from start-up. No network, no `wx.checkSession`.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  checkLogin(): boolean {
    this.requireConfigured();
    return this.session.fresh() !== null;
  }

  /**
   * The local login state, or null when logged out. The access token in it may be expired: `checkLogin()` tells.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  getState(): LoginState | null {
    this.requireConfigured();
    return this.session.state;
  }

  /**
   * The logged-in user, or null when logged out (or the backend sent no user).
   * @throws LoginError `NOT_CONFIGURED`.
   */
  getUser(): LoginUser | null {
    this.requireConfigured();
    const state = this.session.state;
    return state ? state.user : null;
  }

  /**
   * Logs out: clears the local state at once, records the deliberate logout in storage (so no silent login or
   * refresh brings the session back, also after a restart, until the user logs in through the UI), rejects every
   * request waiting on a refresh or login with `LOGGED_OUT`, then asks the backend to revoke the refresh token family
   * (contract `POST /auth/logout`; a failure there is logged, never thrown).
   * @throws LoginError `NOT_CONFIGURED`.
   */
  async logout(): Promise<void> {
    const opts = this.requireConfigured();
    this.epoch++;
    const state = this.session.logOut();
    this.codeLogin.keepTicket(null);
    const flight = this.flight;
    if (flight) {
      this.flight = null;
      const error = new LoginError('LOGGED_OUT', 'logout() was called while this request waited for a login');
      flight.silent.reject(error);
      flight.full.reject(error);
    }
    if (!state) return;
    this.emit({ type: 'logout' });
    await this.revoke(opts, state);
  }

  /**
   * Call from `App.onShow`. After a suspension (timers stall in background, so the kit trusts none), re-checks the
   * expiry now and, if the access token expired, renews the session in the background without UI (refresh token,
   * else silent login) so the first request after resuming does not wait. Failures are logged, never thrown.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  onAppShow(): void {
    const opts = this.requireConfigured();
    if (!this.session.state || this.session.fresh() || this.session.loggedOut) return;
    this.login({ mode: 'silent' }).catch((error: unknown) =>
      opts.logger.warn(`${PACKAGE_NAME}: renewing the session on App.onShow failed`, error),
    );
  }

  /**
   * Subscribes to login events (`login`, `loginFailed`, `sessionExpired`, `logout`), each fired once per occurrence.
   * Returns the unsubscribe function. May be called before `config()`.
   */
  onStateChange(listener: LoginEventListener): () => void {
    if (typeof listener !== 'function') throw invalid('onStateChange(listener) expects a function');
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private requireConfigured(): ResolvedOptions {
    if (this.options) return this.options;
    const error = new LoginError('NOT_CONFIGURED', 'call Login.config({source, baseURL}) before using the kit, e.g. in App.onLaunch');
    if (!this.reportedNotConfigured) {
      this.reportedNotConfigured = true;
      (this.defaults.logger ?? console).error(error.message);
    }
    throw error;
  }

  /** Credentials for a request: a login per mode; null when the login fails and the mode sends anonymously then. */
  private async credentials(call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState | null> {
    if (!MODES[call.mode].sendAnonymouslyOnFailure) return this.login(call);
    try {
      return await this.login(call);
    } catch {
      return null;
    }
  }

  /** True for URLs that never carry a token: `config.noAuthUrls` and the contract's `/auth/` endpoints. */
  private isNoAuth(opts: ResolvedOptions, url: string): boolean {
    const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
    if (path.indexOf('/auth/') === 0) return true;
    return opts.noAuthUrls.some((rule) => (typeof rule === 'string' ? path.indexOf(rule) === 0 : rule.test(url)));
  }

  /**
   * Sends `request` with the credentials of `state` — or of a newer fresh session if one replaced `state` while the
   * request waited for a slot (credentials are chosen at dispatch). Resolves with the response and the session used.
   */
  private async send<T>(
    opts: ResolvedOptions,
    request: RequestOptions,
    state: LoginState | null,
  ): Promise<{ response: RequestResponse<T>; sent: LoginState | null }> {
    let sent = state;
    const response = await opts.transport<T>(request, (queued) => {
      const current = this.session.fresh();
      if (sent && current && current.accessToken !== sent.accessToken) sent = current;
      return sent ? { ...queued, header: { ...queued.header, ...opts.authHeader(sent) } } : queued;
    });
    return { response, sent };
  }

  /**
   * After a "session expired" answer to a request sent with `sent`: if `sent` is still the current session, mark its
   * access token expired (once, whoever comes first; the refresh token stays). Then get credentials as any request
   * does: a session that already replaced `sent` is simply reused (a late 401 never triggers a second renewal), else
   * the shared renewal flight runs. Null when a silent renewal fails.
   */
  private renewAfterExpiry(sent: LoginState, renewal: LoginCallOptions & { mode: LoginMode }): Promise<LoginState | null> {
    if (this.session.markExpired(sent)) this.emit({ type: 'sessionExpired' });
    return this.credentials(renewal);
  }

  private joinFlight(mode: LoginMode, tips: Partial<AuthTips> | undefined): Promise<LoginState> {
    const { mayShowUI, refreshFirst } = MODES[mode];
    let flight = this.flight;
    if (!flight) {
      flight = this.startFlight(mayShowUI, tips, refreshFirst);
    } else if (mayShowUI && !flight.allowUI) {
      flight.allowUI = true;
      flight.tips = tips;
    }
    return mayShowUI ? flight.full.promise : flight.silent.promise;
  }

  /** Starts a flight. Its permissions are set before it runs: it may reach the "show UI?" decision synchronously. */
  private startFlight(allowUI: boolean, tips: Partial<AuthTips> | undefined, refresh: boolean): Flight {
    const flight: Flight = { allowUI, tips, refresh, epoch: this.epoch, silent: deferred(), full: deferred() };
    this.flight = flight;
    this.runFlight(flight).then(flight.full.resolve, flight.full.reject);
    return flight;
  }

  /** The escalation: refresh token → silent login → (if a caller allows it) the login UI and the authorize call. */
  private async runFlight(flight: Flight): Promise<LoginState> {
    const opts = this.requireConfigured();
    const { codeLogin, session } = this;
    try {
      const previous = session.state;
      if (flight.refresh && previous) {
        const refreshed = await this.tryRefresh(opts, flight, previous);
        if (refreshed) {
          flight.silent.resolve(refreshed);
          return refreshed;
        }
        this.emit({ type: 'relogin' });
      }
      let ticket = session.loggedOut ? null : codeLogin.takeTicket(opts);
      if (!ticket && !session.loggedOut) {
        const outcome = await codeLogin.withFreshCode(opts, { mode: 'silent' });
        if (outcome.status === 'ok') {
          const state = this.commit(opts, flight, outcome.session, 'login');
          flight.silent.resolve(state);
          return state;
        }
        ticket = codeLogin.ticketOf(opts, outcome);
      }
      const authRequired = new LoginError(
        'AUTH_REQUIRED',
        session.loggedOut
          ? 'the user logged out; only a login through the UI brings them back'
          : 'the user must authorize to log in, and a silent login shows no UI',
      );
      flight.silent.reject(authRequired);
      if (!flight.allowUI) {
        codeLogin.keepTicket(ticket);
        throw authRequired;
      }
      let auth;
      try {
        auth = await authorizeUser(opts, flight.tips);
      } catch (error) {
        codeLogin.keepTicket(ticket); // unused: the next attempt can skip wx.login
        throw error;
      }
      const outcome = await codeLogin.authorize(opts, ticket, await backendPayload(opts, auth));
      if (outcome.status !== 'ok') {
        throw new LoginError('LOGIN_FAILED', 'the backend still asks for user authorization after the user authorized');
      }
      return this.commit(opts, flight, outcome.session, 'login');
    } catch (error) {
      const loginError = toLoginError(error);
      flight.silent.reject(loginError);
      if (this.flight === flight) this.emit({ type: 'loginFailed', error: loginError });
      throw loginError;
    } finally {
      if (this.flight === flight) this.flight = null;
    }
  }

  /**
   * Step 2 of the escalation: exchanges the refresh token (if there is a usable one). Resolves with the committed
   * state, or null when there is no refresh token or the backend rejected it (HTTP 4xx: the session is dropped and
   * the caller logs in again). Any other failure (network, timeout, 5xx) is thrown and the refresh token kept.
   */
  private async tryRefresh(opts: ResolvedOptions, flight: Flight, previous: LoginState): Promise<LoginState | null> {
    const { refreshToken, refreshExpiresAt } = previous;
    if (!refreshToken || !opts.backend.refresh || (refreshExpiresAt !== undefined && opts.clock.now() >= refreshExpiresAt)) return null;
    this.emit({ type: 'refreshStart' });
    let backendSession: BackendSession;
    try {
      backendSession = await opts.backend.refresh(refreshToken, opts.context);
    } catch (error) {
      const refreshError = toLoginError(error);
      this.emit({ type: 'refreshEnd', error: refreshError });
      const rejected = refreshError.statusCode !== undefined && refreshError.statusCode >= 400 && refreshError.statusCode < 500;
      if (!rejected) throw refreshError;
      this.session.drop(previous);
      return null;
    }
    const state = this.commit(opts, flight, backendSession, 'refresh');
    this.emit({ type: 'refreshEnd', state });
    return state;
  }

  /**
   * Makes a backend session the current state (memory and storage first: a rotated refresh token is written before
   * anyone waiting on it is released), then one `login` event for a login. Throws `LOGGED_OUT` (and revokes the new
   * session) when `logout()` was called since the flight started.
   */
  private commit(opts: ResolvedOptions, flight: Flight, backendSession: BackendSession, via: 'login' | 'refresh'): LoginState {
    const state = this.session.stateOf(backendSession, via);
    if (flight.epoch !== this.epoch) {
      void this.revoke(opts, state);
      throw new LoginError('LOGGED_OUT', 'logout() was called while this login was running; its session was discarded');
    }
    this.session.commit(state);
    this.codeLogin.keepTicket(null);
    if (via === 'login') this.emit({ type: 'login', state, isNewUser: state.isNewUser });
    return state;
  }

  private async revoke(opts: ResolvedOptions, state: LoginState): Promise<void> {
    if (!opts.backend.logout) return;
    try {
      await opts.backend.logout(state, opts.context);
    } catch (error) {
      opts.logger.warn(`${PACKAGE_NAME}: the backend logout failed; the local session is cleared anyway`, error);
    }
  }

  private emit(event: LoginEvent): void {
    for (const listener of this.listeners.slice()) {
      try {
        listener(event);
      } catch (error) {
        (this.options?.logger ?? console).error(`${PACKAGE_NAME}: an onStateChange listener threw on "${event.type}"`, error);
      }
    }
  }
}
