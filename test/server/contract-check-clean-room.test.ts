/**
 * From the position of a backend team that knows only docs/contract.md: a backend written here from the contract
 * alone — opaque access tokens (no JWT), random refresh tokens whose successor is remembered (not derived), everything
 * in memory, no avatar upload and no account deletion — passes the 1.4 conformance check twice in a row. The check
 * then holds no assumption of the reference server's (JWTs, HMAC successors, SQL, the avatar and deletion capabilities). And a fault put into this backend makes
 * the check fail by name too.
 */
import crypto from 'crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { WeChatEmulator } from '../../emulator/wechat';
import { httpEmulator, runContractChecks, type CheckResult } from '../../scripts/contract-check';

jest.setTimeout(120_000);

const ACCESS_TTL_S = 3;
const REUSE_MS = 2000;

class Answer extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
const bad = (message: string) => new Answer(400, 'BAD_REQUEST', message);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const optionalString = (value: unknown, name: string) => {
  if (value !== undefined && (typeof value !== 'string' || !value)) throw bad(`${name} must be a non-empty string`);
  return value as string | undefined;
};
/** A known object field: exactly these string fields (`required` ones present), nothing else (contract 1.3, question 8). */
function strictObject(value: unknown, name: string, fields: string[], required: string[]): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw bad(`${name} must be an object`);
  for (const key of Object.keys(value)) if (fields.indexOf(key) < 0) throw bad(`${name}.${key} is unknown`);
  for (const key of fields) optionalString(value[key], `${name}.${key}`);
  for (const key of required) if (value[key] === undefined) throw bad(`${name}.${key} is required`);
  return value as Record<string, string>;
}

interface Faults {
  /** Accept an access token after its expiry. */
  acceptExpired?: boolean;
  /** Decrypt userInfo without checking `watermark.appid`. */
  skipWatermark?: boolean;
}

