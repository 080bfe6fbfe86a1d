/**
 * The code exchange: `wx.login` → backend `POST /auth/login`. Each `code` is used at once and once; the backend's
 * `loginTicket` (from a `USER_NOT_REGISTERED` answer) spares a second `wx.login` for the authorize step; one fresh
 * code after `INVALID_CODE`; `backoff` retries after `WECHAT_UNAVAILABLE`; and the gates: no attempt at all while a
 * `RATE_LIMITED` answer's `retryAfter` runs, and none ever after `USER_BLOCKED`.
 */
import { LoginError, isLoginError } from './errors';
import type { Backoff, ResolvedOptions } from './options';
import { callWx, withTimeout } from './runtime';
import type { BackendLoginRequest, BackendLoginResult } from './types';

/** A `loginTicket` and when it expires (epoch ms). */
export interface Ticket {
  value: string;
  /** epoch ms */
  expiresAt: number;
}

/** A `loginTicket` is not used in its last 10 s, so it cannot expire on the way. */
const TICKET_LEEWAY_MS = 10_000;
/** The contract's ticket lifetime (s) when the backend does not say. */
const DEFAULT_TICKET_SECONDS = 300;
/** The longest a `RATE_LIMITED` answer may hold logins back (ms): one hour, whatever `retryAfter` said (`1e9` s once). */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** Delay (ms) before retry number `attempt` (0-based): `baseDelayMs * 2^attempt`, capped, with "equal jitter". */
export function backoffDelay(backoff: Backoff, attempt: number): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * Math.pow(2, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * backoff.random());
}

/** Turns anything thrown into a `LoginError` (`LOGIN_FAILED` for foreign errors). */
export function toLoginError(error: unknown): LoginError {
  if (isLoginError(error)) return error;
  return new LoginError('LOGIN_FAILED', `login failed: ${String(error)}`, { cause: error });
}

/** Calls the backend adapter, bounded by `timeouts.backend` (a custom adapter that never settles rejects `TIMEOUT`). */
export function callAdapter<T>(opts: ResolvedOptions, what: string, call: () => Promise<T>): Promise<T> {
  return withTimeout(Promise.resolve().then(call), opts.timeouts.backend, opts.clock, what);
}

/**
 * The code exchange of one kit instance. Its gates and the cached ticket outlive a `config()` call; every method
 * takes the options in force.
 */
export class CodeLogin {
  private ticket: Ticket | null = null;
  /** `RATE_LIMITED`: no attempt before `until` (epoch ms); `ms` bounds the wait if the device clock goes backwards. */
  private rateLimited = { until: 0, ms: 0 };
  /** `USER_BLOCKED`: terminal for this app session; every later login rejects with it at once. */
  private blocked: LoginError | null = null;
  /** Time (ms) spent so far in `wx.login` and in backend login calls; a flight reports its share (the deltas). */
  readonly spent = { wxLoginMs: 0, backendMs: 0 };

  /** Takes the cached ticket if it is still usable (single use). */
  takeTicket(opts: ResolvedOptions): Ticket | null {
    const ticket = this.ticket;
    this.ticket = null;
    return this.usable(opts, ticket) ? ticket : null;
  }

  /** Keeps an unused ticket for the next attempt (null forgets it). */
  keepTicket(ticket: Ticket | null): void {
    this.ticket = ticket;
  }

  /** The ticket of a `needsUser` answer, or null. */
  ticketOf(opts: ResolvedOptions, outcome: BackendLoginResult): Ticket | null {
    if (outcome.status !== 'needsUser' || !outcome.loginTicket) return null;
    return { value: outcome.loginTicket, expiresAt: opts.clock.now() + (outcome.ticketExpiresIn ?? DEFAULT_TICKET_SECONDS) * 1000 };
  }

  /** `mode:"authorize"` with the ticket while it is valid, else (or when the backend rejects it) with a fresh code. */
  async authorize(opts: ResolvedOptions, ticket: Ticket | null, payload: Partial<BackendLoginRequest>): Promise<BackendLoginResult> {
    if (this.usable(opts, ticket)) {
      try {
        return await this.callBackend(opts, { mode: 'authorize', loginTicket: ticket.value, ...payload });
      } catch (error) {
        if (!(isLoginError(error) && error.backendCode === 'INVALID_TICKET')) throw error;
      }
    }
    return this.withFreshCode(opts, { mode: 'authorize', ...payload });
  }

