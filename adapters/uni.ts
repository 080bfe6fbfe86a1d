/**
 * The kit's session inside uni-app's own `uni.request`: `uni.addInterceptor('request', uniLoginInterceptor(Login))`.
 * Built on uni-app's interceptor contract (uni-app 3, `@dcloudio/uni-mp-weixin`): `invoke` may return a promise of the
 * options to send; `success` and `fail` receive the answer and the options the request was sent with, and what a
 * `success` hook resolves with reaches the caller's `success` (or the promise of `uni.request`).
 * - `invoke`: `Login.authorize` (login per mode, a slot of the kit's limiter, the credentials current then).
 * - `success`: `Login.handleExpired`; a replay goes out through `wx.request` directly (not through the interceptors
 *   again) and its answer is what the caller gets.
 * - `fail`: gives the slot back.
 * A login that fails (or `logout()`) calls the caller's `fail` with the `LoginError` (with an `errMsg`) and sends
 * nothing. Requests to other origins pass untouched, without credentials. A call may say how it logs in:
 * `uni.request({ url, loginOpts: { mode: 'silent' } })` (over the interceptor's options; never sent).
 */
import { globalWx, type WxAdapter } from '../lib/runtime';
import type { AuthorizeOptions, LoginHandle } from '../lib/request-gate';
import type { AnswerLike } from '../lib/types';
import { asFailResult, splitLoginOpts, type LoginGate } from './gate';

/** `uni.request` options as the interceptor sees them (`url`, `header`, the caller's callbacks, ...). */
export interface UniRequestArgs {
  url: string;
  header?: Record<string, string>;
  success?: (result: unknown) => void;
  fail?: (error: unknown) => void;
  complete?: (result: unknown) => void;
  [option: string]: unknown;
}

/** The interceptor object `uni.addInterceptor('request', ...)` takes. */
export interface UniRequestInterceptor {
  /** Authorizes the request; resolves with the options to send. */
  invoke(args: UniRequestArgs): Promise<UniRequestArgs>;
  /** Decides on the answer; resolves with the answer the caller gets (the replay's, after a renewal). */
  success(result: AnswerLike, args?: UniRequestArgs): AnswerLike | Promise<AnswerLike>;
  /** Gives the slot back when no answer came. */
  fail(error: unknown, args?: UniRequestArgs): unknown;
}

/**
 * An interceptor for `uni.addInterceptor('request', ...)` over `login` (see the module doc).
 * @param login the kit (`Login`).
 * @param options how its requests may log in: `mode` (default `common`), `tips`, `reTry` (a call's `loginOpts` wins).
 * @param wx where replays go out (default: the global `wx`).
 */
export function uniLoginInterceptor(login: LoginGate, options: AuthorizeOptions = {}, wx?: WxAdapter): UniRequestInterceptor {
  const handles = new WeakMap<object, LoginHandle>();
  const never = new Promise<never>(() => undefined);

  /** The answer the caller gets: this one, or — after a renewal — the replay's, decided in turn. */
  const settle = (answer: AnswerLike, handle: LoginHandle, args: UniRequestArgs): Promise<AnswerLike> =>
    login.handleExpired<UniRequestArgs>(answer, handle).then(
      (decision) => {
        if (!decision.replay) return answer;
        // The replay goes straight to wx.request: the caller's callbacks stay with the first call.
        const replay: Record<string, unknown> = Object.assign({}, decision.request);
        delete replay.success;
        delete replay.fail;
        delete replay.complete;
        return new Promise<AnswerLike>((resolve, reject) => {
          (wx ?? globalWx<WxAdapter>())!.request({
            ...(replay as { url: string }),
            success: (result) => resolve(result),
            fail: (error) => {
              decision.handle.release();
              reject(error);
            },
          });
        }).then(
          (result) => settle(result, decision.handle, args),
          (error: unknown) => (args.fail && args.fail(error), never),
        );
      },
      (error: unknown) => (args.fail && args.fail(asFailResult('request', error)), never),
    );

  return {
    invoke(args) {
      return login.authorize(...splitLoginOpts(args, options)).then(
        ({ request, handle }) => {
          handles.set(request, handle);
          return request;
        },
        (error: unknown) => {
          const failed = asFailResult('request', error);
          if (args.fail) args.fail(failed);
          if (args.complete) args.complete(failed);
          return never; // nothing is sent
        },
      );
    },
    success(result, args) {
      const handle = args && handles.get(args);
      if (!handle || !args) return result;
      handles.delete(args);
      return settle(result, handle, args);
    },
    fail(error, args) {
      const handle = args && handles.get(args);
      if (handle) {
        handles.delete(args!);
        handle.release();
      }
      return error;
    },
  };
}
