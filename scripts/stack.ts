/**
 * The whole backend for tests, the demo and the benchmark: the WeChat emulator and the reference server (in-memory
 * SQLite), both on 127.0.0.1. Development tooling only: the one place that puts the two side by side.
 */
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../server/app';
import { openSqliteStore } from '../server/store-sqlite';
import { WeChatEmulator } from '../emulator/wechat';

export interface Stack {
  emulator: WeChatEmulator;
  /** The emulator's appid of each source. */
  appids: Record<string, string>;
  server: FastifyInstance;
  /** The server's base URL, e.g. `http://127.0.0.1:40123`. */
  baseURL: string;
  close(): Promise<void>;
}

/** Options of `startStack`. */
export interface StackOptions {
  /** The mini-program the server serves (default `demo-app`), with the emulator's primary appid. */
  source?: string;
  /** Its registration policy (default `authorize`, contract 1.1's flow). */
  registration?: 'silent' | 'authorize';
  /**
   * Further mini-programs of the same Open Platform account, each with an appid of its own in the emulator (`appid`
   * of `Stack.appids`); a person gets another openid in each and the same unionid.
   */
  otherSources?: Array<{ source: string; registration?: 'silent' | 'authorize' }>;
  /** The server's port (default: a free one). */
  port?: number;
  /**
   * Development (`npm run server`): every other `source` is served too, as the mini-program of `source` (the same
   * emulator appid and registration policy), so an app's own `source` logs in unconfigured.
   */
  anySource?: boolean;
  /** Accept WeChat DevTools' codes as the development user (`npm run server` only; see `WeChatEmulatorOptions`). */
  acceptDevtoolsCodes?: boolean;
  /** Overrides of the server's options. */
  server?: Partial<ServerOptions>;
}

/** Starts the emulator and a server on 127.0.0.1 (see `StackOptions`). */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const others = (options.otherSources ?? []).map((other, i) => ({
    ...other,
    appid: `wx${String(i + 1).padStart(14, '0')}0ther`,
    secret: `secret-${other.source}`,
  }));
  const emulator = new WeChatEmulator({
    otherApps: others.map(({ appid, secret }) => ({ appid, secret })),
    acceptDevtoolsCodes: options.acceptDevtoolsCodes,
  });
  await emulator.listen();
  const apps: ServerOptions['apps'] = {
    [options.source ?? 'demo-app']: { appid: emulator.appid, secret: emulator.secret, registration: options.registration },
  };
  const primary = apps[options.source ?? 'demo-app'];
  for (const other of others) apps[other.source] = { appid: other.appid, secret: other.secret, registration: other.registration };
  let publicBaseURL = '';
  const server = await buildServer({
    publicBaseURL: () => publicBaseURL,
    store: openSqliteStore(':memory:'),
    jwtSecret: 'development-stack-secret-'.padEnd(40, 'x'),
    wechatBaseURL: emulator.baseURL,
    apps,
    ...(options.anySource ? { anySource: primary } : {}),
    ...options.server,
  });
  const baseURL = await server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  publicBaseURL = baseURL;
  return {
    emulator,
    appids: Object.fromEntries(Object.entries(apps).map(([source, app]) => [source, app.appid])),
    server,
    baseURL,
    async close() {
      // A development stack stops at once: sockets a test left mid-request (an aborted upload, a held answer) are cut
      // rather than waited for until the server's idle timeout.
      server.server.closeAllConnections();
      await server.close();
      await emulator.close();
    },
  };
}
