/** The kit's HTTP transport over `wx.request`: URL resolution, a hard timeout, typed errors, a concurrency limit. */
import { LoginError, type LoginErrorCode } from './errors';
import { Limiter } from './limiter';
import { callWx, withTimeout, type Clock, type WxAdapter, type WxFailResult } from './runtime';
import type { RequestOptions, RequestResponse, Uploader } from './types';

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Joins `url` to `baseURL` unless it is absolute. Throws `INVALID_OPTIONS` for a relative URL without a base.
 */
export function resolveUrl(url: string, baseURL: string | undefined): string {
  if (ABSOLUTE_URL.test(url)) return url;
  if (!baseURL) {
    throw new LoginError('INVALID_OPTIONS', `request url "${url}" is relative but config.baseURL is not set`);
  }
  return baseURL.replace(/\/+$/, '') + '/' + url.replace(/^\/+/, '');
}

/** Grace (ms) past the request's own timeout before the kit gives up on a `wx.request` that never calls back. */
const CALLBACK_GRACE_MS = 1000;

/**
 * The kit's own transport: like `Transport`, plus `prepare`, called when the request gets its slot under the
 * concurrency limit — so credentials are chosen at dispatch time, not when the request started waiting.
 */
export type DispatchingTransport = <T = unknown>(
  options: RequestOptions,
  prepare?: (options: RequestOptions) => RequestOptions,
) => Promise<RequestResponse<T>>;

/** A network `fail` is a `TIMEOUT` when WeChat says so, otherwise a (transient) `NETWORK_ERROR`. */
const networkFailure = (errMsg: string): LoginErrorCode => (/timeout/i.test(errMsg) ? 'TIMEOUT' : 'NETWORK_ERROR');

interface NetworkOptions {
  wx: WxAdapter;
  clock: Clock;
  limiter: Limiter;
  baseURL?: string;
  /** Timeout in ms for calls that set none. */
  defaultTimeoutMs: number;
}

/**
 * Runs one `wx` network call under the limiter, bounded by `timeoutMs` + 1 s even if WeChat never calls back (the
 * task is then aborted). `start` returns WeChat's task.
 */
function boundedCall<R>(
  { clock, limiter }: NetworkOptions,
  what: string,
  timeoutMs: number,
  start: (callbacks: { success: (result: R) => void; fail: (error: WxFailResult) => void }) => unknown,
): Promise<R> {
  return limiter.run(() => {
    let task: { abort?: () => void } | undefined;
    const call = callWx<R>((callbacks) => (task = start(callbacks) as typeof task), networkFailure, what);
    return withTimeout(call, timeoutMs + CALLBACK_GRACE_MS, clock, what, () => task?.abort?.());
  });
}

/**
 * Creates a `Transport` over `wx.request`. Resolves with the response for any HTTP status; rejects with
 * `TIMEOUT` (WeChat's timeout, or no callback within `timeout + 1000` ms) or `NETWORK_ERROR` (any other `fail`,
 * including `fail interrupted` in background, with WeChat's `errMsg`/`errno`).
 */
export function createTransport(options: NetworkOptions): DispatchingTransport {
  const { wx, baseURL, defaultTimeoutMs } = options;
  return <T>(original: RequestOptions, prepare?: (options: RequestOptions) => RequestOptions): Promise<RequestResponse<T>> => {
    let url: string;
    try {
      url = resolveUrl(original.url, baseURL);
    } catch (error) {
      return Promise.reject(error);
    }
    const timeout = original.timeout ?? defaultTimeoutMs;
    return boundedCall<RequestResponse<T>>(options, `request to ${url}`, timeout, ({ success, fail }) => {
      const request = prepare ? prepare(original) : original; // credentials chosen at dispatch, in the slot
      return wx.request({
        url,
        method: request.method ?? 'GET',
        data: request.data,
        header: request.header,
        timeout,
        dataType: request.dataType,
        responseType: request.responseType,
        success: (result) => success({ statusCode: result.statusCode, data: result.data as T, header: result.header ?? {} }),
        fail,
      });
    });
  };
}

/**
 * Creates an uploader over `wx.uploadFile` (same limiter, bound and error mapping as the transport). Resolves with the
 * response, its `data` parsed as JSON when it is JSON; rejects `NETWORK_ERROR`/`TIMEOUT`, or `INVALID_OPTIONS` when
 * the `wx` adapter has no `uploadFile`.
 */
export function createUploader(options: NetworkOptions): Uploader {
  const { wx, baseURL, defaultTimeoutMs } = options;
  return (upload) => {
    const uploadFile = wx.uploadFile;
    if (typeof uploadFile !== 'function') return Promise.reject(new LoginError('INVALID_OPTIONS', 'the wx adapter has no uploadFile'));
    let url: string;
    try {
      url = resolveUrl(upload.url, baseURL);
    } catch (error) {
      return Promise.reject(error);
    }
    return boundedCall<RequestResponse>(options, `upload to ${url}`, defaultTimeoutMs, ({ success, fail }) =>
      uploadFile.call(wx, {
        url,
        filePath: upload.filePath,
        name: upload.name,
        formData: upload.formData,
        header: upload.header,
        timeout: defaultTimeoutMs,
        success: (result) => {
          let data: unknown = result.data;
          try {
            data = JSON.parse(result.data);
          } catch {
            // not JSON: keep the text
          }
          success({ statusCode: result.statusCode, data, header: {} });
        },
        fail,
      }),
    );
  };
}
