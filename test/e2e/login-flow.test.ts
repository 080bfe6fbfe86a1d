/**
 * End to end: the kit's core with the Node `wx` (real HTTP) against the reference server and the WeChat emulator,
 * both listening on 127.0.0.1. The UI step answers like a user tapping the getUserInfo button.
 */
import type { WeChatEmulator } from '../../emulator/wechat';
import { startStack, type Stack } from '../../scripts/stack';
import { createNodeWx, type NodeWx } from '../../emulator/node-wx';
import { LoginKit } from '../../lib/login-kit';
import { resultFromUserInfo } from '../../components/common/auth-events';

let stack: Stack;
let emulator: WeChatEmulator;
let baseURL: string;
let serverClock = 0;

beforeAll(async () => {
  stack = await startStack({ server: { now: () => Date.now() + serverClock } });
  ({ emulator, baseURL } = stack);
});
afterAll(() => stack.close());

function client(openid: string, wx: NodeWx = createNodeWx({ emulator, openid })) {
  const ui = jest.fn(async () => resultFromUserInfo(emulator.userInfoDetail(wx.openid)));
  const kit = new LoginKit();
  kit.config({ source: 'demo-app', baseURL, wx, userAuthHandler: ui, logger: { warn: jest.fn(), error: jest.fn() } });
  return { kit, wx, ui };
}

it('registers a new user through the UI, with the userInfo verified and decrypted by the server', async () => {
  emulator.user('e2e-new', { nickName: '新用户' });
  const { kit, wx, ui } = client('e2e-new');
  const state = await kit.login();
  expect(ui).toHaveBeenCalledTimes(1);
  expect(wx.calls.login).toBe(1);
  expect(state).toMatchObject({ isNewUser: true, user: { nickName: '新用户' } });
  const me = await kit.requestWithLogin<{ user: { id: string } }>({ url: '/api/me' });
  expect(me.data.user.id).toBe(state.user!.id);
});

it('logs a returning user in silently on a fresh device (empty storage)', async () => {
  await client('e2e-back').kit.login();
  const { kit, ui, wx } = client('e2e-back');
  const state = await kit.login();
  expect(ui).not.toHaveBeenCalled();
  expect(wx.calls.login).toBe(1);
  expect(state.isNewUser).toBe(false);
});

it('serves ten concurrent requests of a new user with one wx.login, one UI and two backend logins', async () => {
  const { kit, wx, ui } = client('e2e-burst');
  const responses = await Promise.all(
    Array.from({ length: 10 }, (_, i) => kit.requestWithLogin({ url: '/api/comments', method: 'POST', data: { text: `c${i}` } })),
  );
  expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
  expect(wx.calls.login).toBe(1);
  expect(ui).toHaveBeenCalledTimes(1);
  expect(wx.calls.request).toBe(2 + 10);
});

it('re-establishes an expired session transparently with the refresh token and retries the request once', async () => {
  const { kit, wx } = client('e2e-expire');
  const first = await kit.login();
  serverClock += 901_000; // the server's access tokens live 900 s
  try {
    const response = await kit.requestWithLogin<{ user: { id: string } }>({ url: '/api/me' });
    expect(response.statusCode).toBe(200);
    expect(response.data.user.id).toBe(first.user!.id);
    expect(kit.getState()!.accessToken).not.toBe(first.accessToken);
    expect(kit.getState()!.refreshToken).not.toBe(first.refreshToken);
    expect(wx.calls.login).toBe(1);
  } finally {
    serverClock = 0;
  }
});

it('shows personalised content to a silent-mode request only when the user is known', async () => {
  const { kit: stranger, ui } = client('e2e-stranger');
  const anonymous = await stranger.requestWithLogin<{ personalised: boolean }>({ url: '/api/feed', loginOpts: { mode: 'silent' } });
  expect(anonymous.data.personalised).toBe(false);
  expect(ui).not.toHaveBeenCalled();
  const { kit: known } = client('e2e-new');
  const personal = await known.requestWithLogin<{ personalised: boolean }>({ url: '/api/feed', loginOpts: { mode: 'silent' } });
  expect(personal.data.personalised).toBe(true);
});
