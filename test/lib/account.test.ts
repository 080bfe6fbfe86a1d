/**
 * Account deletion (`Login.deleteAccount`, contract 1.4 `POST /auth/account/delete`) from the outside: the real kit
 * and the real contract adapter, over a fake `wx` whose requests an in-memory contract backend serves, with the
 * deletion route added here as an HTTP test double that follows the wire shape (token, then the code, then the
 * identity, then the app's veto, then the erasure).
 */
import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import { createContractBackend } from '../../lib/contract-backend';
import type { AccountDeletion, LoginEvent, LoginState, RequestResponse } from '../../lib/types';
import { createFakeWx, createLogger, FakeClock, flush, rejection, userInfoResult } from '../helpers/fakes';

type Answer = RequestResponse | { fail: string };
const answer = (statusCode: number, data: unknown, header: Record<string, string> = {}): Answer => ({ statusCode, data, header });
const ERASED: AccountDeletion = { sources: ['test-app'], families: 1, avatars: 0, phone: true, unionid: false };

/**
 * A kit logged in as the registered user alice. `modal` is what the user taps in `wx.showModal`; `deletes` records each
 * deletion request; `overrides` answers the next deletion requests instead of the double.
 */
async function loggedIn(options: Partial<LoginOptions> = {}, modal: { confirm: boolean } = { confirm: true }) {
  const fake = createFakeWx();
  const { backend } = fake;
  backend.registered.add('alice');
  const deletes: Array<{ authorization?: string; body: Record<string, unknown> }> = [];
  const overrides: Answer[] = [];
  const serve = backend.handle;
  backend.handle = async (req) => {
    if (!req.url.endsWith('/auth/account/delete')) return serve(req);
    const authorization = req.header?.Authorization;
    deletes.push({ authorization, body: req.body });
    const override = overrides.shift();
    if (override) return override;
    const token = authorization?.replace(/^Bearer /, '') ?? '';
    if (!backend.validTokens.has(token)) return answer(401, { code: 'TOKEN_EXPIRED', message: 'expired' });
    const openid = backend.codes.get(req.body.code as string);
    backend.codes.delete(req.body.code as string);
    if (!openid) return answer(400, { code: 'INVALID_CODE', message: 'code' });
    if (!token.endsWith(`-${openid}`)) return answer(403, { code: 'IDENTITY_MISMATCH', message: 'another user' });
    backend.registered.delete(openid);
    backend.expireAll();
    backend.refreshTokens.clear();
    return answer(200, { deleted: ERASED }, { 'Cache-Control': 'no-store' });
  };
  const modals: Array<Record<string, unknown>> = [];
  fake.wx.showModal = (opts) => {
    modals.push({ ...opts });
    setImmediate(() => opts.success?.({ confirm: modal.confirm, cancel: !modal.confirm }));
  };
  const clock = new FakeClock();
  const ui = jest.fn(async () => userInfoResult());
  const kit = new LoginKit();
  const config = { source: 'test-app', baseURL: 'https://api.test', wx: fake.wx, clock, logger: createLogger(), userAuthHandler: ui };
  kit.config({ ...config, ...options });
  const state = await kit.login();
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  return { kit, fake, backend, deletes, overrides, modals, clock, ui, state, events, config };
}

/** Nothing changed: the same session in memory and in storage, no event. */
function unchanged(setup: Awaited<ReturnType<typeof loggedIn>>, stored: unknown) {
  expect(setup.kit.getState()).toBe(setup.state);
  expect([...setup.fake.storage.values()]).toEqual([stored]);
  expect(setup.events).toEqual([]);
}

