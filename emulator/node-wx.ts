/**
 * A `wx` for Node: what the kit needs from the mini-program runtime, backed by the WeChat emulator.
 * `wx.login` asks the emulator for a code for the current simulated user; `wx.request` does real HTTP (fetch);
 * storage is an in-memory map with WeChat's JSON round trip and 1 MB per-key limit. Page navigation is delegated
 * to a page runtime (see `page-runtime.ts`) when one is attached. Development tooling only.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { AuthSettingLike, WxAdapter, WxRequestOptions } from '../lib/runtime';
import type { NeedPrivacyAuthorizationListener, PrivacyResolveOption } from '../lib/wechat-types';
import type { WeChatEmulator } from './wechat';

/** Navigation as the page runtime provides it. */
export interface Navigator {
  navigateTo(options: { url: string; success?: () => void; fail?: (error: { errMsg: string }) => void }): void;
  redirectTo(options: { url: string; success?: () => void; fail?: (error: { errMsg: string }) => void }): void;
  navigateBack(options?: { delta?: number; success?: () => void; fail?: (error: { errMsg: string }) => void }): void;
}

/** The emulated phone: an iPhone-sized screen on WeChat 8.0.50, base library 3.6.0. */
const DEVICE = {
  brand: 'Apple',
  model: 'iPhone',
  system: 'iOS 17.0',
  platform: 'ios',
  version: '8.0.50',
  SDKVersion: '3.6.0',
  language: 'zh_CN',
  theme: 'light',
  pixelRatio: 2,
  screenWidth: 375,
  screenHeight: 667,
  windowWidth: 375,
  windowHeight: 667,
  statusBarHeight: 20,
  safeArea: { top: 20, left: 0, right: 375, bottom: 667, width: 375, height: 647 },
  host: { env: 'WeChat' },
};

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
  /**
   * The device as frameworks read it at start-up (uni-app's runtime calls these while its vendor chunk loads):
   * one phone, base library `DEVICE.SDKVersion`. `getSystemInfoSync` is the deprecated union of the other three.
   */
  getSystemInfoSync(): typeof DEVICE;
  getWindowInfo(): typeof DEVICE;
  getDeviceInfo(): typeof DEVICE;
  getAppBaseInfo(): typeof DEVICE;
  /** Every API and component the emulated base library knows of is available (`wx.canIUse`). */
  canIUse(schema: string): boolean;
  /** The user's permission switches (`wx.getSetting`), e.g. `{'scope.userInfo': false}` after a refusal. */
  authSetting: AuthSettingLike;
  /** What the simulated user does with the next `wx.showModal` and in the permission panel (`wx.openSetting`). */
  script: { modal: 'confirm' | 'cancel'; grantInPanel: boolean };
  /** The listener the app registered with `wx.onNeedPrivacyAuthorization`, if any. */
  privacyListener: NeedPrivacyAuthorizationListener | null;
  /**
   * A privacy API was used before the user agreed: calls the registered listener like WeChat does and resolves with
   * the final answer (`agree`/`disagree`), collecting the exposure report in `privacyEvents`.
   */
  needPrivacy(referrer: string): Promise<PrivacyResolveOption>;
  privacyEvents: PrivacyResolveOption[];
  /** The loading toast's title while `wx.showLoading` shows one, else null. */
  loading: string | null;
  /** What the user answers in WeChat's official privacy popup (`wx.requirePrivacyAuthorize`); default `agree`. */
  officialPrivacyAnswer: 'agree' | 'disagree';
  /** `wx.requirePrivacyAuthorize` (base library >= 2.32.3): raises the official popup. */
  requirePrivacyAuthorize(options: { success?: () => void; fail?: (error: { errMsg: string }) => void }): void;
  onNeedPrivacyAuthorization(listener: NeedPrivacyAuthorizationListener): void;
  getPrivacySetting(options: { success?: (setting: { needAuthorization: boolean; privacyContractName: string }) => void }): void;
  openPrivacyContract(options?: object): void;
  createSelectorQuery(): object;
  /** Attaches the page runtime that serves navigation. */
  attachNavigator(navigator: Navigator): void;
}

