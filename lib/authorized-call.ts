/**
 * The request path of `requestWithLogin`, `uploadFile` and `downloadFile`: the app's hooks, the loading toast and
 * the timing report around the session gate (`request-gate.ts`: the origin rule, the login per mode, the step-up,
 * credentials chosen when the slot is granted, the verdict in the slot, the replay after the one shared renewal) —
 * the same gate the app's own request layer passes through `authorize` / `handleExpired`.
 */
import type { LoginError } from './errors';
import { invalid, type ResolvedOptions } from './options';
import { modeOf } from './modes';
import { adopt, authorize, handleExpired, type Authorized, type GateHost } from './request-gate';
import { checkTips } from './tips';
import { RequestControl, callInSlot, startCall, type CallKind } from './transport';
import type { CallOptions, LoginMode, RequestOptions, RequestResponse } from './types';

/** `wx.*` callbacks: the kit owns them (its promise is the outcome). */
const CALLBACK_KEYS = ['success', 'fail', 'complete'];

/** What the request path needs from the kit instance: the gate's needs, and the loading toast. */
export interface CallHost extends GateHost {
  /** The options in force, or null before `config()` (no error, no log: the step-by-step path reports it). */
  configured(): ResolvedOptions | null;
  /** The loading toast of the calls that asked for one. */
  readonly loading: { show(title: string): () => void };
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
 * error as it is). The common case takes the fast path; everything else, and whatever the fast path meets that is not
 * common (a "session expired" answer), goes through the gate step by step.
 */
export function authorizedCall<R extends RequestResponse<unknown>>(
  host: CallHost,
  kind: CallKind,
  name: string,
  options: RequestOptions & CallOptions,
): Promise<R> {
  return (kind === 'request' && fastCall<R>(host, options)) || stepByStep<R>(host, kind, name, options);
}

/**
 * The common case in one promise and no timer: a `requestWithLogin` without hooks, `onTask`, `showLoading`, tips or
 * step-up, to a relative URL of the API (not `/auth/`, no `noAuthUrls` configured), in `common` or `silent` mode, with
 * a fresh session and a free slot. Everything is checked synchronously — no regular expression, no copy but the one
 * `wx.request` gets — and the answer is decided in WeChat's callback while the slot is held; a "session expired"
 * answer hands the request to the gate (`adopt`) for the renewal and replay. Null when the call is not that case.
 */
function fastCall<R extends RequestResponse<unknown>>(host: CallHost, options: RequestOptions & CallOptions): Promise<R> | null {
  if (typeof options !== 'object' || options === null || typeof options.url !== 'string') return null;
  if (options.onTask !== undefined || options.showLoading || 'success' in options || 'fail' in options || 'complete' in options)
    return null;
  const loginOpts = options.loginOpts;
  let mode: LoginMode = 'common';
  if (loginOpts !== undefined) {
    if (typeof loginOpts !== 'object' || loginOpts === null || loginOpts.tips !== undefined || loginOpts.require !== undefined) return null;
    if (loginOpts.mode === 'silent') mode = 'silent';
    else if (loginOpts.mode !== undefined && loginOpts.mode !== 'common') return null;
  }
  const opts = host.configured();
  if (!opts || opts.hooks.beforeRequest.length || opts.hooks.afterResponse.length || opts.hooks.onTiming) return null;
  const url = options.url;
  // A relative URL of the API: '/x' but not '//host/x'.
  if (!opts.apiBase || url.charCodeAt(0) !== 47 || url.charCodeAt(1) === 47 || url.indexOf('/auth/') === 0 || opts.noAuthUrls.length) {
    return null;
  }
  const now = opts.clock.now();
  const state = host.session().fresh(now);
  if (!state) return null;
  const limiter = opts.network.limiters.request;
  if (!limiter.tryAcquire()) return null;
  const epoch = host.flights.epoch;
  const credentials = opts.authHeader(state);
  const header = options.header ? Object.assign({}, options.header, credentials) : credentials;
  return new Promise<R>((resolve, reject) => {
    const settle = (error: unknown, response?: R) => {
      if (error) {
        limiter.releaseOne();
        reject(error);
      } else if (!opts.isSessionExpired(response!)) {
        limiter.releaseOne();
        resolve(response!);
      } else {
        const control = new RequestControl();
        const pass = adopt(host, options, state, () => limiter.releaseOne(), { mode, reTry: options.reTry }, control, epoch);
        keptAnswer<R>(host, 'request', pass, control, response!).then(resolve, reject);
      }
    };
    startCall<R>(opts.network, 'request', options, opts.apiBase + url, header, undefined, settle, now);
  });
}

/**
 * Sends `pass.request` (unless `answer` already came for it) and lets the gate decide, replaying with each new pass
 * until it keeps an answer; `replayed` counts the replays. Rejects as `callInSlot` and `handleExpired`.
 */
async function keptAnswer<R extends RequestResponse<unknown>>(
  host: GateHost,
  kind: CallKind,
  pass: Authorized<RequestOptions>,
  control: RequestControl,
  answer?: R,
  replayed?: () => void,
): Promise<R> {
  for (;;) {
    if (answer === undefined) {
      try {
        answer = await callInSlot<R>(host.options().network, kind, pass.request, control);
      } catch (error) {
        pass.handle.release();
        throw error;
      }
    }
    const decision = await handleExpired(host, answer, pass.handle);
    if (!decision.replay) return answer;
    if (replayed) replayed();
    pass = decision;
    answer = undefined;
  }
}

/** A call through the gate step by step: validation, hooks, loading toast, timing report, login, slot, replay. */
async function stepByStep<R extends RequestResponse<unknown>>(
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
    const gate = { mode, tips: loginOpts.tips, require: loginOpts.require, reTry, kind };
    const pass = await authorize(host, request, gate, control, false);
    let response = await keptAnswer<R>(host, kind, pass, control, undefined, () => replays++);
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
