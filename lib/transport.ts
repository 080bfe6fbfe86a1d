/** The kit's HTTP transport over `wx.request`: URL resolution, a hard timeout, typed errors, a concurrency limit. */
import { LoginError } from './errors';
import { Limiter } from './limiter';
import { withTimeout, type Clock, type WxAdapter, type WxFailResult } from './runtime';
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

/**
 * Creates a `Transport` over `wx.request`. Resolves with the response for any HTTP status; rejects with
 * `TIMEOUT` (WeChat's timeout, or no callback within `timeout + 1000` ms) or `NETWORK_ERROR` (any other `fail`,
 * including `fail interrupted` in background, with WeChat's `errMsg`/`errno`).
 * @param defaultTimeoutMs timeout in ms for requests that set none.
 */
export function createTransport(options: {
  wx: WxAdapter;
  clock: Clock;
  limiter: Limiter;
  baseURL?: string;
  defaultTimeoutMs: number;
}): DispatchingTransport {
  const { wx, clock, limiter, baseURL, defaultTimeoutMs } = options;
  return <T>(original: RequestOptions, prepare?: (options: RequestOptions) => RequestOptions): Promise<RequestResponse<T>> => {
    let url: string;
    try {
      url = resolveUrl(original.url, baseURL);
    } catch (error) {
      return Promise.reject(error);
    }
    const timeout = original.timeout ?? defaultTimeoutMs;
    return limiter.run(
      () =>
        new Promise<RequestResponse<T>>((resolve, reject) => {
          const request = prepare ? prepare(original) : original;
          let settled = false;
          let task: unknown;
          const timer = clock.setTimeout(() => {
            if (settled) return;
            settled = true;
            const abort = (task as { abort?: () => void } | undefined)?.abort;
            if (typeof abort === 'function') abort.call(task);
            reject(new LoginError('TIMEOUT', `request to ${url} got no answer within ${timeout} ms`));
          }, timeout + CALLBACK_GRACE_MS);
          const settle = (fn: () => void) => {
            if (settled) return;
            settled = true;
            clock.clearTimeout(timer);
            fn();
          };
          const fail = (error: WxFailResult | undefined) =>
            settle(() => {
              const errMsg = typeof error?.errMsg === 'string' ? error.errMsg : 'request:fail';
              const code = /timeout/i.test(errMsg) ? 'TIMEOUT' : 'NETWORK_ERROR';
              reject(new LoginError(code, `request to ${url} failed: ${errMsg}`, { errMsg, errno: error?.errno, cause: error }));
            });
          try {
            task = wx.request({
              url,
              method: request.method ?? 'GET',
              data: request.data,
              header: request.header,
              timeout,
              dataType: request.dataType,
              responseType: request.responseType,
              success: (result) =>
                settle(() => resolve({ statusCode: result.statusCode, data: result.data as T, header: result.header ?? {} })),
              fail,
            });
          } catch (error) {
            fail({ errMsg: `request:fail ${String(error)}` });
          }
        }),
    );
  };
}

/**
 * Creates an uploader over `wx.uploadFile` (same limiter and error mapping as the transport). Resolves with the
 * response, its `data` parsed as JSON when it is JSON; rejects `NETWORK_ERROR`/`TIMEOUT`, or `INVALID_OPTIONS` when
 * the `wx` adapter has no `uploadFile`.
 */
export function createUploader(options: {
  wx: WxAdapter;
  clock: Clock;
  limiter: Limiter;
  baseURL?: string;
  defaultTimeoutMs: number;
}): Uploader {
  const { wx, clock, limiter, baseURL, defaultTimeoutMs } = options;
  return (upload) => {
    if (typeof wx.uploadFile !== 'function') return Promise.reject(new LoginError('INVALID_OPTIONS', 'the wx adapter has no uploadFile'));
    let url: string;
    try {
      url = resolveUrl(upload.url, baseURL);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = () =>
      new Promise<RequestResponse>((resolve, reject) => {
        const fail = (error: WxFailResult | undefined) => {
          const errMsg = typeof error?.errMsg === 'string' ? error.errMsg : 'uploadFile:fail';
          reject(
            new LoginError(/timeout/i.test(errMsg) ? 'TIMEOUT' : 'NETWORK_ERROR', `upload to ${url} failed: ${errMsg}`, {
              errMsg,
              errno: error?.errno,
            }),
          );
        };
        wx.uploadFile!({
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
            resolve({ statusCode: result.statusCode, data, header: {} });
          },
          fail,
        });
      });
    return limiter.run(() => withTimeout(run(), defaultTimeoutMs + CALLBACK_GRACE_MS, clock, `upload to ${url}`));
  };
}
