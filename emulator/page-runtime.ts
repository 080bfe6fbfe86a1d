/**
 * A headless mini-program runtime for a *built* app (e.g. demo/dist): `App()`, `getApp()`, `getCurrentPages()` and a
 * page stack served by miniprogram-simulate, with WeChat's navigation rules (10-page limit, onLoad/onShow/onUnload).
 * It needs DOM globals (jsdom) before it is used. Development tooling only.
 */
import fs from 'fs';
import path from 'path';
import type { Navigator, NodeWx } from './node-wx';
import { PAGE_STACK_LIMIT } from '../hub/page-ui';
import { SHARED_KEY } from '../hub/shared';

/* eslint-disable @typescript-eslint/no-require-imports */
type Simulate = typeof import('miniprogram-simulate');
type Rendered = ReturnType<Simulate['render']> & {
  attach(parent: unknown): void;
  detach(): void;
  querySelector(selector: string): (Rendered & { dom: Element; dispatchEvent(name: string, init?: object): void }) | null;
};

/** A page as `getCurrentPages()` returns it: the component instance plus `route`. */
export type PageInstance = Record<string, unknown> & {
  route: string;
  onLoad?: (query: Record<string, string>) => unknown;
  onShow?: () => unknown;
  onUnload?: () => unknown;
};

interface StackEntry {
  route: string;
  rendered: Rendered;
  instance: PageInstance;
}

/**
 * `Page(options)` for miniprogram-simulate, which only knows `Component()`: `data` stays data, every function
 * (lifecycles, handlers, `$loginUserAuthTips`) becomes a method — as WeChat lets a page be built with `Component()`.
 */
function pageAsComponent(options: Record<string, unknown>): void {
  const methods: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (typeof value === 'function') methods[key] = value;
  (globalThis as unknown as { Component: (definition: object) => void }).Component({ data: options.data ?? {}, methods });
}

export class PageRuntime implements Navigator {
  private readonly stack: StackEntry[] = [];
  private readonly ids = new Map<string, string>();
  private readonly simulate: Simulate = require('miniprogram-simulate');
  private appInstance: Record<string, unknown> = {};
  private webviewIds = 0;

  /** The routes app.json declares: `pages` and every page of `subpackages` (`subPackages`), e.g. `pkg/pages/a`. */
  readonly routes: Set<string>;

  /**
   * @param root the built app folder (with app.js, app.json, pages/...).
   * @param afterAppLoaded runs once app.js has run (the kit is loaded, `App()` registered), before `App.onLaunch`.
   * @throws Error when app.json is missing or unreadable.
   */
  constructor(
    private readonly root: string,
    private readonly wx: NodeWx,
    private readonly log: (line: string) => void = () => undefined,
    private readonly afterAppLoaded: () => void = () => undefined,
  ) {
    this.routes = declaredRoutes(root);
  }

  /**
   * Starts the app on a fresh device: installs the globals, loads app.js anew (so module state such as the kit's
   * `Login` is new, and so is the logic layer's global object: the kit's shared instances are dropped) and runs
   * `App.onLaunch`.
   */
  launch(): void {
    // miniprogram-api-typings (pulled in by miniprogram-simulate's types) redeclares `require`; this is Node's.
    const cache = (require as unknown as NodeJS.Require).cache;
    for (const key of Object.keys(cache)) {
      if (key.startsWith(this.root + path.sep)) delete cache[key];
    }
    const g = globalThis as Record<string, unknown>;
    delete g[SHARED_KEY];
    g.wx = this.wx;
    g.getCurrentPages = () => this.stack.map((entry) => entry.instance);
    g.getApp = () => this.appInstance;
    g.App = (config: Record<string, unknown>) => {
      this.appInstance = config;
    };
    g.Page = pageAsComponent;
    this.wx.attachNavigator(this);
    require(path.join(this.root, 'app.js'));
    this.afterAppLoaded();
    const onLaunch = this.appInstance.onLaunch as ((options: object) => void) | undefined;
    const onShow = this.appInstance.onShow as ((options: object) => void) | undefined;
    onLaunch?.call(this.appInstance, { path: '', query: {} });
    onShow?.call(this.appInstance, { path: '', query: {} });
  }

  /** The top page. */
  get current(): StackEntry {
    const top = this.stack[this.stack.length - 1];
    if (!top) throw new Error('no page is open');
    return top;
  }

  get depth(): number {
    return this.stack.length;
  }

  /** Closes every page and opens `url`. */
  reLaunch(url: string): void {
    while (this.stack.length) this.unloadTop();
    this.open(url);
  }

  navigateTo(options: { url: string; success?: () => void; fail?: (error: { errMsg: string }) => void }): void {
    setImmediate(() => {
      if (this.stack.length >= PAGE_STACK_LIMIT) {
        options.fail?.({ errMsg: 'navigateTo:fail webview count limit exceed' });
        return;
      }
      try {
        this.open(options.url);
      } catch (error) {
        options.fail?.({ errMsg: `navigateTo:fail ${(error as Error).message}` });
        return;
      }
      options.success?.();
    });
  }

