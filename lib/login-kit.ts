/**
 * The login state machine: modes, single flight, the user-auth step, re-login and retry on session expiry.
 * Framework-free: it talks to the world only through the injected `wx` adapter, clock, backend adapter and
 * `userAuthHandler` (the package entry wires the default page UI in).
 */
import { createContractBackend, contractErrorCode } from './contract-backend';
import { LoginError, PACKAGE_NAME, isLoginError } from './errors';
import { Limiter } from './limiter';
import { callWx, systemClock, withTimeout, type Clock, type Logger, type WxAdapter } from './runtime';
import { SessionStore } from './session-store';
import { DEFAULT_AUTH_TIPS, mergeTips } from './tips';
import { createTransport } from './transport';
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
  Transport,
  UserAuthHandler,
} from './types';

/** Bounds (ms) of each step; 0 disables a bound. */
export interface LoginTimeouts {
  /** `wx.login` (default 10 000 ms). */
  wxLogin: number;
  /** Each HTTP request, unless the request sets its own `timeout` (default 20 000 ms). */
  request: number;
  /** The user-auth step, i.e. the user looking at the login UI (default 600 000 ms = 10 minutes). */
  userAuth: number;
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
  timeouts: LoginTimeouts;
  expiryLeewayMs: number;
  wx: WxAdapter;
  clock: Clock;
  logger: Logger;
  store: SessionStore;
  transport: Transport;
}

/** One login shared by every caller that arrives while it runs. */
interface Flight {
  /** Set when a `common`/`force` caller joins: the flight may then show the login UI. */
  allowUI: boolean;
  /** `loginOpts.tips` of the first caller that allowed UI. */
  tips?: Partial<AuthTips>;
  /** `logout()` count when the flight started; a logout during the flight discards its session. */
  epoch: number;
  /** Settles when the silent part is decided: silent callers wait for this, never for the UI. */
  silent: Promise<LoginState>;
  /** Settles when the whole login (UI included) is done. */
  full: Promise<LoginState>;
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
  'source', 'baseURL', 'backend', 'userAuthHandler', 'tips', 'pageTips', 'isSessionExpired', 'authHeader',
  'storageKey', 'timeouts', 'expiryLeewayMs', 'maxConcurrentRequests', 'wx', 'clock', 'logger',
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
    if (OPTION_KEYS.indexOf(key as keyof LoginOptions) < 0) throw invalid(`unknown option "${key}"; known options: ${OPTION_KEYS.join(', ')}`);
  }
  if (typeof input.source !== 'string' || input.source.trim() === '') throw invalid('config.source must be a non-empty string naming this mini-program');
  if (input.baseURL !== undefined && (typeof input.baseURL !== 'string' || !/^https?:\/\/[^/]/i.test(input.baseURL))) {
    throw invalid(`config.baseURL must be an http(s) URL such as "https://api.example.com", got ${JSON.stringify(input.baseURL)}`);
  }
  if (input.backend === undefined && input.baseURL === undefined) throw invalid('config.baseURL is required unless a custom config.backend is given');
  if (input.backend !== undefined) requireFunctions(input.backend, 'backend', ['login']);
  optionalFunction(input.userAuthHandler, 'userAuthHandler');
  optionalFunction(input.pageTips, 'pageTips');
  optionalFunction(input.isSessionExpired, 'isSessionExpired');
  optionalFunction(input.authHeader, 'authHeader');
  if (input.tips !== undefined && (typeof input.tips !== 'object' || input.tips === null)) throw invalid('config.tips must be an object of tips');
  if (input.storageKey !== undefined && (typeof input.storageKey !== 'string' || input.storageKey === '')) throw invalid('config.storageKey must be a non-empty string');
  if (input.timeouts !== undefined && (typeof input.timeouts !== 'object' || input.timeouts === null)) throw invalid('config.timeouts must be an object');
  const timeouts = { ...DEFAULT_TIMEOUTS, ...input.timeouts };
  for (const key of Object.keys(input.timeouts ?? {})) {
    if (!(key in DEFAULT_TIMEOUTS)) throw invalid(`unknown timeout "${key}"; known: ${Object.keys(DEFAULT_TIMEOUTS).join(', ')}`);
    nonNegative((timeouts as unknown as Record<string, unknown>)[key], `timeouts.${key}`);
  }
  nonNegative(input.expiryLeewayMs, 'expiryLeewayMs');
  const max = input.maxConcurrentRequests ?? 10;
  if (!(typeof max === 'number' && Math.floor(max) === max && max >= 1)) throw invalid('config.maxConcurrentRequests must be an integer >= 1');
  const wxAdapter = input.wx ?? globalWx();
  if (wxAdapter === undefined) throw invalid('no global wx object; pass config.wx');
  requireFunctions(wxAdapter, 'wx', ['login', 'request', 'getStorageSync', 'setStorageSync', 'removeStorageSync']);
  const clock = input.clock ?? systemClock;
  requireFunctions(clock, 'clock', ['now', 'setTimeout', 'clearTimeout']);
  const logger = input.logger ?? console;
  requireFunctions(logger, 'logger', ['warn', 'error']);
  return {
    source: input.source,
    baseURL: input.baseURL,
    backend: input.backend ?? createContractBackend(),
    userAuthHandler: input.userAuthHandler,
    tips: input.tips,
    pageTips: input.pageTips,
    isSessionExpired: input.isSessionExpired ?? defaultIsSessionExpired,
    authHeader: input.authHeader ?? ((state) => ({ Authorization: `Bearer ${state.accessToken}` })),
    timeouts,
    expiryLeewayMs: input.expiryLeewayMs ?? 10_000,
    wx: wxAdapter,
    clock,
    logger,
    store: new SessionStore(wxAdapter, input.storageKey ?? DEFAULT_STORAGE_KEY, logger),
    transport: createTransport({ wx: wxAdapter, clock, limiter: new Limiter(max), baseURL: input.baseURL, defaultTimeoutMs: timeouts.request }),
  };
}

