/**
 * The reference login server: implements `shared/docs/contract.md` version 1 with Fastify, jose (HS256 JWT access
 * tokens, verified statelessly) and SQLite (users, rotating refresh tokens, login tickets).
 * Not part of the package: it exists so the kit's flows run against a real HTTP backend.
 */
import crypto from 'crypto';
import type Database from 'better-sqlite3';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { RefreshRow, TicketRow, UserRow } from './db';
import multipart from '@fastify/multipart';
import { code2Session, getPhoneNumber, WeChatApiError, type WeChatApp } from './wechat-client';
import { FixedWindowLimiter } from './rate-limit';

export interface ServerOptions {
  db: Database.Database;
  /** HMAC key of the access tokens (at least 32 characters). */
  jwtSecret: string;
  /** `https://api.weixin.qq.com`, or the emulator's base URL. */
  wechatBaseURL: string;
  /** The mini-programs this backend serves: contract `source` → WeChat appid/secret. */
  apps: Record<string, WeChatApp>;
  /** Access token lifetime in s (default 900). */
  accessTtlSeconds?: number;
  /** Refresh token lifetime in s (default 2 592 000 = 30 days). */
  refreshTtlSeconds?: number;
  /** Login ticket lifetime in s (default 300, as the contract says). */
  ticketTtlSeconds?: number;
  /** Clock in epoch ms (tests age tokens with it). */
  now?: () => number;
  /**
   * Login/refresh attempts allowed per minute: per client IP (default 120) and per openid (default 20; WeChat itself
   * allows 100 code exchanges per minute per user). Past them: 429 `RATE_LIMITED` with `retryAfter` (s).
   */
  rateLimit?: { perIp: number; perOpenid: number };
  logger?: boolean;
}

/** A contract error answer: `{code, message}` plus extra fields, with an HTTP status. */
export class ContractError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const str = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });

const loginSchema = {
  type: 'object',
  required: ['source', 'mode'],
  additionalProperties: false,
  properties: {
    source: str(64),
    mode: { type: 'string', enum: ['silent', 'authorize'] },
    code: str(256),
    loginTicket: str(256),
    profile: {
      type: 'object',
      required: ['nickName', 'avatarUrl'],
      additionalProperties: false,
      properties: { nickName: str(64), avatarUrl: { type: 'string', maxLength: 2048 } },
    },
    userInfo: {
      type: 'object',
      required: ['rawData', 'signature', 'encryptedData', 'iv'],
      additionalProperties: false,
      properties: { rawData: str(4096), signature: str(128), encryptedData: str(8192), iv: str(64) },
    },
    phoneCode: str(256),
  },
} as const;

interface LoginBody {
  source: string;
  mode: 'silent' | 'authorize';
  code?: string;
  loginTicket?: string;
  profile?: { nickName: string; avatarUrl: string };
  userInfo?: { rawData: string; signature: string; encryptedData: string; iv: string };
  phoneCode?: string;
}

interface Identity {
  openid: string;
  unionid: string | null;
  sessionKey: string;
}

const sha256 = (value: string) => crypto.createHash('sha256').update(value).digest('hex');
const randomToken = () => crypto.randomBytes(32).toString('base64url');

/** Maps a code2Session errcode to the contract answer (contract "Errors" table). */
function wechatError(error: WeChatApiError): ContractError {
  switch (error.errcode) {
    case 40029:
    case 40163:
      return new ContractError(400, 'INVALID_CODE', `code rejected by WeChat (${error.errcode})`);
    case 45011:
      return new ContractError(429, 'RATE_LIMITED', 'too many logins for this user', { retryAfter: 60 });
    case 40226:
      return new ContractError(403, 'USER_BLOCKED', 'WeChat flagged this user as high-risk');
    default:
      return new ContractError(503, 'WECHAT_UNAVAILABLE', `WeChat is busy or unreachable (${error.errcode})`);
  }
}

/**
 * Checks and decrypts legacy `getUserInfo` data ("开放数据校验与解密"): `signature = sha1(rawData + session_key)`,
 * AES-128-CBC with key = base64(session_key), and `watermark.appid`. Throws `INVALID_USER_DATA`.
 */
