/**
 * The session gate every request with the kit's credentials passes, whoever sends it: `requestWithLogin`,
 * `uploadFile` and `downloadFile` (`authorized-call.ts`), and the app's own request layer through
 * `LoginKit.authorize` / `LoginKit.handleExpired` (the interceptors of `adapters/`).
 *
 * `authorize` logs in per mode, then waits for a slot of the kit's limiter (WeChat runs at most 10 requests at once)
 * and picks the credentials current *when the slot is granted*: a token marked dead meanwhile is never sent; the
 * request gives the slot back and waits for the one shared renewal. `handleExpired` decides on the answer while the
 * request still holds its slot — a "session expired" answer marks that token dead before the next queued request
 * leaves — then gives the slot back and, when the answer deserves it, waits for the renewal and takes a new slot for
 * the replay. A 401 for a token the session already replaced (a stale 401) replays with the current one, renewing
 * nothing. What "session expired" means and how it renews is the flight's one rule (`verdictOf`, `SingleFlight.renew`).
 *
 * `requestWithLogin`'s common case — a fresh session and a free slot — is the gate's own case (`sendNow`): the same
 * URL predicate (`credentialUrl`) and the same slot function (`seated`), decided synchronously, in one promise.
 */
import type { KitContext } from './context';
import { LoginError } from './errors';
import { loggedOutError, stillExpired, verdictOf, type SingleFlight } from './flight';
import { MODES } from './modes';
import type { ResolvedOptions } from './options';
import type { StepUps } from './step-up';
import { RequestControl, callInSlot, originOf, resolveUrl, startCall, type CallKind, type Watched } from './transport';
import type { AnswerLike, LoginCallOptions, LoginMode, LoginState, RequestOptions, RequestResponse } from './types';

/** How many times one request may find its credentials dead when it gets its slot and wait for a renewal. */
const MAX_DEFERRALS = 3;

/**
 * A request that passed the gate: it holds a slot of the kit's limiter until `handleExpired` decides on its answer or
 * `release()` is called. Give every handle to one of the two exactly once; an adapter whose request failed without an
 * answer (network error, abort) calls `release()`. A handle still held after the request's timeout
 * (`config.timeouts.request`, 20 000 ms by default) plus 1 000 ms gives its slot back by itself, with a warning.
 */
export interface LoginHandle {
  /** Gives the slot back without an answer. Safe to call more than once. */
  release(): void;
}

/** Options of `authorize`: how the request may log in, and which of WeChat's network APIs sends it. */
export interface AuthorizeOptions extends LoginCallOptions {
  /** A step-up before the request (`Login.require`); its failure rejects and nothing is sent. */
  require?: 'profile' | 'phone';
  /** `false`: a "session expired" answer is returned as it is — no renewal, no replay. Default `true`. */
  reTry?: boolean;
  /** The API the request goes out through, whose limiter it waits in: `request` (default), `uploadFile`, `downloadFile`. */
  kind?: CallKind;
}

/** What `authorize` resolves with: the request to send, with the credentials (API origin only), and its handle. */
export interface Authorized<T extends { url: string } = RequestOptions> {
  /** A copy of the request; on the API origin its `header` carries the credentials (`config.authHeader`). */
  request: T;
  /** Give it to `handleExpired` with the answer, or `release()` it when no answer came. */
  handle: LoginHandle;
}

/** `handleExpired`'s decision: keep the answer, or send `request` again (it already holds a new slot: `handle`). */
export type ReplayDecision<T extends { url: string } = RequestOptions> = { replay: false } | ({ replay: true } & Authorized<T>);

/** The gate's own record of a request across its attempts: its handle. */
class Pass implements LoginHandle, Watched {
  /** The session the credentials came from (null: sent without credentials). */
  state: LoginState | null = null;
  replays = 0;
  /** Whether it holds a slot of its kind's limiter. */
  held = false;
  /** When the network's watchdog takes the slot back (epoch ms; 0: not watched). */
  deadline = 0;
  prev: Watched | null = null;
  next: Watched | null = null;

