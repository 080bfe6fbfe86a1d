/**
 * The request path of `requestWithLogin`, `uploadFile` and `downloadFile`: the app's hooks, the loading toast and
 * the timing report around the session gate (`request-gate.ts`: the origin rule, the login per mode, the step-up,
 * credentials chosen when the slot is granted, the verdict in the slot, the replay after the one shared renewal) —
 * the same gate the app's own request layer passes through `authorize` / `handleExpired`.
 */
import type { LoginError } from './errors';
import type { KitContext } from './context';
import { invalid, type ResolvedOptions } from './options';
import { modeOf } from './modes';
import type { Gate } from './request-gate';
import { checkTips } from './tips';
import { RequestControl, type CallKind } from './transport';
import type { CallOptions, LoginMode, RequestOptions, RequestResponse } from './types';

/** `wx.*` callbacks: the kit owns them (its promise is the outcome). */
const CALLBACK_KEYS = ['success', 'fail', 'complete'];

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
 * error as it is). A plain request — no hooks, `onTask`, `showLoading`, tips or step-up, in `common` or `silent` mode —
 * is offered to the gate's synchronous case first (`Gate.sendNow`); everything else goes through the gate step by step.
 */
export function authorizedCall<R extends RequestResponse<unknown>>(
  kit: KitContext,
  gate: Gate,
  kind: CallKind,
  name: string,
  options: RequestOptions & CallOptions,
): Promise<R> {
  const mode = kind === 'request' ? plainMode(kit, options) : null;
  return (mode !== null && gate.sendNow<R>(options, mode)) || stepByStep<R>(kit, gate, kind, name, options);
}

/** The mode of a plain request (see `authorizedCall`), or null when the call has anything else to do. */
function plainMode(kit: KitContext, options: RequestOptions & CallOptions): LoginMode | null {
  if (typeof options !== 'object' || options === null || typeof options.url !== 'string' || options.url === '') return null;
  if (options.onTask !== undefined || options.showLoading || 'success' in options || 'fail' in options || 'complete' in options)
    return null;
  const hooks = kit.options && kit.options.hooks;
  if (!hooks || hooks.beforeRequest.length || hooks.afterResponse.length || hooks.onTiming) return null;
  const loginOpts = options.loginOpts;
  if (loginOpts === undefined) return 'common';
  if (typeof loginOpts !== 'object' || loginOpts === null || loginOpts.tips !== undefined || loginOpts.require !== undefined) return null;
  if (loginOpts.mode === undefined || loginOpts.mode === 'common') return 'common';
  return loginOpts.mode === 'silent' ? 'silent' : null;
}

/** A call through the gate step by step: validation, hooks, loading toast, timing report, login, slot, replay. */
async function stepByStep<R extends RequestResponse<unknown>>(
  kit: KitContext,
  gate: Gate,
  kind: CallKind,
  name: string,
  options: RequestOptions & CallOptions,
): Promise<R> {
  const opts = kit.opts();
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
  const hide = showLoading ? kit.loading.show(typeof showLoading === 'string' ? showLoading : '加载中') : null;
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
    const { handle } = await gate.authorize(
      request,
      { mode, tips: loginOpts.tips, require: loginOpts.require, reTry, kind },
      control,
      false,
    );
    let response = await gate.exchange<R>(handle, undefined, () => replays++);
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
