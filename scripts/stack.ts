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
  server: FastifyInstance;
  /** The server's base URL, e.g. `http://127.0.0.1:40123`. */
  baseURL: string;
  close(): Promise<void>;
}

/**
 * Starts the emulator and a server for mini-program `source` (default `demo-app`) on `port` (default: a free one);
 * `server` overrides its options.
 */
export async function startStack(options: { source?: string; port?: number; server?: Partial<ServerOptions> } = {}): Promise<Stack> {
  const emulator = new WeChatEmulator();
  await emulator.listen();
  let publicBaseURL = '';
  const server = await buildServer({
    publicBaseURL: () => publicBaseURL,
    store: openSqliteStore(':memory:'),
    jwtSecret: 'development-stack-secret-'.padEnd(40, 'x'),
    wechatBaseURL: emulator.baseURL,
    apps: { [options.source ?? 'demo-app']: { appid: emulator.appid, secret: emulator.secret } },
    ...options.server,
  });
  const baseURL = await server.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  publicBaseURL = baseURL;
  return {
    emulator,
    server,
    baseURL,
    async close() {
      await server.close();
      await emulator.close();
    },
  };
}
