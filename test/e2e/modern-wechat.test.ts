/**
 * Today's WeChat end to end: the kit (Node wx, real HTTP, real crypto) against the reference server and the emulator —
 * legacy getUserInfo verified or rejected, phone binding through the server-side code exchange, profile login with
 * the temporary avatar uploaded first.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { WeChatEmulator } from '../../emulator/wechat';
import { startStack, type Stack } from '../../scripts/stack';
import { createNodeWx } from '../../emulator/node-wx';
import { LoginKit } from '../../lib/login-kit';
import { isLoginError } from '../../lib/errors';
import { resultFromPhoneNumber, resultFromUserInfo } from '../../components/common/auth-events';
import type { AuthResult } from '../../lib/types';

let stack: Stack;
let emulator: WeChatEmulator;
let baseURL: string;

beforeAll(async () => {
  stack = await startStack();
  ({ emulator, baseURL } = stack);
});
afterAll(() => stack.close());

function client(openid: string, answer: (openid: string) => AuthResult) {
  const kit = new LoginKit();
  kit.config({
    source: 'demo-app',
    baseURL,
    wx: createNodeWx({ emulator, openid }),
    userAuthHandler: async () => answer(openid),
    logger: { warn: jest.fn(), error: jest.fn() },
  });
  return kit;
}

it('rejects tampered legacy userInfo with INVALID_USER_DATA, and accepts the genuine one', async () => {
  const tampered = client('m-legacy', (openid) => {
    const detail = emulator.userInfoDetail(openid);
    return resultFromUserInfo({ ...detail, rawData: detail.rawData.replace('"gender":0', '"gender":1') });
  });
  const error = await tampered.login().catch((e: unknown) => e);
  expect(isLoginError(error) && [error.code, error.backendCode, error.statusCode]).toEqual(['LOGIN_FAILED', 'INVALID_USER_DATA', 400]);

  emulator.user('m-legacy').nickName = '老用户';
  const genuine = client('m-legacy', (openid) => resultFromUserInfo(emulator.userInfoDetail(openid)));
  expect((await genuine.login()).user?.nickName).toBe('老用户');
});

it('binds the phone number through the server-side exchange of the one-time code', async () => {
  const kit = client('m-phone', (openid) => resultFromPhoneNumber(emulator.phoneDetail(openid, '13900001111')));
  const state = await kit.login();
  expect(state.user?.phoneBound).toBe(true);
  expect(state.isNewUser).toBe(true);
});

it('uploads the temporary avatar of a profile login, then registers the profile with its permanent URL', async () => {
  const avatar = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-')), 'avatar.png');
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
  fs.writeFileSync(avatar, png);
  const kit = client('m-profile', () => ({
    succeeded: true,
    authType: 'profile',
    errMsg: 'profile:ok',
    data: { nickName: '小新', avatarUrl: avatar },
  }));
  const state = await kit.login();
  expect(state.user?.nickName).toBe('小新');
  expect(state.user?.avatarUrl).toMatch(new RegExp(`^${baseURL}/avatars/`));
  const stored = await fetch(state.user!.avatarUrl as string);
  expect(stored.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await stored.arrayBuffer())).toEqual(png);
});
