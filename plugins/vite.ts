/**
 * `miniprogram-login-kit/vite`: the uni-app recipe as a vite plugin, so the app gets exactly one copy of the kit.
 *
 * uni-app bundles what a page imports into `common/vendor.js`, and its documented place for native components,
 * `wxcomponents/`, would hold a second copy with its own `userAuthHub`. For the `mp-weixin` platform this plugin
 * instead (1) keeps `require('miniprogram-login-kit')` (and its sub-paths) out of the bundle, and (2) after each
 * build copies the package's `miniprogram_dist` (without `.d.ts`) to `<outDir>/miniprogram_npm/miniprogram-login-kit`,
 * where WeChat resolves that `require` — what DevTools' "Build npm" does for a native app. Pages then use the
 * AuthModal from `pages.json` `style.usingComponents`
 * (`"auth-modal": "/miniprogram_npm/miniprogram-login-kit/components/auth-modal/index"`), and the app, the component
 * and the login page share one kit. For every other platform (h5, app) the plugin does nothing.
 * This is Node-side tooling: it never ships inside a mini-program.
 */
import fs from 'fs';
import path from 'path';

/** Options of `loginKitUni`. */
export interface LoginKitUniOptions {
  /** The uni-app platform being built; default `process.env.UNI_PLATFORM` (set by `uni build -p <platform>`). */
  platform?: string;
  /** The installed package's folder; default: resolved from this plugin's own location. */
  packageDir?: string;
}

/** The part of a vite plugin this one uses (structural, so the kit needs no dependency on vite). */
export interface LoginKitVitePlugin {
  /** `miniprogram-login-kit:uni`. */
  name: string;
  /** Adds the kit to `build.rollupOptions.external` for `mp-weixin`. */
  config(): { build: { rollupOptions: { external: RegExp[] } } } | undefined;
  /** Copies `miniprogram_dist` into `<dir>/miniprogram_npm/miniprogram-login-kit` for `mp-weixin`. */
  writeBundle(output: { dir?: string }): void;
}

const PACKAGE = 'miniprogram-login-kit';

/** Copies `from` into `to`, leaving out TypeScript declarations (`.d.ts`), which a mini-program does not load. */
function copyRuntime(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true, filter: (source) => !source.endsWith('.d.ts') });
}

/**
 * The uni-app vite plugin: `plugins: [uni(), loginKitUni()]` in `vite.config`.
 * @throws Error at build time when the package's `miniprogram_dist` is missing (a broken install) or the build has
 *   no output folder.
 */
export function loginKitUni(options: LoginKitUniOptions = {}): LoginKitVitePlugin {
  const platform = () => options.platform ?? process.env.UNI_PLATFORM;
  const packageDir = options.packageDir ?? path.resolve(__dirname, '..');
  return {
    name: `${PACKAGE}:uni`,
    config() {
      if (platform() !== 'mp-weixin') return undefined;
      return { build: { rollupOptions: { external: [new RegExp(`^${PACKAGE}(/|$)`)] } } };
    },
    writeBundle(output) {
      if (platform() !== 'mp-weixin') return;
      const dist = path.join(packageDir, 'miniprogram_dist');
      if (!fs.existsSync(path.join(dist, 'index.js'))) throw new Error(`${PACKAGE}/vite: ${dist} has no index.js; reinstall ${PACKAGE}`);
      if (!output.dir) throw new Error(`${PACKAGE}/vite: the build has no output folder (build.outDir)`);
      copyRuntime(dist, path.join(output.dir, 'miniprogram_npm', PACKAGE));
    },
  };
}
