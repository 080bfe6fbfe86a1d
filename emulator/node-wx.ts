/**
 * A `wx` for Node: what the kit needs from the mini-program runtime, backed by the WeChat emulator.
 * `wx.login` asks the emulator for a code for the current simulated user; `wx.request` does real HTTP (fetch);
 * storage is an in-memory map with WeChat's JSON round trip and 1 MB per-key limit. Page navigation is delegated
 * to a page runtime (see `page-runtime.ts`) when one is attached. Development tooling only.
 */
import type { WxAdapter, WxRequestOptions } from '../lib/runtime';
import type { WeChatEmulator } from './wechat';

/** Navigation as the page runtime provides it. */
export interface Navigator {
  navigateTo(options: { url: string; success?: () => void; fail?: (error: { errMsg: string }) => void }): void;
  navigateBack(options?: { delta?: number; success?: () => void; fail?: (error: { errMsg: string }) => void }): void;
}

export interface NodeWx extends WxAdapter, Navigator {
  /** The simulated user `wx.login` logs in as. */
  openid: string;
  storage: Map<string, string>;
  /** How many times each `wx.*` API was called. */
  calls: Record<string, number>;
  /** Every `wx.request` as "METHOD /path", in order. */
  requested: string[];
  /** Requests currently in flight, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  getExtConfigSync(): Record<string, unknown>;
  createSelectorQuery(): object;
  /** Attaches the page runtime that serves navigation. */
  attachNavigator(navigator: Navigator): void;
}

export interface NodeWxOptions {
  emulator: WeChatEmulator;
  openid: string;
  /** What `wx.getExtConfigSync()` returns (the demo reads its `baseURL` there). */
  extConfig?: Record<string, unknown>;
  /** Receives one line per `wx` call, for the demo's narration. */
  log?: (line: string) => void;
}

const STORAGE_KEY_LIMIT = 1024 * 1024;

export function createNodeWx(options: NodeWxOptions): NodeWx {
  const log = options.log ?? (() => undefined);
  let navigator: Navigator | null = null;
  const count = (api: string) => {
    wx.calls[api] = (wx.calls[api] ?? 0) + 1;
  };
  const wx: NodeWx = {
    openid: options.openid,
    storage: new Map(),
    calls: {},
    requested: [],
    inFlight: 0,
    maxInFlight: 0,
    login(opts) {
      count('login');
      const code = options.emulator.issueCode(wx.openid);
      log(`wx.login -> code ${code.slice(0, 6)}… (user ${wx.openid})`);
      setImmediate(() => opts.success?.({ code, errMsg: 'login:ok' }));
    },
    request(opts: WxRequestOptions) {
      count('request');
      const controller = new AbortController();
      const method = (opts.method ?? 'GET').toUpperCase();
      const headers: Record<string, string> = { ...opts.header };
      let url = opts.url;
      let body: string | undefined;
      if (method === 'GET' && opts.data && typeof opts.data === 'object') {
        url += (url.includes('?') ? '&' : '?') + new URLSearchParams(opts.data as Record<string, string>).toString();
      } else if (opts.data !== undefined) {
        body = typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
      const pathname = url.replace(/^https?:\/\/[^/]+/, '');
      wx.requested.push(`${method} ${pathname.replace(/\?.*$/, '')}`);
      const what = `wx.request ${method} ${pathname}${headers.Authorization ? ' (with token)' : ''}`;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, opts.timeout ?? 60_000);
      wx.inFlight++;
      wx.maxInFlight = Math.max(wx.maxInFlight, wx.inFlight);
      fetch(url, { method, headers, body, signal: controller.signal })
        .then(async (response) => {
          const text = await response.text();
          let data: unknown = text;
          if (opts.dataType === undefined || opts.dataType === 'json') {
            try {
              data = JSON.parse(text);
            } catch {
              data = text;
            }
          }
          const header: Record<string, string> = {};
          response.headers.forEach((value, key) => (header[key] = value));
          const code = (data as { code?: unknown } | null)?.code;
          log(`${what} -> ${response.status}${typeof code === 'string' ? ` ${code}` : ''}`);
          return () => opts.success?.({ statusCode: response.status, data, header });
        })
        .catch((error: Error) => {
          const errMsg = timedOut ? 'request:fail timeout' : controller.signal.aborted ? 'request:fail abort' : `request:fail ${error.message}`;
          log(`${what} -> ${errMsg}`);
          return () => opts.fail?.({ errMsg });
        })
        .then((settle) => {
          clearTimeout(timer);
          wx.inFlight--;
          settle();
        });
      return { abort: () => controller.abort() };
    },
    getStorageSync(key) {
      count('getStorageSync');
      const raw = wx.storage.get(key);
      return raw === undefined ? '' : JSON.parse(raw);
    },
    setStorageSync(key, data) {
      count('setStorageSync');
      const raw = JSON.stringify(data);
      if (raw.length > STORAGE_KEY_LIMIT) throw new Error('setStorageSync:fail exceed storage item max length');
      wx.storage.set(key, raw);
    },
    removeStorageSync(key) {
      count('removeStorageSync');
      wx.storage.delete(key);
    },
    getExtConfigSync() {
      return { ...options.extConfig };
    },
    createSelectorQuery() {
      // wepy 2 asks for one when a page attaches; the headless runtime has no layout to measure.
      const query = { in: () => query, select: () => ({}), selectAll: () => ({}), exec: () => undefined };
      return query;
    },
    navigateTo(opts) {
      count('navigateTo');
      if (!navigator) return opts.fail?.({ errMsg: 'navigateTo:fail no page runtime' });
      navigator.navigateTo(opts);
    },
    navigateBack(opts = {}) {
      count('navigateBack');
      if (!navigator) return opts.fail?.({ errMsg: 'navigateBack:fail no page runtime' });
      navigator.navigateBack(opts);
    },
    attachNavigator(next) {
      navigator = next;
    },
  };
  return wx;
}
