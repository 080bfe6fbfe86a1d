/**
 * The login state machine: modes, single flight, the user-auth step, re-login and retry on session expiry.
 * Framework-free: it talks to the world only through the injected `wx` adapter, clock, backend adapter and
 * `userAuthHandler` (the package entry wires the default page UI in).
 */
import { createContractBackend, contractErrorCode } from './contract-backend';
import { LoginError, PACKAGE_NAME, isLoginError } from './errors';
import { Limiter } from './limiter';
import { callWx, systemClock, withTimeout, type AuthSettingLike, type Clock, type Logger, type WxAdapter } from './runtime';
import { SessionStore } from './session-store';
import { DEFAULT_AUTH_TIPS, mergeTips } from './tips';
import { createTransport, createUploader, type DispatchingTransport } from './transport';
import type {
  AuthResult,
  AuthTips,
  BackendContext,
  BackendLoginRequest,
  BackendLoginResult,
  BackendSession,
  LoginBackend,
  LoginCallOptions,
  LoginEvent,
  LoginEventListener,
  LoginMode,
  LoginState,
  LoginUser,
  RequestOptions,
  RequestResponse,
  RequestWithLoginOptions,
  Uploader,
  UserAuthHandler,
} from './types';
import { PHONE_QUOTA_ERRNO } from './wechat-types';

/** Bounds (ms) of each step; 0 disables a bound. */
export interface LoginTimeouts {
  /** `wx.login` (default 10 000 ms). */
  wxLogin: number;
  /** Each HTTP request, unless the request sets its own `timeout` (default 20 000 ms). */
  request: number;
  /** The user-auth step, i.e. the user looking at the login UI (default 600 000 ms = 10 minutes). */
  userAuth: number;
}

/** Bounded retry with exponential backoff and jitter; delays in ms. `random` (default `Math.random`) makes the jitter testable. */
export interface Backoff {
  /** Retries after the first attempt (default 2). */
  retries: number;
  /** Delay before the first retry, ms (default 500); doubles each time. */
  baseDelayMs: number;
  /** Longest delay, ms (default 5000). */
  maxDelayMs: number;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random: () => number;
}

/** Options of `Login.config()` / `createLogin()`. Unknown keys throw, so a typo (`baseUrl`) is caught at once. */
export interface LoginOptions {
  /** Required. Which mini-program this is; sent to the backend as `source` (one backend can serve several apps). */
  source: string;
  /** Base URL of the backend (`https://...`); relative request URLs and the contract endpoints are joined to it. Required unless `backend` is given. */
  baseURL?: string;
  /** A custom backend adapter; default: the contract adapter (`shared/docs/contract.md`). */
  backend?: LoginBackend;
  /** Shows the login UI. The package entry's default: the current page's `<auth-modal id="auth-modal">`, else the login page. */
  userAuthHandler?: UserAuthHandler;
  /** Tips over the kit's defaults (`DEFAULT_AUTH_TIPS`). */
  tips?: Partial<AuthTips>;
  /** Contextual tips read per login (the package entry's default: the current page's `$loginUserAuthTips()`, may be async). */
  pageTips?: () => unknown;
  /** Does this response mean the session expired? Default: HTTP 401, or a body code `TOKEN_EXPIRED`/`TOKEN_INVALID`. For a legacy backend: e.g. `res => res.data.code === 3001`. */
  isSessionExpired?: (response: RequestResponse) => boolean;
  /** Headers that carry the credentials. Default: `{Authorization: 'Bearer <accessToken>'}`. */
  authHeader?: (state: LoginState) => Record<string, string>;
  /**
   * Requests that never wait for a login and never carry a token: a string matches a path prefix (`'/public'`
   * matches `/public/feed`), a RegExp is tested against the URL as given. The contract's `/auth/` endpoints always are.
   */
  noAuthUrls?: Array<string | RegExp>;
  /** Business predicate: may this "session expired" answer refresh or re-login? Default: always. */
  shouldRenew?: (response: RequestResponse, request: RequestOptions) => boolean;
  /** How many times one request may be replayed after "session expired" answers (default 1). */
  maxReplays?: number;
  /**
   * Retries of a login the backend answered `WECHAT_UNAVAILABLE` (WeChat busy, -1): each with a fresh code, after
   * `baseDelayMs * 2^n` (ms, capped by `maxDelayMs`) with jitter. Default `{retries: 2, baseDelayMs: 500, maxDelayMs: 5000}`.
   */
  backoff?: Partial<Backoff>;
  /** Storage key of the login state (default `"miniprogram-login-kit:session"`); give each `createLogin` instance its own. */
  storageKey?: string;
  /** Step bounds in ms; see `LoginTimeouts`. */
  timeouts?: Partial<LoginTimeouts>;
  /** An access token counts as expired this many ms early (default 10 000), at most a quarter of its lifetime. */
  expiryLeewayMs?: number;
  /** Most `wx.request`s the kit runs at once (default 10, WeChat's limit). */
  maxConcurrentRequests?: number;
  /** The `wx` object; default the global `wx`. */
  wx?: WxAdapter;
  /** Time source; default `Date.now` and global timers. */
  clock?: Clock;
  /** Where diagnostics go; default `console`. */
  logger?: Logger;
}

