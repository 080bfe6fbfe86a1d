/**
 * The kit's network layer over `wx.request` / `wx.uploadFile` / `wx.downloadFile`: URL resolution, a hard bound on
 * every call (one watchdog timer), typed errors, the auth lane (the kit's own calls first in the limiters), and the
 * per-call control (abort, task events).
 */
import { LoginError, type LoginErrorCode } from './errors';
import type { Limiter } from './limiter';
import type { Clock, WxAdapter, WxFailResult } from './runtime';
import type { RequestOptions, RequestResponse, RequestTaskHandle, Uploader } from './types';

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

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' };

/**
 * The origin (`scheme://host:port`, lower case, default port dropped) of an absolute URL, or null. Credentials in the
 * authority (`https://api.example.com@evil.example/`) do not fool it: the host is what follows the last `@`.
 * Written by hand: the mini-program runtime has no `URL` class.
 */
export function originOf(url: string): string | null {
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#\\]*)/i.exec(url);
  if (!match) return null;
  const scheme = match[1].toLowerCase();
  const authority = match[2].slice(match[2].lastIndexOf('@') + 1).toLowerCase();
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
  if (!hostPort || hostPort[1] === '') return null;
  const port = hostPort[2] && hostPort[2] !== DEFAULT_PORTS[scheme] ? `:${hostPort[2]}` : '';
  return `${scheme}://${hostPort[1]}${port}`;
}

/** Grace (ms) past the request's own timeout before the kit gives up on a `wx.request` that never calls back. */
const CALLBACK_GRACE_MS = 1000;

/** A network `fail` is a `TIMEOUT` when WeChat says so, otherwise a (transient) `NETWORK_ERROR`. */
const networkFailure = (errMsg: string): LoginErrorCode => (/timeout/i.test(errMsg) ? 'TIMEOUT' : 'NETWORK_ERROR');

type Listener = (result: unknown) => void;

/** The part of WeChat's `RequestTask` / `UploadTask` / `DownloadTask` the kit drives. */
interface WxTask {
  abort?: () => void;
  onHeadersReceived?: (listener: Listener) => void;
  offHeadersReceived?: (listener?: Listener) => void;
  onChunkReceived?: (listener: Listener) => void;
  offChunkReceived?: (listener?: Listener) => void;
  onProgressUpdate?: (listener: Listener) => void;
  offProgressUpdate?: (listener?: Listener) => void;
}

const TASK_EVENTS = ['HeadersReceived', 'ChunkReceived', 'ProgressUpdate'] as const;
type TaskEvent = (typeof TASK_EVENTS)[number];

/**
 * One caller's request across its attempts (first send and replays): abort, and the task events forwarded to
 * every WeChat task it creates. Its `handle` is what `onTask` gives the caller.
 */
export class RequestControl {
  /** The `ABORTED` error once `abort()` was called. */
  aborted: LoginError | null = null;
  private task: WxTask | null = null;
  private cancelQueued: ((error: unknown) => boolean) | null = null;
  private readonly listeners: Record<TaskEvent, Listener[]> = { HeadersReceived: [], ChunkReceived: [], ProgressUpdate: [] };
  private readonly abortWaiters: Array<(error: LoginError) => void> = [];

  /** The caller's handle (see `RequestTaskHandle`). */
  readonly handle: RequestTaskHandle = {
    abort: () => this.abort(),
    onHeadersReceived: (listener) => this.listen('HeadersReceived', listener),
    offHeadersReceived: (listener) => this.unlisten('HeadersReceived', listener),
    onChunkReceived: (listener) => this.listen('ChunkReceived', listener),
    offChunkReceived: (listener) => this.unlisten('ChunkReceived', listener),
    onProgressUpdate: (listener) => this.listen('ProgressUpdate', listener),
    offProgressUpdate: (listener) => this.unlisten('ProgressUpdate', listener),
  };

  /** Settles as `promise` does, or rejects `ABORTED` as soon as the caller aborts (e.g. while it waits for a login). */
  guard<T>(promise: Promise<T>): Promise<T> {
    if (this.aborted) return Promise.reject(this.aborted);
    return new Promise<T>((resolve, reject) => {
      this.abortWaiters.push(reject);
      promise.then(resolve, reject);
    });
  }

