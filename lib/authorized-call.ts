/**
 * The request path shared by `requestWithLogin`, `uploadFile` and `downloadFile`: the origin rule, the login per mode,
 * the step-up, the app's hooks, the loading toast and the timing report, credentials chosen at dispatch, the verdict
 * on each answer (decided in the slot, so a dead token is marked before the next queued request leaves), and the
 * replay after the one shared renewal.
 */
import { contractErrorCode } from './contract-backend';
import { LoginError } from './errors';
import type { SingleFlight } from './flight';
import { MODES, modeOf } from './modes';
import { invalid, type ResolvedOptions } from './options';
import type { Session } from './session';
import type { RequireOptions, StepUpKind } from './step-up';
import { checkTips } from './tips';
import { RequestControl, originOf, resolveUrl, sendCall, type CallKind } from './transport';
import type { CallOptions, LoginCallOptions, LoginEvent, LoginMode, LoginState, LoginUser, RequestOptions, RequestResponse } from './types';

/** What an answer means for the session: not expired; expired but returned as it is; past the replay budget; renew. */
type Verdict = 'fine' | 'keep' | 'exhausted' | 'renew';

/** `wx.*` callbacks: the kit owns them (its promise is the outcome). */
const CALLBACK_KEYS = ['success', 'fail', 'complete'];
/** How many times one request may find its credentials dead at dispatch and wait for a renewal. */
const MAX_DEFERRALS = 3;

export const loggedOutError = (): LoginError => new LoginError('LOGGED_OUT', 'logout() was called while this request waited');

