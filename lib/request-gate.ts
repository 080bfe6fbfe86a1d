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
 * nothing.
 */
import { contractErrorCode } from './contract-backend';
import { LoginError } from './errors';
import type { SingleFlight } from './flight';
import { MODES } from './modes';
import type { ResolvedOptions } from './options';
import type { Session } from './session';
import type { RequireOptions, StepUpKind } from './step-up';
import { RequestControl, originOf, resolveUrl, type CallKind, type Watched } from './transport';
import type { LoginCallOptions, LoginEvent, LoginMode, LoginState, LoginUser, RequestOptions, RequestResponse } from './types';

/** How many times one request may find its credentials dead when it gets its slot and wait for a renewal. */
const MAX_DEFERRALS = 3;

/** `LOGGED_OUT` for a request that waited while `logout()` ran. */
export const loggedOutError = (): LoginError => new LoginError('LOGGED_OUT', 'logout() was called while this request waited');

/** What the gate needs from the kit instance. */
export interface GateHost {
  options(): ResolvedOptions;
  session(): Session;
  readonly flights: SingleFlight;
  /** Requests with credentials waiting for a slot: `logout()` rejects them at once. */
  readonly queued: Set<RequestControl>;
  login(call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState>;
  require(kind: StepUpKind, options: RequireOptions): Promise<LoginUser>;
  emit(event: LoginEvent): void;
}

/**
 * A request that passed the gate: it holds a slot of the kit's limiter until `handleExpired` decides on its answer or
 * `release()` is called. Give every handle to one of the two exactly once; an adapter whose request failed without an
 * answer (network error, abort) calls `release()`. A handle still held after the request's timeout
 * (`config.timeouts.request`, 60 000 ms by default) plus 1 000 ms gives its slot back by itself, with a warning.
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

/** The answer of a request, as `handleExpired` reads it (`wx.request`'s `success` shape; axios: `status`, `headers`). */
export interface AnswerLike {
  statusCode: number;
  data?: unknown;
  header?: Record<string, string>;
}

/** `handleExpired`'s decision: keep the answer, or send `request` again (it already holds a new slot: `handle`). */
export type ReplayDecision<T extends { url: string } = RequestOptions> = { replay: false } | ({ replay: true } & Authorized<T>);

/** What an answer means: not expired; expired but returned as it is; past the replay budget; renew and replay. */
type Verdict = 'fine' | 'keep' | 'exhausted' | 'renew';

/** The gate's own record of a handle. */
class Pass implements LoginHandle, Watched {
  /** The session the credentials came from (null: sent without credentials). */
  state: LoginState | null = null;
  replays = 0;
  /** Gives the slot back; null while no slot is held. */
  private slot: (() => void) | null = null;
  /** When the network's watchdog takes the slot back (epoch ms; 0: not watched). */
  deadline = 0;
  prev: Watched | null = null;
  next: Watched | null = null;

  constructor(
    readonly host: GateHost,
    readonly kind: CallKind,
    /** The request as the caller gave it, without the credentials. */
    readonly request: RequestOptions,
    readonly credentialed: boolean,
    readonly mode: LoginMode,
    readonly tips: LoginCallOptions['tips'],
    readonly reTry: boolean,
    readonly control: RequestControl,
    /** The logout epoch at the call: a logout since rejects the request. */
    readonly epoch: number,
    /** Guard the slot with a watchdog (a handle given to the app's request layer). */
    readonly external: boolean,
  ) {}

  hold(release: () => void): void {
    this.slot = release;
    if (!this.external) return;
    const { network } = this.host.options();
    const timeout = this.request.timeout ?? network.defaultTimeoutMs;
    if (timeout <= 0) return;
    this.deadline = network.clock.now() + timeout + 1000;
    network.watchdog.watch(this);
  }

  /** The network's watchdog: the app's layer neither decided nor released this handle in time. */
  expire(): void {
    this.deadline = 0;
    const opts = this.host.options();
    const bound = (this.request.timeout ?? opts.network.defaultTimeoutMs) + 1000;
    opts.logger.warn(`miniprogram-login-kit: a request to ${this.request.url} held its slot past ${bound} ms; released`);
    this.release();
  }

