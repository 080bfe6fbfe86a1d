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
import { splitLoginOpts, type LoginGate } from './gate';

/** The part of Taro's interceptor chain the interceptor uses. */
export interface TaroChain {
  /** The options of the `Taro.request` call. */
  requestParams: { url: string; header?: Record<string, string>; [option: string]: unknown };
  /** Runs the rest of the chain and the request with `params`; resolves with the answer. */
  proceed(params: TaroChain['requestParams']): Promise<AnswerLike>;
}

/**
 * An interceptor for `Taro.addInterceptor` over `login` (see the module doc).
 * @param login the kit (`Login`).
 * @param options how its requests may log in: `mode` (default `common`), `tips`, `reTry` (a call's `loginOpts` wins).
 */
export function taroLoginInterceptor(login: LoginGate, options: AuthorizeOptions = {}): (chain: TaroChain) => Promise<AnswerLike> {
  const send = (chain: TaroChain, params: TaroChain['requestParams'], handle: LoginHandle): Promise<AnswerLike> =>
    chain.proceed(params).then(
      (answer) =>
        login
          .handleExpired<TaroChain['requestParams']>(answer, handle)
          .then((decision) => (decision.replay ? send(chain, decision.request, decision.handle) : answer)),
      (error: unknown) => {
        handle.release();
        throw error;
      },
    );
  return (chain) =>
    login.authorize(...splitLoginOpts(chain.requestParams, options)).then(({ request, handle }) => send(chain, request, handle));
}
