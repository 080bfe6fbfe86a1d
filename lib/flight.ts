/**
 * The flight: the session a caller needs — reused while fresh, else one renewal shared by every caller that arrives
 * while it runs (single flight, and the queue of waiting requests). Steps: refresh token (unless `force`) → silent login
 * (`code-login.ts`) → the login UI (`user-auth.ts`, only if a caller's mode allows it) → authorize. Silent callers wait
 * only for the part without UI. A `logout()` (the epoch) discards what a flight still in the air produces.
 * Here too is the one rule for an answer that says the session expired (`verdictOf`, `renew`), which every call with
 * the kit's credentials follows: requests, uploads, downloads, the adapters' requests (through the gate) and the
 * step-up's bind.
 */
import { callAdapter, toLoginError } from './code-login';
import { contractErrorCode } from './contract-backend';
import type { KitContext } from './context';
import { LoginError, PACKAGE_NAME } from './errors';
import { MODES } from './modes';
import type { ResolvedOptions } from './options';
import type { AnswerLike, AuthTips, BackendSession, LoginCallOptions, LoginMode, LoginState, RequestOptions } from './types';
import { authorizeUser, backendPayload, type UiReport } from './user-auth';

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
  /** When it started (epoch ms), what the code exchange had spent by then, and the UI time: the login's timings. */
  startedAt: number;
  spentBefore: { wxLoginMs: number; backendMs: number };
  ui: UiReport;
}