  /** Rejects the attempt with `error` if it still waits for a slot; false once it was sent. */
  cancel(error: unknown): boolean {
    return this.cancelQueued ? this.cancelQueued(error) : false;
  }

  /** The transport queued an attempt: `cancel` drops it while it waits. */
  queued(cancel: (error: unknown) => boolean): void {
    this.cancelQueued = cancel;
  }

  /** The transport started an attempt: its WeChat task gets the caller's listeners. */
  started(task: WxTask | null): void {
    this.cancelQueued = null;
    this.task = task;
    if (!task) return;
    for (const event of TASK_EVENTS) {
      const on = task[`on${event}`];
      if (typeof on === 'function') on.call(task, (result: unknown) => this.listeners[event].slice().forEach((l) => l(result)));
    }
  }

  private abort(): void {
    if (this.aborted) return;
    this.aborted = new LoginError('ABORTED', 'the caller aborted the request');
    const error = this.aborted;
    this.abortWaiters.splice(0).forEach((reject) => reject(error));
    if (this.cancelQueued) this.cancelQueued(error);
    if (this.task && typeof this.task.abort === 'function') this.task.abort();
  }

  private listen(event: TaskEvent, listener: Listener): void {
    if (typeof listener !== 'function') throw new LoginError('INVALID_OPTIONS', `on${event}(listener) expects a function`);
    this.listeners[event].push(listener);
  }

  private unlisten(event: TaskEvent, listener?: Listener): void {
    const list = this.listeners[event];
    if (!listener) list.length = 0;
    else if (list.indexOf(listener) >= 0) list.splice(list.indexOf(listener), 1);
  }
}

/** The three network APIs the kit runs, each with WeChat's own concurrency limit of 10. */
export type CallKind = 'request' | 'uploadFile' | 'downloadFile';

/** The shared pieces of one kit instance's network layer. */
export interface NetworkOptions {
  wx: WxAdapter;
  clock: Clock;
  /** One limiter per kind, kept for the kit instance's life. */
  limiters: Record<CallKind, Limiter>;
  baseURL?: string;
  /** Timeout in ms for calls that set none; 0: no kit time limit. */
  defaultTimeoutMs: number;
  /** Bounds every call in flight with one timer (see `Watchdog`). */
  watchdog: Watchdog;
}

/** A call the watchdog bounds: expired once if still watched at `deadline` (epoch ms). Linked in by the watchdog. */
export interface Watched {
  deadline: number;
  expire(): void;
  /** The watchdog's links (an intrusive list: no allocation, no hashing per call). */
  prev: Watched | null;
  next: Watched | null;
}

/**
 * One timer for every call in flight, instead of one per call: it is set for the earliest deadline, and on firing
 * expires what is due and sets itself for the next. A call that ends just unlinks itself, so a steady stream of
 * requests with the same timeout starts about one timer per timeout period, not one per request.
 */
export class Watchdog {
  private head: Watched | null = null;
  private timer: unknown = null;
  private due = Infinity;

  constructor(private readonly clock: Clock) {}

  /** Watches `entry` (its `deadline` set by the caller) until `unwatch(entry)`. */
  watch(entry: Watched): void {
    entry.prev = null;
    entry.next = this.head;
    if (this.head) this.head.prev = entry;
    this.head = entry;
    if (entry.deadline < this.due) this.arm(entry.deadline);
  }

  /** Stops watching `entry` (it ended in time). Safe to call for an entry no longer watched. */
  unwatch(entry: Watched): void {
    if (entry.prev) entry.prev.next = entry.next;
    else if (this.head === entry) this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = entry.next = null;
  }

  private arm(deadline: number): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.due = deadline;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, deadline - this.clock.now()));
    // Under Node (tests, tools), a watchdog alone never keeps the process alive; WeChat's timers are plain numbers.
    const unref = (this.timer as { unref?: () => void } | null)?.unref;
    if (typeof unref === 'function') unref.call(this.timer);
  }

  private fire(): void {
    this.timer = null;
    this.due = Infinity;
    const now = this.clock.now();
    const due: Watched[] = [];
    let next = Infinity;
    for (let entry = this.head; entry; entry = entry.next) {
      if (entry.deadline <= now) due.push(entry);
      else if (entry.deadline < next) next = entry.deadline;
    }
    for (const entry of due) {
      this.unwatch(entry);
      entry.expire();
    }
    if (next < Infinity) this.arm(next);
  }
}