interface ResolvedOptions {
  source: string;
  baseURL?: string;
  backend: LoginBackend;
  userAuthHandler?: UserAuthHandler;
  tips?: Partial<AuthTips>;
  pageTips?: () => unknown;
  isSessionExpired: (response: RequestResponse) => boolean;
  authHeader: (state: LoginState) => Record<string, string>;
  noAuthUrls: Array<string | RegExp>;
  shouldRenew: (response: RequestResponse, request: RequestOptions) => boolean;
  maxReplays: number;
  backoff: Backoff;
  timeouts: LoginTimeouts;
  expiryLeewayMs: number;
  wx: WxAdapter;
  clock: Clock;
  logger: Logger;
  store: SessionStore;
  transport: DispatchingTransport;
  upload: Uploader;
}

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
  /** Set when a `common`/`force` caller joins: the flight may then show the login UI. */
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

interface Ticket {
  value: string;
  /** epoch ms */
  expiresAt: number;
}

const DEFAULT_TIMEOUTS: LoginTimeouts = { wxLogin: 10_000, request: 20_000, userAuth: 600_000 };
const DEFAULT_STORAGE_KEY = 'miniprogram-login-kit:session';
const LOGIN_MODES: readonly LoginMode[] = ['common', 'silent', 'force'];
/** A `loginTicket` is not used in its last 10 s, so it cannot expire on the way. */
const TICKET_LEEWAY_MS = 10_000;

const OPTION_KEYS: ReadonlyArray<keyof LoginOptions> = [
  'source',
  'baseURL',
  'backend',
  'userAuthHandler',
  'tips',
  'pageTips',
  'isSessionExpired',
  'authHeader',
  'noAuthUrls',
  'shouldRenew',
  'maxReplays',
  'backoff',
  'storageKey',
  'timeouts',
  'expiryLeewayMs',
  'maxConcurrentRequests',
  'wx',
  'clock',
  'logger',
];

/** Default `isSessionExpired`: HTTP 401, or a contract body code `TOKEN_EXPIRED`/`TOKEN_INVALID`. */
export function defaultIsSessionExpired(response: RequestResponse): boolean {
  if (response.statusCode === 401) return true;
  const code = contractErrorCode(response.data);
  return code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID';
}

function invalid(message: string): LoginError {
  return new LoginError('INVALID_OPTIONS', message);
}

function requireFunctions(value: unknown, name: string, methods: string[]): void {
  if (typeof value !== 'object' || value === null || methods.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')) {
    throw invalid(`config.${name} must be an object with methods ${methods.join(', ')}`);
  }
}

function optionalFunction(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function') throw invalid(`config.${name} must be a function`);
}

function nonNegative(value: unknown, name: string): void {
  if (value !== undefined && !(typeof value === 'number' && isFinite(value) && value >= 0)) {
    throw invalid(`config.${name} must be a number of milliseconds >= 0`);
  }
}

