/**
 * "No-feeling" login end to end (issue 13): the reference server registers silently (`registration: "silent"`), the
 * kit asks the user for a profile or a phone only when the product needs it (`Login.require`, `loginOpts.require`),
 * and one person is one account across the mini-programs of an Open Platform account (unionid).
 */
import { createNodeWx } from '../../emulator/node-wx';
import { LoginKit } from '../../lib/login-kit';
import { isLoginError } from '../../lib/errors';
import type { AuthResult, LoginEvent, UserAuthRequest } from '../../lib/types';
import { startStack, type Stack } from '../../scripts/stack';
import { png } from '../helpers/images';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ source: 'shop', registration: 'silent', otherSources: [{ source: 'forum', registration: 'silent' }] });
});
afterAll(() => stack.close());

function client(person: string, answer: (request: UserAuthRequest) => AuthResult | Promise<AuthResult>, source = 'shop') {
  const wx = createNodeWx({ emulator: stack.emulator, openid: person, appid: stack.appids[source] });
  const ui = jest.fn(async (request: UserAuthRequest) => answer(request));
  const kit = new LoginKit();
  kit.config({ source, baseURL: stack.baseURL, wx, userAuthHandler: ui, logger: { warn: jest.fn(), error: jest.fn() } });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  return { kit, wx, ui, events };
}
const cancel = (): AuthResult => ({ succeeded: false, authType: 'phone', errMsg: 'getPhoneNumber:fail cancel' });
const phone = (person: string, number: string) => (): AuthResult => ({
  succeeded: true,
  authType: 'phone',
  data: { code: stack.emulator.phoneDetail(person, number).code },
});
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => (isLoginError(error) ? error : null),
  );

it("a new user's first request is answered 200 with no UI and one wx.login; the user says what it lacks", async () => {
  const { kit, wx, ui } = client('newcomer', cancel);
  const response = await kit.requestWithLogin<{ user: { profileComplete: boolean; phoneBound: boolean } }>({ url: '/api/me' });
  expect(response.statusCode).toBe(200);
  expect(ui).not.toHaveBeenCalled();
  expect(wx.calls.login).toBe(1);
  expect(response.data.user).toMatchObject({ profileComplete: false, phoneBound: false });
  expect(kit.getState()!.isNewUser).toBe(true);
});

it("Login.require('phone'): one UI and one bind for 10 concurrent callers, at once afterwards", async () => {
  const { kit, ui, events, wx } = client('buyer', phone('buyer', '13600000010'));
  const users = await Promise.all(Array.from({ length: 10 }, () => kit.require('phone', { tips: { title: '绑定手机号' } })));
  expect(users.every((u) => u.phoneBound === true)).toBe(true);
  expect(ui).toHaveBeenCalledTimes(1);
  expect(ui.mock.calls[0][0].tips).toMatchObject({ authType: 'phone', title: '绑定手机号' });
  expect(events.filter((e) => e.type === 'stepUp')).toHaveLength(1);
  expect(wx.requested.filter((r) => r === 'POST /auth/bind')).toHaveLength(1);
  expect((await kit.require('phone')).phoneBound).toBe(true); // no UI, no request
  expect(ui).toHaveBeenCalledTimes(1);
  expect(kit.getUser()!.phoneBound).toBe(true);
});

it('a phone bound to another account rejects ACCOUNT_CONFLICT; no merge, the user keeps none', async () => {
  await client('first-owner', phone('first-owner', '13600000020')).kit.require('phone');
  const { kit } = client('second-owner', phone('second-owner', '13600000020'));
  const error = await errorOf(kit.require('phone'));
  expect([error?.code, error?.statusCode]).toEqual(['ACCOUNT_CONFLICT', 409]);
  expect(kit.getUser()!.phoneBound).toBe(false);
});

it('loginOpts.require: the request waits for the step-up; a cancel rejects it and it is not sent', async () => {
  const { kit, wx } = client('shy', cancel);
  const error = await errorOf(
    kit.requestWithLogin({ url: '/api/comments', method: 'POST', data: { text: 'hi' }, loginOpts: { require: 'phone' } }),
  );
  expect(error?.code).toBe('AUTH_CANCELLED');
  expect(wx.requested).not.toContain('POST /api/comments');
});

it('a profile step-up registers the nickname and the avatar (uploaded with the access token)', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const avatar = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-')), 'a.png');
  fs.writeFileSync(avatar, png(1, 1));
  const { kit } = client('commenter', () => ({ succeeded: true, authType: 'profile', data: { nickName: '评论家', avatarUrl: avatar } }));
  const response = await kit.requestWithLogin<{ author: { nickName: string; avatarUrl: string } }>({
    url: '/api/comments',
    method: 'POST',
    data: { text: '好' },
    loginOpts: { require: 'profile' },
  });
  expect(response.statusCode).toBe(201);
  expect(response.data.author.nickName).toBe('评论家');
  expect(response.data.author.avatarUrl).toMatch(/\/avatars\//);
  expect(kit.getUser()).toMatchObject({ profileComplete: true, nickName: '评论家' });
});

it('one person is one account across the mini-programs of an Open Platform account (unionid)', async () => {
  stack.emulator.user('traveller', { unionid: 'union-traveller' });
  const shop = client('traveller', phone('traveller', '13600000030'));
  const inShop = await shop.kit.require('phone');
  const forum = client('traveller', cancel, 'forum');
  const inForum = await forum.kit.login({ mode: 'silent' });
  expect(inForum.user!.id).toBe(inShop.id);
  expect(inForum.user!.phoneBound).toBe(true); // what the account has, whichever app bound it
  expect(inForum.isNewUser).toBe(false);
  expect(forum.ui).not.toHaveBeenCalled();
});