  /** Replaces the top page by `url` (onUnload of the old one). */
  redirectTo(options: { url: string; success?: () => void; fail?: (error: { errMsg: string }) => void }): void {
    setImmediate(() => {
      if (this.stack.length) this.unloadTop();
      try {
        this.open(options.url);
      } catch (error) {
        options.fail?.({ errMsg: `redirectTo:fail ${(error as Error).message}` });
        return;
      }
      options.success?.();
    });
  }

  navigateBack(options: { delta?: number; success?: () => void; fail?: (error: { errMsg: string }) => void } = {}): void {
    setImmediate(() => {
      if (this.stack.length <= 1) {
        options.fail?.({ errMsg: 'navigateBack:fail cannot navigate back at first page.' });
        return;
      }
      const delta = Math.min(Math.max(options.delta ?? 1, 1), this.stack.length - 1);
      for (let i = 0; i < delta; i++) this.unloadTop();
      this.log(`page ${this.current.route} shown again`);
      void this.current.instance.onShow?.();
      options.success?.();
    });
  }

  /** The routes of the open pages, bottom first. */
  get routeStack(): string[] {
    return this.stack.map((entry) => entry.route);
  }

  private open(url: string): void {
    const [pathname, search = ''] = url.split('?');
    const route = pathname.replace(/^\//, '');
    // As WeChat: only the pages app.json declares exist.
    if (!this.routes.has(route)) throw new Error(`page "${route}" is not found (app.json declares: ${[...this.routes].join(', ')})`);
    let id = this.ids.get(route);
    if (!id) {
      missingComponents(this.root, route);
      id = this.simulate.load(path.join(this.root, route), { rootPath: this.root });
      this.ids.set(route, id);
    }
    const rendered = this.simulate.render(id) as Rendered;
    const instance = rendered.instance as unknown as PageInstance;
    // As in WeChat, the page is on the stack (with its route) before it attaches: wepy reads it in `attached`.
    instance.route = route;
    instance.__route__ = route;
    instance.__wxWebviewId__ = ++this.webviewIds;
    // WeChat's selectComponent returns null when nothing matches; j-component's throws. Match WeChat.
    const selectComponent = instance.selectComponent as (selector: string) => unknown;
    instance.selectComponent = (selector: string) => (rendered.querySelector(selector) ? selectComponent(selector) : null);
    this.stack.push({ route, rendered, instance });
    rendered.attach(document.createElement('page-wrapper'));
    this.log(`page ${route} opened (stack: ${this.stack.length})`);
    void instance.onLoad?.(Object.fromEntries(new URLSearchParams(search)));
    void instance.onShow?.();
  }

  private unloadTop(): void {
    const entry = this.stack.pop()!;
    void entry.instance.onUnload?.();
    entry.rendered.detach();
    this.log(`page ${entry.route} closed`);
  }
}

/**
 * Throws as WeChat does when a component the page uses, directly or through its components, has no `.json` where
 * `usingComponents` points (DevTools: `Component is not found in path "…" (using by "…")`): a path from the app's root
 * (`/x`), relative to the user (`./x`, `../x`, `x` when the file exists there), or an npm path (`pkg/x` →
 * `miniprogram_npm/pkg/x`). `plugin://` components are not checked. The app's global `usingComponents` counts too.
 */
function missingComponents(root: string, route: string): void {
  const read = (file: string) =>
    fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { usingComponents?: Record<string, string> }) : {};
  const global = read(path.join(root, 'app.json')).usingComponents ?? {};
  const seen = new Set<string>();
  const visit = (user: string, uses: Record<string, string>) => {
    for (const target of Object.values(uses)) {
      if (typeof target !== 'string' || target.startsWith('plugin://') || target.startsWith('plugin-private://')) continue;
      const candidates = target.startsWith('/')
        ? [path.join(root, target)]
        : [path.join(root, path.dirname(user), target), path.join(root, 'miniprogram_npm', target)];
      const found = candidates.flatMap((base) => [base, path.join(base, 'index')]).find((base) => fs.existsSync(`${base}.json`));
      if (!found) throw new Error(`Component is not found in path "${target}" (using by "${user}")`);
      const component = path.relative(root, found).split(path.sep).join('/');
      if (seen.has(component)) continue;
      seen.add(component);
      visit(component, read(`${found}.json`).usingComponents ?? {});
    }
  };
  visit(route, { ...global, ...(read(path.join(root, `${route}.json`)).usingComponents ?? {}) });
}

/** The routes app.json declares: its `pages`, and `root/page` for each page of each `subpackages` entry. */
function declaredRoutes(root: string): Set<string> {
  const appJson = JSON.parse(fs.readFileSync(path.join(root, 'app.json'), 'utf8')) as {
    pages?: string[];
    subpackages?: Array<{ root: string; pages?: string[] }>;
    subPackages?: Array<{ root: string; pages?: string[] }>;
  };
  const routes = new Set(appJson.pages ?? []);
  for (const pkg of [...(appJson.subpackages ?? []), ...(appJson.subPackages ?? [])])
    for (const page of pkg.pages ?? []) routes.add(path.posix.join(pkg.root, page));
  return routes;
}