describe('Login.deleteAccount', () => {
  it('asks with a wx.showModal of the merged tips, proves with a fresh wx.login code, deletes, then logs out for good', async () => {
    const setup = await loggedIn({ tips: { deleteTitle: '注销 A' }, pageTips: () => ({ deleteContent: '页面说明' }) });
    const { kit, fake, deletes, modals, state, events } = setup;
    const loginCode = fake.backend.loginCalls[0].code;
    const deleted = await kit.deleteAccount({ tips: { deleteConfirmText: '确认注销' } });
    expect(deleted).toEqual(ERASED);
    expect(modals).toEqual([
      expect.objectContaining({ title: '注销 A', content: '页面说明', confirmText: '确认注销', cancelText: '取消' }),
    ]);
    expect(fake.loginCount).toBe(2); // one wx.login for the login, one made for the deletion
    expect(deletes).toEqual([{ authorization: `Bearer ${state.accessToken}`, body: { source: 'test-app', code: 'code-3' } }]);
    expect(deletes[0].body.code).not.toBe(loginCode);
    // The local logout of logout(): no state, the deliberate-logout marker, then the events.
    expect(kit.getState()).toBeNull();
    expect([...fake.storage.values()]).toEqual([{ v: 1, loggedOut: true }]);
    expect(events).toEqual([{ type: 'logout' }, { type: 'accountDeleted', deleted: ERASED }]);
    expect(fake.backend.logoutCalls).toEqual([]); // every token is dead already: nothing to revoke
    // No silent login behind it, not even after a restart.
    expect((await rejection(kit.login({ mode: 'silent' }))).code).toBe('AUTH_REQUIRED');
    const restarted = new LoginKit();
    restarted.config(setup.config);
    expect(restarted.getState()).toBeNull();
    expect((await rejection(restarted.login({ mode: 'silent' }))).code).toBe('AUTH_REQUIRED');
    expect(fake.loginCount).toBe(2);
    // The same WeChat user, through the login UI, is a new user.
    expect((await kit.login()).isNewUser).toBe(true);
  });

  it('rejects AUTH_CANCELLED and changes nothing when the user cancels the confirmation', async () => {
    const setup = await loggedIn({}, { confirm: false });
    const stored = [...setup.fake.storage.values()][0];
    const error = await rejection(setup.kit.deleteAccount());
    expect(error.code).toBe('AUTH_CANCELLED');
    expect(setup.modals).toHaveLength(1);
    expect(setup.fake.loginCount).toBe(1); // no wx.login for a deletion the user did not confirm
    expect(setup.deletes).toEqual([]);
    unchanged(setup, stored);
  });

  it('lets the app replace the confirmation (a function given the merged tips) or skip it (false)', async () => {
    const replaced = await loggedIn();
    const confirm = jest.fn(async () => false);
    expect((await rejection(replaced.kit.deleteAccount({ confirm, tips: { deleteTitle: 'T' } }))).code).toBe('AUTH_CANCELLED');
    expect(confirm).toHaveBeenCalledWith(expect.objectContaining({ deleteTitle: 'T', deleteConfirmText: '注销' }));
    confirm.mockResolvedValue(true);
    expect(await replaced.kit.deleteAccount({ confirm })).toEqual(ERASED);
    expect(replaced.modals).toEqual([]);
    const skipped = await loggedIn();
    expect(await skipped.kit.deleteAccount({ confirm: false })).toEqual(ERASED);
    expect(skipped.modals).toEqual([]);
  });

  it('rejects UI_UNAVAILABLE, with nothing sent, when wx has no showModal and the app gave no confirm', async () => {
    const setup = await loggedIn();
    const stored = [...setup.fake.storage.values()][0];
    delete setup.fake.wx.showModal;
    expect((await rejection(setup.kit.deleteAccount())).code).toBe('UI_UNAVAILABLE');
    expect(setup.deletes).toEqual([]);
    unchanged(setup, stored);
  });

  it('renews an expired session once and sends the deletion again with another fresh code', async () => {
    const { kit, backend, deletes, state } = await loggedIn();
    backend.expireAll(); // the access token died on the server
    expect(await kit.deleteAccount()).toEqual(ERASED);
    expect(deletes).toHaveLength(2);
    expect(deletes[0].authorization).toBe(`Bearer ${state.accessToken}`);
    expect(deletes[1].authorization).not.toBe(deletes[0].authorization);
    expect(deletes[1].body.code).not.toBe(deletes[0].body.code);
    expect(backend.refreshCalls).toHaveLength(1);
    expect(kit.getState()).toBeNull();
  });

  it('tries a second fresh code after INVALID_CODE, and after a second one rejects DELETION_REFUSED with nothing changed', async () => {
    const once = await loggedIn();
    once.overrides.push(answer(400, { code: 'INVALID_CODE', message: 'used' }));
    expect(await once.kit.deleteAccount()).toEqual(ERASED);
    expect(once.deletes.map((d) => d.body.code)).toEqual(['code-3', 'code-4']);
    const twice = await loggedIn();
    const stored = [...twice.fake.storage.values()][0];
    twice.overrides.push(answer(400, { code: 'INVALID_CODE', message: 'used' }), answer(400, { code: 'INVALID_CODE', message: 'used' }));
    const error = await rejection(twice.kit.deleteAccount());
    expect(error).toMatchObject({ code: 'DELETION_REFUSED', statusCode: 400, backendCode: 'INVALID_CODE' });
    expect(twice.deletes).toHaveLength(2);
    unchanged(twice, stored);
  });

  it.each<[string, Answer, Record<string, unknown>]>([
    ['another WeChat user (403 IDENTITY_MISMATCH)', answer(403, { code: 'IDENTITY_MISMATCH' }), { code: 'DELETION_REFUSED' }],
    [
      "the app's veto (409 DELETION_VETOED)",
      answer(409, { code: 'DELETION_VETOED', reason: '你有未完成的订单，请完成后再注销' }),
      { code: 'DELETION_VETOED', reason: '你有未完成的订单，请完成后再注销', statusCode: 409 },
    ],
    ['a backend without the route (404)', answer(404, { code: 'NOT_FOUND' }), { code: 'DELETION_UNAVAILABLE', statusCode: 404 }],
    ['405', answer(405, ''), { code: 'DELETION_UNAVAILABLE' }],
    ['501', answer(501, ''), { code: 'DELETION_UNAVAILABLE' }],
    ['the rate limit (429)', answer(429, { code: 'RATE_LIMITED', retryAfter: 1200 }), { code: 'RATE_LIMITED', retryAfterMs: 1_200_000 }],
    ['USER_BLOCKED (403)', answer(403, { code: 'USER_BLOCKED' }), { code: 'USER_BLOCKED' }],
    ['a network failure', { fail: 'request:fail' }, { code: 'NETWORK_ERROR' }],
  ])('rejects typed for %s, sent once, with the account and the session kept', async (_what, reply, expected) => {
    const setup = await loggedIn();
    const stored = [...setup.fake.storage.values()][0];
    setup.overrides.push(reply);
    expect(await rejection(setup.kit.deleteAccount())).toMatchObject(expected);
    expect(setup.deletes).toHaveLength(1);
    unchanged(setup, stored);
  });

  it('rejects DELETION_UNAVAILABLE before asking anyone when config.backend has no deleteAccount', async () => {
    const { deleteAccount: _none, ...withoutDeletion } = createContractBackend();
    const setup = await loggedIn({ backend: withoutDeletion });
    expect((await rejection(setup.kit.deleteAccount())).code).toBe('DELETION_UNAVAILABLE');
    expect(setup.modals).toEqual([]);
    expect(setup.fake.loginCount).toBe(1);
  });

  it('rejects TIMEOUT within timeouts.userAuth when the confirmation never answers, with nothing sent', async () => {
    const setup = await loggedIn({ timeouts: { userAuth: 500 } });
    const stored = [...setup.fake.storage.values()][0];
    const outcome = rejection(setup.kit.deleteAccount({ confirm: () => new Promise<boolean>(() => undefined) }));
    await flush();
    await setup.clock.advance(500);
    expect((await outcome).code).toBe('TIMEOUT');
    expect(setup.deletes).toEqual([]);
    unchanged(setup, stored);
  });

  it('rejects TIMEOUT within timeouts.backend when a custom adapter never answers, and keeps the session', async () => {
    const backend = { ...createContractBackend(), deleteAccount: () => new Promise<AccountDeletion>(() => undefined) };
    const setup = await loggedIn({ backend, timeouts: { backend: 300 } });
    let settled = false;
    const pending = setup.kit.deleteAccount();
    pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await flush();
    await setup.clock.advance(299);
    expect(settled).toBe(false);
    await setup.clock.advance(1);
    expect((await rejection(pending)).code).toBe('TIMEOUT');
    expect(setup.kit.getState()).toBe(setup.state);
  });

  it('hands a custom adapter the session and a fresh code, and logs in first when there is no session', async () => {
    const seen: Array<{ code: string; state: LoginState }> = [];
    const backend = {
      ...createContractBackend(),
      deleteAccount: async (request: { code: string }, state: LoginState) => (seen.push({ code: request.code, state }), ERASED),
    };
    const setup = await loggedIn({ backend });
    await setup.kit.logout();
    expect(await setup.kit.deleteAccount({ confirm: false })).toEqual(ERASED);
    expect(setup.ui).toHaveBeenCalledTimes(1); // after a deliberate logout, only the login UI proves who it is
    expect(seen).toEqual([
      { code: expect.stringMatching(/^code-/), state: expect.objectContaining({ user: expect.objectContaining({ id: 'alice' }) }) },
    ]);
    expect(setup.kit.getState()).toBeNull();
  });

  it('rejects bad options with INVALID_OPTIONS and an unconfigured kit with NOT_CONFIGURED, never throwing', async () => {
    const { kit } = await loggedIn();
    let result: Promise<unknown> | undefined;
    expect(() => (result = kit.deleteAccount(null as never))).not.toThrow();
    expect((await rejection(result!)).code).toBe('INVALID_OPTIONS');
    expect((await rejection(kit.deleteAccount({ confirm: 'yes' as never }))).code).toBe('INVALID_OPTIONS');
    expect((await rejection(kit.deleteAccount({ tips: { deleteTitel: 'x' } as never }))).message).toMatch(/unknown tip "deleteTitel"/);
    const bare = new LoginKit({ logger: createLogger() });
    expect(() => (result = bare.deleteAccount())).not.toThrow();
    expect((await rejection(result!)).code).toBe('NOT_CONFIGURED');
  });
});
