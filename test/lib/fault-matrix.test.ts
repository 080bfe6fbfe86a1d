/**
 * The fault matrix (issue 5): every fault alone, then all mixed at random with fixed seeds, across hundreds of
 * concurrent requests. Whatever happens:
 * - every request settles (a response, or a LoginError) within bounded virtual time;
 * - no request is sent again after it succeeded;
 * - no request is sent with a token older than the kit's current one;
 * - never more than one login/refresh call at a time;
 * - never more than 10 wx.request in flight.
 * The backend answers after 50-250 ms of virtual time (the fake clock), so calls overlap as they do on a phone: two
 * logins, two refreshes or an eleventh request in flight would be seen. (With answers within one macrotask they could
 * never overlap, and these checks could not fail.)
 */
import { LoginKit } from '../../lib/login-kit';
import { isLoginError } from '../../lib/errors';
import type { WxRequestOptions } from '../../lib/runtime';
import type { AuthResult } from '../../lib/types';
import { createFakeWx, FakeBackend, FakeClock, flush, userInfoResult } from '../helpers/fakes';

/** mulberry32: a small, well-known seeded PRNG, so a failing seed can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault =
  | 'wxLoginFails'
  | 'wxLoginHangs'
  | 'loginBusy'
  | 'loginDown'
  | 'invalidCode'
  | 'refreshRejected'
  | 'refreshDown'
  | 'apiInterrupted'
  | 'apiHangs'
  | 'tokensExpire'
  | 'uiCancels'
  | 'uiHangs'
  | 'storageFull';

const ALL_FAULTS: Fault[] = [
  'wxLoginFails',
  'wxLoginHangs',
  'loginBusy',
  'loginDown',
  'invalidCode',
  'refreshRejected',
  'refreshDown',
  'apiInterrupted',
  'apiHangs',
  'tokensExpire',
  'uiCancels',
  'uiHangs',
  'storageFull',
];

const never = () => new Promise<never>(() => undefined);

/** The virtual time a backend answer takes (ms): long enough that concurrent calls overlap. */
const LATENCY_MS = { min: 50, spread: 200 };

async function runMatrix(faults: Fault[], seed: number, requests: number, probability: number) {
  const random = seeded(seed);
  const injected: Partial<Record<Fault, number>> = {};
  const on = (fault: Fault) => {
    if (!faults.includes(fault) || random() >= probability) return false;
    injected[fault] = (injected[fault] ?? 0) + 1;
    return true;
  };
  const backend = new FakeBackend();
  const fake = createFakeWx(backend);
  const clock = new FakeClock();
  const kit = new LoginKit();
  kit.config({
    source: 'matrix',
    baseURL: 'https://api.test',
    wx: fake.wx,
    clock,
    logger: { warn: () => undefined, error: () => undefined },
    timeouts: { wxLogin: 2000, request: 3000, userAuth: 5000 },
    backoff: { random },
    userAuthHandler: async (): Promise<AuthResult> => {
      if (on('uiHangs')) return never();
      if (on('uiCancels')) return { succeeded: false, errMsg: 'getUserInfo:fail cancel' };
      return userInfoResult();
    },
  });

  fake.loginBehaviour = () => (on('wxLoginHangs') ? 'hang' : on('wxLoginFails') ? { errMsg: 'login:fail system error', errno: 1 } : 'ok');
  fake.storageFull = faults.includes('storageFull');
  if (fake.storageFull) injected.storageFull = 1;

  const violations: string[] = [];
  let authInFlight = 0;
  let maxAuthInFlight = 0;
  const succeededIds = new Set<number>();

  // Check every wx.request as it is issued: no stale token, no resend of a succeeded request.
  const request = fake.wx.request.bind(fake.wx);
  fake.wx.request = (options: WxRequestOptions) => {
    const token = options.header?.Authorization?.replace(/^Bearer /, '');
    const current = kit.getState()?.accessToken;
    if (token && current && token !== current) violations.push(`stale token on ${options.url}`);
    const id = (options.data as { id?: number } | undefined)?.id;
    if (id !== undefined && succeededIds.has(id)) violations.push(`request ${id} sent again after it succeeded`);
    return request(options);
  };

  const serve = backend.handle;
  const latency = () =>
    new Promise<void>((resolve) => clock.setTimeout(resolve, LATENCY_MS.min + Math.floor(random() * LATENCY_MS.spread)));
  backend.handle = async (req) => {
    const path = req.url.replace(/^https?:\/\/[^/]+/, '');
    if (path === '/auth/login' || path === '/auth/refresh') {
      authInFlight++;
      maxAuthInFlight = Math.max(maxAuthInFlight, authInFlight);
      try {
        await latency();
        if (path === '/auth/login') {
          if (on('loginBusy')) return { statusCode: 503, header: {}, data: { code: 'WECHAT_UNAVAILABLE', message: 'busy' } };
          if (on('loginDown')) return { fail: 'request:fail net::ERR_CONNECTION_RESET' };
          if (on('invalidCode')) return { statusCode: 400, header: {}, data: { code: 'INVALID_CODE', message: 'used' } };
        } else {
          if (on('refreshRejected')) return { statusCode: 401, header: {}, data: { code: 'REFRESH_TOKEN_INVALID', message: 'x' } };
          if (on('refreshDown')) return { fail: 'request:fail interrupted' };
        }
        return await serve(req);
      } finally {
        authInFlight--;
      }
    }
    if (on('apiHangs')) return never();
    await latency();
    if (on('apiInterrupted')) return { fail: 'request:fail interrupted' };
    const answer = await serve(req);
    if ('statusCode' in answer && answer.statusCode === 200) succeededIds.add(req.body.id as number);
    return answer;
  };

  const settled: Array<'ok' | 'error' | 'bad'> = new Array(requests);
  const all: Array<Promise<void>> = [];
  // Waves of concurrent requests; between waves the backend expires every session (so each wave renews: refresh,
  // re-login or UI), and the `tokensExpire` fault expires them mid-wave too.
  const waves = 10;
  for (let wave = 0; wave < waves; wave++) {
    backend.expireAll();
    if (wave === 1) backend.registered.add('alice'); // later waves: a returning user
    if (wave === 5) backend.refreshTokens.clear(); // and once, no usable refresh token: a silent re-login
    for (let i = wave * (requests / waves); i < (wave + 1) * (requests / waves); i++) {
      const mode = random() < 0.2 ? 'silent' : 'common';
      all.push(
        kit.requestWithLogin({ url: '/api/data', method: 'POST', data: { id: i }, loginOpts: { mode } }).then(
          () => void (settled[i] = 'ok'),
          (error: unknown) => void (settled[i] = isLoginError(error) ? 'error' : 'bad'),
        ),
      );
    }
    if (on('tokensExpire')) setImmediate(() => backend.expireAll());
    await clock.advance(1000);
  }
  for (let step = 0; step < 200 && settled.filter(Boolean).length < requests; step++) await clock.advance(1000);
  await flush();

  if (process.env.MATRIX_STATS) {
    const stats = {
      seed,
      injected,
      wxLogins: fake.loginCount,
      wxRequests: fake.requests.length,
      logins: backend.loginCalls.length,
      refreshes: backend.refreshCalls.length,
    };
    console.log(
      JSON.stringify({ ...stats, ok: settled.filter((x) => x === 'ok').length, errors: settled.filter((x) => x === 'error').length }),
    );
  }
  return {
    refreshes: backend.refreshCalls.length,
    logins: backend.loginCalls.length,
    unsettled: requests - settled.filter(Boolean).length,
    notLoginErrors: settled.filter((s) => s === 'bad').length,
    succeeded: settled.filter((s) => s === 'ok').length,
    violations,
    maxAuthInFlight,
    maxInFlight: fake.maxInFlight,
    injected,
  };
}

