/**
 * Starts the reference server on 127.0.0.1 against WeChat (or a stand-in at `WECHAT_API_BASE`):
 *   WX_APPID + WX_SECRET (required), JWT_SECRET (required, >= 32 characters, not a secret from this repository),
 *   WECHAT_API_BASE (default `https://api.weixin.qq.com`), PORT (default 3000), DATABASE_URL (`postgres://...`: a
 *   Postgres shared by any number of instances) or DB_FILE (a SQLite file, created 0600, one process at a time;
 *   default ":memory:", so data lasts as long as the process), TRUST_PROXY (the proxy in front: `true` for one on
 *   this host, its addresses, or a hop count — see `trustProxyOf`), SOURCE (default "demo-app"), REGISTRATION
 *   (`silent` | `authorize`, default authorize), ACCESS_TTL / REFRESH_TTL / REUSE_INTERVAL (s), PUBLIC_BASE_URL (the
 *   base of avatar links; default http://127.0.0.1:PORT), RATE_LIMIT_PER_IP / RATE_LIMIT_PER_OPENID (logins and
 *   refreshes a minute; default 120 / 20), AVATARS_PER_DAY (default 10), ACCOUNT_DELETIONS_PER_HOUR (default 5), LOG_LEVEL (default `info`).
 * It logs server errors as JSON lines on standard output (`logging.ts`). It refuses to start without credentials and
 * a secret of its own, whatever `NODE_ENV` says, and with `NODE_ENV=production` also with any secret committed to this
 * repository (`known-secrets.ts`). For development with the WeChat emulator, `npm run server` starts
 * `scripts/dev-server.ts` instead.
 */
import path from 'path';
import { buildServer, type ServerOptions } from './app';
import { knownSecretReason } from './known-secrets';
import type { Store } from './store';
import { openPostgresStore, pgPool } from './store-postgres';
import { openSqliteStore } from './store-sqlite';

/** The secret the README once showed: refused whatever `NODE_ENV` says (the others of `known-secrets.ts` in production). */
const PUBLIC_SECRETS = ['development-only-secret-change-me-0123456789'];

/** A positive whole number from the environment variable `name`, or `fallback` when it is unset. */
function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^[1-9][0-9]*$/.test(value)) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The rate limits from the environment: `RATE_LIMIT_PER_IP` (logins, refreshes and avatar uploads a minute per client
 * address; default 120), `RATE_LIMIT_PER_OPENID` (logins a minute per WeChat user; default 20), `AVATARS_PER_DAY`
 * (avatar uploads per user in 24 hours; default 10) and `ACCOUNT_DELETIONS_PER_HOUR` (account-deletion attempts per user
 * in an hour, contract 1.4; default 5).
 * @throws Error naming the variable when one is not a positive whole number.
 */
export function rateLimitsOf(env: NodeJS.ProcessEnv): Pick<ServerOptions, 'rateLimit' | 'avatarsPerDay' | 'accountDeletionsPerHour'> {
  return {
    rateLimit: { perIp: positiveInteger(env, 'RATE_LIMIT_PER_IP', 120), perOpenid: positiveInteger(env, 'RATE_LIMIT_PER_OPENID', 20) },
    avatarsPerDay: positiveInteger(env, 'AVATARS_PER_DAY', 10),
    accountDeletionsPerHour: positiveInteger(env, 'ACCOUNT_DELETIONS_PER_HOUR', 5),
  };
}

/**
 * `TRUST_PROXY`: unset, empty or `false` — no proxy; `true` — one proxy on this host (the server listens on 127.0.0.1,
 * so a proxy can be nowhere else); a whole number — that many proxies, counted from the right of `X-Forwarded-For`;
 * otherwise a comma-separated list of the proxies' addresses or CIDR ranges. Never the left-most entry, which the
 * client writes (see `ServerOptions.trustProxy`).
 */
export function trustProxyOf(value: string | undefined): ServerOptions['trustProxy'] {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^[0-9]+$/.test(value)) return Number(value);
  return value.split(',').map((entry) => entry.trim());
}

/** `DATABASE_URL=postgres://...` selects Postgres (several instances may share it); else SQLite at `DB_FILE`. */
export async function openStore(env: NodeJS.ProcessEnv): Promise<Store> {
  if (env.DATABASE_URL) return openPostgresStore(await pgPool(env.DATABASE_URL));
  return openSqliteStore(env.DB_FILE ?? ':memory:');
}

/** `REGISTRATION`: `silent` or `authorize` (default). */
export function registrationOf(value: string | undefined): 'silent' | 'authorize' {
  if (value === undefined || value === 'authorize') return 'authorize';
  if (value === 'silent') return 'silent';
  throw new Error(`REGISTRATION must be "silent" or "authorize", got ${JSON.stringify(value)}`);
}

/** A started server: its base URL (`http://127.0.0.1:PORT`) and how to stop it. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the server from `env` (see the module doc).
 * @throws Error when WeChat credentials or a secret of its own are missing.
 */
export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const where = env.NODE_ENV === 'production' ? ' in production' : '';
  if (!env.WX_APPID || !env.WX_SECRET) {
    throw new Error(`refusing to start${where} without WX_APPID and WX_SECRET (for development with the WeChat emulator: npm run server)`);
  }
  if (!env.JWT_SECRET || PUBLIC_SECRETS.indexOf(env.JWT_SECRET) >= 0) {
    throw new Error(`refusing to start${where} without a JWT_SECRET of its own (>= 32 random characters)`);
  }
  const known = env.NODE_ENV === 'production' ? knownSecretReason(env.JWT_SECRET) : null;
  if (known) throw new Error(`refusing to start in production with this JWT_SECRET: ${known}; use >= 32 random characters of its own`);
  const source = env.SOURCE ?? 'demo-app';
  const options: Omit<ServerOptions, 'store'> = {
    jwtSecret: env.JWT_SECRET,
    wechatBaseURL: env.WECHAT_API_BASE ?? 'https://api.weixin.qq.com',
    publicBaseURL: env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`,
    apps: { [source]: { appid: env.WX_APPID, secret: env.WX_SECRET, registration: registrationOf(env.REGISTRATION) } },
    trustProxy: trustProxyOf(env.TRUST_PROXY),
    ...rateLimitsOf(env),
    logger: { level: env.LOG_LEVEL || 'info' },
    accessTtlSeconds: env.ACCESS_TTL ? Number(env.ACCESS_TTL) : undefined,
    refreshTtlSeconds: env.REFRESH_TTL ? Number(env.REFRESH_TTL) : undefined,
    reuseIntervalSeconds: env.REUSE_INTERVAL ? Number(env.REUSE_INTERVAL) : undefined,
  };
  const store = await openStore(env);
  let app;
  try {
    app = await buildServer({ ...options, store });
  } catch (error) {
    await store.close(); // a refused configuration leaves no database open (nor a SQLite file locked)
    throw error;
  }
  const url = await app.listen({ host: '127.0.0.1', port: env.PORT ? Number(env.PORT) : 3000 });
  return { url, close: () => app.close() };
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  startServer().then(
    (running) => console.log(`login server on ${running.url}`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