/** What the request path needs from the kit instance. */
export interface CallHost {
  options(): ResolvedOptions;
  session(): Session;
  readonly flights: SingleFlight;
  /** Requests with credentials between their call and their dispatch: `logout()` rejects them at once. */
  readonly queued: Set<RequestControl>;
  login(call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState>;
  require(kind: StepUpKind, options: RequireOptions): Promise<LoginUser>;
  emit(event: LoginEvent): void;
  /** The loading toast of the calls that asked for one. */
  readonly loading: { show(title: string): () => void };
}

/** Credentials for a request: a login per mode; null when the login fails and the mode sends anonymously then. */
async function credentials(host: CallHost, call: LoginCallOptions & { mode: LoginMode }): Promise<LoginState | null> {
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
  const base = opts.baseURL ? opts.baseURL.replace(/\/+$/, '') + '/' : '';
  const onApi = base !== '' && absolute.indexOf(base) === 0;
  const path = (onApi ? absolute.slice(base.length - 1) : absolute.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')).replace(/[?#].*$/, '');
  if (onApi && path.indexOf('/auth/') === 0) return false;
  return !opts.noAuthUrls.some((rule) => (typeof rule === 'string' ? path.indexOf(rule) === 0 : rule.test(url)));
}

/** Runs the app's `beforeRequest` hooks in order; a hook may return replacement options. */
async function beforeRequest(opts: ResolvedOptions, kind: CallKind, request: RequestOptions): Promise<RequestOptions> {
  let current = request;
  for (const hook of opts.hooks.beforeRequest) {
    const replaced = await hook({ ...current, header: { ...current.header } }, { kind });
    if (replaced !== undefined) current = replaced;
  }
  return current;
}

/**
 * One call of `kind` with the kit's session: see `LoginKit.requestWithLogin`. `name` names the public method in
 * errors. Resolves with the response (after the `afterResponse` hooks); rejects with a `LoginError` (a hook's own
 * error as it is).
 */
export async function authorizedCall<R extends RequestResponse<unknown>>(
  host: CallHost,
  kind: CallKind,
  name: string,
  options: RequestOptions & CallOptions,
): Promise<R> {
  const opts = host.options();
  if (typeof options !== 'object' || options === null || typeof options.url !== 'string' || options.url === '') {
    throw invalid(`${name}(options) expects {url, ...wx.${kind} options, loginOpts?}`);
  }
  for (const key of CALLBACK_KEYS) {
    if (key in options) throw invalid(`${name} does not take "${key}": it returns a promise of the response`);
  }
  const { loginOpts = {}, reTry = true, onTask, showLoading, ...original } = options;
  const mode = modeOf(loginOpts, `${name} loginOpts`);
  if (loginOpts.tips !== undefined) checkTips(loginOpts.tips, `${name} loginOpts.tips`);
  if (onTask !== undefined && typeof onTask !== 'function') throw invalid(`${name} onTask must be a function`);
  const control = new RequestControl();
  if (onTask) onTask(control.handle);
  const hide = showLoading ? host.loading.show(typeof showLoading === 'string' ? showLoading : '加载中') : null;
  const startedAt = opts.clock.now();
  let replays = 0;
  let statusCode: number | undefined;
  const report = (error?: unknown) => {
    if (hide) hide();
    if (!opts.hooks.onTiming) return;
    const endedAt = opts.clock.now();
    const code = error && typeof (error as LoginError).code === 'string' ? (error as LoginError).code : error ? 'ERROR' : undefined;
    try {
      opts.hooks.onTiming({
        kind,
        url: original.url,
        method: original.method ?? (kind === 'request' ? 'GET' : 'POST'),
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
        statusCode,
        error: code,
        replays,
      });
    } catch (hookError) {
      opts.logger.error('miniprogram-login-kit: the onTiming hook threw', hookError);
    }
  };
  try {
    const request = await beforeRequest(opts, kind, original);
    let response: R;
    if (!carriesCredentials(opts, request.url)) {
      response = (await sendCall<R>(opts.network, kind, request, { control })) as R;
    } else {
      const verdict = (answer: RequestResponse): Verdict => {
        if (!opts.isSessionExpired(answer)) return 'fine';
        if (!reTry || !opts.shouldRenew(answer, request)) return 'keep';
        return replays < opts.maxReplays ? 'renew' : 'exhausted';
      };
      response = await withCredentials<R>(host, kind, request, mode, loginOpts, control, verdict, () => replays++);
    }
    statusCode = response.statusCode;
    for (const hook of opts.hooks.afterResponse) {
      const replaced = await hook(response, request, { kind });
      if (replaced !== undefined) response = replaced as R;
    }
    report();
    return response;
  } catch (error) {
    report(error);
    throw error;
  }
}

/** The part with a session: login, step-up, dispatch with the current credentials, renewal and replay. */
async function withCredentials<R extends RequestResponse<unknown>>(
  host: CallHost,
  kind: CallKind,
  request: RequestOptions,
  mode: LoginMode,
  loginOpts: CallOptions['loginOpts'] & object,
  control: RequestControl,
  verdict: (answer: RequestResponse) => Verdict,
  replayed: () => void,
): Promise<R> {
  const epoch = host.flights.epoch;
  const renewal = { mode: MODES[mode].renewAs, tips: loginOpts.tips };
  let state = await control.guard(credentials(host, { mode, tips: loginOpts.tips }));
  if (loginOpts.require !== undefined) {
    // The step-up first; its failure rejects and the request is not sent.
    await control.guard(host.require(loginOpts.require, { tips: loginOpts.tips, mode: mode === 'silent' ? 'silent' : 'common' }));
    state = host.session().fresh() ?? state;
  }
  for (let replays = 0; ; replays++) {
    const { response, sent, outcome } = await send<R>(host, kind, request, state, renewal, control, verdict);
    if (!sent || outcome === 'fine' || outcome === 'keep') return response;
    if (host.flights.epoch !== epoch) throw loggedOutError();
    if (outcome === 'exhausted') {
      throw new LoginError('SESSION_EXPIRED', `${request.url} still answered "session expired" after ${replays} replay(s)`, {
        statusCode: response.statusCode,
        backendCode: contractErrorCode(response.data),
        cause: response.data,
      });
    }
    replayed();
    state = await control.guard(credentials(host, renewal));
  }
}

/**
 * Sends `request` with the credentials of `state`, checked when the request gets its slot: a newer fresh session
 * that replaced `state` meanwhile is used instead; if the kit knows the token is dead (marked expired, or logged
 * out), the slot is given back unsent and the request waits for the renewal (`renewal`) — or rejects `LOGGED_OUT`
 * after a logout. A `renew` verdict marks the token it was sent with expired while the request still holds its slot.
 * Resolves with the response, the session it was sent with (null: no credentials) and the verdict.
 */
async function send<R extends RequestResponse<unknown>>(
  host: CallHost,
  kind: CallKind,
  request: RequestOptions,
  state: LoginState | null,
  renewal: LoginCallOptions & { mode: LoginMode },
  control: RequestControl,
  verdict: (answer: RequestResponse) => Verdict,
): Promise<{ response: R; sent: LoginState | null; outcome: Verdict }> {
  const opts = host.options();
  let sent = state;
  let outcome: Verdict = 'fine';
  for (let deferrals = 0; ; deferrals++) {
    const epoch = host.flights.epoch;
    if (sent) host.queued.add(control);
    const dispatched = sendCall<R>(opts.network, kind, request, {
      control,
      prepare: (queued) => {
        if (!sent) return queued;
        const current = host.session().fresh();
        if (!current || host.flights.epoch !== epoch) return null;
        sent = current;
        return { ...queued, header: { ...queued.header, ...opts.authHeader(current) } };
      },
      observe: (answer) => {
        if (!sent) return;
        outcome = verdict(answer as RequestResponse);
        if (outcome === 'renew' && host.session().markExpired(sent)) host.emit({ type: 'sessionExpired' });
      },
    });
    const done = () => host.queued.delete(control);
    dispatched.then(done, done);
    const response = await dispatched;
    if (response) return { response, sent, outcome };
    if (host.flights.epoch !== epoch || host.session().loggedOut) throw loggedOutError();
    if (deferrals >= MAX_DEFERRALS) {
      throw new LoginError('SESSION_EXPIRED', `${request.url} found its credentials expired at dispatch ${deferrals + 1} times`);
    }
    sent = await control.guard(credentials(host, renewal));
  }
}