function isAuthResult(value: unknown): value is AuthResult {
  return typeof value === 'object' && value !== null && typeof (value as { succeeded?: unknown }).succeeded === 'boolean';
}

/** The backend fields for what the user authorized; throws `LOGIN_FAILED` when the UI's data is incomplete. */
function authPayload(result: Extract<AuthResult, { succeeded: true }>): Partial<BackendLoginRequest> {
  const incomplete = (what: string) => new LoginError('LOGIN_FAILED', `the login UI reported success for "${result.authType}" without ${what}`, { cause: result });
  const data = result.data as unknown as Record<string, unknown> | undefined;
  if (typeof data !== 'object' || data === null) throw incomplete('data');
  switch (result.authType) {
    case 'userInfo': {
      const { rawData, signature, encryptedData, iv } = result.data;
      if ([rawData, signature, encryptedData, iv].some((v) => typeof v !== 'string')) throw incomplete('rawData/signature/encryptedData/iv');
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
    this.state = resolved.store.load();
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
   * When the answer says the session expired (`config.isSessionExpired`): if another call already logged in again,
   * the request is replayed with those credentials; otherwise the local state is cleared, the kit logs in again
   * (one login for all such callers) and replays the request once. Resolves with the response for any HTTP status.
   * - `common`/`force`: a failed or cancelled login rejects and the request is not sent.
   * - `silent`: a failed login sends the request without credentials and resolves with whatever the backend answers.
   * @throws LoginError `SESSION_EXPIRED` (still expired after the retry), `NETWORK_ERROR`, `TIMEOUT`, `INVALID_OPTIONS`,
   *   `NOT_CONFIGURED`, and every `login()` error in `common`/`force` mode.
   */
  async requestWithLogin<T = unknown>(options: RequestWithLoginOptions): Promise<RequestResponse<T>> {
    const opts = this.requireConfigured();
    if (typeof options !== 'object' || options === null || typeof options.url !== 'string' || options.url === '') {
      throw invalid('requestWithLogin(options) expects {url, ...wx.request options, loginOpts?}');
    }
    const { loginOpts = {}, ...request } = options;
    const mode = this.checkCallOptions(loginOpts, 'requestWithLogin loginOpts');
    const relogin: LoginCallOptions = { mode: mode === 'silent' ? 'silent' : 'common', tips: loginOpts.tips };

    const state = await this.credentials({ mode, tips: loginOpts.tips });
    const response = await this.send<T>(opts, request, state);
    if (!state || !opts.isSessionExpired(response)) return response;

    const renewed = await this.renewAfterExpiry(opts, state, relogin);
    if (!renewed) return response;
    const retried = await this.send<T>(opts, request, renewed);
    if (opts.isSessionExpired(retried)) {
      throw new LoginError('SESSION_EXPIRED', `${request.url} still answered "session expired" after logging in again`, {
        statusCode: retried.statusCode,
        backendCode: contractErrorCode(retried.data),
        cause: retried.data,
      });
    }
    return retried;
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
   * Logs out: clears the local state and storage at once, fails a login still running with `LOGGED_OUT`, then asks
   * the backend to revoke the session (contract `POST /auth/logout`; a failure there is logged, never thrown).
   * @throws LoginError `NOT_CONFIGURED`.
   */
  async logout(): Promise<void> {
    const opts = this.requireConfigured();
    const state = this.state;
    this.epoch++;
    this.state = null;
    this.ticket = null;
    opts.store.clear();
    if (!state) return;
    this.emit({ type: 'logout' });
    await this.revoke(opts, state);
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

  private send<T>(opts: ResolvedOptions, request: RequestOptions, state: LoginState | null): Promise<RequestResponse<T>> {
    const header = state ? { ...request.header, ...opts.authHeader(state) } : request.header;
    return opts.transport<T>({ ...request, header });
  }

  /**
   * After a "session expired" answer to a request sent with `sent`: reuse a session that replaced it, or clear it
   * (once, whoever comes first) and log in again. Null when a silent re-login fails.
   */
  private async renewAfterExpiry(opts: ResolvedOptions, sent: LoginState, relogin: LoginCallOptions): Promise<LoginState | null> {
    const current = this.state;
    if (current && current.accessToken !== sent.accessToken && this.freshState(opts)) return current;
    if (current && current.accessToken === sent.accessToken) {
      this.state = null;
      opts.store.clear();
      this.emit({ type: 'sessionExpired' });
    }
    return this.credentials(relogin);
  }

  private joinFlight(mode: LoginMode, tips: Partial<AuthTips> | undefined): Promise<LoginState> {
    const allowUI = mode !== 'silent';
    let flight = this.flight;
    if (!flight) {
      flight = this.startFlight(allowUI, tips);
    } else if (allowUI && !flight.allowUI) {
      flight.allowUI = true;
      flight.tips = tips;
    }
    return allowUI ? flight.full : flight.silent;
  }

  /** Starts a flight. Its permissions are set before it runs: it may reach the "show UI?" decision synchronously. */
  private startFlight(allowUI: boolean, tips: Partial<AuthTips> | undefined): Flight {
    let settleSilent!: { resolve: (state: LoginState) => void; reject: (error: LoginError) => void };
    const silent = new Promise<LoginState>((resolve, reject) => (settleSilent = { resolve, reject }));
    const flight: Flight = { allowUI, tips, epoch: this.epoch, silent, full: silent };
    this.flight = flight;
    flight.full = this.runFlight(flight, settleSilent);
    // Either promise may have no caller waiting on it; its outcome still reaches the callers of the other.
    silent.catch(() => undefined);
    flight.full.catch(() => undefined);
    return flight;
  }

  private async runFlight(
    flight: Flight,
    silentPhase: { resolve: (state: LoginState) => void; reject: (error: LoginError) => void },
  ): Promise<LoginState> {
    const opts = this.requireConfigured();
    try {
      let ticket = this.takeTicket(opts);
      if (!ticket) {
        const outcome = await this.loginWithFreshCode(opts, { mode: 'silent' });
        if (outcome.status === 'ok') {
          const state = this.commit(opts, flight, outcome.session);
          silentPhase.resolve(state);
          return state;
        }
        ticket = outcome.loginTicket
          ? { value: outcome.loginTicket, expiresAt: opts.clock.now() + (outcome.ticketExpiresIn ?? 300) * 1000 }
          : null;
      }
      const authRequired = new LoginError('AUTH_REQUIRED', 'the user must authorize to log in, and a silent login shows no UI');
      silentPhase.reject(authRequired);
      if (!flight.allowUI) {
        this.ticket = ticket;
        throw authRequired;
      }
      let auth: Extract<AuthResult, { succeeded: true }>;
      try {
        auth = await this.askUser(opts, flight);
      } catch (error) {
        this.ticket = ticket; // unused: the next attempt can skip wx.login
        throw error;
      }
      const payload = authPayload(auth);
      const outcome = await this.authorize(opts, ticket, payload);
      if (outcome.status !== 'ok') {
        throw new LoginError('LOGIN_FAILED', 'the backend still asks for user authorization after the user authorized');
      }
      return this.commit(opts, flight, outcome.session);
    } catch (error) {
      const loginError = toLoginError(error);
      silentPhase.reject(loginError);
      this.emit({ type: 'loginFailed', error: loginError });
      throw loginError;
    } finally {
      if (this.flight === flight) this.flight = null;
    }
  }

  /** Takes the cached ticket if it is still usable (single use). */
  private takeTicket(opts: ResolvedOptions): Ticket | null {
    const ticket = this.ticket;
    this.ticket = null;
    return ticket && opts.clock.now() < ticket.expiresAt - TICKET_LEEWAY_MS ? ticket : null;
  }

  /** `mode:"authorize"` with the ticket while it is valid, else (or when the backend rejects it) with a fresh code. */
  private async authorize(opts: ResolvedOptions, ticket: Ticket | null, payload: Partial<BackendLoginRequest>): Promise<BackendLoginResult> {
    if (ticket && opts.clock.now() < ticket.expiresAt - TICKET_LEEWAY_MS) {
      try {
        return await this.callBackend(opts, { mode: 'authorize', loginTicket: ticket.value, ...payload });
      } catch (error) {
        if (!(isLoginError(error) && error.backendCode === 'INVALID_TICKET')) throw error;
      }
    }
    return this.loginWithFreshCode(opts, { mode: 'authorize', ...payload });
  }

  /** `wx.login` then the backend, used at once and once; on `INVALID_CODE` one more fresh code. */
  private async loginWithFreshCode(opts: ResolvedOptions, request: BackendLoginRequest): Promise<BackendLoginResult> {
    for (let attempt = 1; ; attempt++) {
      const code = await this.wxLogin(opts);
      try {
        return await this.callBackend(opts, { ...request, code });
      } catch (error) {
        if (attempt >= 2 || !(isLoginError(error) && error.backendCode === 'INVALID_CODE')) throw error;
      }
    }
  }

  private async wxLogin(opts: ResolvedOptions): Promise<string> {
    const { wxLogin } = opts.timeouts;
    const result = await withTimeout(
      callWx<{ code: string }>((callbacks) => opts.wx.login({ ...(wxLogin > 0 ? { timeout: wxLogin } : {}), ...callbacks }), 'WX_LOGIN_FAILED', 'wx.login'),
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
    let result: BackendLoginResult;
    try {
      result = await opts.backend.login(request, this.backendContext(opts));
    } catch (error) {
      throw toLoginError(error);
    }
    if (typeof result !== 'object' || result === null || (result.status !== 'ok' && result.status !== 'needsUser')) {
      throw new LoginError('LOGIN_FAILED', 'backend.login must resolve with {status: "ok", session} or {status: "needsUser"}', { cause: result });
    }
    return result;
  }

  private backendContext(opts: ResolvedOptions): BackendContext {
    return { source: opts.source, request: opts.transport };
  }

  /** Shows the login UI with the merged tips and returns a successful result; throws the typed failure otherwise. */
  private async askUser(opts: ResolvedOptions, flight: Flight): Promise<Extract<AuthResult, { succeeded: true }>> {
    const handler = opts.userAuthHandler;
    if (!handler) throw new LoginError('UI_UNAVAILABLE', 'the user must authorize but no userAuthHandler is configured');
    let pageTips: unknown;
    try {
      pageTips = opts.pageTips ? await opts.pageTips() : undefined;
    } catch (error) {
      opts.logger.error(`${PACKAGE_NAME}: the page's $loginUserAuthTips() threw; using the other tips`, error);
    }
    const tips = mergeTips(opts.logger, DEFAULT_AUTH_TIPS, [
      { where: 'config.tips', tips: opts.tips },
      { where: "the page's $loginUserAuthTips()", tips: pageTips },
      { where: 'loginOpts.tips', tips: flight.tips },
    ]);
    let result: unknown;
    try {
      result = await withTimeout(Promise.resolve().then(() => handler({ tips })), opts.timeouts.userAuth, opts.clock, 'the user-auth step');
    } catch (error) {
      if (isLoginError(error)) throw error;
      throw new LoginError('UI_UNAVAILABLE', `the login UI failed: ${String(error)}`, { cause: error });
    }
    if (!isAuthResult(result)) {
      throw new LoginError('UI_UNAVAILABLE', 'userAuthHandler must resolve with an AuthResult {succeeded, authType, data, errMsg}', { cause: result });
    }
    if (!result.succeeded) {
      const errMsg = typeof result.errMsg === 'string' ? result.errMsg : 'cancel';
      const denied = /auth den(y|ied)/i.test(errMsg);
      throw new LoginError(denied ? 'AUTH_DENIED' : 'AUTH_CANCELLED', denied ? 'the user refused the authorization' : 'the user cancelled the login', { errMsg });
    }
    return result;
  }

  /** Makes a backend session the current state (memory, storage, one `login` event). */
  private commit(opts: ResolvedOptions, flight: Flight, session: BackendSession): LoginState {
    if (flight.epoch !== this.epoch) {
      const now = opts.clock.now();
      void this.revoke(opts, { accessToken: session.accessToken, refreshToken: session.refreshToken, accessIssuedAt: now, accessExpiresAt: now, user: null, isNewUser: false });
      throw new LoginError('LOGGED_OUT', 'logout() was called while this login was running; its session was discarded');
    }
    const now = opts.clock.now();
    const state: LoginState = {
      accessToken: session.accessToken,
      accessIssuedAt: now,
      accessExpiresAt: now + session.expiresIn * 1000,
      refreshToken: session.refreshToken,
      refreshExpiresAt: session.refreshToken && session.refreshExpiresIn ? now + session.refreshExpiresIn * 1000 : undefined,
      user: session.user ?? null,
      isNewUser: session.isNewUser === true,
    };
    this.state = state;
    this.ticket = null;
    opts.store.save(state);
    this.emit({ type: 'login', state, isNewUser: state.isNewUser });
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
