/**
 * The client findings of the adversarial passes (issue 27) and what contract 1.3 tells the client (issue 26), from the
 * outside: a `retryAfter` that would block logins for years, a `Retry-After` header, a session handed to another
 * origin, an absurd lifetime, a spent refresh token left in storage, and the ticket's own lifetime.
 */
import { LoginKit, type LoginOptions } from '../../lib/login-kit';
import type { LoginEvent } from '../../lib/types';
import { createFakeWx, createLogger, FakeBackend, FakeClock, userInfoResult, rejection } from '../helpers/fakes';

function phone(overrides: Partial<LoginOptions> = {}, backend = new FakeBackend(), fake = createFakeWx(backend)) {
  backend.registered.add('alice');
  const clock = new FakeClock();
  const kit = new LoginKit();
  const base = { source: 'app', baseURL: 'https://api.test', wx: fake.wx, clock, logger: createLogger() };
  kit.config({ ...base, userAuthHandler: async () => userInfoResult(), ...overrides });
  const events: LoginEvent[] = [];
  kit.onStateChange((event) => events.push(event));
  return { kit, fake, backend, clock, events, base };
}

const rateLimited = (body: Record<string, unknown>, header: Record<string, string> = {}) => ({
  statusCode: 429,
  header,
  data: { code: 'RATE_LIMITED', message: 'slow down', ...body },
});

describe('a RATE_LIMITED answer', () => {
  it('never holds logins back longer than one hour, whatever its retryAfter says (1e9 s)', async () => {
    const { kit, backend, clock } = phone();
    backend.loginOverrides.push(rateLimited({ retryAfter: 1e9 }));
    expect((await rejection(kit.login())).code).toBe('RATE_LIMITED');
    const gated = await rejection(kit.login());
    expect(gated.code).toBe('RATE_LIMITED');
    expect(gated.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    await clock.advance(3_600_000);
    expect((await kit.login()).accessToken).toBeTruthy();
  });

  it("takes the Retry-After header's seconds when the body has no retryAfter", async () => {
    const { kit, backend } = phone();
    backend.loginOverrides.push(rateLimited({}, { 'Retry-After': '7' }));
    expect((await rejection(kit.login())).retryAfterMs).toBe(7000);
  });
});

describe('a session belongs to the origin that issued it', () => {
  it('is not handed over when config() names another baseURL with the same storage key', async () => {
    const { kit, base } = phone();
    await kit.login();
    expect(kit.getState()).not.toBeNull();
    kit.config({ ...base, baseURL: 'https://other.test' });
    expect(kit.getState()).toBeNull();
  });

  it('is loaded from storage by a kit for the same API, and not by one for another API (which clears it)', async () => {
    const backend = new FakeBackend();
    const fake = createFakeWx(backend);
    const first = phone({}, backend, fake);
    await first.kit.login();
    const same = new LoginKit();
    same.config({ ...first.base, baseURL: 'https://api.test/' });
    expect(same.getState()?.accessToken).toBe(first.kit.getState()!.accessToken);
    const other = new LoginKit();
    other.config({ ...first.base, baseURL: 'https://other.test' });
    expect(other.getState()).toBeNull();
  });
});

it('refuses an absurd lifetime (expiresIn 1e308) as a malformed answer', async () => {
  const { kit, backend } = phone();
  backend.loginOverrides.push({ statusCode: 200, header: {}, data: { accessToken: 'a', expiresIn: 1e308, user: { id: 'alice' } } });
  const error = await rejection(kit.login());
  expect(error.code).toBe('LOGIN_FAILED');
  expect(error.message).toMatch(/expiresIn must be seconds/);
});

it('keeps no spent refresh token in storage when storage refuses the rotated one, and says so', async () => {
  const { kit, fake, backend, clock, events } = phone({ expiryLeewayMs: 0 });
  await kit.login();
  const spent = kit.getState()!.refreshToken;
  fake.storageFull = true; // the next write fails
  await clock.advance(backend.expiresIn * 1000 + 1);
  await kit.login(); // refresh: the old refresh token is spent, the new one cannot be written
  expect(kit.getState()!.refreshToken).not.toBe(spent);
  expect(events.map((event) => event.type)).toContain('storageFailed');
  const stored = fake.storage.get('miniprogram-login-kit:session') as { refreshToken?: string } | undefined;
  expect(stored?.refreshToken).not.toBe(spent);
  expect(stored).toBeUndefined();
});

it("uses a loginTicket only for the lifetime the backend gave it (contract 1.3's ticketExpiresIn)", async () => {
  const backend = new FakeBackend();
  const serve = backend.handle;
  backend.handle = async (req) => {
    const answer = await serve(req);
    const data = 'data' in answer ? (answer.data as Record<string, unknown>) : undefined;
    if (data && data.code === 'USER_NOT_REGISTERED') data.ticketExpiresIn = 30;
    return answer;
  };
  const fake = createFakeWx(backend);
  const clock = new FakeClock();
  const kit = new LoginKit();
  kit.config({ source: 'app', baseURL: 'https://api.test', wx: fake.wx, clock, logger: createLogger() });
  expect((await rejection(kit.login({ mode: 'silent' }))).code).toBe('AUTH_REQUIRED'); // a ticket of 30 s is kept
  await clock.advance(25_000); // within its last 10 s: not sent
  kit.config({
    source: 'app',
    baseURL: 'https://api.test',
    wx: fake.wx,
    clock,
    logger: createLogger(),
    userAuthHandler: async () => userInfoResult(),
  });
  const first = backend.tickets.keys().next().value as string;
  await kit.login();
  // The 30 s ticket was in its last 10 s: a new wx.login and a new ticket instead (with 300 s it would have been sent).
  expect(fake.loginCount).toBe(2);
  const authorize = backend.loginCalls.find((call) => call.mode === 'authorize')!;
  expect(authorize.loginTicket).not.toBe(first);
});