  /**
   * `wx.login` then the backend; each code is used at once and once. `INVALID_CODE` → one more fresh code;
   * `WECHAT_UNAVAILABLE` → up to `backoff.retries` more, after an exponential delay with jitter.
   */
  async withFreshCode(opts: ResolvedOptions, request: BackendLoginRequest): Promise<BackendLoginResult> {
    let invalidCodes = 0;
    let unavailable = 0;
    for (;;) {
      this.checkGate(opts); // no wx.login either while the backend said "not now" or "never"
      const code = await this.wxLogin(opts);
      try {
        return await this.callBackend(opts, { ...request, code });
      } catch (error) {
        const backendCode = isLoginError(error) ? error.backendCode : undefined;
        if (backendCode === 'INVALID_CODE' && invalidCodes++ < 1) continue;
        if (backendCode === 'WECHAT_UNAVAILABLE' && unavailable < opts.backoff.retries) {
          const delay = backoffDelay(opts.backoff, unavailable++);
          await new Promise<void>((resolve) => opts.clock.setTimeout(resolve, delay));
          continue;
        }
        throw error;
      }
    }
  }

  /** True while `ticket` may still be sent (not in its last 10 s). */
  usable(opts: ResolvedOptions, ticket: Ticket | null): ticket is Ticket {
    return ticket !== null && opts.clock.now() < ticket.expiresAt - TICKET_LEEWAY_MS;
  }

  /**
   * Rejects at once while a `RATE_LIMITED` answer's `retryAfter` runs (never longer than it said, even when the
   * device clock is set backwards meanwhile), and forever after `USER_BLOCKED`. The refresh shares the gate.
   */
  checkGate(opts: ResolvedOptions): void {
    if (this.blocked) throw this.blocked;
    const wait = Math.min(this.rateLimited.ms, this.rateLimited.until - opts.clock.now());
    if (wait > 0)
      throw new LoginError('RATE_LIMITED', `too many logins; the next attempt is allowed in ${wait} ms`, {
        retryAfterMs: wait,
        backendCode: 'RATE_LIMITED',
      });
  }

  /**
   * Closes the gate after a backend answer that says "not now" (`RATE_LIMITED`: for its `retryAfterMs`, at most
   * `MAX_RETRY_AFTER_MS`) or "never" (`USER_BLOCKED`).
   */
  noteFailure(opts: ResolvedOptions, error: LoginError): void {
    if (error.code === 'RATE_LIMITED') {
      const ms = Math.min(error.retryAfterMs ?? 60_000, MAX_RETRY_AFTER_MS);
      this.rateLimited = { until: opts.clock.now() + ms, ms };
    }
    if (error.code === 'USER_BLOCKED') this.blocked = error;
  }

  private async wxLogin(opts: ResolvedOptions): Promise<string> {
    const startedAt = opts.clock.now();
    try {
      return await this.wxLoginOnce(opts);
    } finally {
      this.spent.wxLoginMs += opts.clock.now() - startedAt;
    }
  }

  /**
   * One `wx.login`, bounded by `timeouts.wxLogin`: a fresh code (valid 5 minutes, single use). Rejects
   * `WX_LOGIN_FAILED` (also for a success without a code) or `TIMEOUT`.
   */
  async wxLoginOnce(opts: ResolvedOptions): Promise<string> {
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
    this.checkGate(opts);
    let result: BackendLoginResult;
    const startedAt = opts.clock.now();
    try {
      result = await callAdapter(opts, 'backend.login', () => opts.backend.login(request, opts.context));
    } catch (error) {
      const loginError = toLoginError(error);
      this.noteFailure(opts, loginError);
      throw loginError;
    } finally {
      this.spent.backendMs += opts.clock.now() - startedAt;
    }
    if (typeof result !== 'object' || result === null || (result.status !== 'ok' && result.status !== 'needsUser')) {
      throw new LoginError('LOGIN_FAILED', 'backend.login must resolve with {status: "ok", session} or {status: "needsUser"}', {
        cause: result,
      });
    }
    return result;
  }
}