  constructor(
    readonly gate: Gate,
    readonly kind: CallKind,
    /** The request as the caller gave it, without the credentials. */
    readonly request: RequestOptions,
    readonly mode: LoginMode,
    readonly tips: LoginCallOptions['tips'],
    readonly reTry: boolean,
    /** The caller's abort and task events (the fast path makes one only when it leaves for the gate). */
    public control: RequestControl | null,
    /** The logout epoch at the call: a logout since rejects the request. */
    readonly epoch: number,
    /** Guard the slot with a watchdog (a handle given to the app's request layer). */
    readonly external: boolean,
  ) {}

  /** The pass now holds a slot (taken for it from its kind's limiter). */
  hold(): void {
    this.held = true;
    if (!this.external) return;
    const { network } = this.gate.kit.opts();
    const timeout = this.request.timeout ?? network.defaultTimeoutMs;
    if (timeout <= 0) return;
    this.deadline = network.clock.now() + timeout + 1000;
    network.watchdog.watch(this);
  }

  /** The network's watchdog: the app's layer neither decided nor released this handle in time. */
  expire(): void {
    this.deadline = 0;
    const opts = this.gate.kit.opts();
    const bound = (this.request.timeout ?? opts.network.defaultTimeoutMs) + 1000;
    opts.logger.warn(`miniprogram-login-kit: a request to ${this.request.url} held its slot past ${bound} ms; released`);
    this.release();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.deadline) this.gate.kit.opts().network.watchdog.unwatch(this);
    this.deadline = 0;
    this.gate.kit.limiters[this.kind].release();
  }
}

/**
 * The one URL predicate: the absolute URL of `url` when it may carry the credentials — it is on an API origin
 * (`baseURL`'s or `config.trustedOrigins`) and is neither one of the contract's `/auth/` endpoints of the API nor in
 * `config.noAuthUrls` (a string: a prefix of the URL's path; a RegExp: tested on `url` as given) — else null. A path
 * relative to the API (`/x`) is decided without a regular expression.
 * @throws LoginError `INVALID_OPTIONS` for a relative URL without `config.baseURL`.
 */
