/**
 * The conformance check for backend teams (contract 1.4), from the outside: the reference server passes it with both
 * registration policies and both stores, twice in a row against one database; a backend with one bug of each class
 * fails it, naming the check; a broken connection gives every check its own line.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { openPostgresStore } from '../../server/store-postgres';
import { openSqliteStore } from '../../server/store-sqlite';
import type { Store } from '../../server/store';
import {
  httpEmulator,
  printResults,
  runContractChecks,
  summarize,
  type CheckResult,
  type ContractCheckOptions,
} from '../../scripts/contract-check';
import { startStack, type Stack } from '../../scripts/stack';
import { jsonAnswer, parseJson, startFaultyFront, type Fault, type FrontRequest, type FrontResponse } from '../helpers/faulty-front';
import { pglitePool } from '../helpers/pglite';

// Each run waits out a 3 s access lifetime and a 2 s reuse interval; PGlite takes seconds to start on a busy machine.
jest.setTimeout(180_000);

const ACCESS_TTL = 3;
const REUSE_INTERVAL = 2;
/** Server options of every stack here: short lifetimes, and per-IP limits out of the way of many runs from one IP. */
const serverOptions = { accessTtlSeconds: ACCESS_TTL, reuseIntervalSeconds: REUSE_INTERVAL, rateLimit: { perIp: 100_000, perOpenid: 20 } };

function check(baseURL: string, stack: Stack, extra: Partial<ContractCheckOptions> = {}) {
  return runContractChecks({
    baseURL,
    emulator: httpEmulator(stack.emulator.baseURL),
    reuseIntervalSeconds: REUSE_INTERVAL,
    accessTtlSeconds: ACCESS_TTL,
    ...extra,
  });
}
const failedIds = (results: CheckResult[]) => results.filter((r) => r.status === 'fail').map((r) => r.id);
const byId = (results: CheckResult[], id: string) => results.find((r) => r.id === id)!;

