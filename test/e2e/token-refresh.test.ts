/**
 * Token refresh end to end: the kit (Node wx, real HTTP) against the reference server with 3-second access tokens.
 * The server's clock is moved forward instead of sleeping.
 */
import type { WeChatEmulator } from '../../emulator/wechat';
import { startStack, type Stack } from '../../scripts/stack';
import { createNodeWx } from '../../emulator/node-wx';
import { LoginKit } from '../../lib/login-kit';
import { resultFromUserInfo } from '../../components/common/auth-events';
import type { LoginEvent } from '../../lib/types';

let stack: Stack;
let emulator: WeChatEmulator;
let baseURL: string;
let skew = 0;

beforeAll(async () => {
  stack = await startStack({ server: { accessTtlSeconds: 3, now: () => Date.now() + skew } });
  ({ emulator, baseURL } = stack);
});
afterAll(() => stack.close());

async function loggedInClient(openid: string) {
  const wx = createNodeWx({ emulator, openid });
  const kit = new LoginKit();
  kit.config({
    source: 'demo-app',
    baseURL,
    wx,
    userAuthHandler: async () => resultFromUserInfo(emulator.userInfoDetail(openid)),
    expiryLeewayMs: 0,
    logger: { warn: jest.fn(), error: jest.fn() },
  });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  await kit.login();
  return { kit, wx, events };
}

const refreshPost = (refreshToken: string) =>
  fetch(`${baseURL}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken }),
  });

it('serves a burst of 25 requests across an access-token expiry with one refresh', async () => {
  const { kit, wx, events } = await loggedInClient('refresh-burst');
  skew += 4000;
  const responses = await Promise.all(
    Array.from({ length: 25 }, (_, i) => kit.requestWithLogin({ url: '/api/comments', method: 'POST', data: { text: `${i}` } })),
  );
  expect(responses.map((r) => r.statusCode)).toEqual(Array(25).fill(201));
  expect(events.filter((e) => e.type === 'refreshStart')).toHaveLength(1);
  expect(wx.calls.login).toBe(1);
  expect(wx.maxInFlight).toBeLessThanOrEqual(10);
});

it('logs the whole family out when a used refresh token is presented again, and the user gets back in by logging in', async () => {
  const { kit, wx, events } = await loggedInClient('refresh-theft');
  const stolen = kit.getState()!.refreshToken!;
  skew += 4000;
  await kit.requestWithLogin({ url: '/api/me' }); // the client rotates: stolen -> next
  const next = kit.getState()!.refreshToken!;
  expect(next).not.toBe(stolen);

  skew += 11_000; // past the rotation's 10 s reuse interval, where a retried lost response would still succeed
  const attacker = await refreshPost(stolen);
  expect(attacker.status).toBe(401);
  expect((await attacker.json()).code).toBe('REFRESH_TOKEN_INVALID');
  expect((await refreshPost(next)).status).toBe(401); // the family is revoked

  skew += 4000;
  const response = await kit.requestWithLogin<{ user: { id: string } }>({ url: '/api/me' });
  expect(response.statusCode).toBe(200);
  expect(events.map((e) => e.type)).toContain('relogin');
  expect(wx.calls.login).toBe(2);
});
