/**
 * Starts the reference server on 127.0.0.1.
 *   PORT (default 3000), DB_FILE (a SQLite file; default ":memory:", so data lasts as long as the process), JWT_SECRET (>= 32 chars),
 *   SOURCE (default "demo-app"), WX_APPID + WX_SECRET (real WeChat; otherwise the WeChat emulator starts in-process),
 *   ACCESS_TTL / REFRESH_TTL (seconds).
 * With NODE_ENV=production it refuses to start without JWT_SECRET, or without real WeChat credentials.
 */
import path from 'path';
import { openDatabase } from './db';
import { buildServer } from './app';
import { WeChatEmulator } from '../emulator/wechat';

const DEV_SECRET = 'development-only-secret-change-me-0123456789';

export interface RunningServer {
  url: string;
  emulator: WeChatEmulator | null;
  close(): Promise<void>;
}

/** Starts the server (and the emulator when no WeChat credentials are given). */
export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const production = env.NODE_ENV === 'production';
  const realWeChat = Boolean(env.WX_APPID && env.WX_SECRET);
  if (production && (!env.JWT_SECRET || env.JWT_SECRET === DEV_SECRET || !realWeChat)) {
    throw new Error('refusing to start in production without a JWT_SECRET of its own, WX_APPID and WX_SECRET');
  }
  const emulator = realWeChat ? null : new WeChatEmulator();
  const wechatBaseURL = emulator ? await emulator.listen() : 'https://api.weixin.qq.com';
  const source = env.SOURCE ?? 'demo-app';
  const app = await buildServer({
    db: openDatabase(env.DB_FILE ?? ':memory:'),
    jwtSecret: env.JWT_SECRET ?? DEV_SECRET,
    wechatBaseURL,
    apps: { [source]: emulator ? { appid: emulator.appid, secret: emulator.secret } : { appid: env.WX_APPID!, secret: env.WX_SECRET! } },
    accessTtlSeconds: env.ACCESS_TTL ? Number(env.ACCESS_TTL) : undefined,
    refreshTtlSeconds: env.REFRESH_TTL ? Number(env.REFRESH_TTL) : undefined,
  });
  const url = await app.listen({ host: '127.0.0.1', port: env.PORT ? Number(env.PORT) : 3000 });
  return {
    url,
    emulator,
    async close() {
      await app.close();
      await emulator?.close();
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  startServer().then(
    (running) =>
      console.log(`login server on ${running.url}${running.emulator ? ` (WeChat emulator on ${running.emulator.baseURL})` : ''}`),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
