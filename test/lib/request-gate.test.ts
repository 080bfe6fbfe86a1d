/**
 * `authorize` / `handleExpired` as a request layer that is not the kit's meets them: sending with its own `wx.request`
 * (here: a plain call on the fake `wx`), feeding back what it got — including the mistakes such a layer makes.
 */
import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import { isLoginError, type LoginError } from '../../lib/errors';
import type { LoginHandle } from '../../lib/request-gate';
import type { LoginEvent } from '../../lib/types';
import { createFakeWx, createLogger, FakeBackend, FakeClock, flush, userInfoResult } from '../helpers/fakes';

function setup(overrides: Partial<LoginOptions> = {}) {
  const backend = new FakeBackend();
  backend.registered.add('alice');
  const fake = createFakeWx(backend);
  const clock = new FakeClock();
  const logger = createLogger();
  const kit = new LoginKit();
  kit.config({
    source: 'app',
    baseURL: 'https://api.test',
    wx: fake.wx,
    clock,
    logger,
    userAuthHandler: async () => userInfoResult(),
    ...overrides,
  });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  /** The app's layer: one `wx.request` with the options it was given. */
  const send = (request: { url: string; header?: Record<string, string> }) =>
    new Promise<{ statusCode: number; data: unknown; header: Record<string, string> }>((resolve, reject) =>
      fake.wx.request({ ...request, success: resolve, fail: reject }),
    );
  return { kit, fake, backend, clock, logger, events, send };
}

async function rejection(promise: Promise<unknown>): Promise<LoginError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLoginError(error)).toBe(true);
  return error as LoginError;
}

it('refuses bad input with INVALID_OPTIONS and an unconfigured kit with NOT_CONFIGURED, logging in for none of it', async () => {
  const { kit, fake } = setup();
  expect((await rejection(kit.authorize({ url: '' }))).code).toBe('INVALID_OPTIONS');
  expect((await rejection(kit.authorize(null as never))).code).toBe('INVALID_OPTIONS');
  expect((await rejection(kit.authorize({ url: '/api/x' }, { mode: 'sometimes' as never }))).code).toBe('INVALID_OPTIONS');
  expect((await rejection(kit.authorize({ url: '/api/x' }, { kind: 'socket' as never }))).code).toBe('INVALID_OPTIONS');
  expect((await rejection(kit.authorize({ url: '/api/x' }, { tips: { titel: 'x' } as never }))).code).toBe('INVALID_OPTIONS');
  expect((await rejection(new LoginKit({ logger: createLogger() }).authorize({ url: '/api/x' }))).code).toBe('NOT_CONFIGURED');
  expect(fake.loginCount).toBe(0);
});

it('logs in once for concurrent callers and gives each the credentials, never more than 10 slots at once', async () => {
  const { kit, fake } = setup();
  const passes = Array.from({ length: 12 }, () => kit.authorize({ url: '/api/me', header: { 'x-app': '1' } }));
  await flush();
  await flush();
  const first = await Promise.all(passes.slice(0, 10));
  expect(fake.loginCount).toBe(1);
  expect(first.every(({ request }) => /^Bearer token-/.test(request.header!.Authorization) && request.header!['x-app'] === '1')).toBe(true);
  let eleventh = false;
  void passes[10].then(() => (eleventh = true));
  await flush();
  expect(eleventh).toBe(false); // all 10 slots are held until their handles are decided
  const answer = { statusCode: 200, data: {}, header: {} };
  expect(await kit.handleExpired(answer, first[0].handle)).toEqual({ replay: false });
  await flush();
  expect(eleventh).toBe(true);
  for (const { handle } of first.slice(1)) handle.release();
  for (const pass of passes.slice(10)) (await pass).handle.release();
});

it('gives another origin no credentials and no login, and the /auth/ endpoints of the API none either', async () => {
  const { kit, fake } = setup();
  const other = await kit.authorize({ url: 'https://cdn.example.com/a.png' });
  const auth = await kit.authorize({ url: '/auth/login' });
  expect(other.request.header).toBeUndefined();
  expect(auth.request.header).toBeUndefined();
  expect(fake.loginCount).toBe(0);
  other.handle.release();
  auth.handle.release();
});

it('decides each handle once: a second decision, or a handle of another kit, is INVALID_OPTIONS', async () => {
  const { kit } = setup();
  const { handle } = await kit.authorize({ url: '/api/me' });
  await kit.handleExpired({ statusCode: 200 }, handle);
  expect((await rejection(kit.handleExpired({ statusCode: 200 }, handle))).code).toBe('INVALID_OPTIONS');
  const other = setup();
  const foreign = await other.kit.authorize({ url: '/api/me' });
  expect((await rejection(kit.handleExpired({ statusCode: 200 }, foreign.handle))).code).toBe('INVALID_OPTIONS');
  expect((await rejection(kit.handleExpired({ status: 200 } as never, (await kit.authorize({ url: '/api/me' })).handle))).code).toBe(
    'INVALID_OPTIONS',
  );
});

it('renews once on an expired answer and replays with the new credentials; reTry: false keeps the answer', async () => {
  const { kit, backend, events, send } = setup();
  let pass = await kit.authorize({ url: '/api/me' });
  const dead = pass.request.header!.Authorization;
  backend.expireAll();
  const answer = await send(pass.request);
  expect(answer.statusCode).toBe(401);
  const decision = await kit.handleExpired(answer, pass.handle);
  expect(decision.replay).toBe(true);
  if (!decision.replay) return;
  expect(decision.request.header!.Authorization).not.toBe(dead);
  expect(events.filter((e) => e.type === 'refreshStart')).toHaveLength(1);
  expect(await kit.handleExpired(await send(decision.request), decision.handle)).toEqual({ replay: false });

  backend.expireAll();
  pass = await kit.authorize({ url: '/api/me' }, { reTry: false });
  expect(await kit.handleExpired(await send(pass.request), pass.handle)).toEqual({ replay: false });
  expect(events.filter((e) => e.type === 'refreshStart')).toHaveLength(1);
});

it('rejects SESSION_EXPIRED past the replay budget, and LOGGED_OUT after a logout', async () => {
  const { kit, send } = setup({ isSessionExpired: (res) => res.statusCode === 200 }); // a backend that always says "expired"
  let pass = await kit.authorize({ url: '/api/me' });
  const first = await kit.handleExpired(await send(pass.request), pass.handle);
  expect(first.replay).toBe(true);
  if (!first.replay) return;
  expect((await rejection(kit.handleExpired(await send(first.request), first.handle))).code).toBe('SESSION_EXPIRED');

  pass = await kit.authorize({ url: '/api/me' });
  const answer = await send(pass.request);
  const loggingOut = kit.logout();
  expect((await rejection(kit.handleExpired(answer, pass.handle))).code).toBe('LOGGED_OUT');
  await loggingOut;
});

it('takes back a slot that the app never decides, after the request timeout plus 1 s, with a warning', async () => {
  const { kit, clock, logger } = setup({ maxConcurrentRequests: 1, timeouts: { request: 5000 } });
  const leaked: LoginHandle = (await kit.authorize({ url: '/api/me' })).handle;
  let next = false;
  const waiting = kit.authorize({ url: '/api/me' }).then((pass) => ((next = true), pass));
  await clock.advance(5999);
  expect(next).toBe(false);
  await clock.advance(1);
  expect(next).toBe(true);
  expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/held its slot past 6000 ms; released/));
  leaked.release(); // late: harmless
  (await waiting).handle.release();
});
