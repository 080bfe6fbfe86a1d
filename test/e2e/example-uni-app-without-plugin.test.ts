/**
 * A uni-app team that leaves `loginKitUni()` out of vite.config: the build succeeds, but the kit is bundled into
 * `common/vendor.js` and the pages use components at /miniprogram_npm/… that were never written. Built by uni's own
 * CLI (`scripts/examples.js build uni-app --without-plugin`) and launched with the public harness: the kit names the
 * fix at launch (development version), and opening a page fails as DevTools does, instead of passing in CI.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type * as Testing from '../../tooling/testing';

const root = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startBackend, launchApp } = require(path.join(root, 'node_dist/testing')) as typeof Testing;

describe('examples/uni-app built without loginKitUni()', () => {
  let built: string;
  let backend: Testing.DevBackend;
  beforeAll(async () => {
    const out = execFileSync(process.execPath, [path.join(root, 'scripts/examples.js'), 'build', 'uni-app', '--without-plugin'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    built = /into (\S+)\s*$/.exec(out)![1];
    backend = await startBackend();
  }, 180_000);
  afterAll(async () => {
    await backend?.close();
    if (built) fs.rmSync(built, { recursive: true, force: true });
  });

  it("bundles the kit into uni-app's vendor.js and writes no miniprogram_npm", () => {
    expect(fs.existsSync(path.join(built, 'miniprogram_npm'))).toBe(false);
    expect(fs.readFileSync(path.join(built, 'common/vendor.js'), 'utf8')).toContain('hub.subscribe(listener) expects a function');
  });

  it('says at launch what to add, and a page using the AuthModal fails to open as in DevTools', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const app = await launchApp(built, { backend, user: 'uni-without-plugin' });
      expect(warn.mock.calls.map((call) => String(call[0]))).toEqual([
        expect.stringContaining("add loginKitUni() from 'miniprogram-login-kit/vite' to the plugins of vite.config"),
      ]);
      await expect(app.open('/pages/index/index')).rejects.toThrow(
        /Component is not found in path ".*miniprogram_npm\/miniprogram-login-kit\/components\/auth-modal\/index" \(using by "pages\/index\/index"\)/,
      );
    } finally {
      warn.mockRestore();
    }
  });
});
