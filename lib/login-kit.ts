/**
 * The public class: the kit's methods, their argument checks, `config()`, logout and the events. Framework-free: it
 * talks to the world only through the injected `wx` adapter, clock, backend adapter and `userAuthHandler` (the package
 * entry wires the default page UI and the privacy router in). Below it, each concept has one room, and calls only go
 * down: the request path (`authorized-call.ts`: hooks, loading, timing) → the session gate (`request-gate.ts`: the URL
 * rule, credentials at dispatch, the verdict in the slot, replay) → the step-ups (`step-up.ts`) → the flight
 * (`flight.ts`: the session reused or renewed once for every caller, and the one rule for an expired session) → the
 * code exchange (`code-login.ts`) and the user-authorization step (`user-auth.ts`) → the session (`session.ts`) and the
 * network (`transport.ts`). They share the instance's state through one `KitContext` (`context.ts`).
 */
import { deleteAccount, type DeleteAccountOptions } from './account';
import { authorizedCall } from './authorized-call';
import { KitContext } from './context';
import { PACKAGE_NAME } from './errors';
import { SingleFlight, revoke } from './flight';
import { modeOf } from './modes';
import { invalid, resolveOptions, type LoginOptions, type PrivacySetup } from './options';
import { Gate, type AuthorizeOptions, type Authorized, type LoginHandle, type ReplayDecision } from './request-gate';
import { Session } from './session';
import { StepUps, type RequireOptions, type StepUpKind } from './step-up';
import { checkTips } from './tips';
import { RequestControl } from './transport';
import type {
  AccountDeletion,
  AnswerLike,
  DownloadFileWithLoginOptions,
  DownloadResponse,
  LoginCallOptions,
  LoginEventListener,
  LoginState,
  LoginUser,
  RequestResponse,
  RequestWithLoginOptions,
  UploadFileWithLoginOptions,
} from './types';

export type { LoginOptions } from './options';

/**
 * One login kit instance: its own options, state, storage key and locks. `Login` (package entry) is the default
 * one; `createLogin()` makes more. All methods but `config`/`onStateChange` need `config()` first.
 */
export class LoginKit {
  /** The state the rooms below share. */
  private readonly kit: KitContext;
  private readonly flight: SingleFlight;
  private readonly stepUps: StepUps;
  private readonly gate: Gate;

  /**
   * @param defaults options merged under every `config()` call (the package entry passes the page UI here).
   * @param privacy who can show the privacy agreement in the kit's own UI (the package entry passes its privacy
   *   router). Without it, `config({privacy: 'kit'})` is refused with `INVALID_OPTIONS`: a bare `LoginKit` has no UI
   *   to show the agreement in.
   */
  constructor(
    private readonly defaults: Partial<LoginOptions> = {},
    private readonly privacy?: PrivacySetup,
  ) {
    this.kit = new KitContext(defaults.logger);
    this.flight = new SingleFlight(this.kit);
    this.stepUps = new StepUps(this.kit, this.flight);
    this.gate = new Gate(this.kit, this.flight, this.stepUps);
  }