/** The backend, from the contract alone. */
async function cleanRoomBackend(emulator: WeChatEmulator, faults: Faults = {}): Promise<{ app: FastifyInstance; url: string }> {
  const users = new Map<string, { id: string; openid: string; nickName: string; phone: string | null }>();
  const byOpenid = new Map<string, string>();
  const byPhone = new Map<string, string>();
  const tickets = new Map<string, { openid: string; sessionKey: string; expiresAt: number }>();
  const access = new Map<string, { userId: string; family: string; expiresAt: number }>();
  const refresh = new Map<string, { userId: string; family: string; usedAt: number | null; successor: string | null }>();
  const revoked = new Set<string>();
  const token = () => crypto.randomBytes(24).toString('hex');

  const wechat = async (path: string, init?: RequestInit) => {
    let body: Record<string, unknown>;
    try {
      const headers = { 'content-type': 'application/json' };
      body = (await (await fetch(emulator.baseURL + path, { ...init, headers })).json()) as Record<string, unknown>;
    } catch {
      throw new Answer(503, 'WECHAT_UNAVAILABLE', 'WeChat unreachable');
    }
    const errcode = Number(body.errcode ?? 0);
    if (errcode === 0) return body;
    if ([40029, 40163, 41008].indexOf(errcode) >= 0) throw new Answer(400, 'INVALID_CODE', `code refused (${errcode})`);
    if (errcode === 45011) throw new Answer(429, 'RATE_LIMITED', 'WeChat rate limit', { retryAfter: 60 });
    if (errcode === 40226) throw new Answer(403, 'USER_BLOCKED', 'high-risk user');
    if (errcode === -1) throw new Answer(503, 'WECHAT_UNAVAILABLE', 'WeChat busy');
    if ([40013, 40125, 41002, 41004].indexOf(errcode) >= 0)
      throw new Answer(500, 'BACKEND_MISCONFIGURED', `credentials refused (${errcode})`);
    throw new Answer(502, 'WECHAT_ERROR', `WeChat error ${errcode}`);
  };
  const phoneOf = async (phoneCode: string) => {
    const credentials = { grant_type: 'client_credential', appid: emulator.appid, secret: emulator.secret };
    const stable = await wechat('/cgi-bin/stable_token', { method: 'POST', body: JSON.stringify(credentials) });
    try {
      const answer = await wechat(`/wxa/business/getuserphonenumber?access_token=${String(stable.access_token)}`, {
        method: 'POST',
        body: JSON.stringify({ code: phoneCode }),
      });
      return String((answer.phone_info as { phoneNumber: string }).phoneNumber);
    } catch (error) {
      if (error instanceof Answer && error.code === 'INVALID_CODE') throw new Answer(400, 'INVALID_USER_DATA', 'phoneCode refused');
      throw error;
    }
  };
  const publicUser = (id: string) => {
    const u = users.get(id)!;
    return { id, nickName: u.nickName, profileComplete: u.nickName !== '', phoneBound: u.phone !== null };
  };
  const issue = (userId: string, family = token(), refreshToken = token()) => {
    const accessToken = token();
    access.set(accessToken, { userId, family, expiresAt: Date.now() + ACCESS_TTL_S * 1000 });
    if (!refresh.has(refreshToken)) refresh.set(refreshToken, { userId, family, usedAt: null, successor: null });
    return { accessToken, expiresIn: ACCESS_TTL_S, refreshToken, refreshExpiresIn: 86_400, user: publicUser(userId) };
  };
  const bearer = (request: FastifyRequest) => /^bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const authenticate = (request: FastifyRequest) => {
    const entry = access.get(bearer(request) ?? '');
    if (!entry) throw new Answer(401, 'TOKEN_INVALID', 'no valid access token');
    if (entry.expiresAt <= Date.now() && !faults.acceptExpired) throw new Answer(401, 'TOKEN_EXPIRED', 'access token expired');
    if (revoked.has(entry.family)) throw new Answer(401, 'TOKEN_INVALID', 'session revoked');
    return entry.userId;
  };
  const claimPhone = (phone: string, userId: string | undefined) => {
    const holder = byPhone.get(phone);
    if (holder && holder !== userId) throw new Answer(409, 'ACCOUNT_CONFLICT', 'phone bound to another account');
  };

  const app = Fastify({ bodyLimit: 64 * 1024 });
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof Answer) {
      if (typeof error.extra.retryAfter === 'number') void reply.header('retry-after', String(error.extra.retryAfter));
      return reply.code(error.status).send({ code: error.code, message: error.message, ...error.extra });
    }
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    return reply.code(status).send({ code: status < 500 ? 'BAD_REQUEST' : 'INTERNAL', message: error.message });
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.indexOf('/auth/') === 0) void reply.header('cache-control', 'no-store');
    return payload;
  });

  app.post('/auth/login', async (request, reply) => {
    const body = request.body;
    if (!isObject(body)) throw bad('a JSON object is required');
    if (body.source !== 'demo-app') throw bad('unknown source');
    if (body.mode !== 'silent' && body.mode !== 'authorize') throw bad('mode must be silent or authorize');
    const code = optionalString(body.code, 'code');
    const loginTicket = optionalString(body.loginTicket, 'loginTicket');
    const phoneCode = optionalString(body.phoneCode, 'phoneCode');
    const profile = strictObject(body.profile, 'profile', ['nickName', 'avatarUrl'], ['nickName']);
    const userInfo = strictObject(
      body.userInfo,
      'userInfo',
      ['rawData', 'signature', 'encryptedData', 'iv'],
      ['rawData', 'signature', 'encryptedData', 'iv'],
    );
    if (!code === !loginTicket) throw bad('exactly one of code and loginTicket');
    if (loginTicket && body.mode === 'silent') throw bad('a ticket is for authorize');
    let identity: { openid: string; sessionKey: string };
    if (loginTicket) {
      const held = tickets.get(loginTicket);
      tickets.delete(loginTicket);
      if (!held || held.expiresAt <= Date.now()) throw new Answer(400, 'INVALID_TICKET', 'ticket unknown, used or expired');
      identity = held;
    } else {
      const session = await wechat(
        `/sns/jscode2session?${new URLSearchParams({ appid: emulator.appid, secret: emulator.secret, js_code: code!, grant_type: 'authorization_code' })}`,
      );
      identity = { openid: String(session.openid), sessionKey: String(session.session_key) };
    }
    const existing = byOpenid.get(identity.openid);
    if (body.mode === 'silent') {
      if (existing) return { ...issue(existing), isNewUser: false };
      const ticket = token();
      tickets.set(ticket, { ...identity, expiresAt: Date.now() + 300_000 });
      return reply.code(401).send({ code: 'USER_NOT_REGISTERED', message: 'not registered', loginTicket: ticket, ticketExpiresIn: 300 });
    }
    let nickName = profile?.nickName;
    if (userInfo) {
      const invalid = new Answer(400, 'INVALID_USER_DATA', 'userInfo refused');
      if (
        crypto
          .createHash('sha1')
          .update(userInfo.rawData + identity.sessionKey)
          .digest('hex') !== userInfo.signature
      )
        throw invalid;
      let data: { nickName?: string; watermark?: { appid?: string } };
      try {
        const decipher = crypto.createDecipheriv(
          'aes-128-cbc',
          Buffer.from(identity.sessionKey, 'base64'),
          Buffer.from(userInfo.iv, 'base64'),
        );
        data = JSON.parse(Buffer.concat([decipher.update(Buffer.from(userInfo.encryptedData, 'base64')), decipher.final()]).toString());
      } catch {
        throw invalid;
      }
      if (data.watermark?.appid !== emulator.appid && !faults.skipWatermark) throw invalid;
      nickName = String(data.nickName ?? '');
    }
    const phone = phoneCode ? await phoneOf(phoneCode) : null;
    if (phone) claimPhone(phone, existing);
    if (!existing && nickName === undefined && !phone) throw bad('nothing authorized to register');
    const id = existing ?? crypto.randomUUID();
    if (!existing) {
      users.set(id, { id, openid: identity.openid, nickName: nickName ?? '', phone: null });
      byOpenid.set(identity.openid, id);
    } else if (nickName !== undefined) users.get(id)!.nickName = nickName;
    if (phone) {
      users.get(id)!.phone = phone;
      byPhone.set(phone, id);
    }
    return { ...issue(id), isNewUser: !existing };
  });

  app.post('/auth/refresh', async (request) => {
    const body = request.body;
    if (!isObject(body) || typeof body.refreshToken !== 'string' || !body.refreshToken) throw bad('refreshToken is required');
    const entry = refresh.get(body.refreshToken);
    if (!entry || revoked.has(entry.family)) throw new Answer(401, 'REFRESH_TOKEN_INVALID', 'unknown or revoked');
    const now = Date.now();
    if (entry.usedAt === null) {
      entry.usedAt = now;
      entry.successor = token();
    } else if (now - entry.usedAt > REUSE_MS || refresh.get(entry.successor!)?.usedAt !== null) {
      revoked.add(entry.family);
      throw new Answer(401, 'REFRESH_TOKEN_INVALID', 'reused: the session was revoked');
    }
    return issue(entry.userId, entry.family, entry.successor!);
  });

  app.post('/auth/logout', async (request, reply) => {
    const body = isObject(request.body) ? request.body : {};
    const fromRefresh = typeof body.refreshToken === 'string' ? refresh.get(body.refreshToken)?.family : undefined;
    const fromBearer = access.get(bearer(request) ?? '')?.family;
    for (const family of [fromRefresh, fromBearer]) if (family) revoked.add(family);
    return reply.code(204).send();
  });

  app.post('/auth/bind', async (request) => {
    const userId = authenticate(request);
    const body = request.body;
    if (!isObject(body)) throw bad('a JSON object is required');
    const profile = strictObject(body.profile, 'profile', ['nickName', 'avatarUrl'], ['nickName']);
    const phoneCode = optionalString(body.phoneCode, 'phoneCode');
    if (!profile === !phoneCode) throw bad('exactly one of profile and phoneCode');
    if (profile) users.get(userId)!.nickName = profile.nickName;
    else {
      const phone = await phoneOf(phoneCode!);
      claimPhone(phone, userId);
      users.get(userId)!.phone = phone;
      byPhone.set(phone, userId);
    }
    return { user: publicUser(userId) };
  });

  app.get('/api/me', async (request) => ({ id: authenticate(request) }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

let emulator: WeChatEmulator;
beforeAll(async () => {
  emulator = new WeChatEmulator();
  await emulator.listen();
});
afterAll(() => emulator.close());

const run = (url: string) =>
  runContractChecks({
    baseURL: url,
    emulator: httpEmulator(emulator.baseURL),
    reuseIntervalSeconds: REUSE_MS / 1000,
    accessTtlSeconds: ACCESS_TTL_S,
  });
const notPassed = (results: CheckResult[]) => results.filter((r) => r.status !== 'pass').map((r) => `${r.status} ${r.id}: ${r.actual}`);

it('a backend written from the contract alone (opaque tokens, no avatar upload, no account deletion) passes every check, twice in a row', async () => {
  const { app, url } = await cleanRoomBackend(emulator);
  try {
    for (const round of [1, 2]) {
      const results = await run(url);
      expect({ round, notPassed: notPassed(results) }).toEqual({ round, notPassed: [] });
      expect(results.find((r) => r.id === 'avatar-offered')?.actual).toBe('not offered');
      expect(results.find((r) => r.id === 'delete-offered')?.actual).toBe('not offered'); // 1.4's optional capability
    }
  } finally {
    await app.close();
  }
});

it.each<[string, Faults, string[]]>([
  ['accepting expired access tokens', { acceptExpired: true }, ['access-token-expired', 'expired-token-of-revoked-family']],
  ["not checking userInfo's watermark", { skipWatermark: true }, ['userinfo-watermark']],
])('the same backend %s fails the check by name', async (_what, faults, ids) => {
  const { app, url } = await cleanRoomBackend(emulator, faults);
  try {
    const failed = (await run(url)).filter((r) => r.status === 'fail');
    expect(failed.map((r) => r.id)).toEqual(expect.arrayContaining(ids));
  } finally {
    await app.close();
  }
});
