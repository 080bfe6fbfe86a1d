/**
 * The real request layers of uni-app and Taro in Node, over a given `wx`: each framework's own API runtime, from the
 * example apps' node_modules (installed by `scripts/examples.js install`), bundled by esbuild the way the framework's
 * build resolves it (uni-app: `vue` is `@dcloudio/uni-mp-vue`; Taro: its build-time constants defined, the WeChat
 * platform's `initNativeApi` applied), then loaded as CommonJS. Not a copy of their APIs: their interceptor code runs.
 */
import { buildSync } from 'esbuild';
import fs from 'fs';
import os from 'os';
import path from 'path';

const examples = path.resolve(__dirname, '../../examples');

/** Bundles `source` (an ES module) resolved from `dir` into a CommonJS file; returns its path. */
function bundle(dir: string, source: string, options: { alias?: Record<string, string>; define?: Record<string, string> }): string {
  const out = buildSync({
    stdin: { contents: source, resolveDir: dir, sourcefile: 'entry.mjs' },
    absWorkingDir: dir, // esbuild resolves `alias` targets from the working directory
    bundle: true,
    format: 'cjs',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'error',
    ...options,
  });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-layer-')), 'bundle.cjs');
  fs.writeFileSync(file, out.outputFiles[0].text);
  return file;
}

/** The subset of `uni` the tests use. */
export interface Uni {
  addInterceptor(api: string, interceptor: object): void;
  request(options: object): Promise<{ statusCode: number; data: unknown; header: Record<string, string> }>;
}

/** The subset of `Taro` the tests use. */
export interface Taro {
  addInterceptor(interceptor: (chain: never) => unknown): void;
  request(options: object): Promise<{ statusCode: number; data: unknown; header: Record<string, string> }>;
}

/** uni-app's `uni` (uni-app 3, `@dcloudio/uni-mp-weixin`) over the global `wx` (set it before calling). */
export function loadUni(): Uni {
  const dir = path.join(examples, 'uni-app');
  const file = bundle(dir, "export { default } from '@dcloudio/uni-mp-weixin/dist/uni.api.esm.js';", {
    alias: { vue: '@dcloudio/uni-mp-vue' },
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { default: Uni }).default;
}

/** Taro's `Taro` (Taro 4, `@tarojs/taro` with `@tarojs/plugin-platform-weapp`) over the global `wx` (set it first). */
export function loadTaro(): Taro {
  const dir = path.join(examples, 'taro');
  const flags = ['INNER_HTML', 'ADJACENT_HTML', 'SIZE_APIS', 'TEMPLATE_CONTENT', 'CLONE_NODE', 'CONTAINS', 'MUTATION_OBSERVER'];
  const file = bundle(
    dir,
    [
      "import Taro from '@tarojs/taro';",
      "import { initNativeApi } from '@tarojs/plugin-platform-weapp/dist/runtime-utils.js';",
      'initNativeApi(Taro);',
      'export default Taro;',
    ].join('\n'),
    { define: Object.fromEntries(flags.map((flag) => [`ENABLE_${flag}`, 'false'])) },
  );
  const g = globalThis as Record<string, unknown>;
  g.getCurrentPages ??= () => [];
  g.getApp ??= () => ({});
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { default: Taro }).default;
}
