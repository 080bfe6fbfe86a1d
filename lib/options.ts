/**
 * The kit's options: what `Login.config()` accepts, the defaults, and `resolveOptions`, the one place where every
 * option is checked (a bad one throws `INVALID_OPTIONS` saying what was expected) — all of them before anything is
 * changed, so a rejected `config()` leaves the kit as it was. The transport and the backend context are built here
 * once per `config()`. The privacy options are checked by the privacy router the kit was made with (`PrivacySetup`).
 */
import { createContractBackend, contractErrorCode } from './contract-backend';
import { LoginError } from './errors';
import { MIN_BASE_LIBRARY, compareVersions, sdkVersion, unsupported } from './base-library';
import type { Limiter } from './limiter';
import type { CallKind } from './transport';
import { globalWx, systemClock, type Clock, type Logger, type WxAdapter } from './runtime';
import { checkTips } from './tips';
import { Watchdog, authLane, originOf, type NetworkOptions } from './transport';
import type { NeedPrivacyAuthorizationListener } from './wechat-types';
import type {
  AfterResponseHook,
  AuthTips,
  BackendContext,
  BeforeRequestHook,
  Hooks,
  LoginBackend,
  LoginState,
  RequestOptions,
  RequestResponse,
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
  /** Each call of the backend adapter (`login`, `refresh`, `uploadAvatar`, `bind`, `logout`), for adapters that never settle (default 30 000 ms). */
  backend: number;
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
  /** A custom backend adapter; default: the contract adapter (`docs/contract.md`). */
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
   * Origins besides `baseURL`'s that may receive the credentials, e.g. `['https://upload.example.com']` (scheme, host
   * and port; a path is ignored). A request to any other origin goes out at once without a token, and its "session
   * expired" answers renew nothing (contract: tokens go only to the API's own origin).
   */
  trustedOrigins?: string[];
  /**
   * Who shows WeChat's privacy agreement (base library >= 2.32.3). `'official'` (default): WeChat's own popup — the
   * kit registers no `wx.onNeedPrivacyAuthorization` listener (registering one switches the official popup off for
   * the whole app, and cannot be undone), and calls `wx.requirePrivacyAuthorize` before it shows the profile form.
   * `'kit'`: the AuthModal / login page show the agreement in their own UI; the kit then registers the app's one
   * listener, so `privacyAppHandler` is required for privacy requests that arrive while no kit UI is visible.
   */
  privacy?: 'official' | 'kit';
  /** With `privacy: 'kit'`: the app's own privacy UI for requests that arrive while no kit UI is visible (WeChat's listener signature). */
  privacyAppHandler?: NeedPrivacyAuthorizationListener;
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
  /** Most `wx.request`s (and, separately, `wx.uploadFile`s and `wx.downloadFile`s) the kit runs at once (default 10, WeChat's limit for each). */
  maxConcurrentRequests?: number;
  /** The `wx` object; default the global `wx`. */
  wx?: WxAdapter;
  /** Time source; default `Date.now` and global timers. */
  clock?: Clock;
  /** Where diagnostics go; default `console` (see `realtimeLog` for WeChat's real-time log). */
  logger?: Logger;
  /** `beforeRequest` / `afterResponse` hooks and the `onTiming` report, for every request, upload and download. */
  hooks?: Hooks;
}

