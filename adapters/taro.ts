/**
 * The kit's session inside Taro's own `Taro.request`: `Taro.addInterceptor(taroLoginInterceptor(Login))`. Built on
 * Taro's interceptor chain (`@tarojs/api`): an interceptor gets `chain.requestParams`, calls `chain.proceed(params)`
 * (the rest of the chain and the request) and returns its promise. This one authorizes the request
 * (`Login.authorize`), proceeds, decides on the answer (`Login.handleExpired`) and, after a renewal, proceeds again
 * with the new credentials — the rest of the chain runs for the replay too. A failed login rejects the call with the
 * `LoginError` and sends nothing; requests to other origins pass untouched, without credentials. A call may say how it
 * logs in: `Taro.request({ url, loginOpts: { mode: 'silent' } })` (over the interceptor's options; never sent).
 */
import type { AuthorizeOptions, LoginHandle } from '../lib/request-gate';
import type { AnswerLike } from '../lib/types';
import type { LoginError } from '../lib/errors';
import { PendingTask, splitLoginOpts, type LoginGate, type TaskLike } from './gate';

/** The part of Taro's interceptor chain the interceptor uses. */
export interface TaroChain {
  /** The options of the `Taro.request` call. */
  requestParams: { url: string; header?: Record<string, string>; [option: string]: unknown };
  /** Runs the rest of the chain and the request with `params`; resolves with the answer. */
  proceed(params: TaroChain['requestParams']): Promise<AnswerLike>;
}

/**
 * An interceptor for `Taro.addInterceptor` over `login` (see the module doc). The promise it returns carries Taro's
 * task methods (Taro's chain copies them onto what `Taro.request` returns): `abort()` aborts at any time — nothing is
 * sent while the request still waits for a login or a slot; once sent, the attempt in flight is aborted — and the call
 * rejects with the `LoginError` `ABORTED` (`errMsg` `request:fail abort`); `onHeadersReceived`/`onProgressUpdate` and the
 * others reach every attempt's task.
 * @param login the kit (`Login`).
 * @param options how its requests may log in: `mode` (default `common`), `tips`, `reTry` (a call's `loginOpts` wins).
 */
export function taroLoginInterceptor(login: LoginGate, options: AuthorizeOptions = {}): (chain: TaroChain) => Promise<AnswerLike> {
  const send = (chain: TaroChain, params: TaroChain['requestParams'], handle: LoginHandle, task: PendingTask): Promise<AnswerLike> => {
    const sent = chain.proceed(params);
    task.attach(sent as unknown as TaskLike);
    return sent.then(
      (answer) =>
        login
          .handleExpired<TaroChain['requestParams']>(answer, handle)
          .then((decision) => (decision.replay ? send(chain, decision.request, decision.handle, task) : answer)),
      (error: unknown) => {
        handle.release();
        throw task.aborted ?? error;
      },
    );
  };
  return (chain) => {
    let abort!: (error: LoginError) => void;
    const aborted = new Promise<never>((_, reject) => (abort = reject));
    aborted.catch(() => undefined);
    const task = new PendingTask('request', abort);
    const call = login.authorize(...splitLoginOpts(chain.requestParams, options)).then(({ request, handle }) => {
      if (task.aborted) {
        handle.release(); // aborted while it waited: nothing is sent
        throw task.aborted;
      }
      return send(chain, request, handle, task);
    });
    call.catch(() => undefined); // its outcome reaches the caller through the race
    return task.equip(Promise.race([call, aborted]));
  };
}