export function verifyUserInfo(
  userInfo: NonNullable<LoginBody['userInfo']>,
  sessionKey: string,
  appid: string,
): { nickName: string; avatarUrl: string } {
  const invalid = (why: string) => new ContractError(400, 'INVALID_USER_DATA', `userInfo ${why}`);
  const expected = crypto
    .createHash('sha1')
    .update(userInfo.rawData + sessionKey)
    .digest('hex');
  if (expected.length !== userInfo.signature.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(userInfo.signature))) {
    throw invalid('signature does not match');
  }
  let decrypted: { nickName?: unknown; avatarUrl?: unknown; watermark?: { appid?: unknown } };
  try {
    const decipher = crypto.createDecipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(userInfo.iv, 'base64'));
    decrypted = JSON.parse(
      Buffer.concat([decipher.update(Buffer.from(userInfo.encryptedData, 'base64')), decipher.final()]).toString('utf8'),
    );
  } catch {
    throw invalid('could not be decrypted');
  }
  if (decrypted.watermark?.appid !== appid) throw invalid('watermark is for another app');
  return { nickName: String(decrypted.nickName ?? ''), avatarUrl: String(decrypted.avatarUrl ?? '') };
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  if (typeof options.jwtSecret !== 'string' || options.jwtSecret.length < 32) throw new Error('jwtSecret must have at least 32 characters');
  const { db } = options;
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const accessTtl = options.accessTtlSeconds ?? 900;
  const refreshTtl = options.refreshTtlSeconds ?? 2_592_000;
  const ticketTtl = options.ticketTtlSeconds ?? 300;
  const key = new TextEncoder().encode(options.jwtSecret);
  const limits = options.rateLimit ?? { perIp: 120, perOpenid: 20 };
  const ipLimiter = new FixedWindowLimiter(limits.perIp, 60_000, now);
  const openidLimiter = new FixedWindowLimiter(limits.perOpenid, 60_000, now);
  const limit = (limiter: FixedWindowLimiter, key: string) => {
    const retryAfter = limiter.hit(key);
    if (retryAfter) throw new ContractError(429, 'RATE_LIMITED', 'too many logins, try again later', { retryAfter });
  };

  const q = {
    userByOpenid: db.prepare<[string, string], UserRow>('SELECT * FROM users WHERE source = ? AND openid = ?'),
    userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
    insertUser: db.prepare(
      'INSERT INTO users (id, source, openid, unionid, nick_name, avatar_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    updateProfile: db.prepare('UPDATE users SET nick_name = ?, avatar_url = ? WHERE id = ?'),
    updatePhone: db.prepare('UPDATE users SET phone = ? WHERE id = ?'),
    insertAvatar: db.prepare('INSERT INTO avatars (id, source, content_type, data, created_at) VALUES (?, ?, ?, ?, ?)'),
    avatarById: db.prepare<[string], { content_type: string; data: Buffer }>('SELECT content_type, data FROM avatars WHERE id = ?'),
    insertTicket: db.prepare(
      'INSERT INTO login_tickets (ticket, source, openid, unionid, session_key, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    takeTicket: db.prepare<[string, string], TicketRow>('DELETE FROM login_tickets WHERE ticket = ? AND source = ? RETURNING *'),
    insertRefresh: db.prepare('INSERT INTO refresh_tokens (hash, family, user_id, source, expires_at) VALUES (?, ?, ?, ?, ?)'),
    refreshByHash: db.prepare<[string], RefreshRow>('SELECT * FROM refresh_tokens WHERE hash = ?'),
    markUsed: db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL'),
    revokeFamily: db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL'),
  };

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 16 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, _request, reply) => {
    if (error instanceof ContractError) {
      return reply.code(error.statusCode).send({ code: error.code, message: error.message, ...error.extra });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ code: 'BAD_REQUEST', message: error.message });
    app.log.error(error);
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `${request.method} ${request.url} does not exist` }),
  );

  async function issueTokens(user: UserRow, family: string = crypto.randomUUID()) {
    const iat = nowSeconds();
    const accessToken = await new SignJWT({ src: user.source })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt(iat)
      .setExpirationTime(iat + accessTtl)
      .setJti(crypto.randomUUID())
      .sign(key);
    const refreshToken = randomToken();
    q.insertRefresh.run(sha256(refreshToken), family, user.id, user.source, now() + refreshTtl * 1000);
    return { accessToken, expiresIn: accessTtl, refreshToken, refreshExpiresIn: refreshTtl, user: publicUser(user) };
  }

  function publicUser(user: UserRow) {
    return { id: user.id, nickName: user.nick_name, avatarUrl: user.avatar_url, phoneBound: user.phone !== null };
  }

  async function identify(body: LoginBody, wxApp: WeChatApp): Promise<Identity> {
    if (body.loginTicket) {
      const row = q.takeTicket.get(body.loginTicket, body.source);
      if (!row || row.expires_at <= now()) throw new ContractError(400, 'INVALID_TICKET', 'login ticket unknown, used or expired');
      return { openid: row.openid, unionid: row.unionid, sessionKey: row.session_key };
    }
    if (!body.code) throw new ContractError(400, 'BAD_REQUEST', 'either code or loginTicket is required');
    try {
      const session = await code2Session(options.wechatBaseURL, wxApp, body.code);
      return { openid: session.openid, unionid: session.unionid ?? null, sessionKey: session.session_key };
    } catch (error) {
      if (error instanceof WeChatApiError) throw wechatError(error);
      throw error;
    }
  }

  app.post('/auth/login', { schema: { body: loginSchema } }, async (request, reply) => {
    const body = request.body as LoginBody;
    const wxApp = options.apps[body.source];
    if (!wxApp) throw new ContractError(400, 'BAD_REQUEST', `unknown source "${body.source}"`);
    limit(ipLimiter, request.ip);
    const identity = await identify(body, wxApp);
    limit(openidLimiter, `${body.source}:${identity.openid}`);
    const existing = q.userByOpenid.get(body.source, identity.openid);

    if (body.mode === 'silent') {
      if (existing) return { ...(await issueTokens(existing)), isNewUser: false };
      const loginTicket = randomToken();
      q.insertTicket.run(loginTicket, body.source, identity.openid, identity.unionid, identity.sessionKey, now() + ticketTtl * 1000);
      return reply.code(401).send({ code: 'USER_NOT_REGISTERED', message: 'this user has not authorized yet', loginTicket });
    }

    let profile: { nickName: string; avatarUrl: string } | undefined = body.profile;
    if (body.userInfo) profile = verifyUserInfo(body.userInfo, identity.sessionKey, wxApp.appid);
    const phone = body.phoneCode ? await exchangePhoneCode(wxApp, body.phoneCode) : undefined;
    let user = existing;
    if (!user) {
      const id = crypto.randomUUID();
      q.insertUser.run(id, body.source, identity.openid, identity.unionid, profile?.nickName ?? '', profile?.avatarUrl ?? '', now());
      user = q.userById.get(id)!;
    } else if (profile) {
      q.updateProfile.run(profile.nickName, profile.avatarUrl, user.id);
      user = q.userById.get(user.id)!;
    }
    if (phone) {
      q.updatePhone.run(phone, user.id);
      user = q.userById.get(user.id)!;
    }
    return { ...(await issueTokens(user)), isNewUser: !existing };
  });

  /** The server-side phone exchange; a bad code is the client's `INVALID_USER_DATA`, anything else WeChat's trouble. */
  async function exchangePhoneCode(wxApp: WeChatApp, code: string): Promise<string> {
    try {
      return await getPhoneNumber(options.wechatBaseURL, wxApp, code);
    } catch (error) {
      if (error instanceof WeChatApiError && error.errcode === 40029)
        throw new ContractError(400, 'INVALID_USER_DATA', 'phoneCode rejected by WeChat (40029)');
      if (error instanceof WeChatApiError) throw wechatError(error);
      throw error;
    }
  }

  // Extension of the contract for profile logins: the temporary avatar from chooseAvatar is uploaded here first.
  await app.register(multipart, { limits: { fileSize: 1024 * 1024, files: 1, fields: 2 } });
  app.post('/auth/avatar', async (request) => {
    const file = await request.file();
    if (!file) throw new ContractError(400, 'BAD_REQUEST', 'a multipart "file" is required');
    const source = (file.fields.source as { value?: unknown } | undefined)?.value;
    if (typeof source !== 'string' || !options.apps[source])
      throw new ContractError(400, 'BAD_REQUEST', 'a known "source" field is required (before the file)');
    if (!/^image\/(png|jpe?g|gif|webp)$/.test(file.mimetype))
      throw new ContractError(400, 'BAD_REQUEST', `unsupported avatar type ${file.mimetype}`);
    const data = await file.toBuffer();
    const id = crypto.randomUUID();
    q.insertAvatar.run(id, source, file.mimetype, data, now());
    return { avatarUrl: `${request.protocol}://${request.host}/avatars/${id}` };
  });
  app.get('/avatars/:id', async (request, reply) => {
    const row = q.avatarById.get((request.params as { id: string }).id);
    if (!row) throw new ContractError(404, 'NOT_FOUND', 'no such avatar');
    return reply.type(row.content_type).send(row.data);
  });

  app.post(
    '/auth/refresh',
    {
      schema: { body: { type: 'object', required: ['refreshToken'], additionalProperties: false, properties: { refreshToken: str(256) } } },
    },
    async (request) => {
      const { refreshToken } = request.body as { refreshToken: string };
      limit(ipLimiter, request.ip);
      const row = q.refreshByHash.get(sha256(refreshToken));
      const invalid = (why: string) => new ContractError(401, 'REFRESH_TOKEN_INVALID', why);
      if (!row || row.revoked_at !== null) throw invalid('refresh token unknown or revoked');
      if (row.expires_at <= now()) throw invalid('refresh token expired');
      if (row.used_at !== null || q.markUsed.run(now(), row.hash).changes === 0) {
        q.revokeFamily.run(now(), row.family);
        throw invalid('refresh token reused: the session was revoked');
      }
      const user = q.userById.get(row.user_id);
      if (!user) throw invalid('user no longer exists');
      return issueTokens(user, row.family);
    },
  );

  app.post(
    '/auth/logout',
    { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { refreshToken: str(256) } } } },
    async (request, reply) => {
      const refreshToken = (request.body as { refreshToken?: string } | null)?.refreshToken;
      const row = refreshToken ? q.refreshByHash.get(sha256(refreshToken)) : undefined;
      if (row) q.revokeFamily.run(now(), row.family);
      return reply.code(204).send();
    },
  );

  /** Verifies `Authorization: Bearer <jwt>`; throws 401 `TOKEN_EXPIRED` / `TOKEN_INVALID`. Null when absent and optional. */
  async function authenticate(request: FastifyRequest, optional = false): Promise<UserRow | null> {
    const header = request.headers.authorization;
    if (!header && optional) return null;
    const match = /^Bearer (\S+)$/.exec(header ?? '');
    if (!match) throw new ContractError(401, 'TOKEN_INVALID', 'missing or malformed bearer token');
    try {
      const { payload } = await jwtVerify(match[1], key, { algorithms: ['HS256'], currentDate: new Date(now()) });
      const user = typeof payload.sub === 'string' ? q.userById.get(payload.sub) : undefined;
      if (!user) throw new ContractError(401, 'TOKEN_INVALID', 'unknown user');
      return user;
    } catch (error) {
      if (error instanceof ContractError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new ContractError(401, 'TOKEN_EXPIRED', 'access token expired');
      throw new ContractError(401, 'TOKEN_INVALID', 'access token invalid');
    }
  }

  // ---- demo endpoints (protected resources of the demo app) ----
  app.get('/api/me', async (request) => ({ user: publicUser((await authenticate(request))!) }));

  app.get('/api/feed', async (request) => {
    const user = await authenticate(request, true);
    return user
      ? { personalised: true, greeting: `欢迎回来，${user.nick_name || '微信用户'}`, items: ['为你推荐 1', '为你推荐 2'] }
      : { personalised: false, greeting: '欢迎', items: ['热门 1', '热门 2'] };
  });

  app.post(
    '/api/comments',
    { schema: { body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text: str(500) } } } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const user = (await authenticate(request))!;
      return reply.code(201).send({ id: crypto.randomUUID(), text: (request.body as { text: string }).text, author: publicUser(user) });
    },
  );

  return app;
}