/** `LoginOptions` checked, with every default filled in. Internal to the core. */
export interface ResolvedOptions {
  source: string;
  baseURL?: string;
  backend: LoginBackend;
  userAuthHandler?: UserAuthHandler;
  tips?: Partial<AuthTips>;
  pageTips?: () => unknown;
  isSessionExpired: (response: RequestResponse) => boolean;
  authHeader: (state: LoginState) => Record<string, string>;
  /** Origins that receive credentials: `baseURL`'s and `trustedOrigins`. */
  apiOrigins: string[];
  /** `baseURL` without its trailing slashes ('' without one): a relative URL `/x` goes to `apiBase + '/x'`. */
  apiBase: string;
  noAuthUrls: Array<string | RegExp>;
  shouldRenew: (response: RequestResponse, request: RequestOptions) => boolean;
  maxReplays: number;
  backoff: Backoff;
  timeouts: LoginTimeouts;
  expiryLeewayMs: number;
  storageKey: string;
  wx: WxAdapter;
  clock: Clock;
  logger: Logger;
  /** `maxConcurrentRequests`: the `max` of each of the kit's limiters, set by `config()` once every option passed. */
  maxConcurrentRequests: number;
  /** Applies `privacy` / `privacyAppHandler` (checked already) to the kit's privacy router; a no-op without one. */
  applyPrivacy: () => void;
  hooks: { beforeRequest: BeforeRequestHook[]; afterResponse: AfterResponseHook[]; onTiming?: Hooks['onTiming'] };
  /** The kit's network layer (the kit instance's limiters, one per kind). */
  network: NetworkOptions;
  /** What the backend adapter gets: `source`, and the auth lane's request and upload. */
  context: BackendContext;
}

const DEFAULT_TIMEOUTS: LoginTimeouts = { wxLogin: 10_000, request: 20_000, userAuth: 600_000, backend: 30_000 };
const DEFAULT_STORAGE_KEY = 'miniprogram-login-kit:session';

const OPTION_KEYS: ReadonlyArray<keyof LoginOptions> = [
  'source',
  'baseURL',
  'backend',
  'userAuthHandler',
  'tips',
  'pageTips',
  'isSessionExpired',
  'authHeader',
  'trustedOrigins',
  'privacy',
  'privacyAppHandler',
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
  'hooks',
];

/** Default `isSessionExpired`: HTTP 401, or a contract body code `TOKEN_EXPIRED`/`TOKEN_INVALID`. */
export function defaultIsSessionExpired(response: RequestResponse): boolean {
  if (response.statusCode === 401) return true;
  const code = contractErrorCode(response.data);
  return code === 'TOKEN_EXPIRED' || code === 'TOKEN_INVALID';
}

/**
 * The contract's credentials header, `Authorization: Bearer <access token>`: one object per session state, not per
 * request (callers copy it before changing anything).
 */
function bearerHeader(): (state: LoginState) => Record<string, string> {
  let last: LoginState | null = null;
  let header: Record<string, string> = {};
  return (state) => {
    if (state !== last) {
      last = state;
      header = { Authorization: `Bearer ${state.accessToken}` };
    }
    return header;
  };
}

/**
 * Who shows the privacy agreement in the kit's own UI: the package entry passes its privacy router (`hub/privacy.ts`),
 * the one place that knows `config.privacy` and `config.privacyAppHandler`.
 */
export interface PrivacySetup {
  /**
   * Checks `config.privacy` and `config.privacyAppHandler` and returns the function that applies them; changes nothing.
   * @throws LoginError `INVALID_OPTIONS` saying what was expected.
   */
  prepare(privacy: unknown, appHandler: unknown): () => void;
}

const noop = (): void => undefined;

