/**
 * The kit's session inside an axios instance (axios 1.x with a mini-program adapter, e.g. one over `wx.request`):
 * `axiosLoginInterceptors(instance, Login)`. A request interceptor authorizes each request (`Login.authorize` on the
 * full URL, `instance.getUri(config)`) and sets the credential headers; the response interceptors (both: axios
 * rejects 4xx by default) decide on the answer (`Login.handleExpired`) and, after a renewal, replay the request through
 * the instance with the new credentials. A failed login rejects the call with the `LoginError` and sends nothing;
 * requests to other origins pass untouched, without credentials. A call may say how it logs in:
 * `http.get(url, { loginOpts: { mode: 'silent' } })` (over the interceptors' options; never sent).
 */
import type { AuthorizeOptions, LoginHandle } from '../lib/request-gate';
import { splitLoginOpts, type LoginGate } from './gate';

/** Where the interceptors keep a request's handle, and how a replay hands its (already authorized) handle over. */
const HANDLE = '__loginKitHandle';
const REPLAY = '__loginKitReplay';

/** An axios request config as the interceptors read it (its `headers`: axios's `AxiosHeaders`, or a plain object). */
export interface AxiosConfigLike {
  headers?: object & { set?(name: string, value: string): unknown };
}

/** An axios response (or the `response` of an axios error). */
export interface AxiosResponseLike<C extends AxiosConfigLike = AxiosConfigLike> {
  status: number;
  data?: unknown;
  headers?: unknown;
  config: C;
}

/** An axios error, as the response interceptor's `onRejected` gets it. */
export interface AxiosErrorLike<C extends AxiosConfigLike = AxiosConfigLike> {
  config?: C;
  /** The answer, when one came (axios rejects 4xx and 5xx by default). */
  response?: AxiosResponseLike<C>;
}

/** The part of an axios instance the interceptors use; `C` and `R` are axios's own config and response types. */
export interface AxiosInstanceLike<C extends AxiosConfigLike, R extends AxiosResponseLike<C>> {
  interceptors: {
    request: { use(onFulfilled: (config: C) => C | Promise<C>): number; eject(id: number): void };
    response: {
      use(onFulfilled: (response: R) => R | Promise<R>, onRejected: (error: AxiosErrorLike<C>) => unknown): number;
      eject(id: number): void;
    };
  };
  getUri(config?: NoInfer<C>): string;
  request(config: NoInfer<C>): Promise<NoInfer<R>>;
}

/** The interceptors' own fields on a config. */
const marks = (config: object) => config as Record<typeof HANDLE | typeof REPLAY, LoginHandle | undefined>;

/**
 * Installs the pair of interceptors on `instance` (see the module doc). Returns the function that removes them.
 * @param instance an axios instance (`axios.create({ adapter: <mini-program adapter> })`).
 * @param login the kit (`Login`).
 * @param options how its requests may log in: `mode` (default `common`), `tips`, `reTry` (a call's `loginOpts` wins).
 */
export function axiosLoginInterceptors<C extends AxiosConfigLike, R extends AxiosResponseLike<C>>(
  instance: AxiosInstanceLike<C, R>,
  login: LoginGate,
  options: AuthorizeOptions = {},
): () => void {
  const setHeaders = (config: AxiosConfigLike, header: Record<string, string> | undefined) => {
    const headers = (config.headers = config.headers ?? {});
    for (const name of Object.keys(header ?? {})) {
      if (typeof headers.set === 'function') headers.set(name, header![name]);
      else (headers as Record<string, string>)[name] = header![name];
    }
  };

  const onRequest = async (config: C): Promise<C> => {
    const replay = marks(config)[REPLAY];
    if (replay) {
      delete marks(config)[REPLAY];
      marks(config)[HANDLE] = replay;
      return config;
    }
    const [, call] = splitLoginOpts(config as object, options);
    delete (config as { loginOpts?: unknown }).loginOpts;
    const { request, handle } = await login.authorize({ url: instance.getUri(config), header: {} }, call);
    setHeaders(config, request.header);
    marks(config)[HANDLE] = handle;
    return config;
  };

  /** The caller's outcome for an answer: kept (`keep`), or the replay's after a renewal. */
  const decide = async (response: R, keep: () => R | Promise<R>): Promise<R> => {
    const handle = marks(response.config)[HANDLE]!;
    delete marks(response.config)[HANDLE];
    const answer = { statusCode: response.status, data: response.data, header: (response.headers ?? {}) as Record<string, string> };
    const decision = await login.handleExpired<{ url: string; header?: Record<string, string> }>(answer, handle);
    if (!decision.replay) return keep();
    const config = { ...response.config, headers: { ...response.config.headers } };
    marks(config)[REPLAY] = decision.handle;
    setHeaders(config, decision.request.header);
    return instance.request(config);
  };

  const onResponse = (response: R): R | Promise<R> => (marks(response.config)[HANDLE] ? decide(response, () => response) : response);
  const onError = (error: AxiosErrorLike<C>): Promise<R> => {
    const handle = error && error.config && marks(error.config)[HANDLE];
    if (!handle) return Promise.reject(error);
    if (!error.response) {
      delete marks(error.config!)[HANDLE];
      handle.release();
      return Promise.reject(error);
    }
    return decide(error.response as R, () => Promise.reject(error));
  };

  const requestId = instance.interceptors.request.use(onRequest);
  const responseId = instance.interceptors.response.use(onResponse, onError);
  return () => {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}
