/**
 * The reference login server: implements the backend contract (`docs/contract.md`) with Fastify, jose (HS256 JWT
 * access tokens, verified statelessly) and SQLite (users, rotating refresh tokens, login tickets). This file wires the
 * shared context (queries, tokens, rate limits) and registers the contract routes (`auth-routes.ts`) and the demo
 * app's protected resources (`demo-routes.ts`).
 * Not part of the package: it exists so the kit's flows run against a real HTTP backend.
 */
import crypto from 'crypto';
import type Database from 'better-sqlite3';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { RefreshRow, TicketRow, UserRow } from './db';
import { registerAuthRoutes } from './auth-routes';
import { registerDemoRoutes } from './demo-routes';
import { ContractError } from './errors';
import { FixedWindowLimiter } from './rate-limit';
import { randomToken, sha256 } from './secrets';
import type { WeChatApp } from './wechat-client';

export { ContractError } from './errors';
export { verifyUserInfo } from './open-data';

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
  /**
   * The public base URL avatar links are built from (never the request's `Host` header, which a client chooses), or a
   * function returning it (for a server that learns its address after `listen`). Default `http://127.0.0.1`.
   */
  publicBaseURL?: string | (() => string);
  /**
   * Reuse interval of refresh-token rotation in s (default 10): the token just rotated, presented again within it,
   * rotates again instead of revoking the family (a response lost in transit does not lock the user out).
   */
  reuseIntervalSeconds?: number;
  /** Clock in epoch ms (tests age tokens with it). */
  now?: () => number;
  /**
   * Login/refresh attempts allowed per minute: per client IP (default 120) and per openid (default 20; WeChat itself
   * allows 100 code exchanges per minute per user). Past them: 429 `RATE_LIMITED` with `retryAfter` (s).
   */
  rateLimit?: { perIp: number; perOpenid: number };
  logger?: boolean;
}

/** What the route modules share: the options, the clock, the prepared queries and the token helpers. */
export interface ServerContext {
  options: ServerOptions;
  db: Database.Database;
  /** epoch ms */
  now: () => number;
  q: ReturnType<typeof prepareQueries>;
  /** Throws 429 `RATE_LIMITED` past the per-IP limit. */
  limitIp(ip: string): void;
  /** Throws 429 `RATE_LIMITED` past the per-openid limit. */
  limitOpenid(key: string): void;
  /** Access + refresh tokens for `user` (a new refresh-token family unless `family` is given). */
  issueTokens(user: UserRow, family?: string): Promise<TokenBody>;
  /** The token body for a refresh token already stored (rotation stores it inside its transaction). */
  tokenBody(user: UserRow, family: string, refreshToken: string): Promise<TokenBody>;
  /** Stores a new refresh token of `family` for `user` and returns it (call inside a transaction when rotating). */
  storeRefreshToken(user: UserRow, family: string): string;
  /** Revokes a refresh-token family and, through it, its access tokens. */
  revokeFamily(family: string): void;
  /** The configured public base URL, without a trailing slash. */
  publicBaseURL(): string;
  /** The refresh-token family of a `Bearer` access token with a valid signature, expired or not; null otherwise. */
  bearerFamily(authorization: string | undefined): Promise<string | null>;
  /** The user as the contract's `user` object. */
  publicUser(user: UserRow): PublicUser;
  /** Verifies `Authorization: Bearer <jwt>`; throws 401 `TOKEN_EXPIRED` / `TOKEN_INVALID`. Null when absent and optional. */
  authenticate(request: FastifyRequest, optional?: boolean): Promise<UserRow | null>;
}

/** The contract's `user` object. */
export interface PublicUser {
  id: string;
  nickName: string;
  avatarUrl: string;
  phoneBound: boolean;
}

/** The contract's token body (`...In` in s). */
export interface TokenBody {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: PublicUser;
}