/** What each kind is called in messages, and which of WeChat's `success` fields become the kit's response. */
const KINDS: Record<CallKind, { verb: string; parse(result: Record<string, unknown>, header: Record<string, string>): RequestResponse }> = {
  // WeChat's own result when it has a header (its extra fields, e.g. `cookies`, stay): no copy per request.
  request: {
    verb: 'request to',
    parse: (r, header) =>
      r.header === header ? (r as unknown as RequestResponse) : { statusCode: r.statusCode as number, data: r.data, header },
  },
  uploadFile: {
    verb: 'upload to',
    parse: (r, header) => {
      let data: unknown = r.data;
      try {
        data = JSON.parse(String(r.data)); // WeChat gives the body as text
      } catch {
        // not JSON: keep the text
      }
      return { statusCode: r.statusCode as number, data, header };
    },
  },
  downloadFile: {
    verb: 'download from',
    parse: (r, header) =>
      ({ statusCode: r.statusCode, data: undefined, header, tempFilePath: r.tempFilePath, filePath: r.filePath }) as RequestResponse,
  },
};

/** One `wx` call in flight: its state, and its entry in the watchdog. */
class InFlight<R> implements Watched {
  deadline = 0;
  prev: Watched | null = null;
  next: Watched | null = null;
  task: WxTask | undefined = undefined;
  private settled = false;

  constructor(
    readonly network: NetworkOptions,
    readonly kind: CallKind,
    readonly url: string,
    readonly timeout: number,
    readonly control: RequestControl | undefined,
    readonly done: (error: unknown, response?: R) => void,
  ) {}

  /** `request to https://...`, for messages. */
  what(): string {
    return `${KINDS[this.kind].verb} ${this.url}`;
  }

  finish(error: unknown, response?: R): void {
    if (this.settled) return;
    this.settled = true;
    if (this.deadline) this.network.watchdog.unwatch(this);
    const control = this.control;
    this.done(control && control.aborted && error ? control.aborted : error, response);
  }

  /** WeChat's `success`. A shim that calls `success(undefined)` is a NETWORK_ERROR, never a crash. */
  succeed(raw: unknown): void {
    const r = raw as Record<string, unknown> | null | undefined;
    if (typeof r !== 'object' || r === null || typeof r.statusCode !== 'number') {
      return this.fail({ errMsg: `${this.kind}:fail ${this.what()} succeeded without a statusCode` });
    }
    this.finish(undefined, KINDS[this.kind].parse(r, (r.header as Record<string, string>) || {}) as R);
  }

  /** WeChat's `fail`: a `TIMEOUT` when WeChat says so, else a (transient) `NETWORK_ERROR`, with its `errMsg`/`errno`. */
  fail(error: WxFailResult | undefined): void {
    const errMsg = error && typeof error.errMsg === 'string' ? error.errMsg : `${this.what()}:fail`;
    this.finish(
      new LoginError(networkFailure(errMsg), `${this.what()} failed: ${errMsg}`, { errMsg, errno: error && error.errno, cause: error }),
    );
  }

  /** No callback within `timeout` + 1 s: `TIMEOUT`, and the task is aborted. */
  expire(): void {
    this.finish(new LoginError('TIMEOUT', `${this.what()} did not finish within ${this.timeout + CALLBACK_GRACE_MS} ms`));
    if (this.task && typeof this.task.abort === 'function') this.task.abort();
  }
}

/**
 * Starts one `wx` call of `kind` now — the caller holds its slot — and calls `done` exactly once: with the response
 * for any HTTP status, or with a `LoginError` (`TIMEOUT`, `NETWORK_ERROR`, `ABORTED`, `INVALID_OPTIONS` for a `wx`
 * without that API). `url` is absolute; `header` replaces the call's own when given (credentials merged in). Every
 * other caller option is copied once, as it is. No promise, no timer of its own: the network's watchdog bounds it.
 * `now` (epoch ms) saves a clock read when the caller just made one.
 */
