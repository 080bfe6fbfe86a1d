/**
 * A phone running a *built* mini-program (a folder with app.js, app.json, pages/...) against the reference stack:
 * the Node `wx` of one WeChat user and the headless page runtime, with finders over the rendered top page.
 * Under jest, module state (the kit's `Login`, a framework's app) lives in jest's registry: call `jest.resetModules()`
 * before each new device.
 */
import '../../emulator/dom';
import type { WeChatEmulator } from '../../emulator/wechat';
import { createNodeWx } from '../../emulator/node-wx';
import { PageRuntime } from '../../emulator/page-runtime';

/** A rendered node of miniprogram-simulate. */
export type Node = { dom: Element; querySelector(selector: string): Node | null; dispatchEvent(name: string, init?: object): void };

/** Polls `probe` every 10 ms until it gives a truthy value; rejects after 3 s. */
export async function until<T>(probe: () => T | null | undefined | false): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out');
}

/** Launches the app in `appDir` for WeChat user `openid`, its ext.json naming the backend at `baseURL`. */
export function appDevice(appDir: string, emulator: WeChatEmulator, baseURL: string, openid: string) {
  const wx = createNodeWx({ emulator, openid, extConfig: { baseURL } });
  const runtime = new PageRuntime(appDir, wx);
  runtime.launch();
  /** The node at the end of a chain of selectors, each inside the previous (e.g. `'#auth-modal', '.lk-auth__profile'`). */
  const find = (...selectors: string[]) =>
    selectors.reduce<Node | null>((node, s) => (node ? node.querySelector(s) : null), runtime.current.rendered as unknown as Node);
  /** The trimmed text of that node, or null. */
  const text = (...selectors: string[]) => find(...selectors)?.dom.textContent?.trim() ?? null;
  return { wx, runtime, find, text };
}
