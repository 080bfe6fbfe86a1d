/**
 * `npm run server`. With WeChat credentials in the environment (`WX_APPID`, `WX_SECRET`) it is the reference server
 * alone (`server/main.ts`: it then needs a `JWT_SECRET` of its own and refuses to start without one, whatever
 * `NODE_ENV` says). Without them it is the development backend: the WeChat emulator and the reference server side by
 * side on 127.0.0.1 (`startStack`) — PORT (default 3000), DB_FILE (default ":memory:"), SOURCE (default "demo-app"),
 * REGISTRATION, ACCESS_TTL / REFRESH_TTL (s), RATE_LIMIT_PER_IP / RATE_LIMIT_PER_OPENID (a minute) and AVATARS_PER_DAY
 * (as in `server/main.ts`). Server errors are logged as JSON lines on standard output.
 */
import { rateLimitsOf, registrationOf, startServer } from '../server/main';
import { openSqliteStore } from '../server/store-sqlite';
import { startStack } from './stack';

const env = process.env;
// Inside a promise: a configuration refused synchronously (a locked DB_FILE, a bad limit) ends as one message too.
const started = Promise.resolve().then(() =>
  env.WX_APPID || env.WX_SECRET
    ? startServer(env).then((running) => `login server on ${running.url} (WeChat at ${env.WECHAT_API_BASE ?? 'api.weixin.qq.com'})`)
    : startStack({
        source: env.SOURCE,
        registration: registrationOf(env.REGISTRATION),
        port: env.PORT ? Number(env.PORT) : 3000,
        // Development only: WeChat DevTools' wx.login codes log in as one stable development user.
        acceptDevtoolsCodes: true,
        server: {
          store: openSqliteStore(env.DB_FILE ?? ':memory:'),
          accessTtlSeconds: env.ACCESS_TTL ? Number(env.ACCESS_TTL) : undefined,
          refreshTtlSeconds: env.REFRESH_TTL ? Number(env.REFRESH_TTL) : undefined,
          ...rateLimitsOf(env),
          logger: { level: env.LOG_LEVEL || 'info' },
        },
      }).then((stack) => `login server on ${stack.baseURL} (WeChat emulator on ${stack.emulator.baseURL})`),
);
started.then(
  (line) => console.log(line),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