/** A refresh failure that is a verdict on the token (HTTP 4xx but 408 and 429), not a temporary one. */
function isRejection(error: LoginError): boolean {
  const status = error.statusCode;
  return error.code !== 'RATE_LIMITED' && status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * What an answer means for the session it was sent with (`sent`; null: sent without credentials): `fine` (not
 * expired), `keep` (expired, but `reTry: false` or `config.shouldRenew` says no: the answer stands), `exhausted` (past
 * `config.maxReplays`) or `renew` (renew, then replay). "Expired" is `config.isSessionExpired` (default: HTTP 401, or
 * a body code `TOKEN_EXPIRED`/`TOKEN_INVALID`). The one rule: README "Tokens, refresh and the queue".
 */
export function verdictOf(
  opts: ResolvedOptions,
  answer: AnswerLike,
  sent: LoginState | null,
  call: { replays: number; reTry: boolean; request: RequestOptions },
): 'fine' | 'keep' | 'exhausted' | 'renew' {
  if (!sent) return 'fine';
  const response = answer.header ? (answer as Required<AnswerLike>) : { statusCode: answer.statusCode, data: answer.data, header: {} };
  if (!opts.isSessionExpired(response)) return 'fine';
  if (!call.reTry || !opts.shouldRenew(response, call.request)) return 'keep';
  return call.replays < opts.maxReplays ? 'renew' : 'exhausted';
}

/** `LOGGED_OUT`: `logout()` was called while `what` (a call waited, a login ran, ...). */
export const loggedOutError = (what = 'this request waited'): LoginError =>
  new LoginError('LOGGED_OUT', `logout() was called while ${what}`);

/** `SESSION_EXPIRED` for a call (`what`) still answered "session expired" after `replays` replays (an `exhausted` verdict). */
export function stillExpired(what: string, replays: number, answer: AnswerLike): LoginError {
  const { statusCode, data } = answer;
  return new LoginError('SESSION_EXPIRED', `${what} still answered "session expired" after ${replays} replay(s)`, {
    statusCode,
    backendCode: contractErrorCode(data),
    cause: data,
  });
}

/** The single flight of one kit instance. */
export class SingleFlight {
  private flight: Flight | null = null;
  /** `logout()` count; a flight that started before the current one commits nothing. */
  epoch = 0;

  constructor(private readonly kit: KitContext) {}

  /**
   * The session for a call of `mode`: the current one while it is fresh (`common`, `silent`), else the flight's —
   * joined, or started. Rejects as `LoginKit.login`.
   */
  ensure(call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState> {
    if (MODES[call.mode].reuseSession) {
      const state = this.kit.session.fresh();
      if (state) return Promise.resolve(state);
    }
    return this.join(call.mode, call.tips);
  }

  /**
   * The renewal after a `renew` verdict on an answer sent with `sent`'s credentials: marks that access token dead (if
   * it is still the current one: the `sessionExpired` event, once per token), then resolves with the session a call of
   * `mode` renews as (`MODES[mode].renewAs`). A 401 for a token already replaced (a stale 401) renews nothing: the
   * current session is returned. Rejects as `ensure`.
   */
  renew(sent: LoginState, call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState> {
    if (this.kit.session.markExpired(sent)) this.kit.emit({ type: 'sessionExpired' });
    return this.ensure({ mode: MODES[call.mode].renewAs, tips: call.tips });
  }

  /**
   * The local part of a deliberate logout (`logout()`, and after an account deletion): the flight in the air ends, the
   * state is cleared and the logout recorded in storage (no silent login or refresh brings it back), the cached ticket
   * is forgotten, every request waiting for a slot rejects `LOGGED_OUT`, and a `logout` event says it when a session
   * ended. Returns the state it ended (for the backend's revocation), or null.
   */
  logOut(): LoginState | null {
    const { kit } = this;
    this.cancel(loggedOutError('this call waited for a login'));
    const state = kit.session.logOut();
    kit.codeLogin.keepTicket(null);
    kit.queued.forEach((control) => control.cancel(loggedOutError()));
    kit.queued.clear();
    if (state) kit.emit({ type: 'logout' });
    return state;
  }

  /** Ends the flight in the air (a logout): its waiters reject with `error`, and whatever it produces is discarded. */
  cancel(error: LoginError): void {
    this.epoch++;
    const flight = this.flight;
    if (!flight) return;
    this.flight = null;
    flight.silent.reject(error);
    flight.full.reject(error);
  }

  /**
   * Joins the flight in the air, or starts one: resolves with the new state (a `silent` caller as soon as the part
   * without UI is decided), rejects with the flight's `LoginError`.
   */
  private join(mode: LoginMode, tips: Partial<AuthTips> | undefined): Promise<LoginState> {
    const { mayShowUI, refreshFirst } = MODES[mode];
    let flight = this.flight;
    if (!flight) {
      flight = this.start(mayShowUI, tips, refreshFirst);
    } else if (mayShowUI && !flight.allowUI) {
      flight.allowUI = true;
      flight.tips = tips;
    } else if (mayShowUI && flight.ui.follow) {
      flight.ui.follow(); // its question waits for the user: ask it where the user is now (the handler's `follow`)
    }
    return mayShowUI ? flight.full.promise : flight.silent.promise;
  }

  /** Starts a flight. Its permissions are set before it runs: it may reach the "show UI?" decision synchronously. */
  private start(allowUI: boolean, tips: Partial<AuthTips> | undefined, refresh: boolean): Flight {
    const { codeLogin } = this.kit;
    const flight: Flight = {
      allowUI,
      tips,
      refresh,
      epoch: this.epoch,
      silent: deferred(),
      full: deferred(),
      startedAt: this.kit.opts().clock.now(),
      spentBefore: { ...codeLogin.spent },
      ui: { emit: (event) => this.kit.emit(event), uiMs: 0 },
    };
    this.flight = flight;
    this.run(flight).then(flight.full.resolve, flight.full.reject);
    return flight;
  }

  /** The escalation: refresh token → silent login → (if a caller allows it) the login UI and the authorize call. */
  private async run(flight: Flight): Promise<LoginState> {
    const opts = this.kit.opts();
    const { session, codeLogin } = this.kit;
    try {
      const previous = session.state;
      if (flight.refresh && previous) {
        const refreshed = await this.tryRefresh(opts, flight, previous);
        if (refreshed) {
          flight.silent.resolve(refreshed);
          return refreshed;
        }
        this.kit.emit({ type: 'relogin' });
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
        this.kit.loading.pause(true);
        auth = await authorizeUser(opts, flight.tips, flight.ui);
      } catch (error) {
        codeLogin.keepTicket(ticket); // unused: the next attempt can skip wx.login
        throw error;
      } finally {
        this.kit.loading.pause(false);
      }
      const credentials = codeLogin.usable(opts, ticket) ? { loginTicket: ticket.value } : undefined;
      const { payload, avatarLater } = await backendPayload(opts, auth, credentials);
      const outcome = await codeLogin.authorize(opts, ticket, payload);
      if (outcome.status !== 'ok') {
        throw new LoginError('LOGIN_FAILED', 'the backend still asks for user authorization after the user authorized');
      }
      const state = this.commit(opts, flight, outcome.session, 'login');
      return avatarLater ? this.uploadAvatarLater(opts, state, avatarLater) : state;
    } catch (error) {
      const loginError = toLoginError(error);
      flight.silent.reject(loginError);
      if (this.flight === flight) this.kit.emit({ type: 'loginFailed', error: loginError });
      throw loginError;
    } finally {
      if (this.flight === flight) this.flight = null;
    }
  }

  /**
   * A profile login without a usable ticket (after a logout, or a ticket that expired while the user looked at the UI)
   * registers the nickname first, then uploads the avatar with the new access token; the backend stores it as the
   * user's avatar. A failure there is logged and the login stands: the avatar is not worth failing a login for.
   */
  private async uploadAvatarLater(opts: ResolvedOptions, state: LoginState, filePath: string): Promise<LoginState> {
    const { backend } = opts;
    try {
      const avatarUrl = await callAdapter(opts, 'backend.uploadAvatar', () =>
        backend.uploadAvatar!(filePath, opts.context, { accessToken: state.accessToken }),
      );
      const { session } = this.kit;
      if (!avatarUrl || session.state !== state || !state.user) return state;
      const updated = { ...state, user: { ...state.user, avatarUrl } };
      session.commit(updated);
      return updated;
    } catch (error) {
      opts.logger.warn(`${PACKAGE_NAME}: the avatar upload after the login failed; the login stands`, error);
      return state;
    }
  }

  /**
   * Step 2 of the escalation: exchanges the refresh token (if there is a usable one). Resolves with the committed
   * state, or null when there is no refresh token or the backend rejected it explicitly (an HTTP 4xx verdict such as
   * 401 `REFRESH_TOKEN_INVALID`: the session is dropped and the caller logs in again). A temporary failure — 429
   * `RATE_LIMITED` (its `retryAfter` honoured: no refresh or login before it passes), 408, 5xx, network, timeout — is
   * thrown and the session with its refresh token kept (contract: temporary refresh failures).
   */
  private async tryRefresh(opts: ResolvedOptions, flight: Flight, previous: LoginState): Promise<LoginState | null> {
    const { refreshToken, refreshExpiresAt } = previous;
    const { backend } = opts;
    if (!refreshToken || !backend.refresh || (refreshExpiresAt !== undefined && opts.clock.now() >= refreshExpiresAt)) return null;
    this.kit.codeLogin.checkGate(opts);
    this.kit.emit({ type: 'refreshStart' });
    let backendSession: BackendSession;
    try {
      backendSession = await callAdapter(opts, 'backend.refresh', () => backend.refresh!(refreshToken, opts.context));
    } catch (error) {
      const refreshError = toLoginError(error);
      this.kit.emit({ type: 'refreshEnd', error: refreshError });
      this.kit.codeLogin.noteFailure(opts, refreshError);
      if (!isRejection(refreshError)) throw refreshError;
      this.kit.session.drop(previous);
      return null;
    }
    const state = this.commit(opts, flight, backendSession, 'refresh');
    this.kit.emit({ type: 'refreshEnd', state });
    return state;
  }

  /**
   * Makes a backend session the current state (memory and storage first: a rotated refresh token is written before
   * anyone waiting on it is released), then one `login` event for a login. Throws `LOGGED_OUT` (and revokes the new
   * session) when `logout()` was called since the flight started.
   */
  private commit(opts: ResolvedOptions, flight: Flight, backendSession: BackendSession, via: 'login' | 'refresh'): LoginState {
    const state = this.kit.session.stateOf(backendSession, via);
    if (flight.epoch !== this.epoch) {
      void revoke(opts, state);
      throw loggedOutError('this login ran; its session was discarded');
    }
    // Storage that cannot take it holds no session at all rather than a spent refresh token: said in an event.
    if (!this.kit.session.commit(state)) this.kit.emit({ type: 'storageFailed' });
    this.kit.codeLogin.keepTicket(null);
    if (via === 'login') {
      const { spent } = this.kit.codeLogin;
      const timings = {
        wxLoginMs: spent.wxLoginMs - flight.spentBefore.wxLoginMs,
        backendMs: spent.backendMs - flight.spentBefore.backendMs,
        uiMs: flight.ui.uiMs,
        totalMs: opts.clock.now() - flight.startedAt,
      };
      this.kit.emit({ type: 'login', state, isNewUser: state.isNewUser, timings });
    }
    return state;
  }
}

/** Asks the backend to revoke `state`'s session (contract `POST /auth/logout`); a failure is logged, never thrown. */
export async function revoke(opts: ResolvedOptions, state: LoginState): Promise<void> {
  if (!opts.backend.logout) return;
  try {
    const { backend } = opts;
    await callAdapter(opts, 'backend.logout', () => backend.logout!(state, opts.context));
  } catch (error) {
    opts.logger.warn(`${PACKAGE_NAME}: the backend logout failed; the local session is cleared anyway`, error);
  }
}
