/**
 * The kit's session inside uni-app's own `uni.request`: `uni.addInterceptor('request', uniLoginInterceptor(Login))`.
 * Built on uni-app's interceptor contract (uni-app 3, `@dcloudio/uni-mp-weixin`): `invoke` may return a promise of the
 * options to send; `success` and `fail` receive the answer and the options the request was sent with, and what a
 * `success` hook resolves with reaches the caller's `success` (or the promise of `uni.request`); `returnValue` sees
 * what `uni.request` returns.
 * - `invoke`: `Login.authorize` (login per mode, a slot of the kit's limiter, the credentials current then).
 * - `success`: `Login.handleExpired`; a replay goes out through `wx.request` and its answer is what the caller gets.
 *   Why not through `uni.request` again: an interceptor is given the options, never `uni` itself, and a second
 *   `uni.request` would run `invoke` again — a second authorization and a second slot for one call.
 * - `fail`: gives the slot back.
 * - `returnValue`: puts `abort()` on what `uni.request` returns (see `uniLoginInterceptor`).
 * A login that fails (or `logout()`) calls the caller's `fail` with the `LoginError` (with an `errMsg`) and sends
 * nothing. Requests to other origins pass untouched, without credentials. A call may say how it logs in:
 * `uni.request({ url, loginOpts: { mode: 'silent' } })` (over the interceptor's options; never sent).
 */
import { globalWx, type WxAdapter } from '../lib/runtime';
import type { AuthorizeOptions, LoginHandle } from '../lib/request-gate';
import type { AnswerLike } from '../lib/types';
import { PendingTask, asFailResult, splitLoginOpts, type LoginGate, type TaskLike } from './gate';

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
  /** Equips what `uni.request` returns with `abort()` (and the task-event methods). */
  returnValue<T>(value: T): T;
}

/** One call through the interceptor: its caller's callbacks, its abortable task, and the handle while it holds a slot. */
interface UniCall {
  args: UniRequestArgs;
  task: PendingTask;
  handle?: LoginHandle;
  /** The caller's outcome is decided (an answer, an abort, a failed login): a later abort or answer changes nothing. */
  settled: boolean;
}

/**
 * An interceptor for `uni.addInterceptor('request', ...)` over `login` (see the module doc). What `uni.request` returns
 * carries `abort()`: at any time it fails the call at once with the `LoginError` `ABORTED` (`errMsg`
 * `request:fail abort`) — nothing is sent while the request waits for a login or a slot, and a replay in flight is
 * aborted. uni-app keeps the first attempt's WeChat task to itself once `invoke` is asynchronous (its `invokeApi` drops
 * it), so that attempt runs to its end in the background, holding its slot until it does; its `onProgressUpdate` /
 * `onHeadersReceived` cannot be reached either. Where those matter, use `Login.requestWithLogin({ ..., onTask })`
 * (README "Already have a request layer?").
 * @param login the kit (`Login`).
 * @param options how its requests may log in: `mode` (default `common`), `tips`, `reTry` (a call's `loginOpts` wins).
 * @param wx where replays go out (default: the global `wx`).
 */
export function uniLoginInterceptor(login: LoginGate, options: AuthorizeOptions = {}, wx?: WxAdapter): UniRequestInterceptor {
  const calls = new WeakMap<object, UniCall>();
  const never = new Promise<never>(() => undefined);
  /** The call `invoke` just started: `returnValue` runs right after it, in the same turn, for the same `uni.request`. */
  let latest: UniCall | null = null;

  const fail = (call: UniCall, error: unknown) => {
    if (call.settled) return never;
    call.settled = true;
    const failed = asFailResult('request', error);
    if (call.args.fail) call.args.fail(failed);
    if (call.args.complete) call.args.complete(failed);
    return never;
  };

  /** The answer the caller gets: this one, or — after a renewal — the replay's, decided in turn. */
  const settle = (answer: AnswerLike, handle: LoginHandle, call: UniCall): Promise<AnswerLike> =>
    login.handleExpired<UniRequestArgs>(answer, handle).then(
      (decision) => {
        if (!decision.replay) {
          call.settled = true;
          return answer;
        }
        if (call.task.aborted) {
          decision.handle.release();
          return never;
        }
        // The replay goes straight to wx.request: the caller's callbacks stay with the first call.
        const replay: Record<string, unknown> = Object.assign({}, decision.request);
        delete replay.success;
        delete replay.fail;
        delete replay.complete;
        return new Promise<AnswerLike>((resolve, reject) => {
          const task = (wx ?? globalWx<WxAdapter>())!.request({
            ...(replay as { url: string }),
            success: (result) => resolve(result),
            fail: (error) => {
              decision.handle.release();
              reject(error);
            },
          });
          call.task.attach(task as TaskLike | undefined);
        }).then(
          (result) => settle(result, decision.handle, call),
          (error: unknown) => fail(call, call.task.aborted ?? error),
        );
      },
      (error: unknown) => fail(call, error),
    );

  return {
    invoke(args) {
      const call: UniCall = { args, task: new PendingTask('request', (error) => void fail(call, error)), settled: false };
      latest = call;
      return login.authorize(...splitLoginOpts(args, options)).then(
        ({ request, handle }) => {
          if (call.task.aborted) {
            handle.release(); // aborted while it waited: nothing is sent
            return never;
          }
          call.handle = handle;
          calls.set(request, call);
          return request;
        },
        (error: unknown) => fail(call, error), // nothing is sent
      );
    },
    success(result, args) {
      const call = args && calls.get(args);
      if (!call || !call.handle) return result;
      calls.delete(args!);
      if (call.settled) {
        call.handle.release(); // the caller aborted while it was in flight: its late answer frees the slot
        return never;
      }
      return settle(result, call.handle, call);
    },
    fail(error, args) {
      const call = args && calls.get(args);
      if (!call) return error;
      calls.delete(args!);
      if (call.handle) call.handle.release();
      return call.settled ? never : error;
    },
    returnValue<T>(value: T): T {
      const call = latest;
      latest = null;
      return call && value && typeof value === 'object' ? (call.task.equip(value as unknown as object) as T) : value;
    },
  };
}
