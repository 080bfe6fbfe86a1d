/**
 * `npm run contract-check -- <baseURL> [--emulator <url>] [--source <source>] [--protected <path>] [--reuse-interval <s>]`
 *
 * Runs the backend contract's flows (docs/contract.md) against any backend whose WeChat calls point at the WeChat
 * emulator, and prints each check with PASS/FAIL and what was expected. Exit code 1 when a check fails.
 * - Start the emulator with `npm run emulator` (it prints its URL, appid and secret), point the backend's WeChat API
 *   base URL, appid and secret at it, start the backend, then run this with `--emulator <the emulator's URL>`.
 * - `--protected` (default `/api/me`): a protected endpoint of the backend (any that answers 2xx to a valid token).
 * - `--reuse-interval` (default 10): the backend's rotation reuse interval in s; the reuse check waits past it.
 * Development tooling only; `runContractChecks` is what the test gate calls against the reference server.
 */
import path from 'path';

/** What the checks need from the WeChat emulator the backend talks to: what a phone would get from WeChat. */
export interface EmulatorControl {
  /** A fresh `wx.login` code for user `user`. */
  code(user: string): Promise<string>;
  /** A signed `getUserInfo` detail for `user` (matching the session_key of its latest code). */
  userInfo(user: string): Promise<{ rawData: string; signature: string; encryptedData: string; iv: string }>;
  /** The next code2Session answers `errcode` (fault injection). */
  failNext(errcode: number): Promise<void>;
  /** WeChat flags `user` as high-risk (40226). */
  block(user: string): Promise<void>;
  /** A one-time `getPhoneNumber` code of `user`, whose number is the emulator's default one (the same for every user). */
  phoneCode(user: string): Promise<string>;
}

