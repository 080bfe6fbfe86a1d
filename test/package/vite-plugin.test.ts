/** `miniprogram-login-kit/vite` (node_dist/vite.js as it ships) outside the example build: other platforms, a broken install. */
import fs from 'fs';
import os from 'os';
import path from 'path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loginKitUni } = require('../../node_dist/vite.js') as typeof import('../../plugins/vite');

const root = path.resolve(__dirname, '../..');

it('keeps the kit and its sub-paths external for mp-weixin only, and does nothing for other platforms', () => {
  const external = loginKitUni({ platform: 'mp-weixin' }).config()!.build.rollupOptions.external[0];
  expect(['miniprogram-login-kit', 'miniprogram-login-kit/lib'].every((id) => external.test(id))).toBe(true);
  expect(external.test('miniprogram-login-kit-other')).toBe(false);
  const h5 = loginKitUni({ platform: 'h5' });
  expect(h5.config()).toBeUndefined();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-vite-'));
  h5.writeBundle({ dir: out });
  expect(fs.readdirSync(out)).toEqual([]);
});

it('copies miniprogram_dist without .d.ts into miniprogram_npm, replacing a stale copy', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-vite-'));
  const target = path.join(out, 'miniprogram_npm/miniprogram-login-kit');
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, 'stale.js'), '');
  loginKitUni({ platform: 'mp-weixin', packageDir: root }).writeBundle({ dir: out });
  expect(fs.existsSync(path.join(target, 'index.js'))).toBe(true);
  expect(fs.existsSync(path.join(target, 'components/auth-modal/index.wxml'))).toBe(true);
  expect(fs.existsSync(path.join(target, 'stale.js'))).toBe(false);
  expect(fs.readdirSync(target, { recursive: true }).some((file) => String(file).endsWith('.d.ts'))).toBe(false);
});

it('fails the build with a clear error when the installed package has no miniprogram_dist', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-vite-'));
  expect(() => loginKitUni({ platform: 'mp-weixin', packageDir: empty }).writeBundle({ dir: empty })).toThrow(
    /has no index\.js; reinstall/,
  );
});