  release(): void {
    const slot = this.slot;
    if (!slot) return;
    this.slot = null;
    if (this.deadline) this.host.options().network.watchdog.unwatch(this);
    this.deadline = 0;
    slot();
  }

  get holding(): boolean {
    return this.slot !== null;
  }
}

/** Credentials for a request: a login per mode; null when the login fails and the mode sends anonymously then. */
async function credentials(host: GateHost, call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState | null> {
  if (!MODES[call.mode].sendAnonymouslyOnFailure) return host.login(call);
  try {
    return await host.login(call);
  } catch {
    return null;
  }
}

/**
 * True when `url` may carry the credentials: it is on an API origin (`baseURL`'s or `config.trustedOrigins`) and is
 * neither one of the contract's `/auth/` endpoints of the API nor in `config.noAuthUrls`.
 */
function carriesCredentials(opts: ResolvedOptions, url: string): boolean {
  const absolute = resolveUrl(url, opts.baseURL);
  if (opts.apiOrigins.indexOf(originOf(absolute) as string) < 0) return false;
  const base = opts.apiBase ? opts.apiBase + '/' : '';
  const onApi = base !== '' && absolute.indexOf(base) === 0;
  const path = (onApi ? absolute.slice(base.length - 1) : absolute.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')).replace(/[?#].*$/, '');
  if (onApi && path.indexOf('/auth/') === 0) return false;
  return !opts.noAuthUrls.some((rule) => (typeof rule === 'string' ? path.indexOf(rule) === 0 : rule.test(url)));
}

/** The pass behind a handle, checked: a handle of another kit instance, or one already decided, is refused. */
function passOf(host: GateHost, handle: LoginHandle, name: string): Pass {
  if (!(handle instanceof Pass) || handle.host !== host) {
    throw new LoginError('INVALID_OPTIONS', `${name}: the handle was not made by this kit's authorize()`);
  }
  if (!handle.holding) throw new LoginError('INVALID_OPTIONS', `${name}: the handle was already decided or released`);
  return handle;
}

/**
 * Waits for a slot and returns the request with the credentials current at that moment. Credentials that went dead
 * while the request waited (marked expired, or logged out) give the slot back: the request waits for the renewal and
 * queues again, at most `MAX_DEFERRALS` times.
 */
async function takeSlot<T extends RequestOptions>(pass: Pass): Promise<T> {
  const { host, control } = pass;
  const opts = host.options();
  for (let deferrals = 0; ; deferrals++) {
    if (control.aborted) throw control.aborted;
    const epoch = host.flights.epoch;
    const slot = opts.network.limiters[pass.kind].acquire(false);
    control.queued(slot.cancel);
    if (pass.state) host.queued.add(control);
    let release: () => void;
    try {
      release = await slot.promise;
    } finally {
      host.queued.delete(control);
    }
    pass.hold(release);
    if (!pass.state) return { ...pass.request } as T;
    const current = host.session().fresh();
    if (current && host.flights.epoch === epoch) {
      pass.state = current;
      return { ...pass.request, header: { ...pass.request.header, ...opts.authHeader(current) } } as T;
    }
    pass.release();
    if (host.flights.epoch !== epoch || host.session().loggedOut) throw loggedOutError();
    if (deferrals >= MAX_DEFERRALS) {
      throw new LoginError('SESSION_EXPIRED', `${pass.request.url} found its credentials expired at dispatch ${deferrals + 1} times`);
    }
    pass.state = await control.guard(credentials(host, { mode: MODES[pass.mode].renewAs, tips: pass.tips }));
  }
}

/**
 * Passes `request` through the gate (see the module doc and `LoginKit.authorize`). `control` is the caller's (abort,
 * task events); `external` handles get a watchdog on their slot. Rejects as `LoginKit.authorize`.
 */
export async function authorize<T extends RequestOptions>(
  host: GateHost,
  request: T,
  options: AuthorizeOptions,
  control: RequestControl,
  external: boolean,
): Promise<Authorized<T>> {
  const opts = host.options();
  const mode = options.mode ?? 'common';
  const credentialed = carriesCredentials(opts, request.url);
  const kind = options.kind ?? 'request';
  const pass = new Pass(
    host,
    kind,
    request,
    credentialed,
    mode,
    options.tips,
    options.reTry !== false,
    control,
    host.flights.epoch,
    external,
  );
  if (credentialed) {
    pass.state = await control.guard(credentials(host, { mode, tips: options.tips }));
    if (options.require !== undefined) {
      // The step-up first; its failure rejects and the request is not sent.
      await control.guard(host.require(options.require, { tips: options.tips, mode: mode === 'silent' ? 'silent' : 'common' }));
      pass.state = host.session().fresh() ?? pass.state;
    }
  }
  return { request: await takeSlot<T>(pass), handle: pass };
}

/**
 * A pass for a request its caller already sent with `state`'s credentials while holding a slot (`release`) — the fast
 * path of `requestWithLogin` — so that a "session expired" answer is decided by the gate like any other. `epoch` is
 * the logout epoch when the request was sent.
 */
export function adopt<T extends RequestOptions>(
  host: GateHost,
  request: T,
  state: LoginState,
  release: () => void,
  options: AuthorizeOptions,
  control: RequestControl,
  epoch: number,
): Authorized<T> {
  const pass = new Pass(
    host,
    options.kind ?? 'request',
    request,
    true,
    options.mode ?? 'common',
    options.tips,
    options.reTry !== false,
    control,
    epoch,
    false,
  );
  pass.state = state;
  pass.hold(release);
  return { request, handle: pass };
}

/** What `answer` means for the session the pass was sent with. */
function verdictOf(pass: Pass, answer: AnswerLike): Verdict {
  const opts = pass.host.options();
  const response = { statusCode: answer.statusCode, data: answer.data, header: answer.header ?? {} } as RequestResponse;
  if (!pass.state || !opts.isSessionExpired(response)) return 'fine';
  if (!pass.reTry || !opts.shouldRenew(response, pass.request)) return 'keep';
  return pass.replays < opts.maxReplays ? 'renew' : 'exhausted';
}

/**
 * Decides on `answer` for `handle` (see the module doc and `LoginKit.handleExpired`): the verdict in the slot, the
 * slot given back, then — for a "session expired" answer that deserves it — the renewal and a new slot for the
 * replay. Rejects as `LoginKit.handleExpired`.
 */
export async function handleExpired<T extends RequestOptions>(
  host: GateHost,
  answer: AnswerLike,
  handle: LoginHandle,
): Promise<ReplayDecision<T>> {
  const pass = passOf(host, handle, 'handleExpired');
  if (!answer || typeof answer !== 'object' || typeof answer.statusCode !== 'number') {
    pass.release();
    throw new LoginError('INVALID_OPTIONS', 'handleExpired(answer, handle): answer must be {statusCode, data, header}');
  }
  const verdict = verdictOf(pass, answer);
  if (verdict === 'renew' && host.session().markExpired(pass.state!)) host.emit({ type: 'sessionExpired' });
  pass.release();
  if (verdict === 'fine' || verdict === 'keep') return { replay: false };
  if (host.flights.epoch !== pass.epoch) throw loggedOutError();
  if (verdict === 'exhausted') {
    throw new LoginError('SESSION_EXPIRED', `${pass.request.url} still answered "session expired" after ${pass.replays} replay(s)`, {
      statusCode: answer.statusCode,
      backendCode: contractErrorCode(answer.data),
      cause: answer.data,
    });
  }
  pass.replays++;
  pass.state = await pass.control.guard(credentials(host, { mode: MODES[pass.mode].renewAs, tips: pass.tips }));
  return { replay: true, request: await takeSlot<T>(pass), handle: pass };
}
