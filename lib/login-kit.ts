/**
 * The public class: the modes (`modes.ts`), `requestWithLogin`'s dispatch checks and replay, logout, and the events.
 * Framework-free: it talks to the world only through the injected `wx` adapter, clock, backend adapter and
 * `userAuthHandler` (the package entry wires the default page UI in). The other concepts have rooms of their own:
 * options (`options.ts`), the session (`session.ts`), the flight (`flight.ts`: single flight, silent and full
 * waiters, the logout epoch), the code exchange (`code-login.ts`) and the user-authorization step (`user-auth.ts`).
 */
import { CodeLogin } from './code-login';
import { contractErrorCode } from './contract-backend';
import { LoginError, PACKAGE_NAME } from './errors';
import { SingleFlight, revoke } from './flight';
import { Limiter } from './limiter';
import { MODES, modeOf } from './modes';
import { invalid, resolveOptions, type LoginOptions, type ResolvedOptions } from './options';
import { Session } from './session';
import { StepUps, type RequireOptions, type StepUpKind } from './step-up';
import { checkTips } from './tips';
import { RequestControl, originOf, resolveUrl, sendRequest } from './transport';
import type {
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

export type { LoginOptions } from './options';

/** `wx.request` callbacks: the kit owns them (its promise is the outcome). */
const CALLBACK_KEYS = ['success', 'fail', 'complete'];
/** What an answer means for the session (see `requestWithLogin`). */
type Verdict = 'fine' | 'keep' | 'exhausted' | 'renew';

/** How many times one request may find its credentials dead at dispatch and wait for a renewal. */
const MAX_DEFERRALS = 3;

const loggedOutError = () => new LoginError('LOGGED_OUT', 'logout() was called while this request waited');

/**
 * One login kit instance: its own options, state, storage key and locks. `Login` (package entry) is the default
 * one; `createLogin()` makes more. All methods but `config`/`onStateChange` need `config()` first.
 */
export class LoginKit {
  private options: ResolvedOptions | null = null;
  /** Set by `config()`; every method that reads it calls `requireConfigured()` first. */
  private session!: Session;
  private readonly codeLogin = new CodeLogin();
  private readonly flights = new SingleFlight({
    options: () => this.requireConfigured(),
    session: () => this.session,
    codeLogin: this.codeLogin,
    emit: (event) => this.emit(event),
  });
  /** Requests with credentials between their call and their dispatch: `logout()` rejects them at once. */
  private readonly queued = new Set<RequestControl>();
  /** The kit instance's one limiter, kept across `config()` calls (its `max` follows the options). */
  private readonly limiter = new Limiter(10);
  private readonly stepUps = new StepUps({
    options: () => this.requireConfigured(),
    session: () => this.session,
    login: (call) => this.login(call),
    emit: (event) => this.emit(event),
  });
  private readonly listeners: LoginEventListener[] = [];
  private reportedNotConfigured = false;

  /**
   * @param defaults options merged under every `config()` call (the package entry passes the page UI here).
   * @param onConfigured called after each successful `config()` with the options in force (the package entry
   *   configures the privacy router from `privacy` / `privacyAppHandler` here).
   */
  constructor(
    private readonly defaults: Partial<LoginOptions> = {},
    private readonly onConfigured?: (options: LoginOptions) => void,
  ) {}

  /**
   * Sets the options and restores the stored login state (corrupt or missing data: logged out).
   * Call once at launch (e.g. `App.onLaunch`); a later call replaces the options for later calls, keeps the session in
   * memory when the storage key is the same, and keeps the one request limiter (its `max` follows the options).
   * @throws LoginError `INVALID_OPTIONS` with a message saying what was expected.
   */
  config(options: LoginOptions): void {
    const merged = { ...this.defaults, ...options } as LoginOptions;
    const resolved = resolveOptions(merged, this.limiter);
    const previous = this.options;
    const session = new Session(resolved.wx, resolved.storageKey, resolved.logger, resolved.clock, resolved.expiryLeewayMs);
    if (previous && previous.storageKey === resolved.storageKey && previous.wx === resolved.wx) session.adopt(this.session);
    else session.load();
    this.options = resolved;
    this.session = session;
    if (this.onConfigured) this.onConfigured(merged);
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
    return this.flights.join(mode, options.tips);
  }

  /**
   * Sends a request with the user's credentials, logging in first per `loginOpts.mode` (default `common`).
   * Every `wx.request` option reaches `wx.request` unchanged (`success`/`fail`/`complete` are refused: the promise is
   * the outcome); `onTask` gets a handle to abort the call or listen to its task's events.
   * Credentials go only to the API's origin (`baseURL`'s and `config.trustedOrigins`): a request to another origin, and
   * the URLs of `config.noAuthUrls` and the contract's `/auth/` endpoints on the API, go out at once without a token.
   * The credentials are chosen when the request gets its slot (at most 10 `wx.request`s at once): a request whose
   * token was marked expired while it waited waits for the renewal instead, and one queued at `logout()` rejects
   * `LOGGED_OUT` at once — none leaves with a token the kit knows is dead.
   * When the answer says the session expired (`config.isSessionExpired`), it escalates, each step at most once per
   * token generation and shared by every request in the same situation: (1) the request went out with an older token
   * than the current one → replayed with the current one, nothing refreshed or cleared; (2) refresh with the refresh
   * token; (3) no refresh token, or it was rejected → silent login; (4) the backend needs the user → the login UI, in
   * `common` mode only. Then the request is replayed with the new token, at most `config.maxReplays` times (default 1).
   * Resolves with the response for any HTTP status.
   * - `common`/`force`: a failed or cancelled login rejects, and the request is not sent.
   * - `silent`: a failed login sends the request without credentials and resolves with whatever the backend answers.
   * - `reTry: false`, or `config.shouldRenew` saying no: a "session expired" answer is returned as it is.
   * - `loginOpts.require: 'profile' | 'phone'`: the step-up of `require()` first; its failure rejects and the request is
   *   not sent.
   * @throws LoginError `SESSION_EXPIRED` (still expired after the replays), `NETWORK_ERROR`, `TIMEOUT`, `ABORTED`,
   *   `INVALID_OPTIONS`, `NOT_CONFIGURED`, `LOGGED_OUT`, and every `login()` error in `common`/`force` mode (a failed
   *   refresh: its cause, e.g. `RATE_LIMITED` with `retryAfterMs`).
   */
  async requestWithLogin<T = unknown>(options: RequestWithLoginOptions): Promise<RequestResponse<T>> {
    const opts = this.requireConfigured();
    if (typeof options !== 'object' || options === null || typeof options.url !== 'string' || options.url === '') {
      throw invalid('requestWithLogin(options) expects {url, ...wx.request options, loginOpts?}');
    }
    for (const key of CALLBACK_KEYS) {
      if (key in options) throw invalid(`requestWithLogin does not take "${key}": it returns a promise of the response`);
    }
    const { loginOpts = {}, reTry = true, onTask, ...request } = options;
    const mode = modeOf(loginOpts, 'requestWithLogin loginOpts');
    if (loginOpts.tips !== undefined) checkTips(loginOpts.tips, 'requestWithLogin loginOpts.tips');
    if (onTask !== undefined && typeof onTask !== 'function') throw invalid('requestWithLogin onTask must be a function');
    const control = new RequestControl();
    if (onTask) onTask(control.handle);
    if (!this.carriesCredentials(opts, request.url)) {
      return (await sendRequest<T>(opts.network, request, { control })) as RequestResponse<T>;
    }

    const epoch = this.flights.epoch;
    const renewal = { mode: MODES[mode].renewAs, tips: loginOpts.tips };
    // What an answer means for the session, decided in the slot (so a dead token is marked before the next queued
    // request is dispatched): not expired, expired but returned as it is (reTry: false, shouldRenew's veto), expired
    // past the replay budget, or expired and to be renewed and replayed.
    let replays = 0;
    const verdict = (response: RequestResponse): Verdict => {
      if (!opts.isSessionExpired(response)) return 'fine';
      if (!reTry || !opts.shouldRenew(response, request)) return 'keep';
      return replays < opts.maxReplays ? 'renew' : 'exhausted';
    };
    let state = await control.guard(this.credentials({ mode, tips: loginOpts.tips }));
    if (loginOpts.require !== undefined) {
      // The step-up first; its failure rejects and the request is not sent.
      await control.guard(this.require(loginOpts.require, { tips: loginOpts.tips, mode: mode === 'silent' ? 'silent' : 'common' }));
      state = this.session.fresh() ?? state;
    }
    for (;;) {
      const { response, sent, outcome } = await this.send<T>(opts, request, state, renewal, control, verdict);
      if (!sent || outcome === 'fine' || outcome === 'keep') return response;
      if (this.flights.epoch !== epoch) throw loggedOutError();
      if (outcome === 'exhausted') {
        throw new LoginError('SESSION_EXPIRED', `${request.url} still answered "session expired" after ${replays} replay(s)`, {
          statusCode: response.statusCode,
          backendCode: contractErrorCode(response.data),
          cause: response.data,
        });
      }
      replays++;
      state = await control.guard(this.credentials(renewal));
    }
  }

  /**
   * Step-up: makes sure the logged-in user has `kind` — a profile (`'profile'`: nickname and avatar) or a phone number
   * (`'phone'`) — and resolves with the user. Logs in first per `options.mode` (a backend with silent registration
   * logs a new user in without any UI); resolves at once when the user already has it; else shows the login UI for
   * that `authType` (AuthModal or login page, page tips merged as for a login) and sends the answer to the backend
   * (contract 1.2 `POST /auth/bind`, with the access token). Concurrent callers share one step-up.
   * @throws LoginError `AUTH_CANCELLED`, `AUTH_DENIED`, `PRIVACY_DENIED`, `PHONE_QUOTA_EXCEEDED`, `ACCOUNT_CONFLICT` (the
   *   phone is bound to another account), `AUTH_REQUIRED` (`mode: 'silent'` and the user lacks it), `INVALID_OPTIONS`
   *   (no `backend.bind`, an unknown kind), and every `login()` error.
   */
  require(kind: StepUpKind, options: RequireOptions = {}): Promise<LoginUser> {
    this.requireConfigured();
    if (kind !== 'profile' && kind !== 'phone') throw invalid(`require(kind) expects "profile" or "phone", got ${JSON.stringify(kind)}`);
    if (typeof options !== 'object' || options === null) throw invalid('require(kind, options) expects options such as {tips}');
    if (options.tips !== undefined) checkTips(options.tips, 'require options.tips');
    return this.stepUps.require(kind, { tips: options.tips, mode: modeOf(options, 'require options') });
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
   * request waiting on a refresh, a login or a free slot with `LOGGED_OUT`, then asks the backend to revoke the refresh token family
   * (contract `POST /auth/logout`; a failure there is logged, never thrown).
   * @throws LoginError `NOT_CONFIGURED`.
   */
  async logout(): Promise<void> {
    const opts = this.requireConfigured();
    this.flights.cancel(new LoginError('LOGGED_OUT', 'logout() was called while this request waited for a login'));
    const state = this.session.logOut();
    this.codeLogin.keepTicket(null);
    this.queued.forEach((control) => control.cancel(loggedOutError()));
    this.queued.clear();
    if (!state) return;
    this.emit({ type: 'logout' });
    await revoke(opts, state);
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

  /**
   * True when `url` may carry the credentials: it is on an API origin (`baseURL`'s or `config.trustedOrigins`) and is
   * neither one of the contract's `/auth/` endpoints of the API nor in `config.noAuthUrls`.
   */
  private carriesCredentials(opts: ResolvedOptions, url: string): boolean {
    const absolute = resolveUrl(url, opts.baseURL);
    if (opts.apiOrigins.indexOf(originOf(absolute) as string) < 0) return false;
    const base = opts.baseURL ? opts.baseURL.replace(/\/+$/, '') + '/' : '';
    const onApi = base !== '' && absolute.indexOf(base) === 0;
    const path = (onApi ? absolute.slice(base.length - 1) : absolute.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')).replace(/[?#].*$/, '');
    if (onApi && path.indexOf('/auth/') === 0) return false;
    return !opts.noAuthUrls.some((rule) => (typeof rule === 'string' ? path.indexOf(rule) === 0 : rule.test(url)));
  }

  /**
   * Sends `request` with the credentials of `state`, checked when the request gets its slot: a newer fresh session
   * that replaced `state` meanwhile is used instead; if the kit knows the token is dead (marked expired, or logged
   * out), the slot is given back unsent and the request waits for the renewal (`renewal`) — or rejects `LOGGED_OUT`
   * after a logout. A `renewable` answer marks the token it was sent with expired while the request still holds its
   * slot. Resolves with the response, the session it was sent with (null: no credentials) and the `verdict`.
   */
  private async send<T>(
    opts: ResolvedOptions,
    request: RequestOptions,
    state: LoginState | null,
    renewal: LoginCallOptions & { mode: LoginMode },
    control: RequestControl,
    verdict: (response: RequestResponse) => Verdict,
  ): Promise<{ response: RequestResponse<T>; sent: LoginState | null; outcome: Verdict }> {
    let sent = state;
    let outcome: Verdict = 'fine';
    for (let deferrals = 0; ; deferrals++) {
      const epoch = this.flights.epoch;
      if (sent) this.queued.add(control);
      const dispatched = sendRequest<T>(opts.network, request, {
        control,
        prepare: (queued) => {
          if (!sent) return queued;
          const current = this.session.fresh();
          if (!current || this.flights.epoch !== epoch) return null;
          sent = current;
          return { ...queued, header: { ...queued.header, ...opts.authHeader(current) } };
        },
        observe: (response) => {
          if (!sent) return;
          outcome = verdict(response as RequestResponse);
          if (outcome === 'renew' && this.session.markExpired(sent)) this.emit({ type: 'sessionExpired' });
        },
      });
      const done = () => this.queued.delete(control);
      dispatched.then(done, done);
      const response = await dispatched;
      if (response) return { response, sent, outcome };
      if (this.flights.epoch !== epoch || this.session.loggedOut) throw loggedOutError();
      if (deferrals >= MAX_DEFERRALS) {
        throw new LoginError('SESSION_EXPIRED', `${request.url} found its credentials expired at dispatch ${deferrals + 1} times`);
      }
      sent = await control.guard(this.credentials(renewal));
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
