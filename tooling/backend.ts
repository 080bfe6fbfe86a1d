/**
 * The backends the harness and `npx miniprogram-login-kit dev` talk to: the package's development backend — the
 * reference server's contract routes over an in-memory store (no native dependency) beside the WeChat stand-in,
 * serving any `source` — or the team's own backend, given its URL and the WeChat stand-in it is pointed at.
 */
import crypto from 'crypto';
import os from 'os';
import { buildServer } from '../server/app';
import { openMemoryStore } from '../server/store-memory';
import { WeChatEmulator } from '../emulator/wechat';
import { remoteStandIn, type WeChatStandIn } from './wechat';

/** The `iss` of the development backend's access tokens: the reference server (another issuer) rejects them. */
export const DEV_ISSUER = 'miniprogram-login-kit/dev';

/** A request a launched app sent to the backend, as the backend received it. */
export interface ReceivedRequest {
  /** `GET`, `POST`, …; `UPLOAD` / `DOWNLOAD` for `wx.uploadFile` / `wx.downloadFile`. */
  method: string;
  /** The path with its query, e.g. `/auth/login`. */
  path: string;
  /** The JSON body (parsed), the form fields of an upload, or undefined. */
  body?: unknown;
  /** The `Authorization` header sent with it (`Bearer <accessToken>`), if any. */
  authorization?: string;
  /** The HTTP status of the answer; undefined while in flight or when the transfer failed. */
  status?: number;
  /** The answer's body (parsed JSON when it was JSON). */
  response?: unknown;
  /** The WeChat user (the `user` of `launchApp`) whose phone sent it. */
  user: string;
}

/** A backend the harness can point apps at. */
export interface Backend {
  /** Its base URL, e.g. `http://127.0.0.1:40123` (what `Login.config({ baseURL })` names). */
  readonly baseURL: string;
  /** The WeChat stand-in it exchanges codes with. */
  readonly wechat: WeChatStandIn;
  /** Every request the apps launched against it sent, in order (with their tokens and answers). */
  readonly received: ReceivedRequest[];
  /** Stops what `startBackend` started (nothing for a backend given by URL). */
  close(): Promise<void>;
}

/** Options of `startBackend`. */
export interface DevBackendOptions {
  /** The port (default `0`: a free one). */
  port?: number;
  /** The address it listens on (default `127.0.0.1`; `0.0.0.0` for a phone on the same network). */
  host?: string;
  /** Registration policy of every source (default `authorize`: a new user logs in through the kit's UI). */
  registration?: 'silent' | 'authorize';
  /** Access-token lifetime in s (default 900). */
  accessTtlSeconds?: number;
  /** Refresh-token lifetime in s (default 2 592 000). */
  refreshTtlSeconds?: number;
  /**
   * Further mini-programs of the same Open Platform account, each with an appid of its own in the stand-in: a person
   * gets another openid in each and, with a `unionid`, the same account. Every other `source` is served as the first.
   */
  otherSources?: Array<{ source: string; registration?: 'silent' | 'authorize' }>;
  /** Accept WeChat DevTools' own `wx.login` codes as one stable development user (default false; the CLI sets it). */
  acceptDevtoolsCodes?: boolean;
  /** The backend's clock in epoch ms (default `Date.now`): move it ahead to expire the tokens it issued. */
  now?: () => number;
}

/** A started development backend. */
export interface DevBackend extends Backend {
  /** Its registration policy. */
  readonly registration: 'silent' | 'authorize';
  /** The stand-in's appid of each source of `otherSources` (the primary one is `wechatAppid`). */
  readonly appids: Record<string, string>;
  /** The stand-in's appid of every source not in `otherSources`. */
  readonly wechatAppid: string;
}

