/**
 * `launchApp(dir, options)`: a **built** mini-program (native, wepy 1, wepy 2, Taro or uni-app output: a folder with
 * `app.js` and `app.json`) run headlessly in Node on miniprogram-simulate, on the phone of one WeChat user, against a
 * `Backend`. What it supports, and the errors for what it does not, are listed in `launchApp`'s docstring.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { createNodeWx, type NodeWx } from '../emulator/node-wx';
import { PageRuntime } from '../emulator/page-runtime';
import { SHARED_KEY } from '../hub/shared';
import type { Backend, ReceivedRequest } from './backend';
import { installDom } from './dom';
import { KitUI, type UINode } from './kit-ui';
import { waitFor } from './wait';

const NAME = 'miniprogram-login-kit/testing';

/** Options of `launchApp`. */
export interface LaunchOptions {
  /** The backend the app's requests go to (`startBackend()` or `connectBackend(url, wechatURL)`). */
  backend: Backend;
  /**
   * The WeChat user holding the phone (default `user`): the same name on a later launch is the same person (a
   * returning user), on a new device — empty storage, as after a reinstall.
   */
  user?: string;
  /** The stand-in's appid of the mini-program (default its primary one; `DevBackend.appids[source]` for another). */
  appid?: string;
  /** What `wx.getExtConfigSync()` returns (default `{ baseURL: backend.baseURL }`). */
  extConfig?: Record<string, unknown>;
  /**
   * Whether the user already agreed to the privacy agreement (default `true`). With `false`, the first privacy-gated
   * action (choosing an avatar, the phone-number or user-info button) raises it: WeChat's official popup (answered by
   * `officialPrivacyAnswer`) or, when the app asked the kit to show it (`privacy: 'kit'`), the kit's own panel, which
   * the test answers with `KitUI.agreePrivacy()` / `refusePrivacy()`.
   */
  privacyAgreed?: boolean;
  /** What the user answers in WeChat's official privacy popup (default `agree`). */
  officialPrivacyAnswer?: 'agree' | 'disagree';
  /** The bound of every wait, in ms (default 5000). */
  timeoutMs?: number;
  /** Receives one line per `wx` call and page change (default: nothing). */
  log?: (line: string) => void;
}

/** A kit event as `Login.onStateChange` gives it (`type` is `login`, `loginFailed`, `uiShown`, `logout`, …). */
export interface KitEvent {
  type: string;
  [key: string]: unknown;
}

/** The permission panel: what the user does when the kit, after a refusal, offers to open the settings. */
export interface PermissionAnswers {
  /** The kit's `wx.showModal` ("open the settings?"): `confirm` (default) or `cancel`. */
  modal: 'confirm' | 'cancel';
  /** In the settings panel (`wx.openSetting`), the user switches "用户信息" on (default `true`). */
  allowInPanel: boolean;
}

/** A launched app: act as its user, and observe what happens. One app runs at a time in a process. */
export interface LaunchedApp {
  /** The WeChat user holding the phone. */
  readonly user: string;
  /** The top page's route, e.g. `pages/index/index`. */
  readonly route: string;
  /** The routes of the page stack, bottom first (at most 10, as in WeChat). */
  readonly stack: string[];
  /** The top page's data (`this.data`). */
  data(): Record<string, unknown>;
  /**
   * The trimmed text of the first node matching `selector` on the top page, searched through every custom
   * component; the whole page's text without a selector; null when nothing matches.
   */
  text(selector?: string): string | null;
  /** Whether a node matches `selector` on the top page (through every custom component). */
  has(selector: string): boolean;
  /**
   * Opens `url` (e.g. `/pages/index/index?id=1`) as the only page (`wx.reLaunch`) and waits until it is on screen.
   * @throws Error when app.json declares no such page.
   */
  open(url: string): Promise<void>;
  /**
   * The user taps the first node matching `selector` (searched through every custom component).
   * @throws Error naming the selector and the page when nothing matches within the wait.
   */
  tap(selector: string): Promise<void>;
  /** Dispatches event `name` with `detail` on the first node matching `selector` (waits for it like `tap`). */
  fire(selector: string, name: string, detail?: object): Promise<void>;
  /** The kit's login UI (the AuthModal or the login page), once it shows; waits for it. */
  loginUI(): Promise<KitUI>;
  /** Whether the kit's login UI shows now. */
  hasLoginUI(): boolean;
  /**
   * Waits until `probe` returns a truthy value and resolves with it.
   * @throws Error after `timeoutMs` naming `what`, the top page and its text.
   */
  waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs?: number): Promise<T>;
  /** Waits until `selector` has text (equal to `expected` when given) and resolves with it. */
  waitForText(selector: string, expected?: string): Promise<string>;
  /** Waits until the top page is `route` (no leading slash, no query). */
  waitForRoute(route: string): Promise<void>;
  /** What this phone sent to the backend, in order, with the tokens and the answers. */
  readonly received: ReceivedRequest[];
  /** The kit's events (`Login.onStateChange` of the app's `Login`), in order. */
  readonly events: KitEvent[];
  /** How many times each `wx` API was called, e.g. `calls.login`. */
  readonly calls: Record<string, number>;
  /** `wx.request` calls in flight now (WeChat runs at most 10 at once). */
  readonly inFlight: number;
  /** The most `wx.request` calls in flight at once so far. */
  readonly maxInFlight: number;
  /** What the user does when the kit offers the permission panel; change it before the refusal. */
  readonly permissions: PermissionAnswers;
  /** The phone's storage (`wx.setStorageSync`), raw JSON by key. */
  readonly storage: Map<string, string>;
}

