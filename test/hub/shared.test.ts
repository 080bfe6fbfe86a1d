/**
 * A second copy of the kit in one app (uni-app's wxcomponents/ beside common/vendor.js, Taro's advice to copy
 * third-party components into src/): each copy is the built miniprogram_dist loaded from its own folder, as two
 * bundled copies are two module graphs in one logic layer.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { SHARED_KEY } from '../../hub/shared';
import type * as Kit from '../../index';
import type { PageRuntime } from '../../hub/page-ui';

const dist = path.resolve(__dirname, '../../miniprogram_dist');

/** Loads a fresh copy of the built kit from a folder of its own. */
function copyOfKit(): typeof Kit {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-copy-'));
  fs.cpSync(dist, dir, { recursive: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(dir, 'index.js')) as typeof Kit;
}

let warn: jest.SpyInstance;
beforeEach(() => {
  delete (globalThis as Record<string, unknown>)[SHARED_KEY];
  warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockRestore());

it('shares the userAuthHub, the privacyRouter and the default Login between copies, and warns once', () => {
  const first = copyOfKit();
  expect(warn).not.toHaveBeenCalled();
  const second = copyOfKit();
  const third = copyOfKit();
  expect(second.userAuthHub).toBe(first.userAuthHub);
  expect(third.userAuthHub).toBe(first.userAuthHub);
  expect(second.privacyRouter).toBe(first.privacyRouter);
  expect(second.Login).toBe(first.Login);
  expect(warn).toHaveBeenCalledTimes(1);
  expect(warn.mock.calls[0][0]).toMatch(/second copy of the kit was loaded.*One copy of the kit/);
  // The global's key is not enumerable: app code walking globalThis does not meet it.
  expect(Object.keys(globalThis)).not.toContain(SHARED_KEY);
});

it("lets a second copy's login page answer a login that waits in the first copy (instead of TIMEOUT)", async () => {
  const first = copyOfKit();
  const second = copyOfKit();
  const opened: string[] = [];
  const runtime: PageRuntime = { getCurrentPages: () => [], navigateTo: (options) => opened.push(options.url) };
  const tips = { ...first.DEFAULT_AUTH_TIPS, title: '登录后收藏' };
  const waiting = first.createPageUserAuthHandler({ runtime })({ tips, mode: 'common' } as never);
  expect(opened).toHaveLength(1);
  // The login page of the second copy reads the request from, and publishes on, the hub it imports.
  expect(second.userAuthHub.request?.tips.title).toBe('登录后收藏');
  second.userAuthHub.notify({ succeeded: true, authType: 'userInfo', data: { code: 'c' } } as never);
  await expect(waiting).resolves.toMatchObject({ succeeded: true });
});
