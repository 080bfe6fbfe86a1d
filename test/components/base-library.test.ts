/**
 * Every base library served (issue 15), from the position of a phone on an old one: a fake `SDKVersion` at each
 * boundary, the built AuthModal and the core together. Versions: lib/base-library.ts (WeChat's docs of each API).
 */
import simulate from 'miniprogram-simulate';
import { fakeWx, mount, okUserInfo, privacyListener, text, usePrivacyMode, type Mounted } from '../helpers/simulate';
import { createFakeWx, FakeBackend, FakeClock } from '../../emulator/in-memory';
import { LoginKit } from '../../lib/login-kit';
import { compareVersions } from '../../lib/base-library';
import type { AuthResult, AuthTips } from '../../lib/types';

// The in-memory backend answers with setImmediate, which jsdom does not have.
const globals = globalThis as unknown as { setImmediate?: (fn: () => void) => unknown };
globals.setImmediate ??= (fn: () => void) => setTimeout(fn, 0);

/** The global `wx` the built components read (miniprogram-simulate may have swapped the helper's for its own). */
const globalWx = () => (globalThis as unknown as { wx: Record<string, unknown> }).wx;
const setVersion = (version: string | undefined) => {
  for (const wx of [fakeWx as Record<string, unknown>, globalWx()]) {
    wx.getAppBaseInfo = version === undefined ? undefined : () => ({ SDKVersion: version });
  }
};
afterEach(() => setVersion(undefined));

/** Waits (at most 1 s) until `find` returns something: the flight passes through wx.login and the backend first. */
async function until<T>(find: () => T | null | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const found = find();
    if (found) return found;
    await simulate.sleep(10);
  }
  throw new Error('timed out');
}

type Modal = { open(tips?: Partial<AuthTips>): Promise<AuthResult> };
const instance = (modal: Mounted) => modal.instance as unknown as Modal;

/** The core with the built AuthModal as its UI, over an in-memory backend; the same fake `wx` version for both. */
function kitWithModal(modal: Mounted, version: string) {
  const backend = new FakeBackend();
  const fake = createFakeWx(backend);
  (fake.wx as unknown as Record<string, unknown>).getAppBaseInfo = () => ({ SDKVersion: version });
  const kit = new LoginKit();
  kit.config({
    source: 'app',
    baseURL: 'https://api.test',
    wx: fake.wx,
    clock: new FakeClock(),
    userAuthHandler: ({ tips }) => instance(modal).open(tips),
  });
  return { kit, backend };
}

it('compares versions numerically', () => {
  expect(compareVersions('2.21.2', '2.9.9')).toBe(1);
  expect(compareVersions('2.21', '2.21.0')).toBe(0);
  expect(compareVersions('2.24.3', '2.24.4')).toBe(-1);
});

it('refuses to configure below the minimum base library (2.11.0, the first whose iOS and Android engines run the shipped ES2015) with a clear error, and accepts it', () => {
  const wx = createFakeWx().wx as unknown as Record<string, unknown>;
  wx.getAppBaseInfo = () => ({ SDKVersion: '2.10.4' });
  expect(() => new LoginKit().config({ source: 'a', baseURL: 'https://x.test', wx: wx as never })).toThrow(
    expect.objectContaining({ code: 'UNSUPPORTED_BASE_LIBRARY', message: expect.stringMatching(/2\.11\.0/) }),
  );
  wx.getAppBaseInfo = () => ({ SDKVersion: '2.11.0' });
  expect(() => new LoginKit().config({ source: 'a', baseURL: 'https://x.test', wx: wx as never })).not.toThrow();
});

describe('the profile form below 2.21.2 (no chooseAvatar, no nickname input)', () => {
  it('falls back to getUserProfile from the tap, and the default login UI still logs a new user in (2.20.0)', async () => {
    setVersion('2.20.0');
    const getUserProfile = jest.fn((o: { success: (detail: object) => void }) => o.success({ ...okUserInfo, errMsg: 'getUserProfile:ok' }));
    const modal = mount('components/auth-modal/index');
    globalWx().getUserProfile = getUserProfile;
    const { kit, backend } = kitWithModal(modal, '2.20.0');
    const login = kit.login();
    const legacy = await until(() => modal.querySelector('.lk-auth__legacy-profile'));
    expect(modal.querySelector('.lk-auth__profile')).toBeFalsy(); // no avatar button that does nothing
    legacy.dispatchEvent('tap');
    const state = await login;
    expect(getUserProfile).toHaveBeenCalledWith(expect.objectContaining({ desc: expect.any(String) }));
    expect(state.isNewUser).toBe(true);
    expect(backend.loginCalls[1]).toMatchObject({ mode: 'authorize', userInfo: { signature: okUserInfo.signature } });
  });

  it('shows the profile form from 2.21.2', async () => {
    const modal = mount('components/auth-modal/index');
    setVersion('2.21.2');
    void instance(modal).open({ authType: 'profile' });
    expect(modal.querySelector('.lk-auth__profile')).toBeTruthy();
    expect(modal.querySelector('.lk-auth__legacy-profile')).toBeFalsy();
  });
});

describe('phone numbers', () => {
  it.each([
    ['2.21.1', {}, 'UNSUPPORTED_BASE_LIBRARY'],
    ['2.24.3', { realtimePhone: true }, 'UNSUPPORTED_BASE_LIBRARY'],
  ])('on %s %j rejects before showing any UI: real-time verification never silently becomes the quick one', async (version, tips, code) => {
    const modal = mount('components/auth-modal/index');
    const { kit } = kitWithModal(modal, version);
    await expect(kit.login({ tips: { authType: 'phone', ...tips } })).rejects.toMatchObject({ code });
    expect(modal.querySelector('.lk-auth-modal')).toBeFalsy();
  });

  it('on 2.24.4 asks with the real-time button', async () => {
    const modal = mount('components/auth-modal/index');
    const { kit } = kitWithModal(modal, '2.24.4');
    void kit.login({ tips: { authType: 'phone', realtimePhone: true } }).catch(() => undefined);
    expect(await until(() => text(modal, '.lk-auth__confirm'))).toBe('微信一键登录');
  });
});

it('the privacy step never removes the button that asked: the resumed getPhoneNumber reaches the login', async () => {
  usePrivacyMode('kit');
  const modal = mount('components/auth-modal/index');
  const answer = instance(modal).open({ authType: 'phone' });
  const asking = modal.querySelector('.lk-auth__confirm') as unknown as { dom: Element; dispatchEvent: Mounted['dispatchEvent'] };
  const resolve = jest.fn();
  privacyListener()(resolve, { referrer: 'button.getPhoneNumber' });
  await simulate.sleep(0);
  expect(modal.querySelector('#lk-agree-privacy')).toBeTruthy();
  expect(modal.dom!.contains(asking.dom)).toBe(true); // still mounted (hidden) under the agreement
  modal.querySelector('#lk-agree-privacy')!.dispatchEvent('agreeprivacyauthorization', { detail: {} });
  await simulate.sleep(0);
  expect(modal.dom!.contains(asking.dom)).toBe(true);
  // WeChat resumes getPhoneNumber on the very button that asked.
  asking.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:ok', code: 'c-1' } });
  expect(await answer).toMatchObject({ succeeded: true, authType: 'phone', data: { code: 'c-1' } });
  usePrivacyMode('official');
});
