/**
 * `npm run server`: the development backend — the WeChat emulator and the reference server side by side on
 * 127.0.0.1 (`startStack`). PORT (default 3000), DB_FILE (default ":memory:"), SOURCE (default "demo-app"), REGISTRATION,
 * ACCESS_TTL / REFRESH_TTL (s). Against real WeChat, run `server/main.ts` with credentials instead.
 */
import { registrationOf } from '../server/main';
import { openSqliteStore } from '../server/store-sqlite';
import { startStack } from './stack';

const env = process.env;
startStack({
  source: env.SOURCE,
  registration: registrationOf(env.REGISTRATION),
  port: env.PORT ? Number(env.PORT) : 3000,
  server: {
    store: openSqliteStore(env.DB_FILE ?? ':memory:'),
    accessTtlSeconds: env.ACCESS_TTL ? Number(env.ACCESS_TTL) : undefined,
    refreshTtlSeconds: env.REFRESH_TTL ? Number(env.REFRESH_TTL) : undefined,
  },
}).then(
  (stack) => console.log(`login server on ${stack.baseURL} (WeChat emulator on ${stack.emulator.baseURL})`),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
