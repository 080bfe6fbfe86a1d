/**
 * The request path of `requestWithLogin`, `uploadFile` and `downloadFile`: the app's hooks, the loading toast and
 * the timing report around the session gate (`request-gate.ts`: the origin rule, the login per mode, the step-up,
 * credentials chosen when the slot is granted, the verdict in the slot, the replay after the one shared renewal) —
 * the same gate the app's own request layer passes through `authorize` / `handleExpired`.
 */
import type { LoginError } from './errors';
import { invalid, type ResolvedOptions } from './options';
import { modeOf } from './modes';
import { authorize, handleExpired, type GateHost } from './request-gate';
import { checkTips } from './tips';
import { RequestControl, callInSlot, type CallKind } from './transport';
import type { CallOptions, RequestOptions, RequestResponse } from './types';

/** `wx.*` callbacks: the kit owns them (its promise is the outcome). */
const CALLBACK_KEYS = ['success', 'fail', 'complete'];

/** What the request path needs from the kit instance: the gate's needs, and the loading toast. */
export interface CallHost extends GateHost {
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
    const gate = { mode, tips: loginOpts.tips, require: loginOpts.require, reTry, kind };
    let pass = await authorize(host, request, gate, control, false);
    let response: R;
    for (;;) {
      try {
        response = await callInSlot<R>(opts.network, kind, pass.request, control);
      } catch (error) {
        pass.handle.release();
        throw error;
      }
      const decision = await handleExpired(host, response, pass.handle);
      if (!decision.replay) break;
      replays++;
      pass = decision;
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