function globalWx(): WxAdapter | undefined {
  return typeof wx === 'object' && wx !== null ? (wx as unknown as WxAdapter) : undefined;
}
declare const wx: unknown;

/** Checks `config()` options; throws `INVALID_OPTIONS` saying what was expected. */
function resolveOptions(input: LoginOptions): ResolvedOptions {
  if (typeof input !== 'object' || input === null) throw invalid('config(options) expects an object such as {source, baseURL}');
  for (const key of Object.keys(input)) {
    if (OPTION_KEYS.indexOf(key as keyof LoginOptions) < 0)
      throw invalid(`unknown option "${key}"; known options: ${OPTION_KEYS.join(', ')}`);
  }
  if (typeof input.source !== 'string' || input.source.trim() === '')
    throw invalid('config.source must be a non-empty string naming this mini-program');
  if (input.baseURL !== undefined && (typeof input.baseURL !== 'string' || !/^https?:\/\/[^/]/i.test(input.baseURL))) {
    throw invalid(`config.baseURL must be an http(s) URL such as "https://api.example.com", got ${JSON.stringify(input.baseURL)}`);
  }
  if (input.backend === undefined && input.baseURL === undefined)
    throw invalid('config.baseURL is required unless a custom config.backend is given');
  if (input.backend !== undefined) requireFunctions(input.backend, 'backend', ['login']);
  optionalFunction(input.userAuthHandler, 'userAuthHandler');
  optionalFunction(input.pageTips, 'pageTips');
  optionalFunction(input.isSessionExpired, 'isSessionExpired');
  optionalFunction(input.authHeader, 'authHeader');
  optionalFunction(input.shouldRenew, 'shouldRenew');
  if (
    input.noAuthUrls !== undefined &&
    !(Array.isArray(input.noAuthUrls) && input.noAuthUrls.every((u) => typeof u === 'string' || u instanceof RegExp))
  ) {
    throw invalid('config.noAuthUrls must be an array of strings and RegExps');
  }
  const backoff: Backoff = { retries: 2, baseDelayMs: 500, maxDelayMs: 5000, random: Math.random, ...input.backoff };
  if (!(Number.isInteger(backoff.retries) && backoff.retries >= 0)) throw invalid('config.backoff.retries must be an integer >= 0');
  nonNegative(backoff.baseDelayMs, 'backoff.baseDelayMs');
  nonNegative(backoff.maxDelayMs, 'backoff.maxDelayMs');
  if (typeof backoff.random !== 'function') throw invalid('config.backoff.random must be a function returning [0, 1)');
  const maxReplays = input.maxReplays ?? 1;
  if (!(typeof maxReplays === 'number' && Math.floor(maxReplays) === maxReplays && maxReplays >= 0))
    throw invalid('config.maxReplays must be an integer >= 0');
  if (input.tips !== undefined && (typeof input.tips !== 'object' || input.tips === null))
    throw invalid('config.tips must be an object of tips');
  if (input.storageKey !== undefined && (typeof input.storageKey !== 'string' || input.storageKey === ''))
    throw invalid('config.storageKey must be a non-empty string');
  if (input.timeouts !== undefined && (typeof input.timeouts !== 'object' || input.timeouts === null))
    throw invalid('config.timeouts must be an object');
  const timeouts = { ...DEFAULT_TIMEOUTS, ...input.timeouts };
  for (const key of Object.keys(input.timeouts ?? {})) {
    if (!(key in DEFAULT_TIMEOUTS)) throw invalid(`unknown timeout "${key}"; known: ${Object.keys(DEFAULT_TIMEOUTS).join(', ')}`);
    nonNegative((timeouts as unknown as Record<string, unknown>)[key], `timeouts.${key}`);
  }
  nonNegative(input.expiryLeewayMs, 'expiryLeewayMs');
  const max = input.maxConcurrentRequests ?? 10;
  if (!(typeof max === 'number' && Math.floor(max) === max && max >= 1))
    throw invalid('config.maxConcurrentRequests must be an integer >= 1');
  const wxAdapter = input.wx ?? globalWx();
  if (wxAdapter === undefined) throw invalid('no global wx object; pass config.wx');
  requireFunctions(wxAdapter, 'wx', ['login', 'request', 'getStorageSync', 'setStorageSync', 'removeStorageSync']);
  const clock = input.clock ?? systemClock;
  requireFunctions(clock, 'clock', ['now', 'setTimeout', 'clearTimeout']);
  const logger = input.logger ?? console;
  requireFunctions(logger, 'logger', ['warn', 'error']);
  // Requests and uploads share one limiter: WeChat's network limit is per app.
  const network = { wx: wxAdapter, clock, limiter: new Limiter(max), baseURL: input.baseURL, defaultTimeoutMs: timeouts.request };
  return {
    source: input.source,
    baseURL: input.baseURL,
    backend: input.backend ?? createContractBackend(),
    userAuthHandler: input.userAuthHandler,
    tips: input.tips,
    pageTips: input.pageTips,
    isSessionExpired: input.isSessionExpired ?? defaultIsSessionExpired,
    authHeader: input.authHeader ?? ((state) => ({ Authorization: `Bearer ${state.accessToken}` })),
    noAuthUrls: input.noAuthUrls ?? [],
    shouldRenew: input.shouldRenew ?? (() => true),
    maxReplays,
    backoff,
    timeouts,
    expiryLeewayMs: input.expiryLeewayMs ?? 10_000,
    wx: wxAdapter,
    clock,
    logger,
    store: new SessionStore(wxAdapter, input.storageKey ?? DEFAULT_STORAGE_KEY, logger),
    transport: createTransport(network),
    upload: createUploader(network),
  };
}

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

