/**
 * Starts the reference server on 127.0.0.1 against WeChat (or a stand-in at `WECHAT_API_BASE`):
 *   WX_APPID + WX_SECRET (required), JWT_SECRET (required, >= 32 characters, not a secret from this repository),
 *   WECHAT_API_BASE (default `https://api.weixin.qq.com`), PORT (default 3000), DATABASE_URL (`postgres://...`: a
 *   Postgres shared by any number of instances) or DB_FILE (a SQLite file, created 0600; default ":memory:", so data
 *   lasts as long as the process), TRUST_PROXY (`true`, or the proxy's address: per-IP limits then see the client), SOURCE (default "demo-app"), REGISTRATION (`silent` | `authorize`, default authorize), ACCESS_TTL / REFRESH_TTL / REUSE_INTERVAL (s), PUBLIC_BASE_URL (the base of avatar links;
 *   default http://127.0.0.1:PORT).
 * It refuses to start without credentials and a secret of its own, whatever `NODE_ENV` says. For development with the
 * WeChat emulator, `npm run server` starts `scripts/dev-server.ts` instead.
 */
import path from 'path';
import { buildServer } from './app';
import type { Store } from './store';
import { openPostgresStore, pgPool } from './store-postgres';
import { openSqliteStore } from './store-sqlite';

/** Secrets that were ever committed to this repository: they sign nothing real. */
const PUBLIC_SECRETS = ['development-only-secret-change-me-0123456789'];

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
  const source = env.SOURCE ?? 'demo-app';
  const app = await buildServer({
    store: await openStore(env),
    jwtSecret: env.JWT_SECRET,
    wechatBaseURL: env.WECHAT_API_BASE ?? 'https://api.weixin.qq.com',
    publicBaseURL: env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${env.PORT ?? 3000}`,
    apps: { [source]: { appid: env.WX_APPID, secret: env.WX_SECRET, registration: registrationOf(env.REGISTRATION) } },
    trustProxy: env.TRUST_PROXY === 'true' ? true : env.TRUST_PROXY || undefined,
    accessTtlSeconds: env.ACCESS_TTL ? Number(env.ACCESS_TTL) : undefined,
    refreshTtlSeconds: env.REFRESH_TTL ? Number(env.REFRESH_TTL) : undefined,
    reuseIntervalSeconds: env.REUSE_INTERVAL ? Number(env.REUSE_INTERVAL) : undefined,
  });
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