export function startCall<R>(
  network: NetworkOptions,
  kind: CallKind,
  original: RequestOptions,
  url: string,
  header: Record<string, string> | undefined,
  control: RequestControl | undefined,
  done: (error: unknown, response?: R) => void,
  now?: number,
): void {
  const api = (network.wx as unknown as Record<CallKind, ((options: object) => unknown) | undefined>)[kind];
  if (typeof api !== 'function') return done(new LoginError('INVALID_OPTIONS', `the wx adapter has no ${kind}`));
  if (control && control.aborted) return done(control.aborted);
  const timeout = original.timeout !== undefined ? original.timeout : network.defaultTimeoutMs;
  const call = new InFlight<R>(network, kind, url, timeout, control, done);
  // One copy (Object.assign is a builtin: cheap even without a JIT), then the kit's own fields out, if any: only
  // `loginOpts` and `reTry` can still be there (the step-by-step path sends options without them; the fast path
  // refuses the others).
  const sent: Record<string, unknown> = Object.assign({}, original);
  if (sent.loginOpts !== undefined) delete sent.loginOpts;
  if (sent.reTry !== undefined) delete sent.reTry;
  sent.url = url;
  if (header) sent.header = header;
  if (kind === 'request' && sent.method === undefined) sent.method = 'GET';
  if (timeout > 0) sent.timeout = timeout;
  else delete sent.timeout;
  sent.success = (raw: unknown) => call.succeed(raw);
  sent.fail = (error: WxFailResult | undefined) => call.fail(error);
  if (timeout > 0) {
    call.deadline = (now !== undefined ? now : network.clock.now()) + timeout + CALLBACK_GRACE_MS;
    network.watchdog.watch(call);
  }
  try {
    call.task = api.call(network.wx, sent) as WxTask | undefined;
  } catch (error) {
    return call.fail({ errMsg: `${call.what()}:fail ${String(error)}` });
  }
  if (control) control.started(call.task || null);
}

/**
 * One attempt of `wx.request`, `wx.uploadFile` or `wx.downloadFile` (`kind`) by a caller that already holds a slot of
 * its limiter. Every caller option reaches WeChat unchanged except the callbacks and `timeout` (default
 * `config.timeouts.request`; 0: none). Bounded by `timeout + 1000` ms even if WeChat never calls back (the task is
 * then aborted). Resolves with the response for any HTTP status — `{statusCode, data, header}`, the upload's `data`
 * parsed when it is JSON, the download's `tempFilePath`/`filePath`; rejects `TIMEOUT` (WeChat's timeout, or no
 * callback in time), `NETWORK_ERROR` (any other `fail`, including `fail interrupted` in background, with WeChat's
 * `errMsg`/`errno`), `ABORTED` (the caller aborted), or `INVALID_OPTIONS` (a relative URL without `baseURL`, or a
 * `wx` without that API).
 */
export function callInSlot<R>(network: NetworkOptions, kind: CallKind, original: RequestOptions, control?: RequestControl): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const url = resolveUrl(original.url, network.baseURL);
    startCall<R>(network, kind, original, url, undefined, control, (error, response) => (error ? reject(error) : resolve(response!)));
  });
}

/** `callInSlot` in the priority lane of the limiter of `kind`: waits for a slot, sends, gives the slot back. */
function sendWithPriority<R>(network: NetworkOptions, kind: CallKind, original: RequestOptions): Promise<R> {
  return network.limiters[kind].schedule(() => callInSlot<R>(network, kind, original), true).promise;
}

/** The `Transport` and `Uploader` a backend adapter gets: the kit's auth lane (never behind the app's queue). */
export function authLane(network: NetworkOptions): {
  request: <T>(options: RequestOptions) => Promise<RequestResponse<T>>;
  uploadFile: Uploader;
} {
  return {
    request: <T>(options: RequestOptions) => sendWithPriority<RequestResponse<T>>(network, 'request', options),
    uploadFile: (upload) => sendWithPriority<RequestResponse>(network, 'uploadFile', upload as unknown as RequestOptions),
  };
}