/** The copy of each built app the phones run (outside the project, whose node_modules a phone does not have). */
const copies = new Map<string, string>();

/**
 * WeChat resolves a bare `require('pkg')` to `miniprogram_npm/pkg`; Node looks in `node_modules`. Gives each package
 * of `miniprogram_npm` a `node_modules` entry that re-exports it by its real path, so both load the same modules.
 */
function resolveLikeWeChat(app: string): void {
  const npm = path.join(app, 'miniprogram_npm');
  if (!fs.existsSync(npm)) return;
  const packages = fs
    .readdirSync(npm)
    .flatMap((name) => (name.startsWith('@') ? fs.readdirSync(path.join(npm, name)).map((n) => `${name}/${n}`) : [name]));
  for (const name of packages) {
    const entry = path.join(app, 'node_modules', name);
    const main = ['index.js', 'main.js'].map((f) => path.join(npm, name, f)).find((f) => fs.existsSync(f));
    if (!main) continue;
    fs.mkdirSync(entry, { recursive: true });
    fs.writeFileSync(path.join(entry, 'index.js'), `module.exports = require(${JSON.stringify(main)});\n`);
  }
}

/** Checks what the runtime cannot run, and says so. */
function checkSupported(dir: string): void {
  for (const file of ['app.js', 'app.json'])
    if (!fs.existsSync(path.join(dir, file)))
      throw new Error(`${NAME}: ${dir} has no ${file}: launchApp runs a built mini-program (your framework's output folder, e.g. dist/)`);
  const appJson = JSON.parse(fs.readFileSync(path.join(dir, 'app.json'), 'utf8')) as Record<string, unknown>;
  if (appJson.plugins) throw new Error(`${NAME}: app.json uses mini-program plugins ("plugins"), which launchApp does not support`);
  if (appJson.workers) throw new Error(`${NAME}: app.json uses workers ("workers"), which launchApp does not support`);
  const text = fs.readFileSync(path.join(dir, 'app.json'), 'utf8');
  if (text.includes('plugin://'))
    throw new Error(`${NAME}: app.json uses a plugin component (plugin://…), which launchApp does not support`);
}

/**
 * A copy of `dir` for the phones (made once per process), without its own top-level node_modules (a build output may
 * hold folders of that name deeper, such as wepy 2's `$vendor/.../node_modules`), resolving like WeChat.
 */
function phoneCopy(dir: string): string {
  const source = path.resolve(dir);
  let copy = copies.get(source);
  if (!copy) {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-app-'));
    fs.cpSync(source, copy, { recursive: true, filter: (file) => file !== path.join(source, 'node_modules') });
    resolveLikeWeChat(copy);
    copies.set(source, copy);
  }
  return copy;
}

/** miniprogram-simulate, the optional peer dependency, or an error that names it. */
function requireSimulate(): void {
  try {
    (require as unknown as NodeJS.Require).resolve('miniprogram-simulate');
  } catch {
    throw new Error(
      `${NAME}: launchApp needs miniprogram-simulate (an optional peer dependency): npm install --save-dev miniprogram-simulate`,
    );
  }
}