/** The stand-in in this process, over a `WeChatEmulator`. */
function localStandIn(emulator: WeChatEmulator): WeChatStandIn {
  return {
    get baseURL() {
      return emulator.baseURL;
    },
    issueCode: async (user, appid) => emulator.issueCode(user, appid),
    addUser: async (user, profile = {}) => void emulator.user(user, profile),
    userInfoDetail: async (user) => emulator.userInfoDetail(user),
    phoneDetail: async (user, phone) => emulator.phoneDetail(user, phone),
    failNextCode2Session: async (errcode) => void emulator.queuedErrors.push(errcode),
    block: async (user) => void (emulator.user(user).blocked = true),
  };
}

/** The first IPv4 address of this machine on a network (for a phone on it), else 127.0.0.1. */
function lanAddress(): string {
  for (const addresses of Object.values(os.networkInterfaces()))
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  return '127.0.0.1';
}

/**
 * Starts the development backend: the contract (`/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/bind`,
 * `/auth/avatar`) and a few protected `/api/*` routes (`GET /api/me`, `POST /api/comments` → 201, …) for **any**
 * `source`, in memory, with the WeChat stand-in beside it on 127.0.0.1. Its access tokens carry the issuer
 * `DEV_ISSUER` and a key of this process only. Development and tests only: it refuses `NODE_ENV=production`.
 * @throws Error when `NODE_ENV` is `production`, or with `code: 'EADDRINUSE'` when the port is taken.
 */
export async function startBackend(options: DevBackendOptions = {}): Promise<DevBackend> {
  if (process.env.NODE_ENV === 'production')
    throw new Error(
      'miniprogram-login-kit dev: refusing to start under NODE_ENV=production — it is a development backend (in memory, a stand-in for WeChat)',
    );
  const registration = options.registration ?? 'authorize';
  if (registration !== 'silent' && registration !== 'authorize')
    throw new Error(`miniprogram-login-kit dev: registration must be "silent" or "authorize", got ${JSON.stringify(registration)}`);
  const others = (options.otherSources ?? []).map((other, i) => ({
    ...other,
    appid: `wx${String(i + 1).padStart(14, '0')}0ther`,
    secret: `secret-${other.source}`,
  }));
  const emulator = new WeChatEmulator({ otherApps: others, acceptDevtoolsCodes: options.acceptDevtoolsCodes });
  await emulator.listen();
  const host = options.host ?? '127.0.0.1';
  let baseURL = '';
  const apps = Object.fromEntries(
    others.map((o) => [o.source, { appid: o.appid, secret: o.secret, registration: o.registration ?? registration }]),
  );
  try {
    const server = await buildServer({
      store: openMemoryStore(),
      jwtSecret: crypto.randomBytes(32).toString('hex'),
      issuer: DEV_ISSUER,
      wechatBaseURL: emulator.baseURL,
      apps,
      anySource: { appid: emulator.appid, secret: emulator.secret, registration },
      publicBaseURL: () => baseURL,
      accessTtlSeconds: options.accessTtlSeconds,
      refreshTtlSeconds: options.refreshTtlSeconds,
      now: options.now,
      purgeIntervalSeconds: 0,
    });
    const listened = await server.listen({ host, port: options.port ?? 0 });
    const port = new URL(listened).port;
    baseURL = host === '0.0.0.0' || host === '::' ? `http://${lanAddress()}:${port}` : listened;
    return {
      baseURL,
      wechat: localStandIn(emulator),
      received: [],
      registration,
      appids: Object.fromEntries(others.map((o) => [o.source, o.appid])),
      wechatAppid: emulator.appid,
      async close() {
        await server.close();
        await emulator.close();
      },
    };
  } catch (error) {
    await emulator.close();
    throw error;
  }
}

/**
 * The team's own backend at `baseURL`, pointed at the WeChat stand-in at `wechatURL` (`npm run emulator`, or the one
 * `npx miniprogram-login-kit dev` prints): apps launched against it log in there for real.
 */
export function connectBackend(baseURL: string, wechatURL: string): Backend {
  return { baseURL: baseURL.replace(/\/+$/, ''), wechat: remoteStandIn(wechatURL), received: [], close: async () => undefined };
}