/** Delay (ms) before retry number `attempt` (0-based): `baseDelayMs * 2^attempt`, capped, with "equal jitter". */
export function backoffDelay(backoff: Backoff, attempt: number): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * Math.pow(2, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * backoff.random());
}

/** A ticket is used only before its last `TICKET_LEEWAY_MS`, so it cannot expire on the way to the backend. */
function ticketUsable(opts: ResolvedOptions, ticket: Ticket | null): ticket is Ticket {
  return ticket !== null && opts.clock.now() < ticket.expiresAt - TICKET_LEEWAY_MS;
}

function toLoginError(error: unknown): LoginError {
  if (isLoginError(error)) return error;
  return new LoginError('LOGIN_FAILED', `login failed: ${String(error)}`, { cause: error });
}

/**
 * One login kit instance: its own options, state, storage key and locks. `Login` (package entry) is the default
 * one; `createLogin()` makes more. All methods but `config`/`onStateChange` need `config()` first.
 */
export class LoginKit {
  private options: ResolvedOptions | null = null;
  private state: LoginState | null = null;
  private flight: Flight | null = null;
  private ticket: Ticket | null = null;
  private epoch = 0;
  /** The user logged out on purpose: nothing logs them back in silently until they log in again. */
  private loggedOut = false;
  /** `RATE_LIMITED`: no login attempt before this time (epoch ms). */
  private rateLimitedUntil = 0;
  /** `USER_BLOCKED`: terminal for this app session; every later login rejects with it at once. */
  private blocked: LoginError | null = null;
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
    this.options = resolved;
    const stored = resolved.store.load();
    this.state = stored.state;
    this.loggedOut = stored.loggedOut;
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
    const opts = this.requireConfigured();
    const mode = this.checkCallOptions(options, 'login');
    if (mode !== 'force') {
      const state = this.freshState(opts);
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
    const mode = this.checkCallOptions(loginOpts, 'requestWithLogin loginOpts');
    if (this.isNoAuth(opts, request.url)) return opts.transport<T>(request);

    let state = await this.credentials({ mode, tips: loginOpts.tips });
    let { response, sent } = await this.send<T>(opts, request, state);
    const renewal: LoginCallOptions = { mode: mode === 'silent' ? 'silent' : 'common', tips: loginOpts.tips };
    for (let replays = 0; sent && opts.isSessionExpired(response); replays++) {
      if (!reTry || !opts.shouldRenew(response, request)) return response;
      if (replays >= opts.maxReplays) {
        throw new LoginError('SESSION_EXPIRED', `${request.url} still answered "session expired" after ${replays} replay(s)`, {
          statusCode: response.statusCode,
          backendCode: contractErrorCode(response.data),
          cause: response.data,
        });
      }
      state = await this.renewAfterExpiry(opts, sent, renewal);
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
    return this.freshState(this.requireConfigured()) !== null;
  }

  /**
   * The local login state, or null when logged out. The access token in it may be expired: `checkLogin()` tells.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  getState(): LoginState | null {
    this.requireConfigured();
    return this.state;
  }

  /**
   * The logged-in user, or null when logged out (or the backend sent no user).
   * @throws LoginError `NOT_CONFIGURED`.
   */
  getUser(): LoginUser | null {
    this.requireConfigured();
    return this.state ? this.state.user : null;
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
    const state = this.state;
    this.epoch++;
    this.state = null;
    this.ticket = null;
    this.loggedOut = true;
    opts.store.saveLoggedOut();
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
    if (!this.state || this.freshState(opts) || this.loggedOut) return;
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

  private checkCallOptions(options: LoginCallOptions, where: string): LoginMode {
    if (typeof options !== 'object' || options === null) throw invalid(`${where} must be an object such as {mode: "common"}`);
    const mode = options.mode ?? 'common';
    if (LOGIN_MODES.indexOf(mode) < 0) throw invalid(`${where}.mode must be one of ${LOGIN_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
    return mode;
  }

  /** The state if its access token is still valid now (with the leeway), else null. */
  private freshState(opts: ResolvedOptions): LoginState | null {
    const state = this.state;
    if (!state) return null;
    const lifetime = state.accessExpiresAt - state.accessIssuedAt;
    const leeway = Math.min(opts.expiryLeewayMs, Math.max(0, lifetime / 4));
    return opts.clock.now() < state.accessExpiresAt - leeway ? state : null;
  }

  /** Credentials for a request: a login per mode; for `silent`, null when the login fails. */
  private async credentials(call: LoginCallOptions): Promise<LoginState | null> {
    if (call.mode !== 'silent') return this.login(call);
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
      const current = this.state;
      if (sent && current && current.accessToken !== sent.accessToken && this.freshState(opts)) sent = current;
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
  private async renewAfterExpiry(opts: ResolvedOptions, sent: LoginState, renewal: LoginCallOptions): Promise<LoginState | null> {
    const current = this.state;
    if (current && current.accessToken === sent.accessToken && this.freshState(opts)) {
      const now = opts.clock.now();
      this.state = { ...current, accessIssuedAt: Math.min(current.accessIssuedAt, now), accessExpiresAt: now };
      opts.store.save(this.state);
      this.emit({ type: 'sessionExpired' });
    }
    return this.credentials(renewal);
  }

  private joinFlight(mode: LoginMode, tips: Partial<AuthTips> | undefined): Promise<LoginState> {
    const allowUI = mode !== 'silent';
    let flight = this.flight;
    if (!flight) {
      flight = this.startFlight(allowUI, tips, mode !== 'force');
    } else if (allowUI && !flight.allowUI) {
      flight.allowUI = true;
      flight.tips = tips;
    }
    return allowUI ? flight.full.promise : flight.silent.promise;
  }

  /** Starts a flight. Its permissions are set before it runs: it may reach the "show UI?" decision synchronously. */
  private startFlight(allowUI: boolean, tips: Partial<AuthTips> | undefined, refresh: boolean): Flight {
    const flight: Flight = { allowUI, tips, refresh, epoch: this.epoch, silent: deferred(), full: deferred() };
    this.flight = flight;
    this.runFlight(flight).then(flight.full.resolve, flight.full.reject);
    return flight;
  }

  private async runFlight(flight: Flight): Promise<LoginState> {
    const opts = this.requireConfigured();
    try {
      const previous = this.state;
      if (flight.refresh && previous) {
        const refreshed = await this.tryRefresh(opts, flight, previous);
        if (refreshed) {
          flight.silent.resolve(refreshed);
          return refreshed;
        }
        this.emit({ type: 'relogin' });
      }
      let ticket = this.loggedOut ? null : this.takeTicket(opts);
      if (!ticket && !this.loggedOut) {
        const outcome = await this.loginWithFreshCode(opts, { mode: 'silent' });
        if (outcome.status === 'ok') {
          const state = this.commit(opts, flight, outcome.session, 'login');
          flight.silent.resolve(state);
          return state;
        }
        ticket = outcome.loginTicket
          ? { value: outcome.loginTicket, expiresAt: opts.clock.now() + (outcome.ticketExpiresIn ?? 300) * 1000 }
          : null;
      }
      const authRequired = new LoginError(
        'AUTH_REQUIRED',
        this.loggedOut
          ? 'the user logged out; only a login through the UI brings them back'
          : 'the user must authorize to log in, and a silent login shows no UI',
      );
      flight.silent.reject(authRequired);
      if (!flight.allowUI) {
        this.ticket = ticket;
        throw authRequired;
      }
      let auth: Extract<AuthResult, { succeeded: true }>;
      try {
        auth = await this.authorizeUser(opts, flight);
      } catch (error) {
        this.ticket = ticket; // unused: the next attempt can skip wx.login
        throw error;
      }
      const payload = await this.uploadedPayload(opts, authPayload(auth));
      const outcome = await this.authorize(opts, ticket, payload);
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
    let session: BackendSession;
    try {
      session = await opts.backend.refresh(refreshToken, this.backendContext(opts));
    } catch (error) {
      const refreshError = toLoginError(error);
      this.emit({ type: 'refreshEnd', error: refreshError });
      const rejected = refreshError.statusCode !== undefined && refreshError.statusCode >= 400 && refreshError.statusCode < 500;
      if (!rejected) throw refreshError;
      if (this.state === previous) {
        this.state = null;
        opts.store.clear();
      }
      return null;
    }
    const state = this.commit(opts, flight, session, 'refresh');
    this.emit({ type: 'refreshEnd', state });
    return state;
  }

  /** Replaces a profile's temporary avatar path by the URL the backend stored it at (`backend.uploadAvatar`). */
  private async uploadedPayload(opts: ResolvedOptions, payload: Partial<BackendLoginRequest>): Promise<Partial<BackendLoginRequest>> {
    const profile = payload.profile;
    if (!profile || !profile.avatarUrl || /^https:\/\//i.test(profile.avatarUrl) || !opts.backend.uploadAvatar) return payload;
    const avatarUrl = await opts.backend.uploadAvatar(profile.avatarUrl, this.backendContext(opts));
    return { ...payload, profile: { ...profile, avatarUrl } };
  }

  /** Takes the cached ticket if it is still usable (single use). */
  private takeTicket(opts: ResolvedOptions): Ticket | null {
    const ticket = this.ticket;
    this.ticket = null;
    return ticketUsable(opts, ticket) ? ticket : null;
  }

  /** `mode:"authorize"` with the ticket while it is valid, else (or when the backend rejects it) with a fresh code. */
  private async authorize(
    opts: ResolvedOptions,
    ticket: Ticket | null,
    payload: Partial<BackendLoginRequest>,
  ): Promise<BackendLoginResult> {
    if (ticketUsable(opts, ticket)) {
      try {
        return await this.callBackend(opts, { mode: 'authorize', loginTicket: ticket.value, ...payload });
      } catch (error) {
        if (!(isLoginError(error) && error.backendCode === 'INVALID_TICKET')) throw error;
      }
    }
    return this.loginWithFreshCode(opts, { mode: 'authorize', ...payload });
  }

  /**
   * `wx.login` then the backend; each code is used at once and once. `INVALID_CODE` → one more fresh code;
   * `WECHAT_UNAVAILABLE` → up to `backoff.retries` more, after an exponential delay with jitter.
   */
  private async loginWithFreshCode(opts: ResolvedOptions, request: BackendLoginRequest): Promise<BackendLoginResult> {
    let invalidCodes = 0;
    let unavailable = 0;
    for (;;) {
      this.checkBackendGate(opts); // no wx.login either while the backend said "not now" or "never"
      const code = await this.wxLogin(opts);
      try {
        return await this.callBackend(opts, { ...request, code });
      } catch (error) {
        const backendCode = isLoginError(error) ? error.backendCode : undefined;
        if (backendCode === 'INVALID_CODE' && invalidCodes++ < 1) continue;
        if (backendCode === 'WECHAT_UNAVAILABLE' && unavailable < opts.backoff.retries) {
          await this.sleep(opts, backoffDelay(opts.backoff, unavailable++));
          continue;
        }
        throw error;
      }
    }
  }

  private sleep(opts: ResolvedOptions, ms: number): Promise<void> {
    return new Promise((resolve) => opts.clock.setTimeout(resolve, ms));
  }

  /** Rejects at once while a `RATE_LIMITED` answer's `retryAfter` runs, and forever after `USER_BLOCKED`. */
  private checkBackendGate(opts: ResolvedOptions): void {
    if (this.blocked) throw this.blocked;
    const wait = this.rateLimitedUntil - opts.clock.now();
    if (wait > 0)
      throw new LoginError('RATE_LIMITED', `too many logins; the next attempt is allowed in ${wait} ms`, {
        retryAfterMs: wait,
        backendCode: 'RATE_LIMITED',
      });
  }

  private async wxLogin(opts: ResolvedOptions): Promise<string> {
    const { wxLogin } = opts.timeouts;
    const result = await withTimeout(
      callWx<{ code: string }>(
        (callbacks) => opts.wx.login({ ...(wxLogin > 0 ? { timeout: wxLogin } : {}), ...callbacks }),
        'WX_LOGIN_FAILED',
        'wx.login',
      ),
      wxLogin,
      opts.clock,
      'wx.login',
    );
    if (!result || typeof result.code !== 'string' || result.code === '') {
      throw new LoginError('WX_LOGIN_FAILED', 'wx.login succeeded without a code', { cause: result });
    }
    return result.code;
  }

  private async callBackend(opts: ResolvedOptions, request: BackendLoginRequest): Promise<BackendLoginResult> {
    this.checkBackendGate(opts);
    let result: BackendLoginResult;
    try {
      result = await opts.backend.login(request, this.backendContext(opts));
    } catch (error) {
      const loginError = toLoginError(error);
      if (loginError.code === 'RATE_LIMITED') this.rateLimitedUntil = opts.clock.now() + (loginError.retryAfterMs ?? 60_000);
      if (loginError.code === 'USER_BLOCKED') this.blocked = loginError;
      throw loginError;
    }
    if (typeof result !== 'object' || result === null || (result.status !== 'ok' && result.status !== 'needsUser')) {
      throw new LoginError('LOGIN_FAILED', 'backend.login must resolve with {status: "ok", session} or {status: "needsUser"}', {
        cause: result,
      });
    }
    return result;
  }

  private backendContext(opts: ResolvedOptions): BackendContext {
    return { source: opts.source, request: opts.transport, uploadFile: opts.upload };
  }

  /** The tips of this login: defaults ← `config.tips` ← the page's tips (awaited; a throwing hook is logged) ← the call's. */
  private async mergedTips(opts: ResolvedOptions, flight: Flight): Promise<AuthTips> {
    let pageTips: unknown;
    try {
      pageTips = opts.pageTips ? await opts.pageTips() : undefined;
    } catch (error) {
      opts.logger.error(`${PACKAGE_NAME}: the page's $loginUserAuthTips() threw; using the other tips`, error);
    }
    return mergeTips(opts.logger, DEFAULT_AUTH_TIPS, [
      { where: 'config.tips', tips: opts.tips },
      { where: "the page's $loginUserAuthTips()", tips: pageTips },
      { where: 'loginOpts.tips', tips: flight.tips },
    ]);
  }

  /** Shows the login UI once, bounded by `timeouts.userAuth`; resolves with whatever the user answered. */
  private async askUser(opts: ResolvedOptions, tips: AuthTips): Promise<AuthResult> {
    const handler = opts.userAuthHandler;
    if (!handler) throw new LoginError('UI_UNAVAILABLE', 'the user must authorize but no userAuthHandler is configured');
    let result: unknown;
    try {
      result = await withTimeout(
        Promise.resolve().then(() => handler({ tips })),
        opts.timeouts.userAuth,
        opts.clock,
        'the user-auth step',
      );
    } catch (error) {
      if (isLoginError(error)) throw error;
      throw new LoginError('UI_UNAVAILABLE', `the login UI failed: ${String(error)}`, { cause: error });
    }
    if (!isAuthResult(result)) {
      throw new LoginError('UI_UNAVAILABLE', 'userAuthHandler must resolve with an AuthResult {succeeded, authType, data, errMsg}', {
        cause: result,
      });
    }
    return result;
  }

  /**
   * The user-auth step with the classic rejection recovery: when the user refused `userInfo` (errMsg "auth deny" /
   * "auth denied", or `authSetting['scope.userInfo'] === false`), a `wx.showModal` with the denied tips offers the
   * permission panel; its confirm is the tap `wx.openSetting` needs (base library >= 2.3.0). If the permission is then
   * granted, the UI is shown once more. Throws `AUTH_DENIED`, `AUTH_CANCELLED`, `PRIVACY_DENIED`,
   * `PHONE_QUOTA_EXCEEDED` for the other outcomes.
   */
  private async authorizeUser(opts: ResolvedOptions, flight: Flight): Promise<Extract<AuthResult, { succeeded: true }>> {
    const tips = await this.mergedTips(opts, flight);
    const first = await this.askUser(opts, tips);
    if (first.succeeded) return first;
    if (
      first.authType === 'userInfo' &&
      (await this.recentlyRefused(opts, first.errMsg)) &&
      (await this.offerPermissionPanel(opts, tips))
    ) {
      const second = await this.askUser(opts, tips);
      if (second.succeeded) return second;
      throw authFailure(second, true);
    }
    throw authFailure(first, false);
  }

  private async recentlyRefused(opts: ResolvedOptions, errMsg: string | undefined): Promise<boolean> {
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
  private offerPermissionPanel(opts: ResolvedOptions, tips: AuthTips): Promise<boolean> {
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

  /**
   * Makes a backend session the current state: memory and storage first (a rotated refresh token is written before
   * anyone waiting on it is released), then one `login` event for a login. Throws `LOGGED_OUT` (and revokes the new
   * session) when `logout()` was called since the flight started.
   */
  private commit(opts: ResolvedOptions, flight: Flight, session: BackendSession, via: 'login' | 'refresh'): LoginState {
    const now = opts.clock.now();
    const state: LoginState = {
      accessToken: session.accessToken,
      accessIssuedAt: now,
      accessExpiresAt: now + session.expiresIn * 1000,
      refreshToken: session.refreshToken,
      refreshExpiresAt: session.refreshToken && session.refreshExpiresIn ? now + session.refreshExpiresIn * 1000 : undefined,
      user: session.user ?? this.state?.user ?? null,
      isNewUser: via === 'login' ? session.isNewUser === true : (this.state?.isNewUser ?? false),
    };
    if (flight.epoch !== this.epoch) {
      void this.revoke(opts, state);
      throw new LoginError('LOGGED_OUT', 'logout() was called while this login was running; its session was discarded');
    }
    this.state = state;
    this.ticket = null;
    this.loggedOut = false;
    opts.store.save(state);
    if (via === 'login') this.emit({ type: 'login', state, isNewUser: state.isNewUser });
    return state;
  }

  private async revoke(opts: ResolvedOptions, state: LoginState): Promise<void> {
    if (!opts.backend.logout) return;
    try {
      await opts.backend.logout(state, this.backendContext(opts));
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