  /**
   * Sets the options and restores the stored login state (corrupt or missing data: logged out).
   * Call once at launch (e.g. `App.onLaunch`); a later call replaces the options for later calls, keeps the session in
   * memory when the storage key is the same, and keeps the limiters (their `max` follows the options). Everything is
   * checked before anything changes: a call that throws leaves the kit exactly as it was.
   * @throws LoginError `INVALID_OPTIONS` with a message saying what was expected; `UNSUPPORTED_BASE_LIBRARY` below
   *   base library 2.11.0.
   */
  config(options: LoginOptions): void {
    const { kit } = this;
    const merged = { ...this.defaults, ...options } as LoginOptions;
    const resolved = resolveOptions(merged, kit.limiters, this.privacy);
    const previous = kit.options;
    const { wx, storageKey, logger, clock, expiryLeewayMs, apiBase } = resolved;
    const session = new Session(wx, storageKey, logger, clock, expiryLeewayMs, apiBase);
    // The session in memory carries over only to the same storage and the same API: it belongs to the issuing origin.
    if (previous && previous.storageKey === storageKey && previous.wx === wx && previous.apiBase === apiBase) session.adopt(kit.session);
    else session.load();
    // Nothing above changed the kit; from here on nothing throws.
    for (const limiter of Object.values(kit.limiters)) limiter.max = resolved.maxConcurrentRequests;
    resolved.applyPrivacy();
    kit.options = resolved;
    kit.session = session;
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
    this.kit.opts();
    const mode = modeOf(options, 'login');
    return this.flight.ensure({ mode, tips: options.tips });
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
  requestWithLogin<T = unknown>(options: RequestWithLoginOptions): Promise<RequestResponse<T>> {
    return authorizedCall<RequestResponse<T>>(this.kit, this.gate, 'request', 'requestWithLogin', options);
  }

  /**
   * `wx.uploadFile` with the user's credentials: the same modes, origin rule, credentials at dispatch, refresh-and-
   * replay on "session expired" (the file is sent again), hooks, `showLoading` and bounded waits as
   * `requestWithLogin`, within WeChat's own limit of 10 uploads at once. Resolves with `{statusCode, data, header}`
   * (`data` parsed when it is JSON) for any HTTP status; `onTask` reaches `onProgressUpdate` and `abort()`.
   * @throws LoginError as `requestWithLogin` (`INVALID_OPTIONS` also when `wx` has no `uploadFile`).
   */
  uploadFile<T = unknown>(options: UploadFileWithLoginOptions): Promise<RequestResponse<T>> {
    return authorizedCall<RequestResponse<T>>(
      this.kit,
      this.gate,
      'uploadFile',
      'uploadFile',
      options as unknown as RequestWithLoginOptions,
    );
  }

  /**
   * `wx.downloadFile` with the user's credentials, as `uploadFile` (WeChat's limit of 10 downloads at once). Resolves
   * with `{statusCode, header, tempFilePath, filePath}` for any HTTP status.
   * @throws LoginError as `requestWithLogin` (`INVALID_OPTIONS` also when `wx` has no `downloadFile`).
   */
  downloadFile(options: DownloadFileWithLoginOptions): Promise<DownloadResponse> {
    return authorizedCall<DownloadResponse>(
      this.kit,
      this.gate,
      'downloadFile',
      'downloadFile',
      options as unknown as RequestWithLoginOptions,
    );
  }

  /**
   * For the app's own request layer (an interceptor of `uni.request`, `Taro.request`, axios, a `wx.request` wrapper;
   * ready ones in `miniprogram-login-kit/adapters`): passes `request` through the session gate `requestWithLogin` uses.
   * Logs in per `options.mode` like `requestWithLogin` (waiting for a login or renewal in flight), then waits for a slot
   * of the kit's limiter (at most 10 at once, shared with `requestWithLogin`) and resolves with a copy of `request`
   * whose `header` carries the credentials current at that moment, and a `handle` that holds the slot. Another origin,
   * the contract's `/auth/` endpoints and `config.noAuthUrls` get no credentials and no login; they still take a slot.
   * Send the request, then give the handle to `handleExpired` with the answer, or `handle.release()` when none came.
   * @param request `{url, header?, ...}` (any other fields are copied as they are); `url` absolute or relative to
   *   `config.baseURL`.
   * @param options `mode` (default `common`), `tips`, `require` (a step-up first), `reTry` (default true), `kind`
   *   (`request`, `uploadFile` or `downloadFile`: whose limiter to wait in).
   * @throws LoginError `INVALID_OPTIONS` (no `url`, a bad mode or tips), `NOT_CONFIGURED`, `LOGGED_OUT` (a logout while
   *   it waited), `SESSION_EXPIRED` (credentials dead at dispatch 4 times), and every `login()` error in
   *   `common`/`force` mode; in `silent` mode a failed login resolves without credentials.
   */
  authorize<T extends { url: string; header?: Record<string, string> }>(
    request: T,
    options: AuthorizeOptions = {},
  ): Promise<Authorized<T & { header?: Record<string, string> }>> {
    try {
      if (typeof request !== 'object' || request === null || typeof request.url !== 'string' || request.url === '') {
        throw invalid('authorize(request, options) expects a request {url, header?, ...}');
      }
      if (typeof options !== 'object' || options === null) throw invalid('authorize(request, options): options must be an object');
      modeOf(options, 'authorize options');
      if (options.tips !== undefined) checkTips(options.tips, 'authorize options.tips');
      if (options.kind !== undefined && ['request', 'uploadFile', 'downloadFile'].indexOf(options.kind) < 0) {
        throw invalid('authorize options.kind must be "request", "uploadFile" or "downloadFile"');
      }
      this.kit.opts();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.gate.authorize(request as never, options, new RequestControl(), true) as Promise<
      Authorized<T & { header?: Record<string, string> }>
    >;
  }

  /**
   * Decides on the answer to a request that `authorize` let through, exactly as `requestWithLogin` does: unless the
   * answer says the session expired (`config.isSessionExpired`), resolves `{replay: false}`. Otherwise — `reTry`
   * and `config.shouldRenew` permitting — it marks that token dead before the slot is given back (so nothing queued
   * behind it leaves with it), waits for the one renewal shared by every caller (a 401 for a token already replaced
   * renews nothing), and resolves `{replay: true, request, handle}`: the request with the new credentials, holding a
   * new slot; send it and decide again with the new handle. With `reTry: false` or `shouldRenew` saying no, resolves
   * `{replay: false}` and the answer stands.
   * @param answer `{statusCode, data, header}` as `wx.request` gives it (axios: `{statusCode: status, data, header: headers}`).
   * @param handle the handle `authorize` (or the previous replay) gave; each handle is decided once.
   * @throws LoginError `SESSION_EXPIRED` (still expired after `config.maxReplays` replays), `LOGGED_OUT` (a logout
   *   since the request was authorized), `INVALID_OPTIONS` (a bad answer, or a handle of another kit or already
   *   decided), and every renewal error of `login()` in `common`/`force` mode.
   */
  handleExpired<T extends { url: string; header?: Record<string, string> }>(
    answer: AnswerLike,
    handle: LoginHandle,
  ): Promise<ReplayDecision<T>> {
    try {
      return this.gate.handleExpired(answer, handle) as Promise<ReplayDecision<T>>;
    } catch (error) {
      return Promise.reject(error);
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
    try {
      this.kit.opts();
      if (kind !== 'profile' && kind !== 'phone') throw invalid(`require(kind) expects "profile" or "phone", got ${JSON.stringify(kind)}`);
      if (typeof options !== 'object' || options === null) throw invalid('require(kind, options) expects options such as {tips}');
      if (options.tips !== undefined) checkTips(options.tips, 'require options.tips');
      return this.stepUps.require(kind, { tips: options.tips, mode: modeOf(options, 'require options') });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Deletes the user's account (注销账号; contract 1.4 `POST /auth/account/delete`, an optional capability) and resolves
   * with what the backend erased (`{sources, families, avatars, phone, unionid}`): the whole account, in every
   * mini-program of its unionid family. First the confirmation (`options.confirm`; default a `wx.showModal` with the
   * tips `deleteTitle`, `deleteContent`, `deleteConfirmText`, `deleteCancelText`, merged as for a login), then a session
   * (the login UI when there is none), then a `wx.login` code made for this request as the proof (a second fresh code
   * after `INVALID_CODE` or a renewal). Then a local logout as `logout()`'s (no state, no silent login, also after a
   * restart; the `logout` event) and the `accountDeleted` event. A failure changes nothing.
   * @throws LoginError `AUTH_CANCELLED` (the user did not confirm: nothing sent), `DELETION_REFUSED` (the code was
   *   rejected twice, or it is another WeChat user), `DELETION_VETOED` (`reason`: the app's backend keeps the account),
   *   `DELETION_UNAVAILABLE` (the backend does not offer it: 404/405/501, or no `backend.deleteAccount`),
   *   `RATE_LIMITED`, `USER_BLOCKED`, `WX_LOGIN_FAILED`, `UI_UNAVAILABLE`, `SESSION_EXPIRED`, `NETWORK_ERROR`,
   *   `TIMEOUT` (`timeouts.backend`, `timeouts.userAuth` for the confirmation), `INVALID_OPTIONS`, `NOT_CONFIGURED`,
   *   and every `login()` error when a login is needed first.
   */
  deleteAccount(options: DeleteAccountOptions = {}): Promise<AccountDeletion> {
    return deleteAccount(this.kit, this.flight, options);
  }

  /**
   * True when a local session exists and its access token is not expired. Expiry is computed now (with the
   * leeway), never cached from start-up. No network, no `wx.checkSession`.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  checkLogin(): boolean {
    this.kit.opts();
    return this.kit.session.fresh() !== null;
  }

  /**
   * The local login state, or null when logged out. The access token in it may be expired: `checkLogin()` tells.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  getState(): LoginState | null {
    this.kit.opts();
    return this.kit.session.state;
  }

  /**
   * The logged-in user, or null when logged out (or the backend sent no user).
   * @throws LoginError `NOT_CONFIGURED`.
   */
  getUser(): LoginUser | null {
    this.kit.opts();
    const state = this.kit.session.state;
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
    const opts = this.kit.opts();
    const state = this.flight.logOut();
    if (state) await revoke(opts, state);
  }

  /**
   * Call from `App.onShow`. After a suspension (timers stall in background, so the kit trusts none), re-checks the
   * expiry now and, if the access token expired, renews the session in the background without UI (refresh token,
   * else silent login) so the first request after resuming does not wait. Failures are logged, never thrown.
   * @throws LoginError `NOT_CONFIGURED`.
   */
  onAppShow(): void {
    const opts = this.kit.opts();
    const { session } = this.kit;
    if (!session.state || session.fresh() || session.loggedOut) return;
    this.login({ mode: 'silent' }).catch((error: unknown) =>
      opts.logger.warn(`${PACKAGE_NAME}: renewing the session on App.onShow failed`, error),
    );
  }

  /**
   * Subscribes to the kit's events (`LoginEvent`), each fired once per occurrence: `login` (with `isNewUser` and the
   * `timings`), `loginFailed`, `sessionExpired`, `refreshStart`, `refreshEnd`, `relogin`, `logout`, `stepUp`, `accountDeleted`, `uiShown`,
   * `uiAnswered` and `storageFailed` (a new session could not be stored: it lives in memory, storage holds none). Returns the unsubscribe function. May be called before `config()`.
   * @throws LoginError `INVALID_OPTIONS` when `listener` is not a function (synchronous set-up).
   */
  onStateChange(listener: LoginEventListener): () => void {
    if (typeof listener !== 'function') throw invalid('onStateChange(listener) expects a function');
    return this.kit.listen(listener);
  }
}