describe('the fault matrix', () => {
  it('without faults, answers that take time overlap: 10 in flight (not 11), one login or refresh at a time, one refresh per burst', async () => {
    const result = await runMatrix([], 7, 200, 0);
    expect(result).toMatchObject({ unsettled: 0, notLoginErrors: 0, violations: [], succeeded: 200 });
    expect(result.maxInFlight).toBe(10); // the limiter really held a queue back
    expect(result.maxAuthInFlight).toBe(1);
    // 10 waves, each after every session expired: the first logs in (UI); each of the 9 others refreshes once for its
    // burst of 20 concurrent requests — wave 5's refresh token is unknown to the backend, so it logs in silently then.
    expect(result.refreshes).toBe(9);
    expect(result.logins).toBe(3); // the first user's silent attempt and authorize, and wave 5's silent login
  });

  it.each(ALL_FAULTS)('with "%s" alone, 200 concurrent requests all settle and every invariant holds', async (fault) => {
    // The first seed from 7 on whose draws inject the fault (a login is called only a few times per run).
    let result = await runMatrix([fault], 7, 200, 0.3);
    for (let seed = 8; !result.injected[fault] && seed < 40; seed++) result = await runMatrix([fault], seed, 200, 0.3);
    expect(result.injected[fault]).toBeGreaterThan(0); // the fault really happened
    expect(result).toMatchObject({ unsettled: 0, notLoginErrors: 0, violations: [] });
    expect(result.maxAuthInFlight).toBeLessThanOrEqual(1);
    expect(result.maxInFlight).toBeLessThanOrEqual(10);
    expect(result.succeeded).toBeGreaterThan(0);
  });

  it.each([1, 2, 3, 42, 2024])(
    'with every fault mixed at random (seed %i), 400 concurrent requests all settle and every invariant holds',
    async (seed) => {
      const result = await runMatrix(ALL_FAULTS, seed, 400, 0.15);
      expect(Object.keys(result.injected).length).toBeGreaterThanOrEqual(4); // several faults really happened together
      expect(result).toMatchObject({ unsettled: 0, notLoginErrors: 0, violations: [] });
      expect(result.maxAuthInFlight).toBeLessThanOrEqual(1);
      expect(result.maxInFlight).toBeLessThanOrEqual(10);
      expect(result.succeeded).toBeGreaterThan(0);
    },
  );
});