export function credentialUrl(opts: ResolvedOptions, url: string): string | null {
  const { apiBase } = opts;
  // '/x' (not '//host/x') is on the API; anything else is resolved and its origin checked.
  const relative = apiBase !== '' && url.charCodeAt(0) === 47 && url.charCodeAt(1) !== 47;
  const absolute = relative ? apiBase + url : resolveUrl(url, opts.baseURL);
  if (!relative && opts.apiOrigins.indexOf(originOf(absolute) as string) < 0) return null;
  const onApi = relative || (apiBase !== '' && absolute.indexOf(apiBase + '/') === 0);
  const path = relative ? url : onApi ? absolute.slice(apiBase.length) : absolute.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  if (onApi && path.indexOf('/auth/') === 0) return null;
  if (opts.noAuthUrls.length === 0) return absolute;
  const bare = path.replace(/[?#].*$/, '');
  return opts.noAuthUrls.some((rule) => (typeof rule === 'string' ? bare.indexOf(rule) === 0 : rule.test(url))) ? null : absolute;
}

/** The request with the credentials of `state` in its header (a copy; the caller's object is never changed). */
function withCredentials<T extends RequestOptions>(opts: ResolvedOptions, request: RequestOptions, state: LoginState | null): T {
  if (!state) return { ...request } as T;
  return { ...request, header: { ...request.header, ...opts.authHeader(state) } } as T;
}

/** The session gate of one kit instance (see the module doc). */
export class Gate {
  constructor(
    readonly kit: KitContext,
    private readonly flight: SingleFlight,
    private readonly stepUps: StepUps,
  ) {}

  /** `login` per mode; in a mode that sends anonymously on failure, a failed login resolves null. */
  private credentials(mode: LoginMode, login: Promise<LoginState>): Promise<LoginState | null> {
    return MODES[mode].sendAnonymouslyOnFailure ? login.catch(() => null) : login;
  }

  /**
   * The one slot function: `pass` was just given a slot; it leaves with the credentials current now (`pass.state`
   * updated) and true — or, when they went dead while it waited (marked expired, or a logout since `epoch`), it gives
   * the slot back and returns false. `now` (epoch ms) saves a clock read.
   */
  private seated(pass: Pass, epoch: number, now?: number): boolean {
    if (!pass.state) return true;
    const current = this.kit.session.fresh(now);
    if (current && this.flight.epoch === epoch) {
      pass.state = current;
      return true;
    }
    pass.release();
    return false;
  }

  /**
   * Waits for a slot and returns the request with the credentials current at that moment. Credentials that went dead
   * while the request waited give the slot back: the request waits for the renewal and queues again, at most
   * `MAX_DEFERRALS` times.
   */
  private async dispatch<T extends RequestOptions>(pass: Pass): Promise<T> {
    const { kit } = this;
    const control = pass.control!;
    for (let deferrals = 0; ; deferrals++) {
      if (control.aborted) throw control.aborted;
      const epoch = this.flight.epoch;
      const slot = kit.limiters[pass.kind].acquire(false);
      control.queued(slot.cancel);
      if (pass.state) kit.queued.add(control);
      try {
        await slot.promise;
      } finally {
        kit.queued.delete(control);
      }
      pass.hold();
      if (this.seated(pass, epoch)) return withCredentials<T>(kit.opts(), pass.request, pass.state);
      if (this.flight.epoch !== epoch || kit.session.loggedOut) throw loggedOutError();
      if (deferrals >= MAX_DEFERRALS) {
        throw new LoginError('SESSION_EXPIRED', `${pass.request.url} found its credentials expired at dispatch ${deferrals + 1} times`);
      }
      const renewAs = MODES[pass.mode].renewAs;
      pass.state = await control.guard(this.credentials(renewAs, this.flight.ensure({ mode: renewAs, tips: pass.tips })));
    }
  }

  /**
   * Passes `request` through the gate (see the module doc and `LoginKit.authorize`). `control` is the caller's (abort,
   * task events); `external` handles get a watchdog on their slot. Rejects as `LoginKit.authorize`.
   */
  async authorize<T extends RequestOptions>(
    request: T,
    options: AuthorizeOptions,
    control: RequestControl,
    external: boolean,
  ): Promise<Authorized<T>> {
    const opts = this.kit.opts();
    const mode = options.mode ?? 'common';
    const kind = options.kind ?? 'request';
    const pass = new Pass(this, kind, request, mode, options.tips, options.reTry !== false, control, this.flight.epoch, external);
    if (credentialUrl(opts, request.url) !== null) {
      pass.state = await control.guard(this.credentials(mode, this.flight.ensure({ mode, tips: options.tips })));
      if (options.require !== undefined) {
        // The step-up first; its failure rejects and the request is not sent.
        await control.guard(this.stepUps.require(options.require, { tips: options.tips, mode: mode === 'silent' ? 'silent' : 'common' }));
        pass.state = this.kit.session.fresh() ?? pass.state;
      }
    }
    return { request: await this.dispatch<T>(pass), handle: pass };
  }

  /**
   * The common case of `requestWithLogin` (`mode` `common` or `silent`), decided synchronously: a URL that carries
   * credentials, a session, a free slot and credentials still fresh once seated — then it goes out at once, one
   * promise and no timer, and its answer is decided in WeChat's callback while the slot is held (an expired answer
   * continues through `decide` like any other). Null, having changed nothing, when the call is not that case.
   */
  sendNow<R extends RequestResponse<unknown>>(options: RequestOptions & { reTry?: boolean }, mode: LoginMode): Promise<R> | null {
    const opts = this.kit.options;
    const state = this.kit.session && this.kit.session.state;
    if (!opts || !state) return null;
    const url = credentialUrl(opts, options.url);
    if (url === null) return null;
    const limiter = this.kit.limiters.request;
    if (!limiter.tryAcquire()) return null;
    const now = opts.clock.now();
    const pass = new Pass(this, 'request', options, mode, undefined, options.reTry !== false, null, this.flight.epoch, false);
    pass.state = state;
    pass.hold();
    if (!this.seated(pass, pass.epoch, now)) return null;
    const credentials = opts.authHeader(pass.state);
    const header = options.header ? Object.assign({}, options.header, credentials) : credentials;
    return new Promise<R>((resolve, reject) => {
      const settle = (error: unknown, response?: R) => {
        if (error) {
          pass.release();
          reject(error);
        } else if (verdictOf(opts, response!, pass.state, pass) === 'fine') {
          pass.release();
          resolve(response!);
        } else {
          pass.control = new RequestControl();
          this.exchange<R>(pass, response).then(resolve, reject);
        }
      };
      startCall<R>(opts.network, 'request', options, url, header, undefined, settle, now);
    });
  }

  /**
   * Sends the kit's own authorized request (unless `answer` already came for it) and lets the gate decide, replaying
   * after each renewal until it keeps an answer; `replayed` counts the replays. Rejects as `callInSlot` and
   * `handleExpired`.
   */
  async exchange<R extends RequestResponse<unknown>>(handle: LoginHandle, answer?: R, replayed?: () => void): Promise<R> {
    const pass = handle as Pass; // the kit's own: made by this gate's authorize() or sendNow()
    let request: RequestOptions = withCredentials(this.kit.opts(), pass.request, pass.state);
    for (;;) {
      if (answer === undefined) {
        try {
          answer = await callInSlot<R>(this.kit.opts().network, pass.kind, request, pass.control!);
        } catch (error) {
          pass.release();
          throw error;
        }
      }
      const decision = await this.decide<RequestOptions>(pass, answer);
      if (!decision.replay) return answer;
      if (replayed) replayed();
      request = decision.request;
      answer = undefined;
    }
  }

  /** The pass behind a handle, checked: a handle of another kit instance, or one already decided, is refused. */
  private passOf(handle: LoginHandle, name: string): Pass {
    if (!(handle instanceof Pass) || handle.gate !== this) {
      throw new LoginError('INVALID_OPTIONS', `${name}: the handle was not made by this kit's authorize()`);
    }
    if (!handle.held) throw new LoginError('INVALID_OPTIONS', `${name}: the handle was already decided or released`);
    return handle;
  }

  /** See `LoginKit.handleExpired`. Rejects as it does. */
  handleExpired<T extends RequestOptions>(answer: AnswerLike, handle: LoginHandle): Promise<ReplayDecision<T>> {
    const pass = this.passOf(handle, 'handleExpired');
    if (!answer || typeof answer !== 'object' || typeof answer.statusCode !== 'number') {
      pass.release();
      throw new LoginError('INVALID_OPTIONS', 'handleExpired(answer, handle): answer must be {statusCode, data, header}');
    }
    return this.decide<T>(pass, answer);
  }

  /**
   * The verdict in the slot (`verdictOf`), the slot given back, then — for a "session expired" answer that deserves
   * it — the renewal (`SingleFlight.renew`: the dead token marked before the slot is given back) and a new slot for
   * the replay.
   */
  private async decide<T extends RequestOptions>(pass: Pass, answer: AnswerLike): Promise<ReplayDecision<T>> {
    const verdict = verdictOf(this.kit.opts(), answer, pass.state, pass);
    if (verdict === 'fine' || verdict === 'keep') {
      pass.release();
      return { replay: false };
    }
    if (this.flight.epoch !== pass.epoch) {
      pass.release();
      throw loggedOutError();
    }
    if (verdict === 'exhausted') {
      pass.release();
      throw stillExpired(pass.request.url, pass.replays, answer);
    }
    const renewal = this.credentials(pass.mode, this.flight.renew(pass.state!, pass));
    pass.release();
    pass.replays++;
    pass.state = await pass.control!.guard(renewal);
    return { replay: true, request: await this.dispatch<T>(pass), handle: pass };
  }
}