/** `INVALID_OPTIONS` with `message`. */
export function invalid(message: string): LoginError {
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

/** The origins of `baseURL` and `trustedOrigins`; throws `INVALID_OPTIONS` for an entry that is not an http(s) URL. */
function apiOrigins(baseURL: string | undefined, trusted: unknown): string[] {
  if (trusted !== undefined && !Array.isArray(trusted)) throw invalid('config.trustedOrigins must be an array of origins');
  const origins = baseURL ? [originOf(baseURL) as string] : [];
  for (const entry of (trusted ?? []) as unknown[]) {
    const origin = typeof entry === 'string' && /^https?:/i.test(entry) ? originOf(entry) : null;
    if (!origin)
      throw invalid(`config.trustedOrigins entries must be origins such as "https://upload.example.com", got ${JSON.stringify(entry)}`);
    origins.push(origin);
  }
  return origins;
}

/** Checks `config.hooks`; throws `INVALID_OPTIONS`. */
function resolveHooks(hooks: unknown): ResolvedOptions['hooks'] {
  if (hooks === undefined) return { beforeRequest: [], afterResponse: [] };
  if (typeof hooks !== 'object' || hooks === null) throw invalid('config.hooks must be an object {beforeRequest, afterResponse, onTiming}');
  const h = hooks as Record<string, unknown>;
  for (const key of Object.keys(h)) {
    if (['beforeRequest', 'afterResponse', 'onTiming'].indexOf(key) < 0)
      throw invalid(`unknown hook "${key}"; known: beforeRequest, afterResponse, onTiming`);
  }
  const list = (name: string) => {
    const value = h[name] ?? [];
    if (!Array.isArray(value) || value.some((f) => typeof f !== 'function'))
      throw invalid(`config.hooks.${name} must be an array of functions`);
    return value;
  };
  optionalFunction(h.onTiming, 'hooks.onTiming');
  return {
    beforeRequest: list('beforeRequest') as BeforeRequestHook[],
    afterResponse: list('afterResponse') as AfterResponseHook[],
    onTiming: h.onTiming as Hooks['onTiming'],
  };
}

/**
 * Checks `config()` options and resolves them; changes nothing outside what it returns. `limiters` are the kit
 * instance's (kept across `config()` calls; `config()` sets their `max`); `privacy` the kit's privacy router, if any.
 * @throws LoginError `INVALID_OPTIONS` saying what was expected; `UNSUPPORTED_BASE_LIBRARY` below 2.11.0.
 */
export function resolveOptions(input: LoginOptions, limiters: Record<CallKind, Limiter>, privacy?: PrivacySetup): ResolvedOptions {
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
  if (input.tips !== undefined) checkTips(input.tips, 'config.tips');
  let applyPrivacy = noop;
  if (privacy) applyPrivacy = privacy.prepare(input.privacy, input.privacyAppHandler);
  else if (input.privacy !== undefined && input.privacy !== 'official') {
    throw invalid('config.privacy "kit" needs a kit with a login UI (createLogin())');
  }
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
  const version = sdkVersion(wxAdapter);
  if (version !== undefined && compareVersions(version, MIN_BASE_LIBRARY) < 0)
    throw unsupported('miniprogram-login-kit', MIN_BASE_LIBRARY, wxAdapter);
  const clock = input.clock ?? systemClock;
  requireFunctions(clock, 'clock', ['now', 'setTimeout', 'clearTimeout']);
  const logger = input.logger ?? console;
  requireFunctions(logger, 'logger', ['warn', 'error']);
  const origins = apiOrigins(input.baseURL, input.trustedOrigins);
  const network: NetworkOptions = {
    wx: wxAdapter,
    clock,
    limiters,
    baseURL: input.baseURL,
    defaultTimeoutMs: timeouts.request,
    watchdog: new Watchdog(clock),
  };
  const hooks = resolveHooks(input.hooks);
  return {
    source: input.source,
    baseURL: input.baseURL,
    backend: input.backend ?? createContractBackend(),
    userAuthHandler: input.userAuthHandler,
    tips: input.tips,
    pageTips: input.pageTips,
    isSessionExpired: input.isSessionExpired ?? defaultIsSessionExpired,
    authHeader: input.authHeader ?? bearerHeader(),
    apiOrigins: origins,
    apiBase: input.baseURL ? input.baseURL.replace(/\/+$/, '') : '',
    maxConcurrentRequests: max,
    applyPrivacy,
    noAuthUrls: input.noAuthUrls ?? [],
    shouldRenew: input.shouldRenew ?? (() => true),
    maxReplays,
    backoff,
    timeouts,
    expiryLeewayMs: input.expiryLeewayMs ?? 10_000,
    wx: wxAdapter,
    clock,
    logger,
    storageKey: input.storageKey ?? DEFAULT_STORAGE_KEY,
    hooks,
    network,
    context: { source: input.source, ...authLane(network) },
  };
}