describe('the reference server (contract 1.4)', () => {
  const stores: Array<[string, () => Promise<Store>]> = [
    ['a SQLite file', async () => openSqliteStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-cc-')), 'login.db'))],
    ['Postgres (PGlite)', async () => openPostgresStore(await pglitePool())],
  ];
  describe.each(stores)('on %s', (_name, open) => {
    it.each(['authorize', 'silent'] as const)(
      'passes every check with the %s policy, twice in a row against one database',
      async (registration) => {
        const stack = await startStack({ registration, server: { ...serverOptions, store: await open() } });
        try {
          for (const round of [1, 2]) {
            const results = await check(stack.baseURL, stack);
            const lines: string[] = [];
            printResults(results, (line) => lines.push(line));
            expect({ round, notPassed: lines.filter((line) => !line.startsWith('PASS')).slice(0, -1) }).toEqual({ round, notPassed: [] });
            expect(results.length).toBeGreaterThan(60);
            // Account deletion (1.4) is offered here: its checks ran, none passed as "not offered".
            expect(results.filter((r) => r.id.indexOf('delete-') === 0 && r.actual !== undefined)).toEqual([]);
            expect(lines[lines.length - 1]).toBe(`${results.length}/${results.length} checks passed, 0 failed, 0 skipped`);
            expect(summarize(results).ok).toBe(true);
          }
        } finally {
          await stack.close();
        }
      },
    );
  });
});

describe('a backend with one bug fails the check, naming it', () => {
  let stack: Stack;
  let frontURL = '';
  beforeAll(async () => {
    stack = await startStack({ server: { ...serverOptions, publicBaseURL: () => frontURL } });
  });
  afterAll(() => stack.close());

  /** Runs the check against the reference server behind `fault`. */
  async function checkWith(fault: Fault, extra: Partial<ContractCheckOptions> = {}) {
    const front = await startFaultyFront(stack.baseURL, fault);
    frontURL = front.url;
    try {
      return await check(front.url, stack, extra);
    } finally {
      await front.close();
    }
  }

  const bearerJwt = (request: FrontRequest) => {
    const match = /^bearer (\S+)$/i.exec(request.headers.authorization ?? '');
    const parts = match ? match[1].split('.') : [];
    if (parts.length !== 3) return null;
    const decode = (part: string) => parseJson(Buffer.from(part, 'base64url')) as Record<string, unknown> | undefined;
    return { header: decode(parts[0]) ?? {}, claims: decode(parts[1]) ?? {} };
  };
  const isProtected = (request: FrontRequest) => request.method === 'GET' && request.url === '/api/me';
  /** Rewrites a JSON answer's body. */
  const editJson = (response: FrontResponse, edit: (body: Record<string, unknown>) => void): FrontResponse => {
    const body = parseJson(response.body) as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') return response;
    edit(body);
    return { ...response, body: Buffer.from(JSON.stringify(body)) };
  };
  const isTokenBody = (response: FrontResponse) => response.status === 200 && /"accessToken"/.test(response.body.toString());

  const faults: Array<[string, string, () => Fault]> = [
    [
      'an expired access token accepted',
      'access-token-expired',
      () => ({
        answer: (request) => {
          const jwt = isProtected(request) ? bearerJwt(request) : null;
          return jwt && Number(jwt.claims.exp) * 1000 < Date.now() ? jsonAnswer(200, { id: jwt.claims.sub }) : undefined;
        },
      }),
    ],
    [
      'a JWT with alg "none" accepted',
      'jwt-alg-none',
      () => ({
        answer: (request) => {
          const jwt = isProtected(request) ? bearerJwt(request) : null;
          return jwt && String(jwt.header.alg).toLowerCase() === 'none' ? jsonAnswer(200, { id: jwt.claims.sub }) : undefined;
        },
      }),
    ],
    [
      'a JWT read without checking its signature',
      'jwt-wrong-signature',
      () => ({
        answer: (request) => {
          const jwt = isProtected(request) ? bearerJwt(request) : null;
          return jwt && jwt.header.alg === 'HS256' && Number(jwt.claims.exp) * 1000 > Date.now()
            ? jsonAnswer(200, { id: jwt.claims.sub })
            : undefined;
        },
      }),
    ],
    [
      'session_key returned in user',
      'no-secrets-in-answers',
      () => ({
        alter: (request, response) => {
          const code = (request.json as { code?: string } | undefined)?.code;
          const owner = request.url === '/auth/login' && code ? stack.emulator.codeOwner(code) : undefined;
          if (!owner || !isTokenBody(response)) return response;
          return editJson(response, (body) => ((body.user as Record<string, unknown>).session_key = stack.emulator.user(owner).sessionKey));
        },
      }),
    ],
    [
      'the AppSecret in an error message (the WeChat URL echoed)',
      'no-secrets-in-answers',
      () => ({
        alter: (_request, response) =>
          response.status === 503
            ? editJson(
                response,
                (body) => (body.message = `GET /sns/jscode2session?appid=${stack.emulator.appid}&secret=${stack.emulator.secret} failed`),
              )
            : response,
      }),
    ],
    [
      'a valid signed userInfo refused (key read as base64(session_key) literally)',
      'userinfo-valid',
      () => ({
        answer: (request) =>
          request.url === '/auth/login' && (request.json as { userInfo?: unknown } | undefined)?.userInfo
            ? jsonAnswer(400, { code: 'INVALID_USER_DATA', message: 'userInfo could not be decrypted' })
            : undefined,
      }),
    ],
    [
      'the avatar served as text/html without nosniff',
      'avatar-served-as-image',
      () => ({
        alter: (request, response) => {
          if (request.url.indexOf('/avatars/') !== 0) return response;
          const headers: Record<string, string> = { ...response.headers, 'content-type': 'text/html' };
          delete headers['x-content-type-options'];
          return { ...response, headers };
        },
      }),
    ],
    [
      'a 500 on a refresh body that is not JSON',
      'malformed-refresh-not-json',
      () => ({
        answer: (request) =>
          request.url === '/auth/refresh' && request.json === undefined
            ? jsonAnswer(500, { code: 'INTERNAL', message: 'Unexpected token in JSON' })
            : undefined,
      }),
    ],
    [
      'expiresIn in milliseconds',
      'token-lifetimes-in-seconds',
      () => ({
        alter: (_request, response) =>
          isTokenBody(response) ? editJson(response, (body) => (body.expiresIn = Number(body.expiresIn) * 1000)) : response,
      }),
    ],
    [
      'expiresIn as an epoch timestamp',
      'token-lifetimes-in-seconds',
      () => ({
        alter: (_request, response) =>
          isTokenBody(response)
            ? editJson(response, (body) => (body.expiresIn = Math.floor(Date.now() / 1000) + Number(body.expiresIn)))
            : response,
      }),
    ],
    [
      'error bodies without message',
      'error-bodies',
      () => ({ alter: (_request, response) => (response.status >= 400 ? editJson(response, (body) => delete body.message) : response) }),
    ],
    [
      'the reuse interval keeping both successors alive (contract 1.2\'s "rotates again")',
      'refresh-repeat-same-successor',
      () => {
        // Each answer gets a new name for the refresh token it carries, so a repeat sees a second, different, live
        // successor — what a 1.2 backend that rotates again does.
        const real = new Map<string, string>();
        let n = 0;
        return {
          rewrite: (request) => {
            const body = request.json as { refreshToken?: string } | undefined;
            if (!body || typeof body.refreshToken !== 'string' || !real.has(body.refreshToken)) return request;
            const json = { ...body, refreshToken: real.get(body.refreshToken) };
            return { ...request, json, body: Buffer.from(JSON.stringify(json)) };
          },
          alter: (_request, response) =>
            isTokenBody(response)
              ? editJson(response, (body) => {
                  const alias = `alias-${++n}-${String(body.refreshToken).slice(0, 8)}`;
                  real.set(alias, String(body.refreshToken));
                  body.refreshToken = alias;
                })
              : response,
        };
      },
    ],
    [
      'unknown top-level request fields refused (contract 1.2)',
      'unknown-field-ignored',
      () => ({
        answer: (request) => {
          const known: Record<string, string[]> = {
            '/auth/login': ['source', 'mode', 'code', 'loginTicket', 'profile', 'userInfo', 'phoneCode'],
            '/auth/refresh': ['refreshToken'],
          };
          const body = request.json as Record<string, unknown> | undefined;
          const fields = known[request.url];
          return fields && body && typeof body === 'object' && Object.keys(body).some((key) => fields.indexOf(key) < 0)
            ? jsonAnswer(400, { code: 'BAD_REQUEST', message: 'unknown field' })
            : undefined;
        },
      }),
    ],
    [
      'a lower-case bearer scheme refused',
      'bearer-lower-case',
      () => ({
        answer: (request) =>
          (request.headers.authorization ?? '').indexOf('bearer ') === 0
            ? jsonAnswer(401, { code: 'TOKEN_INVALID', message: 'missing or malformed bearer token' })
            : undefined,
      }),
    ],
    [
      "an account deletion that trusts the access token alone (another user's code accepted) (1.4)",
      'delete-attacker-code',
      () => ({
        alter: (request, response) =>
          request.url === '/auth/account/delete' && response.status === 403
            ? jsonAnswer(200, { deleted: { sources: ['demo-app'], families: 1, avatars: 0, phone: true, unionid: false } })
            : response,
      }),
    ],
  ];

  it.each(faults)('%s → FAIL [%s]', async (_what, id, fault) => {
    const results = await checkWith(fault());
    expect(failedIds(results)).toContain(id);
    expect(summarize(results, true).ok).toBe(false);
  });

  it('the same front without a fault passes (the front itself adds no failure)', async () => {
    const results = await checkWith({});
    expect(failedIds(results)).toEqual([]);
  });

  it('account deletion not offered (404): its checks pass as "not offered", and the run passes (1.4)', async () => {
    const results = await checkWith({
      answer: (request) =>
        request.url === '/auth/account/delete' ? jsonAnswer(404, { code: 'NOT_FOUND', message: 'no such route' }) : undefined,
    });
    expect(failedIds(results)).toEqual([]);
    const deletion = results.filter((r) => r.id.indexOf('delete-') === 0);
    expect(deletion.map((r) => r.id)).toEqual([
      'delete-offered',
      'delete-needs-code',
      'delete-attacker-code',
      'delete-code-reused',
      'delete-other-user-code',
      'delete-refused-intact',
      'delete-account',
      'delete-sessions-ended',
      'delete-user-arrives-new',
      'delete-phone-freed',
    ]);
    expect(byId(results, 'delete-offered').actual).toBe('not offered');
    for (const r of deletion.slice(1)) expect(r).toMatchObject({ status: 'pass', actual: 'account deletion not offered' });
  });

  it('an account deletion that answers 200 and keeps the user, its links and its refresh tokens fails the checks of its consequences (1.4)', async () => {
    const store = openSqliteStore(':memory:');
    store.db.exec(`CREATE TRIGGER keep_users BEFORE DELETE ON users BEGIN SELECT RAISE(IGNORE); END;
             CREATE TRIGGER keep_links BEFORE DELETE ON identities BEGIN SELECT RAISE(IGNORE); END;
             CREATE TRIGGER keep_tokens BEFORE DELETE ON refresh_tokens BEGIN SELECT RAISE(IGNORE); END;`);
    const broken = await startStack({ server: { ...serverOptions, store } });
    try {
      const results = await check(broken.baseURL, broken);
      expect(failedIds(results)).toEqual(['delete-sessions-ended', 'delete-user-arrives-new', 'delete-phone-freed']);
    } finally {
      await broken.close();
    }
  });

  it('a refresh token never recorded as used (reuse detection off) fails the reuse checks', async () => {
    const store = openSqliteStore(':memory:');
    store.db.exec(`CREATE TRIGGER forget_use AFTER UPDATE OF used_at ON refresh_tokens
             BEGIN UPDATE refresh_tokens SET used_at = NULL WHERE hash = NEW.hash; END;`);
    const broken = await startStack({ server: { ...serverOptions, store } });
    try {
      const results = await check(broken.baseURL, broken);
      expect(failedIds(results)).toEqual(['refresh-repeat-after-successor-used', 'refresh-reuse-after-interval']);
      expect(byId(results, 'refresh-reuse-after-interval').actual).toMatch(/^reuse: 200/);
    } finally {
      await broken.close();
    }
  });
});

describe('how the check reports', () => {
  it('a backend that is not listening: one FAIL naming the connection, every other check a SKIP naming that prerequisite', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const stack = await startStack({ server: serverOptions });
    try {
      const results = await check(`http://127.0.0.1:${port}`, stack);
      expect(results[0]).toMatchObject({ id: 'backend-reachable', status: 'fail' });
      expect(results[0].actual).toMatch(/connection failed on POST \/auth\/login: ECONNREFUSED/);
      expect(results[1]).toMatchObject({ id: 'emulator-reachable', status: 'pass' });
      const rest = results.slice(2);
      expect(rest.length).toBeGreaterThan(60);
      expect(rest.filter((r) => r.status !== 'skip')).toEqual([]);
      for (const r of rest) expect(r.actual).toMatch(/prerequisite "backend" failed/);
    } finally {
      await stack.close();
    }
  });

  it('a backend that stops listening mid-run: the checks that met it fail, every later check is a SKIP naming it', async () => {
    const stack = await startStack({ server: serverOptions });
    let requests = 0;
    let stop: () => Promise<void> = async () => undefined;
    const front = await startFaultyFront(stack.baseURL, {
      answer: async () => {
        if (++requests !== 40) return undefined;
        void stop();
        return 'reset';
      },
    });
    stop = front.close;
    try {
      const results = await check(front.url, stack);
      // The request in flight when it stopped is reset; the next one is refused: from there on, SKIPs naming that.
      const failed = results.filter((r) => r.status === 'fail');
      expect(failed.map((r) => r.actual)).toEqual([
        expect.stringMatching(/^connection failed on /),
        expect.stringMatching(/^connection failed on .*: ECONNREFUSED/),
      ]);
      const after = results.slice(results.indexOf(failed[1]) + 1);
      expect(after.length).toBeGreaterThan(10);
      for (const r of after) expect(r).toMatchObject({ status: 'skip', actual: expect.stringMatching(/prerequisite "backend" failed/) });
    } finally {
      await front.close();
      await stack.close();
    }
  });

  it('a connection reset on one endpoint fails the checks that met it and skips those that needed them; the rest still run', async () => {
    const stack = await startStack({ server: serverOptions });
    const front = await startFaultyFront(stack.baseURL, { answer: (request) => (request.url === '/auth/avatar' ? 'reset' : undefined) });
    try {
      const results = await check(front.url, stack);
      expect(failedIds(results)).toEqual(['malformed-avatar-not-multipart', 'malformed-avatar-truncated', 'avatar-offered']);
      expect(byId(results, 'avatar-offered').actual).toMatch(/^connection failed on POST \/auth\/avatar/);
      for (const id of ['avatar-upload', 'avatar-served-as-image', 'avatar-content-checked', 'avatar-needs-source']) {
        expect(byId(results, id)).toMatchObject({ status: 'skip', actual: expect.stringMatching(/prerequisite "avatar" failed/) });
      }
      for (const id of ['access-token-expired', 'error-bodies', 'no-secrets-in-answers', 'logout-credentials'])
        expect(byId(results, id).status).toBe('pass');
    } finally {
      await front.close();
      await stack.close();
    }
  });

  it("waits out the backend's own rate limit (429 with retryAfter) once instead of failing the check that met it", async () => {
    const stack = await startStack({ server: serverOptions });
    let limited = 0;
    const front = await startFaultyFront(stack.baseURL, {
      answer: (request) =>
        request.url === '/auth/refresh' && limited++ === 0
          ? jsonAnswer(429, { code: 'RATE_LIMITED', message: 'too many requests', retryAfter: 1 }, { 'retry-after': '1' })
          : undefined,
    });
    try {
      const results = await check(front.url, stack);
      expect(limited).toBeGreaterThan(10);
      expect(failedIds(results)).toEqual([]);
      expect(byId(results, 'refresh-rotates').status).toBe('pass'); // the one that met the 429
    } finally {
      await front.close();
      await stack.close();
    }
  });

  it('an expiry it cannot wait out is a FAIL, unless the run skips it — and a SKIP fails CI unless the run allows it', async () => {
    const stack = await startStack({ server: { ...serverOptions, accessTtlSeconds: 900 } });
    try {
      const untested = await check(stack.baseURL, stack, { accessTtlSeconds: undefined, maxWaitSeconds: 1 });
      expect(failedIds(untested)).toEqual(['expired-token-of-revoked-family', 'access-token-expired']);
      expect(byId(untested, 'access-token-expired').actual).toMatch(/^untested: .*--skip access-token-expired/);
      const skipped = await check(stack.baseURL, stack, {
        accessTtlSeconds: undefined,
        skip: ['access-token-expired', 'expired-token-of-revoked-family'],
      });
      expect(failedIds(skipped)).toEqual([]);
      expect(byId(skipped, 'access-token-expired')).toMatchObject({ status: 'skip', actual: 'skipped by this run (--skip)' });
      expect(summarize(skipped).ok).toBe(false);
      expect(summarize(skipped, true)).toMatchObject({ ok: true, counts: { fail: 0, skip: 2 } });
    } finally {
      await stack.close();
    }
  });

  it('--json prints one document for CI and exits 1 when the backend cannot be reached', () => {
    const script = path.resolve(__dirname, '../../build/scripts/contract-check.js');
    if (!fs.existsSync(script)) throw new Error('build the tools first: node scripts/build.js --tools');
    const run = spawnSync(
      process.execPath,
      [script, 'http://127.0.0.1:9', '--emulator', 'http://127.0.0.1:9', '--json', '--max-wait', '1'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as ReturnType<typeof summarize>;
    expect(report.ok).toBe(false);
    expect(report.contract).toBe('1.4');
    expect(report.counts.fail).toBe(2);
    expect(report.counts.skip).toBe(report.results.length - 2);
    expect(report.results[1]).toMatchObject({ id: 'emulator-reachable', status: 'fail' });
  });
});
