/**
 * In-memory doubles for the core (tests and the benchmark): a hand-driven clock, and a fake `wx` whose `wx.request`
 * is served by an in-memory backend that speaks the contract (`/auth/login`, `/auth/refresh`, `/auth/logout`,
 * protected `/api/*`). No HTTP, no timers of their own beyond `setImmediate`. Development tooling only.
 */
import type { Clock, WxAdapter, WxRequestOptions } from '../lib/runtime';
import type { AuthResult, RequestResponse } from '../lib/types';

/** A clock whose time moves only when the test says so. `advance` fires due timers in order. */
export class FakeClock implements Clock {
  private time = 1_700_000_000_000;
  private nextId = 1;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ id, at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
  /** Moves time forward by `ms`, firing timers that fall due (and letting promises settle in between). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = end;
    await flush();
  }
}

/** Lets every pending promise callback and queued macrotask run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolvers exposed. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A transport failure (`wx.request` calls `fail`). */
export type FakeFailure = { fail: string; errno?: number };
type Answer = RequestResponse | FakeFailure;
type Handler = (req: WxRequestOptions & { body: Record<string, unknown> }) => Promise<Answer>;

/** An in-memory contract backend: users known by openid, one-time codes, opaque tokens. */
export class FakeBackend {
  registered = new Set<string>();
  /** code -> openid; a code is deleted when used. */
  codes = new Map<string, string>();
  tickets = new Map<string, string>();
  validTokens = new Set<string>();
  loginCalls: Array<Record<string, unknown>> = [];
  /** refresh token -> openid; rotated on use. */
  refreshTokens = new Map<string, string>();
  refreshCalls: Array<Record<string, unknown>> = [];
  /** Whether sessions carry a refresh token (a legacy backend issues none). */
  issueRefreshTokens = true;
  /** Overrides the next `/auth/refresh` answers, in order. */
  refreshOverrides: Answer[] = [];
  logoutCalls: Array<{ authorization?: string; body: Record<string, unknown> }> = [];
  apiCalls: Array<{ url: string; authorization?: string }> = [];
  private counter = 0;
  /** Seconds an access token lives. */
  expiresIn = 900;
  /** Overrides the next `/auth/login` answers, in order. */
  loginOverrides: Answer[] = [];
  /** Paths whose answers are held back (see `holdBack`). */
  private readonly gates = new Map<string, Promise<void>>();

  /**
   * Holds back the answers to `path` (e.g. `/auth/refresh`, `/api/slow`) until the returned gate resolves. Requests
   * are still recorded at once (`loginCalls`, `refreshCalls`, `apiCalls`); tokens are checked after the gate opens.
   */
  holdBack(path: string) {
    const gate = deferred<void>();
    this.gates.set(path, gate.promise);
    return gate;
  }

  issueCode(openid: string): string {
    const code = `code-${++this.counter}`;
    this.codes.set(code, openid);
    return code;
  }

  private issueSession(openid: string, isNewUser: boolean): RequestResponse {
    const accessToken = `token-${++this.counter}-${openid}`;
    this.validTokens.add(accessToken);
    const refreshToken = `refresh-${this.counter}`;
    if (this.issueRefreshTokens) this.refreshTokens.set(refreshToken, openid);
    return {
      statusCode: 200,
      header: {},
      data: {
        accessToken,
        expiresIn: this.expiresIn,
        ...(this.issueRefreshTokens ? { refreshToken, refreshExpiresIn: 2_592_000 } : {}),
        user: { id: openid, nickName: `nick-${openid}`, avatarUrl: '', phoneBound: false },
        isNewUser,
      },
    };
  }

  /** Makes every issued access token invalid (the backend's sessions expired). */
  expireAll(): void {
    this.validTokens.clear();
  }

