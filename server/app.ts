/**
 * The reference login server: implements the backend contract (`docs/contract.md`) with Fastify, jose (HS256 JWT
 * access tokens carrying their refresh-token family) and a store (`store.ts`: SQLite embedded, or Postgres shared by
 * several instances). This file wires the shared context (store, tokens, rate limits, the purge schedule) and
 * registers the contract routes (`auth-routes.ts`) and the demo app's protected resources (`demo-routes.ts`).
 * Not part of the package: it exists so the kit's flows run against a real HTTP backend.
 */
import crypto from 'crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { registerAuthRoutes } from './auth-routes';
import { registerDemoRoutes } from './demo-routes';
import { ContractError } from './errors';
import { productionLogging } from './logging';
import { randomToken, sha256 } from './secrets';
import { PhoneTakenError, type AccountDeletionHook, type Store, type UserRow } from './store';
import type { WeChatApp } from './wechat-client';

export { ContractError } from './errors';
export { verifyUserInfo } from './open-data';

/** The `iss` of the reference server's access tokens (`ServerOptions.issuer`). */
export const REFERENCE_ISSUER = 'miniprogram-login-kit/reference-server';

export interface ServerOptions {
  /** Where users, tokens, tickets and avatars live: `openSqliteStore()` or `openPostgresStore()`. Closed with the server. */
  store: Store;
  /** HMAC key of the access tokens (at least 32 characters). */
  jwtSecret: string;
  /** `https://api.weixin.qq.com`, or the emulator's base URL. */
  wechatBaseURL: string;
  /** The mini-programs this backend serves: contract `source` → WeChat appid/secret. */
  apps: Record<string, WeChatApp>;
  /**
   * Development only (`npm run server`, `npx miniprogram-login-kit dev`): the WeChat app that serves every `source`
   * not in `apps`, so an app's own `source` (the Quick start's `'my-app'`) logs in without configuring it. Default: none
   * (an unknown source is `400 BAD_REQUEST`).
   */
  anySource?: WeChatApp;
  /**
   * The `iss` of the access tokens this server signs and the only one it accepts (default
   * `miniprogram-login-kit/reference-server`). The development backend of the package signs with another
   * (`miniprogram-login-kit/dev`), so its tokens never pass here.
   */
  issuer?: string;
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
   * Reuse interval of refresh-token rotation in s (default 10), counted from the first rotation: the token just
   * rotated, presented again within it, gets the same successor again instead of revoking the family (contract 1.3:
   * a response lost in transit does not lock the user out, and parallel refreshes never fork the session).
   */
  reuseIntervalSeconds?: number;
  /** Clock in epoch ms (tests age tokens with it). */
  now?: () => number;
  /**
   * Login/refresh attempts allowed per minute: per client IP (default 120) and per openid (default 20; WeChat itself
   * allows 100 code exchanges per minute per user). Past them: 429 `RATE_LIMITED` with `retryAfter` (s).
   */
  rateLimit?: { perIp: number; perOpenid: number };
  /** Avatar uploads allowed per user (openid, or ticket owner) per day (default 10). */
  avatarsPerDay?: number;
  /**
   * Account deletions (`POST /auth/account/delete`, contract 1.4) a user may attempt per hour (default 5), counted
   * before the code is exchanged; the per-IP limit of `rateLimit` applies to them too, per minute.
   */
  accountDeletionsPerHour?: number;
  /**
   * The app's part of an account deletion (contract 1.4 "What the backend keeps"): called inside the deletion's
   * transaction, before the kit erases the account, with the user, their (source, openid) links and the transaction's
   * SQL connection (null on the memory store). It keeps or anonymises the rows a law makes the app keep (orders,
   * invoices), or vetoes: `{veto: "您有未完成的订单，请完成后再注销"}` answers `409 DELETION_VETOED` with that `reason`
   * and leaves the account whole. A hook that throws, or takes longer than 10 s, rolls everything back (`500`). See
   * `AccountDeletionHook` in `store.ts`. The demo's own hook (an unfinished demo order, `demo-routes.ts`) runs first.
   */
  onAccountDeletion?: AccountDeletionHook;
  /**
   * How often (s) expired tickets, expired refresh tokens and unclaimed avatars older than an hour are purged
   * (default 3600; 0: never, e.g. in tests that call `purge` themselves).
   */
  purgeIntervalSeconds?: number;
  /**
   * The reverse proxies in front, so that the per-IP limits key on the client address a trusted proxy appended to
   * `X-Forwarded-For`, never on an entry the client wrote itself. The client is the first address, read from the
   * right (the socket's peer, then `X-Forwarded-For` right to left), that is not a trusted proxy:
   * - the proxies' addresses or CIDR ranges (an array, or a comma-separated string; proxy-addr's `loopback`,
   *   `linklocal` and `uniquelocal` name ranges) — the strict form;
   * - `true`: a proxy on this host (`loopback`), the only place one can be when the server listens on 127.0.0.1 as
   *   `main.ts` does (never "the left-most entry", which the client chooses);
   * - a hop count `n`: the `n`-th address from the right, whoever connected — only when nothing but the proxies can
   *   reach the server.
   * Default: no proxy, the socket's peer.
   */
  trustProxy?: boolean | number | string | string[];
  /**
   * The production log (`logging.ts`: JSON lines on standard output, server errors only, no credentials or personal
   * data): `true`, or its `level` (default `info`) and a `stream` instead of standard output. Default: no log.
   */
  logger?: boolean | { level?: string; stream?: { write(line: string): void } };
  /**
   * Bounds on slow clients, in ms (each connection costs a file descriptor until it ends): `headers` — the whole
   * request head must arrive within it (default 10 000); `request` — the whole request, body included (default
   * 60 000: a 1 MB avatar at 150 kbit/s); `idle` — a socket silent that long is closed (default 30 000);
   * `keepAlive` — an idle keep-alive connection is closed after it (default 72 000, above the 60 s upstream idle
   * timeout of common proxies); `check` — how often head and request deadlines are checked (default 1 000; Node's
   * own default of 30 000 would let a slow socket live 30 s past its deadline).
   */
  timeouts?: { headers?: number; request?: number; idle?: number; keepAlive?: number; check?: number };
}

