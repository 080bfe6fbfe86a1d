/**
 * `npm run server`. With WeChat credentials in the environment (`WX_APPID`, `WX_SECRET`) it is the reference server
 * alone (`server/main.ts`: it then needs a `JWT_SECRET` of its own and refuses to start without one, whatever
 * `NODE_ENV` says). Without them it is the development backend: the WeChat emulator and the reference server side by
 * side on 127.0.0.1 (`startStack`), serving **any** `source` (the Quick start's `'my-app'` as well as the demo's) —
 * PORT (default 3000), DB_FILE (default ":memory:"), SOURCE (the source named in the printed `Login.config` line,
 * default "my-app"), REGISTRATION, ACCESS_TTL / REFRESH_TTL (s), RATE_LIMIT_PER_IP / RATE_LIMIT_PER_OPENID (a minute)
 * and AVATARS_PER_DAY (as in `server/main.ts`); README "Running it" has the table. It prints what it serves and the
 * `Login.config` line to paste. Server errors are logged as JSON lines on standard output.
 */
import { rateLimitsOf, registrationOf, startServer } from '../server/main';
import { openSqliteStore } from '../server/store-sqlite';
import { devBanner, isPortInUse, portInUseMessage } from '../tooling/banner';
import { startStack } from './stack';

const env = process.env;
const port = env.PORT ? Number(env.PORT) : 3000;
// Inside a promise: a configuration refused synchronously (a locked DB_FILE, a bad limit) ends as one message too.
const started = Promise.resolve().then(() => {
  if (env.WX_APPID || env.WX_SECRET) {
    return startServer(env).then((running) => `login server on ${running.url} (WeChat at ${env.WECHAT_API_BASE ?? 'api.weixin.qq.com'})`);
  }
  const registration = registrationOf(env.REGISTRATION);
  const source = env.SOURCE ?? 'my-app';
  return startStack({
    source,
    registration,
    port,
    anySource: true,
    // Development only: WeChat DevTools' wx.login codes log in as one stable development user.
    acceptDevtoolsCodes: true,
    server: {
      store: openSqliteStore(env.DB_FILE ?? ':memory:'),
      accessTtlSeconds: env.ACCESS_TTL ? Number(env.ACCESS_TTL) : undefined,
      refreshTtlSeconds: env.REFRESH_TTL ? Number(env.REFRESH_TTL) : undefined,
      ...rateLimitsOf(env),
      logger: { level: env.LOG_LEVEL || 'info' },
    },
  }).then((stack) =>
    devBanner({
      what: 'npm run server: the reference server beside the WeChat emulator',
      baseURL: stack.baseURL,
      registration,
      source,
      anySource: true,
      wechatURL: stack.emulator.baseURL,
      storage: env.DB_FILE && env.DB_FILE !== ':memory:' ? `SQLite file ${env.DB_FILE}` : 'in memory: forgotten when it stops',
    }),
  );
});
started.then(
  (banner) => console.log(banner),
  (error: Error) => {
    console.error(isPortInUse(error) ? portInUseMessage('127.0.0.1', port, `PORT=${port + 1} npm run server`) : error.message);
    process.exit(1);
  },
);