  /** Serves one request; tests may wrap it. */
  handle: Handler = async (req) => {
    const path = req.url.replace(/^https?:\/\/[^/]+/, '');
    const authorization = req.header?.Authorization;
    if (path === '/auth/login') {
      this.loginCalls.push(req.body);
      await this.gates.get(path);
      const override = this.loginOverrides.shift();
      if (override) return override;
      return this.login(req.body);
    }
    if (path === '/auth/refresh') {
      this.refreshCalls.push(req.body);
      await this.gates.get(path);
      const override = this.refreshOverrides.shift();
      if (override) return override;
      const openid = this.refreshTokens.get(req.body.refreshToken as string);
      this.refreshTokens.delete(req.body.refreshToken as string);
      if (!openid) return { statusCode: 401, header: {}, data: { code: 'REFRESH_TOKEN_INVALID', message: 'refresh' } };
      return this.issueSession(openid, false);
    }
    if (path === '/auth/logout') {
      this.logoutCalls.push({ authorization, body: req.body });
      return { statusCode: 204, header: {}, data: '' };
    }
    this.apiCalls.push({ url: path, authorization });
    await this.gates.get(path);
    const token = authorization?.replace(/^Bearer /, '');
    if (!token || !this.validTokens.has(token)) {
      return { statusCode: 401, header: {}, data: { code: token ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID', message: 'log in' } };
    }
    return { statusCode: 200, header: {}, data: { ok: true, token } };
  };

  private login(body: Record<string, unknown>): RequestResponse {
    let openid: string | undefined;
    if (typeof body.loginTicket === 'string') {
      openid = this.tickets.get(body.loginTicket);
      this.tickets.delete(body.loginTicket);
      if (!openid) return { statusCode: 400, header: {}, data: { code: 'INVALID_TICKET', message: 'ticket' } };
    } else {
      openid = this.codes.get(body.code as string);
      this.codes.delete(body.code as string);
      if (!openid) return { statusCode: 400, header: {}, data: { code: 'INVALID_CODE', message: 'code' } };
    }
    if (body.mode === 'authorize') {
      const isNew = !this.registered.has(openid);
      this.registered.add(openid);
      return this.issueSession(openid, isNew);
    }
    if (!this.registered.has(openid)) {
      const loginTicket = `ticket-${++this.counter}`;
      this.tickets.set(loginTicket, openid);
      return { statusCode: 401, header: {}, data: { code: 'USER_NOT_REGISTERED', message: 'new user', loginTicket } };
    }
    return this.issueSession(openid, false);
  }
}

export interface FakeWx {
  wx: WxAdapter;
  storage: Map<string, unknown>;
  /** Number of `wx.login` calls. */
  loginCount: number;
  /** All `wx.request` calls, with parsed bodies. */
  requests: Array<WxRequestOptions & { body: Record<string, unknown> }>;
  inFlight: number;
  maxInFlight: number;
  /** Replace to make `wx.login` fail or hang: return 'hang', or a fail result. */
  loginBehaviour: () => 'ok' | 'hang' | { errMsg: string; errno?: number };
  /** Make `setStorageSync` throw. */
  storageFull: boolean;
  backend: FakeBackend;
}

/** A fake `wx` for user `openid`, served by `backend`. Callbacks run asynchronously, as WeChat's do. */
export function createFakeWx(backend = new FakeBackend(), openid = 'alice'): FakeWx {
  const fake: FakeWx = {
    storage: new Map(),
    loginCount: 0,
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    loginBehaviour: () => 'ok',
    storageFull: false,
    backend,
    wx: {
      login(options) {
        fake.loginCount++;
        const behaviour = fake.loginBehaviour();
        if (behaviour === 'hang') return;
        setImmediate(() => {
          if (behaviour === 'ok') options.success?.({ code: backend.issueCode(openid), errMsg: 'login:ok' });
          else options.fail?.(behaviour);
        });
      },
      request(options) {
        const body = typeof options.data === 'object' && options.data !== null ? (options.data as Record<string, unknown>) : {};
        const call = { ...options, body };
        fake.requests.push(call);
        fake.inFlight++;
        fake.maxInFlight = Math.max(fake.maxInFlight, fake.inFlight);
        let done = false;
        const finish = () => {
          if (done) return false;
          done = true;
          fake.inFlight--;
          return true;
        };
        setImmediate(async () => {
          const result = await backend.handle(call);
          if (!finish()) return;
          if ('fail' in result) options.fail?.({ errMsg: result.fail, errno: (result as { errno?: number }).errno });
          else options.success?.({ statusCode: result.statusCode, data: result.data, header: result.header });
        });
        // As WeChat's RequestTask: abort() ends the request at once with "request:fail abort".
        return { abort: () => finish() && options.fail?.({ errMsg: 'request:fail abort' }) };
      },
      getStorageSync(key) {
        return fake.storage.has(key) ? JSON.parse(JSON.stringify(fake.storage.get(key))) : '';
      },
      setStorageSync(key, value) {
        if (fake.storageFull) throw new Error('setStorageSync:fail exceed storage max size 10MB');
        fake.storage.set(key, JSON.parse(JSON.stringify(value)));
      },
      removeStorageSync(key) {
        fake.storage.delete(key);
      },
    },
  };
  return fake;
}

/** A successful classic `getUserInfo` result, as the AuthModal publishes it. */
export function userInfoResult(nickName = 'Alice'): AuthResult {
  return {
    succeeded: true,
    authType: 'userInfo',
    errMsg: 'getUserInfo:ok',
    data: {
      userInfo: { nickName, avatarUrl: '' },
      rawData: JSON.stringify({ nickName }),
      signature: 'sig',
      encryptedData: 'enc',
      iv: 'iv',
    },
  };
}