/** What the route modules share: the options, the clock, the store, the rate limits and the token helpers. */
export interface ServerContext {
  options: ServerOptions;
  store: Store;
  /** epoch ms */
  now: () => number;
  /**
   * Throws 429 `RATE_LIMITED` (with `retryAfter`, s) when `key` is past `perWindow` hits in the current window of
   * `windowMs` (default 60 000: a minute).
   */
  limit(key: string, perWindow: number, windowMs?: number): Promise<void>;
  /**
   * The deletion hook: the demo's (`demo-routes.ts`), then the app's `ServerOptions.onAccountDeletion`; set once the
   * routes are registered.
   */
  accountDeletionHook?: AccountDeletionHook;
  /** The per-IP and per-openid limits per minute. */
  limits: { perIp: number; perOpenid: number };
  /**
   * Access + refresh tokens for `user` logged in through mini-program `source` (default the user's first one), in a
   * new refresh-token family unless `family` is given.
   */
  issueTokens(user: UserRow, family?: string, source?: string): Promise<TokenBody>;
  /** The token body for a refresh token already stored (rotation stores it inside its transaction). */
  tokenBody(user: UserRow, family: string, refreshToken: string, source: string): Promise<TokenBody>;
  /** A new refresh token and its stored form (`hash`, `expiresAt` ms). */
  newRefreshToken(): { token: string; hash: string; expiresAt: number };
  /**
   * The successor of refresh token `token` (contract 1.3: a repeat inside the reuse interval gets the same one):
   * an HMAC-SHA-256 of the token under a key derived from `jwtSecret`, so every instance sharing the secret derives the
   * same successor and the store still keeps only hashes. Shape as `newRefreshToken`.
   */
  successorOf(token: string): { token: string; hash: string; expiresAt: number };
  /** The configured public base URL, without a trailing slash. */
  publicBaseURL(): string;
  /** The refresh-token family of a `Bearer` access token with a valid signature, expired or not; null otherwise. */
  bearerFamily(authorization: string | undefined): Promise<string | null>;
  /** The user as the contract's `user` object. */
  publicUser(user: UserRow): PublicUser;
  /**
   * Verifies `Authorization: Bearer <jwt>`; throws 401 `TOKEN_EXPIRED` / `TOKEN_INVALID`. Null when absent and
   * optional. The user's `source` is the mini-program of this session (the token's `src`).
   */
  authenticate(request: FastifyRequest, optional?: boolean): Promise<UserRow | null>;
}