/** Wraps the transfers of `wx` so each is recorded as the backend received it, and goes to the backend's origin. */
function recordTransfers(wx: NodeWx, backend: Backend, user: string, received: ReceivedRequest[]): void {
  const toBackend = (url: string) => (/^https?:\/\//.test(url) ? backend.baseURL + url.replace(/^https?:\/\/[^/]+/, '') : url);
  const parse = (data: unknown) => {
    if (typeof data !== 'string') return data;
    try {
      return JSON.parse(data) as unknown;
    } catch {
      return data;
    }
  };
  const record = (method: string, url: string, body: unknown, header: unknown) => {
    const entry: ReceivedRequest = {
      method,
      path: url.replace(/^https?:\/\/[^/]+/, ''),
      body: parse(body),
      authorization: Object.entries((header ?? {}) as Record<string, string>).find(([key]) => key.toLowerCase() === 'authorization')?.[1],
      user,
    };
    received.push(entry);
    if (backend.received !== received) backend.received.push(entry);
    return entry;
  };
  const request = wx.request.bind(wx);
  wx.request = (opts) => {
    const entry = record((opts.method ?? 'GET').toUpperCase(), opts.url, opts.data, opts.header);
    return request({
      ...opts,
      url: toBackend(opts.url),
      success: (result) => {
        entry.status = result.statusCode;
        entry.response = result.data;
        opts.success?.(result);
      },
    });
  };
  const upload = wx.uploadFile!.bind(wx);
  wx.uploadFile = (opts) => {
    const entry = record('UPLOAD', opts.url, opts.formData, opts.header);
    return upload({
      ...opts,
      url: toBackend(opts.url),
      success: (result) => {
        entry.status = result.statusCode;
        entry.response = parse(result.data);
        opts.success?.(result);
      },
    });
  };
  const download = wx.downloadFile!.bind(wx);
  wx.downloadFile = (opts) => {
    const entry = record('DOWNLOAD', opts.url, undefined, opts.header);
    return download({
      ...opts,
      url: toBackend(opts.url),
      success: (result) => {
        entry.status = result.statusCode;
        opts.success?.(result);
      },
    });
  };
}

/** The global `jest` when running under jest (its module registry holds the app's modules). */
declare const jest: { resetModules(): void } | undefined;

/**
 * Launches the built mini-program in `dir` on a new phone of `options.user` (empty storage) and runs `App.onLaunch`.
 *
 * Supported: `app.json` `pages` and `subpackages` (a page app.json does not declare is "not found", as in WeChat);
 * `usingComponents`, with `miniprogram_npm` resolution for npm components and bare `require('pkg')`; pages built
 * with `Page()` or `Component()`; `wx.navigateTo` / `redirectTo` / `navigateBack` with WeChat's 10-page limit; the
 * `wx` APIs the kit uses (login, request, upload/download, storage, settings, modal, loading, privacy), every
 * `http(s)` transfer going to `options.backend` whatever origin the app names. Native, wepy 1, wepy 2, Taro and
 * uni-app output run as built. Not supported, refused with an error that says so: mini-program plugins, workers, a
 * folder that is not a built app. Other `wx` APIs are absent (`undefined`), as on an old base library. One app runs
 * at a time: a launch replaces the previous one (under jest, the module registry is reset, so the app's modules — the
 * kit's `Login` with them — are new).
 * @throws Error naming miniprogram-simulate (an optional peer dependency) or jsdom when missing, or the unsupported feature.
 */
export async function launchApp(dir: string, options: LaunchOptions): Promise<LaunchedApp> {
  requireSimulate();
  checkSupported(dir);
  installDom();
  const root = phoneCopy(dir);
  if (typeof jest !== 'undefined') jest.resetModules();
  const { backend } = options;
  const user = options.user ?? 'user';
  const timeoutMs = options.timeoutMs ?? 5000;
  const log = options.log ?? (() => undefined);
  const wx = createNodeWx({
    emulator: { issueCode: (openid: string, appid?: string) => backend.wechat.issueCode(openid, appid) },
    openid: user,
    appid: options.appid,
    extConfig: options.extConfig ?? { baseURL: backend.baseURL },
    log,
  });
  wx.officialPrivacyAnswer = options.officialPrivacyAnswer ?? 'agree';
  const received: ReceivedRequest[] = [];
  recordTransfers(wx, backend, user, received);
  const events: KitEvent[] = [];
  const runtime = new PageRuntime(root, wx, log, () => {
    const registry = (globalThis as Record<string, unknown>)[SHARED_KEY] as { values?: Record<string, unknown> } | undefined;
    const login = registry?.values?.Login as { onStateChange?: (listener: (event: KitEvent) => void) => unknown } | undefined;
    login?.onStateChange?.((event) => events.push(event));
  });
  runtime.launch();
  const page = () => runtime.current.rendered as unknown as UINode;
  const wait = <T>(what: string, probe: () => T | null | undefined | false, ms = timeoutMs) =>
    waitFor(what, probe, ms, () =>
      runtime.depth ? `top page ${runtime.current.route}, showing "${pageText().slice(0, 200)}"` : 'no page open',
    );
  const pageText = () => (runtime.depth ? (page().dom.textContent ?? '').replace(/\s+/g, ' ').trim() : '');
  const find = (selector: string) => (runtime.depth ? deepQuery(page(), selector) : null);
  const privacy = { agreed: options.privacyAgreed ?? true };
  const ui = new KitUI({ wx, user, backend, find: (selector) => kitRoot(page()) && deepQuery(kitRoot(page())!, selector), wait, privacy });
  const app: LaunchedApp = {
    user,
    get route() {
      return runtime.current.route;
    },
    get stack() {
      return runtime.routeStack;
    },
    data: () => ({ ...(runtime.current.instance.data as Record<string, unknown>) }),
    text: (selector) => (selector === undefined ? pageText() : (find(selector)?.dom.textContent?.trim() ?? null)),
    has: (selector) => find(selector) !== null,
    async open(url) {
      runtime.reLaunch(url);
      const route = url.split('?')[0].replace(/^\//, '');
      await wait(`page ${route} to open`, () => runtime.depth === 1 && runtime.current.route === route);
    },
    async tap(selector) {
      (await wait(`"${selector}" to tap`, () => find(selector))).dispatchEvent('tap');
    },
    async fire(selector, name, detail = {}) {
      (await wait(`"${selector}" to fire ${name} on`, () => find(selector))).dispatchEvent(name, { detail });
    },
    async loginUI() {
      await wait("the kit's login UI (AuthModal or login page)", () => kitRoot(page()));
      return ui;
    },
    hasLoginUI: () => runtime.depth > 0 && kitRoot(page()) !== null,
    waitFor: wait,
    waitForText: (selector, expected) =>
      wait(expected === undefined ? `text in "${selector}"` : `"${selector}" to show "${expected}"`, () => {
        const value = app.text(selector);
        return (expected === undefined ? value : value === expected ? value : null) || null;
      }),
    async waitForRoute(route) {
      await wait(`the top page to be ${route}`, () => runtime.depth > 0 && runtime.current.route === route);
    },
    received,
    events,
    get calls() {
      return wx.calls;
    },
    get inFlight() {
      return wx.inFlight;
    },
    get maxInFlight() {
      return wx.maxInFlight;
    },
    permissions: {
      get modal() {
        return wx.script.modal;
      },
      set modal(value) {
        wx.script.modal = value;
      },
      get allowInPanel() {
        return wx.script.grantInPanel;
      },
      set allowInPanel(value) {
        wx.script.grantInPanel = value;
      },
    },
    storage: wx.storage,
  };
  return app;
}

/** j-component's node class, to wrap the custom components found while walking the tree. */
type NodeClass = new (exparserNode: unknown) => UINode;
type ExparserNode = { shadowRoot?: ExparserNode; childNodes?: ExparserNode[]; __componentNode__?: UINode };

/** j-component's `Component` class (the page's root node is a subclass of it). */
function nodeClassOf(node: UINode): NodeClass {
  for (let proto = Object.getPrototypeOf(node); proto; proto = Object.getPrototypeOf(proto))
    if (proto.constructor?.name === 'Component') return proto.constructor as NodeClass;
  throw new Error(`${NAME}: miniprogram-simulate's node class was not found (an unsupported version of j-component?)`);
}

/** Every custom component inside `root`'s own tree (not nested deeper), as j-component nodes. */
function componentsIn(root: UINode): UINode[] {
  const Node = nodeClassOf(root);
  const found: UINode[] = [];
  const walk = (node: ExparserNode) => {
    for (const child of node.childNodes ?? []) {
      if (child.shadowRoot) found.push(child.__componentNode__ ?? new Node(child));
      walk(child);
    }
  };
  const shadow = (root as unknown as { _exparserNode: ExparserNode })._exparserNode.shadowRoot;
  if (shadow) walk(shadow);
  return found;
}

/** The first node matching `selector` in `root` or any custom component inside it, breadth first. */
function deepQuery(root: UINode, selector: string): UINode | null {
  const queue = [root];
  for (let node = queue.shift(); node; node = queue.shift()) {
    const hit = node.querySelector(selector);
    if (hit) return hit;
    queue.push(...componentsIn(node));
  }
  return null;
}

/** The component holding the kit's login UI (`.lk-auth__actions`) on the page, or null. */
function kitRoot(page: UINode): UINode | null {
  const queue = [page];
  for (let node = queue.shift(); node; node = queue.shift()) {
    if (node.querySelector('.lk-auth__actions')) return node;
    queue.push(...componentsIn(node));
  }
  return null;
}