/** Drives an emulator in another process through its `/_emulator/` control API. */
export function httpEmulator(baseURL: string): EmulatorControl {
  const call = async <T>(path: string, body: object): Promise<T> => {
    const response = await fetch(`${baseURL.replace(/\/+$/, '')}/_emulator/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`the emulator at ${baseURL} answered ${response.status} to ${path}`);
    return (await response.json()) as T;
  };
  return {
    code: async (user) => (await call<{ code: string }>('code', { user })).code,
    userInfo: (user) => call('user-info', { user }),
    failNext: async (errcode) => void (await call('error', { errcode })),
    block: async (user) => void (await call('block', { user })),
    phoneCode: async (user) => (await call<{ code: string }>('phone-code', { user })).code,
  };
}

/** Options of one run. */
export interface ContractCheckOptions {
  /** The backend's base URL, e.g. `http://127.0.0.1:8080`. */
  baseURL: string;
  emulator: EmulatorControl;
  /** The backend's `source` for the app registered with the emulator's appid (default `demo-app`). */
  source?: string;
  /** A protected endpoint (default `/api/me`). */
  protectedPath?: string;
  /** The backend's rotation reuse interval, s (default 10). */
  reuseIntervalSeconds?: number;
}

/** One check's outcome. */
export interface CheckResult {
  name: string;
  passed: boolean;
  /** What the contract expects. */
  expected: string;
  /** What the backend did, when it failed. */
  actual?: string;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

/** Runs every check in order; never throws for a backend's answer (a network failure is a failed check). */
export async function runContractChecks(options: ContractCheckOptions): Promise<CheckResult[]> {
  const base = options.baseURL.replace(/\/+$/, '');
  const source = options.source ?? 'demo-app';
  const protectedPath = options.protectedPath ?? '/api/me';
  const reuseMs = (options.reuseIntervalSeconds ?? 10) * 1000;
  const { emulator } = options;
  const results: CheckResult[] = [];
  const run = `c${Date.now().toString(36)}`;
  const user = (name: string) => `${run}-${name}`;

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const raw = typeof body === 'string' || body instanceof FormData;
    const response = await fetch(base + path, {
      method,
      headers: body === undefined || body instanceof FormData ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : raw ? (body as string | FormData) : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  const login = (body: object) => send('POST', '/auth/login', { source, ...body });
  const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });
  const describe = (a: Answer) => `${a.status} ${JSON.stringify(a.body).slice(0, 160)}`;

  /** Records one check; `test` returns null when the answer is right, else what was wrong. */
  async function check(name: string, expected: string, test: () => Promise<string | null>): Promise<void> {
    let actual: string | null;
    try {
      actual = await test();
    } catch (error) {
      actual = `error: ${(error as Error).message}`;
    }
    results.push({ name, expected, passed: actual === null, ...(actual === null ? {} : { actual }) });
  }
  const expectError = (a: Answer, status: number, code: string) => (a.status === status && a.body.code === code ? null : describe(a));
  const tokenBody = (a: Answer): string | null => {
    const b = a.body;
    if (a.status !== 200) return describe(a);
    if (typeof b.accessToken !== 'string' || !b.accessToken) return 'accessToken missing';
    if (!(typeof b.expiresIn === 'number' && b.expiresIn > 0)) return 'expiresIn must be a positive number of seconds';
    if (typeof b.refreshToken !== 'string' || !b.refreshToken) return 'refreshToken missing';
    if (!(typeof b.refreshExpiresIn === 'number' && b.refreshExpiresIn > 0)) return 'refreshExpiresIn must be a positive number';
    const u = b.user as { id?: unknown } | undefined;
    if (u !== undefined && typeof u?.id !== 'string') return 'user.id must be a string';
    return null;
  };

  // ---- login ------------------------------------------------------------------------------------------------
  let ticket = '';
  // The registration policy (contract 1.2) decides what a silent login of an unknown user answers.
  let policy: 'authorize' | 'silent' = 'authorize';
  let session: Record<string, unknown> = {};
  await check(
    'silent login of an unknown user',
    '401 USER_NOT_REGISTERED with a loginTicket ("authorize" policy), or 200 with isNewUser true and profileComplete false ("silent")',
    async () => {
      const a = await login({ mode: 'silent', code: await emulator.code(user('new')) });
      if (a.status === 200) {
        policy = 'silent';
        session = a.body;
        const u = a.body.user as { profileComplete?: unknown } | undefined;
        return (
          tokenBody(a) ??
          (a.body.isNewUser === true && u?.profileComplete === false ? null : 'isNewUser true and user.profileComplete false expected')
        );
      }
      ticket = typeof a.body.loginTicket === 'string' ? a.body.loginTicket : '';
      return a.status === 401 && a.body.code === 'USER_NOT_REGISTERED' && ticket ? null : describe(a);
    },
  );

  await check(
    'authorize with the ticket and a profile (nickname only: the avatar is optional)',
    '200 with the token fields, isNewUser true ("silent" policy: with a fresh code, isNewUser false)',
    async () => {
      const credential = policy === 'silent' ? { code: await emulator.code(user('new')) } : { loginTicket: ticket };
      const a = await login({ mode: 'authorize', ...credential, profile: { nickName: '契约' } });
      session = a.body;
      return tokenBody(a) ?? (a.body.isNewUser === (policy === 'authorize') ? null : `isNewUser must be ${policy === 'authorize'}`);
    },
  );

  await check('token responses are not cached', 'Cache-Control: no-store on /auth/login and /auth/refresh', async () => {
    const a = await login({ mode: 'silent', code: await emulator.code(user('new')) });
    return /no-store/i.test(a.headers.get('cache-control') ?? '') ? null : `Cache-Control: ${a.headers.get('cache-control')}`;
  });

  await check('a login ticket is single use', '400 INVALID_TICKET for a used ticket (or an unknown one)', async () =>
    expectError(
      await login({ mode: 'authorize', loginTicket: ticket || 'not-a-ticket', profile: { nickName: 'x' } }),
      400,
      'INVALID_TICKET',
    ),
  );

  await check('silent login of a returning user', '200 with the token fields, isNewUser false', async () => {
    const a = await login({ mode: 'silent', code: await emulator.code(user('new')) });
    return tokenBody(a) ?? (a.body.isNewUser === false ? null : 'isNewUser must be false');
  });

  await check('an unknown code', '400 INVALID_CODE', async () =>
    expectError(await login({ mode: 'silent', code: 'not-a-code' }), 400, 'INVALID_CODE'),
  );

  await check('a used code', '400 INVALID_CODE', async () => {
    const code = await emulator.code(user('used'));
    await login({ mode: 'silent', code });
    return expectError(await login({ mode: 'silent', code }), 400, 'INVALID_CODE');
  });

  await check('userInfo with a forged signature', '400 INVALID_USER_DATA', async () => {
    const code = await emulator.code(user('forger'));
    const { rawData, encryptedData, iv } = await emulator.userInfo(user('forger'));
    const forged = { rawData, signature: '0'.repeat(40), encryptedData, iv };
    return expectError(await login({ mode: 'authorize', code, userInfo: forged }), 400, 'INVALID_USER_DATA');
  });

  await check('a phoneCode WeChat does not know', '400 INVALID_USER_DATA', async () =>
    expectError(
      await login({ mode: 'authorize', code: await emulator.code(user('phone')), phoneCode: 'not-a-phone-code' }),
      400,
      'INVALID_USER_DATA',
    ),
  );

  await check('a user WeChat flagged as high-risk (40226)', '403 USER_BLOCKED', async () => {
    await emulator.block(user('risky'));
    return expectError(await login({ mode: 'silent', code: await emulator.code(user('risky')) }), 403, 'USER_BLOCKED');
  });

  await check('WeChat busy (-1)', '503 WECHAT_UNAVAILABLE', async () => {
    const code = await emulator.code(user('busy'));
    await emulator.failNext(-1);
    return expectError(await login({ mode: 'silent', code }), 503, 'WECHAT_UNAVAILABLE');
  });

  await check("WeChat's rate limit (45011)", '429 RATE_LIMITED with a numeric retryAfter (s)', async () => {
    const code = await emulator.code(user('rate'));
    await emulator.failNext(45011);
    const a = await login({ mode: 'silent', code });
    return expectError(a, 429, 'RATE_LIMITED') ?? (typeof a.body.retryAfter === 'number' ? null : 'retryAfter missing');
  });

  for (const [what, body] of [
    ['a body that is not JSON', '{"source": '],
    ['a wrong type', { source, mode: 5, code: 'x' }],
    ['an unknown field', { source, mode: 'silent', code: 'x', admin: true }],
    ['a missing source', { mode: 'silent', code: 'x' }],
    ['the source "__proto__"', { source: '__proto__', mode: 'silent', code: 'x' }],
  ] as const) {
    await check(`malformed login: ${what}`, '400 BAD_REQUEST, never a 5xx', async () =>
      expectError(await send('POST', '/auth/login', body), 400, 'BAD_REQUEST'),
    );
  }

  // ---- protected endpoints ----------------------------------------------------------------------------------
  await check('a protected endpoint with the access token', '2xx', async () => {
    const a = await send('GET', protectedPath, undefined, bearer(session.accessToken));
    return a.status >= 200 && a.status < 300 ? null : describe(a);
  });
  await check('a protected endpoint without a token', '401 TOKEN_INVALID', async () =>
    expectError(await send('GET', protectedPath), 401, 'TOKEN_INVALID'),
  );
  await check('a protected endpoint with a forged token', '401 TOKEN_INVALID', async () =>
    expectError(await send('GET', protectedPath, undefined, bearer('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')), 401, 'TOKEN_INVALID'),
  );

  // ---- refresh ----------------------------------------------------------------------------------------------
  const refresh = (refreshToken: unknown) => send('POST', '/auth/refresh', { refreshToken });
  const first = session.refreshToken;
  let second: unknown;
  await check('refresh rotates the refresh token', '200 with the token fields and a new refreshToken', async () => {
    const a = await refresh(first);
    second = a.body.refreshToken;
    return tokenBody(a) ?? (second !== first ? null : 'the refresh token did not rotate');
  });
  await check('a refresh whose response was lost, retried within the reuse interval', '200 (rotates again, no revocation)', async () => {
    const a = await refresh(first);
    return tokenBody(a);
  });
  await check(
    'a rotated refresh token presented after the reuse interval',
    '401 REFRESH_TOKEN_INVALID, and its family revoked',
    async () => {
      const a = await login({ mode: 'silent', code: await emulator.code(user('new')) });
      const stolen = a.body.refreshToken;
      const rotated = await refresh(stolen);
      await sleep(reuseMs + 1000);
      const reuse = await refresh(stolen);
      if (reuse.status !== 401 || reuse.body.code !== 'REFRESH_TOKEN_INVALID') return `reuse: ${describe(reuse)}`;
      const successor = await refresh(rotated.body.refreshToken);
      if (successor.status !== 401) return `the successor still works: ${describe(successor)}`;
      const access = await send('GET', protectedPath, undefined, bearer(rotated.body.accessToken));
      return access.status === 401 && access.body.code === 'TOKEN_INVALID'
        ? null
        : `the family's access token still works: ${describe(access)}`;
    },
  );
  await check('an unknown refresh token', '401 REFRESH_TOKEN_INVALID', async () =>
    expectError(await refresh('not-a-token'), 401, 'REFRESH_TOKEN_INVALID'),
  );
  await check('malformed refresh: a wrong type', '400 BAD_REQUEST', async () => expectError(await refresh(42), 400, 'BAD_REQUEST'));

  // ---- step-up (contract 1.2) -----------------------------------------------------------------------------------
  const bind = (body: object, token?: unknown) => send('POST', '/auth/bind', body, token ? bearer(token) : {});
  const bindOffered = (await bind({ profile: { nickName: 'x' } })).status !== 404;
  await check(
    'POST /auth/bind (contract 1.2)',
    bindOffered ? 'offered: 401 without an access token' : 'not offered: 404 (a 1.1 backend)',
    async () => {
      if (!bindOffered) return null;
      return expectError(await bind({ profile: { nickName: 'x' } }), 401, 'TOKEN_INVALID');
    },
  );
  if (bindOffered) {
    const fresh = async (name: string) => {
      const silent = await login({ mode: 'silent', code: await emulator.code(user(name)) });
      if (silent.status === 200) return silent.body;
      return (await login({ mode: 'authorize', loginTicket: silent.body.loginTicket, profile: { nickName: name } })).body;
    };
    await check('bind a profile', '200 {user} with profileComplete true', async () => {
      const a = await bind({ profile: { nickName: '补充资料' } }, (await fresh('binder')).accessToken);
      const u = a.body.user as { profileComplete?: unknown; nickName?: unknown } | undefined;
      return a.status === 200 && u?.profileComplete === true && u.nickName === '补充资料' ? null : describe(a);
    });
    await check(
      'bind a phone number bound to another account',
      '409 ACCOUNT_CONFLICT (and the first binding 200 with phoneBound true)',
      async () => {
        const first = await bind({ phoneCode: await emulator.phoneCode(user('owner')) }, (await fresh('owner')).accessToken);
        if (first.status !== 200 || (first.body.user as { phoneBound?: unknown }).phoneBound !== true) return `first: ${describe(first)}`;
        return expectError(
          await bind({ phoneCode: await emulator.phoneCode(user('claimer')) }, (await fresh('claimer')).accessToken),
          409,
          'ACCOUNT_CONFLICT',
        );
      },
    );
    await check('bind with both or neither', '400 BAD_REQUEST', async () =>
      expectError(await bind({}, session.accessToken), 400, 'BAD_REQUEST'),
    );
  }

  // ---- logout -----------------------------------------------------------------------------------------------
  await check(
    'logout revokes the family and its access tokens',
    '204; then the access token 401 TOKEN_INVALID and the refresh token 401',
    async () => {
      const a = await login({ mode: 'silent', code: await emulator.code(user('new')) });
      const out = await send('POST', '/auth/logout', { refreshToken: a.body.refreshToken }, bearer(a.body.accessToken));
      if (out.status !== 204) return `logout: ${describe(out)}`;
      const access = await send('GET', protectedPath, undefined, bearer(a.body.accessToken));
      if (access.status !== 401 || access.body.code !== 'TOKEN_INVALID') return `the access token still works: ${describe(access)}`;
      const again = await refresh(a.body.refreshToken);
      if (again.status !== 401) return `the refresh token still works: ${describe(again)}`;
      const twice = await send('POST', '/auth/logout', { refreshToken: a.body.refreshToken }, bearer(a.body.accessToken));
      return twice.status === 204 ? null : `logout is not idempotent: ${describe(twice)}`;
    },
  );

  // ---- the optional avatar upload -----------------------------------------------------------------------------
  const avatar = async (fields: Record<string, string>, headers: Record<string, string> = {}) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([PNG], { type: 'image/png' }), 'avatar.png');
    return send('POST', '/auth/avatar', form, headers);
  };
  const offered = (await avatar({ source })).status !== 404;
  await check(
    'avatar upload (optional capability)',
    offered ? 'offered: an anonymous upload is refused with 401' : 'not offered: 404',
    async () => {
      if (!offered) return null;
      const a = await avatar({ source });
      return a.status === 401 ? null : describe(a);
    },
  );
  if (offered) {
    await check('avatar upload with a login ticket ("silent" policy: with the access token)', '200 {avatarUrl}', async () => {
      const silent = await login({ mode: 'silent', code: await emulator.code(user('avatar')) });
      const a =
        silent.status === 200
          ? await avatar({ source }, bearer(silent.body.accessToken))
          : await avatar({ source, loginTicket: String(silent.body.loginTicket) });
      return a.status === 200 && typeof a.body.avatarUrl === 'string' ? null : describe(a);
    });
  }
  return results;
}

/** Prints the results; returns how many failed. */
export function printResults(results: CheckResult[], out: (line: string) => void = console.log): number {
  for (const r of results) out(`${r.passed ? 'PASS' : 'FAIL'}  ${r.name} — expected ${r.expected}${r.passed ? '' : `; got ${r.actual}`}`);
  const failed = results.filter((r) => !r.passed).length;
  out(`${results.length - failed}/${results.length} checks passed`);
  return failed;
}

function argument(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  const args = process.argv.slice(2);
  const baseURL = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
  const emulatorURL = argument(args, '--emulator');
  if (!baseURL || !emulatorURL) {
    console.error(
      'usage: npm run contract-check -- <baseURL> --emulator <emulator URL> [--source demo-app] [--protected /api/me] [--reuse-interval 10]',
    );
    process.exit(2);
  }
  runContractChecks({
    baseURL,
    emulator: httpEmulator(emulatorURL),
    source: argument(args, '--source'),
    protectedPath: argument(args, '--protected'),
    reuseIntervalSeconds: argument(args, '--reuse-interval') ? Number(argument(args, '--reuse-interval')) : undefined,
  }).then(
    (results) => process.exit(printResults(results) ? 1 : 0),
    (error: Error) => {
      console.error(error.message);
      process.exit(2);
    },
  );
}