export interface NodeWxOptions {
  /** Where `wx.login` gets its codes: the emulator, or a stand-in in another process (a promise of the code). */
  emulator: Pick<WeChatEmulator, 'issueCode'> | { issueCode(openid: string, appid?: string): Promise<string> };
  /** The person using the phone (the emulator's user key). */
  openid: string;
  /** The mini-program this `wx` belongs to (default the emulator's primary appid). */
  appid?: string;
  /** What `wx.getExtConfigSync()` returns (the demo reads its `baseURL` there). */
  extConfig?: Record<string, unknown>;
  /** Receives one line per `wx` call, for the demo's narration. */
  log?: (line: string) => void;
  /**
   * The phone, over the default iPhone: e.g. HarmonyOS WeChat, `{ platform: 'ohos', system: 'HarmonyOS 5.0.0', brand:
   * 'HUAWEI', model: 'Mate 70' }` (WeChat's `wx.getDeviceInfo` doc: `platform` is `ios`, `android`, `ohos`, `ohos_pc`,
   * `windows`, `mac` or `devtools`).
   */
  device?: Partial<typeof DEVICE>;
}

const STORAGE_KEY_LIMIT = 1024 * 1024;

/** An upload task's progress: `onProgressUpdate` listeners get one 100% report when the transfer is done. */
function progressOf(total: number, sent: string, expected: string) {
  const listeners: Array<(result: unknown) => void> = [];
  return {
    task: { abort: () => undefined, onProgressUpdate: (listener: (result: unknown) => void) => listeners.push(listener) },
    done: () => listeners.forEach((listener) => listener({ progress: 100, [sent]: total, [expected]: total })),
  };
}

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
    authSetting: {},
    script: { modal: 'confirm', grantInPanel: true },
    privacyListener: null,
    privacyEvents: [],
    loading: null,
    officialPrivacyAnswer: 'agree',
    inFlight: 0,
    maxInFlight: 0,
    login(opts) {
      count('login');
      // A stand-in in this process answers at once; one in another process (its control API) later.
      Promise.resolve()
        .then(() => options.emulator.issueCode(wx.openid, options.appid))
        .then(
          (code) => {
            log(`wx.login -> code ${code.slice(0, 6)}… (user ${wx.openid})`);
            setImmediate(() => opts.success?.({ code, errMsg: 'login:ok' }));
          },
          (error: Error) => setImmediate(() => opts.fail?.({ errMsg: `login:fail ${error.message}` })),
        );
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
          const errMsg = timedOut
            ? 'request:fail timeout'
            : controller.signal.aborted
              ? 'request:fail abort'
              : `request:fail ${error.message}`;
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
    getSystemInfoSync: () => ({ ...DEVICE, ...options.device }),
    getWindowInfo: () => ({ ...DEVICE }),
    getDeviceInfo: () => ({ ...DEVICE, ...options.device }),
    getAppBaseInfo: () => ({ ...DEVICE, ...options.device }),
    canIUse: () => true,
    getSetting(opts) {
      count('getSetting');
      setImmediate(() => opts.success?.({ authSetting: { ...wx.authSetting } }));
    },
    showModal(opts) {
      count('showModal');
      const confirm = wx.script.modal === 'confirm';
      log(
        `wx.showModal "${opts.title}" / "${opts.content}" -> user taps ${confirm ? `"${opts.confirmText ?? '确定'}"` : `"${opts.cancelText ?? '取消'}"`}`,
      );
      setImmediate(() => opts.success?.({ confirm, cancel: !confirm }));
    },
    openSetting(opts) {
      count('openSetting');
      wx.authSetting = { ...wx.authSetting, 'scope.userInfo': wx.script.grantInPanel };
      log(`wx.openSetting -> the user ${wx.script.grantInPanel ? 'switches on' : 'leaves off'} "用户信息"`);
      setImmediate(() => opts.success?.({ authSetting: { ...wx.authSetting } }));
    },
    uploadFile(opts) {
      count('uploadFile');
      const form = new FormData();
      for (const [key, value] of Object.entries(opts.formData ?? {})) form.append(key, String(value));
      const file = fs.readFileSync(opts.filePath);
      const type = /\.png$/i.test(opts.filePath)
        ? 'image/png'
        : /\.jpe?g$/i.test(opts.filePath)
          ? 'image/jpeg'
          : 'application/octet-stream';
      form.append(opts.name, new Blob([new Uint8Array(file)], { type }), path.basename(opts.filePath));
      const pathname = opts.url.replace(/^https?:\/\/[^/]+/, '');
      wx.requested.push(`UPLOAD ${pathname}`);
      const progress = progressOf(file.length, 'totalBytesSent', 'totalBytesExpectedToSend');
      const header = opts.header as Record<string, string> | undefined;
      fetch(opts.url, { method: 'POST', headers: header, body: form })
        .then(async (response) => {
          const data = await response.text();
          log(`wx.uploadFile ${pathname}${header?.Authorization ? ' (with token)' : ''} -> ${response.status}`);
          progress.done();
          opts.success?.({ statusCode: response.status, data });
        })
        .catch((error: Error) => opts.fail?.({ errMsg: `uploadFile:fail ${error.message}` }));
      return progress.task;
    },
    downloadFile(opts) {
      count('downloadFile');
      const pathname = opts.url.replace(/^https?:\/\/[^/]+/, '');
      wx.requested.push(`DOWNLOAD ${pathname}`);
      const header = opts.header as Record<string, string> | undefined;
      const controller = new AbortController();
      const task = { listeners: [] as Array<(r: unknown) => void> };
      fetch(opts.url, { headers: header, signal: controller.signal })
        .then(async (response) => {
          const body = Buffer.from(await response.arrayBuffer());
          const target = opts.filePath ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-dl-')), path.basename(pathname) || 'file');
          fs.writeFileSync(target, body);
          log(`wx.downloadFile ${pathname}${header?.Authorization ? ' (with token)' : ''} -> ${response.status}`);
          for (const listener of task.listeners)
            listener({ progress: 100, totalBytesWritten: body.length, totalBytesExpectedToWrite: body.length });
          opts.success?.({ statusCode: response.status, ...(opts.filePath ? { filePath: target } : { tempFilePath: target }) });
        })
        .catch((error: Error) =>
          opts.fail?.({ errMsg: controller.signal.aborted ? 'downloadFile:fail abort' : `downloadFile:fail ${error.message}` }),
        );
      return { abort: () => controller.abort(), onProgressUpdate: (listener: (r: unknown) => void) => task.listeners.push(listener) };
    },
    showLoading(opts) {
      count('showLoading');
      wx.loading = opts.title;
      log(`wx.showLoading "${opts.title}"`);
    },
    hideLoading() {
      count('hideLoading');
      wx.loading = null;
      log('wx.hideLoading');
    },
    onNeedPrivacyAuthorization(listener: NeedPrivacyAuthorizationListener) {
      count('onNeedPrivacyAuthorization');
      wx.privacyListener = listener;
    },
    requirePrivacyAuthorize(opts: { success?: () => void; fail?: (error: { errMsg: string }) => void }) {
      count('requirePrivacyAuthorize');
      const answer = wx.officialPrivacyAnswer;
      log(`wx.requirePrivacyAuthorize -> WeChat's official popup; the user answers ${answer}`);
      setTimeout(() => (answer === 'agree' ? opts.success?.() : opts.fail?.({ errMsg: 'requirePrivacyAuthorize:fail auth deny' })), 0);
    },
    getPrivacySetting(opts: { success?: (setting: { needAuthorization: boolean; privacyContractName: string }) => void }) {
      opts.success?.({ needAuthorization: true, privacyContractName: '《演示小程序隐私保护指引》' });
    },
    openPrivacyContract() {
      count('openPrivacyContract');
      log('wx.openPrivacyContract -> the contract is shown');
    },
    needPrivacy(referrer) {
      const listener = wx.privacyListener;
      if (!listener) {
        const agree = wx.officialPrivacyAnswer === 'agree';
        log(`WeChat: "${referrer}" needs the privacy agreement -> WeChat's official popup; the user ${agree ? 'agrees' : 'refuses'}`);
        return Promise.resolve(agree ? { event: 'agree', buttonId: 'official-popup' } : { event: 'disagree' });
      }
      log(`WeChat: "${referrer}" needs the privacy agreement -> onNeedPrivacyAuthorization`);
      return new Promise((resolve) => {
        listener(
          (option) => {
            wx.privacyEvents.push(option);
            log(`privacy resolve(${JSON.stringify(option)})`);
            if (option.event !== 'exposureAuthorization') resolve(option);
          },
          { referrer },
        );
      });
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
    redirectTo(opts) {
      count('redirectTo');
      if (!navigator) return opts.fail?.({ errMsg: 'redirectTo:fail no page runtime' });
      navigator.redirectTo(opts);
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