function prepareQueries(db: Database.Database) {
  return {
    userByOpenid: db.prepare<[string, string], UserRow>('SELECT * FROM users WHERE source = ? AND openid = ?'),
    userById: db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?'),
    insertUser: db.prepare(
      'INSERT INTO users (id, source, openid, unionid, nick_name, avatar_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    updateProfile: db.prepare('UPDATE users SET nick_name = ?, avatar_url = COALESCE(?, avatar_url) WHERE id = ?'),
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
    insertRevokedFamily: db.prepare('INSERT OR IGNORE INTO revoked_families (family, revoked_at) VALUES (?, ?)'),
    familyRevoked: db.prepare<[string], { revoked_at: number }>('SELECT revoked_at FROM revoked_families WHERE family = ?'),
    ticketByValue: db.prepare<[string, string], TicketRow>('SELECT * FROM login_tickets WHERE ticket = ? AND source = ?'),
  };
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  if (typeof options.jwtSecret !== 'string' || options.jwtSecret.length < 32) throw new Error('jwtSecret must have at least 32 characters');
  const { db } = options;
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const accessTtl = options.accessTtlSeconds ?? 900;
  const refreshTtl = options.refreshTtlSeconds ?? 2_592_000;
  const key = new TextEncoder().encode(options.jwtSecret);
  const limits = options.rateLimit ?? { perIp: 120, perOpenid: 20 };
  const ipLimiter = new FixedWindowLimiter(limits.perIp, 60_000, now);
  const openidLimiter = new FixedWindowLimiter(limits.perOpenid, 60_000, now);
  const limit = (limiter: FixedWindowLimiter, key: string): void => {
    const retryAfter = limiter.hit(key);
    if (retryAfter) throw new ContractError(429, 'RATE_LIMITED', 'too many logins, try again later', { retryAfter });
  };

  const q = prepareQueries(db);

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
  // Token responses must not be cached (RFC 6749 §5.1; contract "Every token response").
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.indexOf('/auth/') === 0) reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return payload;
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ code: 'NOT_FOUND', message: `${request.method} ${request.url} does not exist` }),
  );

  function storeRefreshToken(user: UserRow, family: string): string {
    const refreshToken = randomToken();
    q.insertRefresh.run(sha256(refreshToken), family, user.id, user.source, now() + refreshTtl * 1000);
    return refreshToken;
  }

  /** Signs the access token (HS256; `fam` names the refresh-token family, so revoking the family reaches it). */
  async function tokenBody(user: UserRow, family: string, refreshToken: string): Promise<TokenBody> {
    const iat = nowSeconds();
    const accessToken = await new SignJWT({ src: user.source, fam: family })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt(iat)
      .setExpirationTime(iat + accessTtl)
      .setJti(crypto.randomUUID())
      .sign(key);
    return { accessToken, expiresIn: accessTtl, refreshToken, refreshExpiresIn: refreshTtl, user: publicUser(user) };
  }

  function issueTokens(user: UserRow, family: string = crypto.randomUUID()): Promise<TokenBody> {
    return tokenBody(user, family, storeRefreshToken(user, family));
  }

  function revokeFamily(family: string): void {
    db.transaction(() => {
      q.revokeFamily.run(now(), family);
      q.insertRevokedFamily.run(family, now());
    })();
  }

  function publicUser(user: UserRow): PublicUser {
    return { id: user.id, nickName: user.nick_name, avatarUrl: user.avatar_url, phoneBound: user.phone !== null };
  }

  async function bearerFamily(authorization: string | undefined): Promise<string | null> {
    const match = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!match) return null;
    try {
      // The signature is what matters here: a logout with an expired access token still revokes its family.
      const { payload } = await jwtVerify(match[1], key, { algorithms: ['HS256'], currentDate: new Date(0) });
      return typeof payload.fam === 'string' ? payload.fam : null;
    } catch {
      return null;
    }
  }

  async function authenticate(request: FastifyRequest, optional = false): Promise<UserRow | null> {
    const header = request.headers.authorization;
    if (!header && optional) return null;
    const match = /^Bearer (\S+)$/.exec(header ?? '');
    if (!match) throw new ContractError(401, 'TOKEN_INVALID', 'missing or malformed bearer token');
    try {
      const { payload } = await jwtVerify(match[1], key, {
        algorithms: ['HS256'],
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: accessTtl,
      });
      if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > accessTtl)
        throw new ContractError(401, 'TOKEN_INVALID', 'access token lifetime above the maximum');
      if (typeof payload.fam === 'string' && q.familyRevoked.get(payload.fam))
        throw new ContractError(401, 'TOKEN_INVALID', 'session revoked');
      const user = typeof payload.sub === 'string' ? q.userById.get(payload.sub) : undefined;
      if (!user) throw new ContractError(401, 'TOKEN_INVALID', 'unknown user');
      return user;
    } catch (error) {
      if (error instanceof ContractError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new ContractError(401, 'TOKEN_EXPIRED', 'access token expired');
      throw new ContractError(401, 'TOKEN_INVALID', 'access token invalid');
    }
  }

  const context: ServerContext = {
    options,
    db,
    now,
    q,
    limitIp: (ip) => limit(ipLimiter, ip),
    limitOpenid: (key) => limit(openidLimiter, key),
    issueTokens,
    tokenBody,
    storeRefreshToken,
    revokeFamily,
    bearerFamily,
    publicBaseURL: () => {
      const base = options.publicBaseURL;
      return (typeof base === 'function' ? base() : (base ?? 'http://127.0.0.1')).replace(/\/+$/, '');
    },
    publicUser,
    authenticate,
  };
  await registerAuthRoutes(app, context);
  registerDemoRoutes(app, context);
  return app;
}