/** The contract's `user` object: what the account has, and what it lacks (contract 1.2: `profileComplete`, `phoneBound`). */
export interface PublicUser {
  id: string;
  nickName: string;
  avatarUrl: string;
  /** The user gave a nickname (the avatar is optional: its upload is an optional capability). */
  profileComplete: boolean;
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

/** `Authorization: Bearer <token>`: the scheme is case-insensitive (RFC 9110 §11.1), then one or more spaces. */
const BEARER = /^bearer +(\S+)$/i;

/** Fastify's `trustProxy` for `ServerOptions.trustProxy` (a hop count is a function: Fastify 5 ignores a number). */
function trustedProxies(trust: ServerOptions['trustProxy']): boolean | string | string[] | ((address: string, hop: number) => boolean) {
  if (trust === true) return 'loopback';
  if (typeof trust !== 'number') return trust ?? false;
  if (!(Number.isInteger(trust) && trust >= 0)) throw new Error(`trustProxy: a hop count must be a whole number, got ${trust}`);
  return (_address, hop) => hop < trust;
}
/** How far (s) an access token's `iat` may lie in the future: other instances' clocks may run ahead (contract 1.3). */
const CLOCK_SKEW_SECONDS = 60;

/** Lifetimes (s) are validated at start-up: a typo such as `15m` refuses to start instead of failing every login. */
function seconds(value: number | undefined, fallback: number, name: string): number {
  const result = value ?? fallback;
  if (!(Number.isInteger(result) && result > 0)) throw new Error(`${name} must be a positive integer number of seconds, got ${value}`);
  return result;
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  if (typeof options.jwtSecret !== 'string' || options.jwtSecret.length < 32) throw new Error('jwtSecret must have at least 32 characters');
  const { store } = options;
  const now = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const accessTtl = seconds(options.accessTtlSeconds, 900, 'accessTtlSeconds (ACCESS_TTL)');
  const refreshTtl = seconds(options.refreshTtlSeconds, 2_592_000, 'refreshTtlSeconds (REFRESH_TTL)');
  seconds(options.ticketTtlSeconds, 300, 'ticketTtlSeconds');
  const key = new TextEncoder().encode(options.jwtSecret);
  const issuer = options.issuer ?? REFERENCE_ISSUER;
  const limits = options.rateLimit ?? { perIp: 120, perOpenid: 20 };
  const limit = async (key: string, perWindow: number, windowMs = 60_000): Promise<void> => {
    const retryAfter = await store.hitRateLimit(key, perWindow, windowMs, now());
    if (retryAfter) throw new ContractError(429, 'RATE_LIMITED', 'too many requests, try again later', { retryAfter });
  };

  const timeouts = { headers: 10_000, request: 60_000, idle: 30_000, keepAlive: 72_000, check: 1_000, ...options.timeouts };
  const log = options.logger;
  const app = Fastify({
    ...(log ? productionLogging(log === true ? undefined : log.level, log === true ? undefined : log.stream) : { logger: false }),
    bodyLimit: 16 * 1024,
    trustProxy: trustedProxies(options.trustProxy),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    connectionTimeout: timeouts.idle,
    keepAliveTimeout: timeouts.keepAlive,
    requestTimeout: timeouts.request,
    http: { headersTimeout: timeouts.headers, requestTimeout: timeouts.request, connectionsCheckingInterval: timeouts.check },
  });
  const purgeEvery = (options.purgeIntervalSeconds ?? 3600) * 1000;
  if (purgeEvery > 0) {
    const timer = setInterval(() => {
      store.purge(now(), 3_600_000).catch((error: unknown) => app.log.error({ err: error }, 'purge failed'));
    }, purgeEvery);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
  app.addHook('onClose', async () => store.close());

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    // The database's unique index on users.phone decided: the number is another account's (contract: no merge).
    if (error instanceof PhoneTakenError) error = new ContractError(409, 'ACCOUNT_CONFLICT', error.message);
    if (error instanceof ContractError) {
      if (error.statusCode >= 500) request.log.warn({ req: request, code: error.code, message: error.message }, 'service unavailable');
      // Contract 1.3: a 429 says when to come back in the body (`retryAfter`, s) and in the `Retry-After` header too.
      if (typeof error.extra.retryAfter === 'number') reply.header('retry-after', String(error.extra.retryAfter));
      return reply.code(error.statusCode).send({ code: error.code, message: error.message, ...error.extra });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ code: 'BAD_REQUEST', message: error.message });
    request.log.error({ req: request, err: error }, 'server error');
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

  function newRefreshToken() {
    const token = randomToken();
    return { token, hash: sha256(token), expiresAt: now() + refreshTtl * 1000 };
  }
  const successorKey = crypto.createHmac('sha256', options.jwtSecret).update('login-kit refresh-token successor v1').digest();
  function successorOf(token: string) {
    const successor = crypto.createHmac('sha256', successorKey).update(token).digest('base64url');
    return { token: successor, hash: sha256(successor), expiresAt: now() + refreshTtl * 1000 };
  }

  /** Signs the access token (HS256; `fam` names the refresh-token family, so revoking the family reaches it). */
  async function tokenBody(user: UserRow, family: string, refreshToken: string, source: string): Promise<TokenBody> {
    const iat = nowSeconds();
    const accessToken = await new SignJWT({ src: source, fam: family })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer(issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + accessTtl)
      .setJti(crypto.randomUUID())
      .sign(key);
    return { accessToken, expiresIn: accessTtl, refreshToken, refreshExpiresIn: refreshTtl, user: publicUser(user) };
  }

  async function issueTokens(user: UserRow, family: string = crypto.randomUUID(), source = user.source): Promise<TokenBody> {
    const refresh = newRefreshToken();
    await store.saveRefreshToken({ hash: refresh.hash, family, userId: user.id, source, expiresAt: refresh.expiresAt });
    return tokenBody(user, family, refresh.token, source);
  }

  function publicUser(user: UserRow): PublicUser {
    return {
      id: user.id,
      nickName: user.nick_name,
      avatarUrl: user.avatar_url,
      profileComplete: user.nick_name !== '',
      phoneBound: user.phone !== null,
    };
  }

  async function bearerFamily(authorization: string | undefined): Promise<string | null> {
    const match = BEARER.exec(authorization ?? '');
    if (!match) return null;
    try {
      // The signature is what matters here: a logout with an expired access token still revokes its family.
      const { payload } = await jwtVerify(match[1], key, { algorithms: ['HS256'], issuer, currentDate: new Date(0) });
      return typeof payload.fam === 'string' ? payload.fam : null;
    } catch {
      return null;
    }
  }

  async function authenticate(request: FastifyRequest, optional = false): Promise<UserRow | null> {
    const header = request.headers.authorization;
    if (!header && optional) return null;
    const match = BEARER.exec(header ?? '');
    if (!match) throw new ContractError(401, 'TOKEN_INVALID', 'missing or malformed bearer token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1], key, {
        algorithms: ['HS256'],
        issuer,
        currentDate: new Date(now()),
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new ContractError(401, 'TOKEN_EXPIRED', 'access token expired');
      throw new ContractError(401, 'TOKEN_INVALID', 'access token invalid');
    }
    if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > accessTtl)
      throw new ContractError(401, 'TOKEN_INVALID', 'access token lifetime above the maximum');
    if (payload.iat > nowSeconds() + CLOCK_SKEW_SECONDS) throw new ContractError(401, 'TOKEN_INVALID', 'access token issued in the future');
    // Outside the try: a database that fails here is a 500 the operator sees, never a 401 verdict on a valid token.
    if (typeof payload.fam === 'string' && (await store.isFamilyRevoked(payload.fam)))
      throw new ContractError(401, 'TOKEN_INVALID', 'session revoked');
    const user = typeof payload.sub === 'string' ? await store.userById(payload.sub) : undefined;
    if (!user) throw new ContractError(401, 'TOKEN_INVALID', 'unknown user');
    return typeof payload.src === 'string' ? { ...user, source: payload.src } : user;
  }

  const context: ServerContext = {
    options,
    store,
    now,
    limit,
    limits,
    issueTokens,
    tokenBody,
    newRefreshToken,
    successorOf,
    bearerFamily,
    publicBaseURL: () => {
      const base = options.publicBaseURL;
      return (typeof base === 'function' ? base() : (base ?? 'http://127.0.0.1')).replace(/\/+$/, '');
    },
    publicUser,
    authenticate,
  };
  await registerAuthRoutes(app, context);
  const demoHook = registerDemoRoutes(app, context);
  const appHook = options.onAccountDeletion;
  context.accountDeletionHook = async (deletion) => (await demoHook(deletion)) ?? (appHook ? appHook(deletion) : undefined);
  return app;
}
