/**
 * WeChat emulator: stands in for WeChat's servers where no WeChat exists (tests, the headless demo).
 * Development tooling only — nothing here ships in the package.
 *
 * Models, per WeChat's documentation:
 * - `wx.login` codes: one per call, valid 5 minutes, usable once; a new code rotates the user's `session_key`.
 * - `GET /sns/jscode2session`: `{openid, session_key, unionid?}` or `{errcode, errmsg}` with the real codes
 *   (40029 invalid code, 40163 code been used, 45011 rate limit, 40226 high-risk user, -1 system busy, 40013 bad appid).
 * - Open data: `getUserInfo` details with `signature = sha1(rawData + session_key)` and `encryptedData` =
 *   AES-128-CBC/PKCS#7 with key = base64-decoded `session_key`, carrying a `watermark.appid`.
 * - Phone numbers: `getPhoneNumber` codes (one-time, 5 minutes) exchanged by the server with an access token from
 *   `GET /cgi-bin/token` or `POST /cgi-bin/stable_token` at `POST /wxa/business/getuserphonenumber`
 *   ("phonenumber.getPhoneNumber").
 * - A control API under `/_emulator/` (codes, signed user info, phone codes, queued errcodes, blocked users, the
 *   secrets a backend must never reveal) for tools in another process, such as the contract check.
 */
import crypto from 'crypto';
import Fastify, { type FastifyInstance } from 'fastify';

/** A simulated WeChat user of one mini-program. */
export interface EmulatedUser {
  openid: string;
  unionid?: string;
  nickName: string;
  avatarUrl: string;
  /** Current `session_key` (base64 of 16 bytes); rotated by each new code. */
  sessionKey: string;
  /** Every `session_key` this user was ever given, oldest first (the contract check looks for them in answers). */
  sessionKeys: string[];
  blocked: boolean;
}

interface IssuedCode {
  /** The person (the emulator's user key). */
  openid: string;
  /** The mini-program the code was issued to. */
  appid?: string;
  /** epoch ms */
  expiresAt: number;
  used: boolean;
}

/** The openid of the development user that WeChat DevTools' codes log in as (with `acceptDevtoolsCodes`). */
export const DEVTOOLS_USER = 'devtools-user';

/** Code lifetime (ms): 5 minutes, per "wx.login". */
export const CODE_TTL_MS = 5 * 60 * 1000;

/** Options of the emulator. `now` is epoch ms (injectable so tests can age codes). */
export interface WeChatEmulatorOptions {
  appid?: string;
  secret?: string;
  /**
   * Further mini-programs of the same Open Platform account: a person gets another `openid` in each (the primary
   * app's openid + `@` + the appid), and the same `unionid`.
   */
  otherApps?: Array<{ appid: string; secret: string }>;
  /**
   * Development with WeChat DevTools (`npm run server` only): DevTools' `wx.login` gives codes this emulator never
   * issued. With this on, such a code (used once) logs in as one stable development user, `DEVTOOLS_USER`.
   */
  acceptDevtoolsCodes?: boolean;
  now?: () => number;
}

export class WeChatEmulator {
  readonly appid: string;
  readonly secret: string;
  private readonly otherApps: Array<{ appid: string; secret: string }>;
  private readonly acceptDevtoolsCodes: boolean;
  private readonly now: () => number;
  private readonly users = new Map<string, EmulatedUser>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly phoneCodes = new Map<string, IssuedCode>();
  private readonly phones = new Map<string, string>();
  /** Server access tokens → the appid they were issued to. */
  private readonly accessTokens = new Map<string, string>();
  /** The stable token of each appid. */
  private stable = new Map<string, { token: string; expiresAt: number }>();
  /** errcodes the next jscode2session calls answer with, in order (fault injection). */
  readonly queuedErrors: number[] = [];
  /** Count of jscode2session calls, for assertions. */
  code2SessionCalls = 0;
  private server: FastifyInstance | null = null;
  /** Base URL of the HTTP API once `listen()` resolved, e.g. `http://127.0.0.1:40123`. */
  baseURL = '';

  constructor(options: WeChatEmulatorOptions = {}) {
    this.appid = options.appid ?? 'wx0000000000demo';
    this.secret = options.secret ?? 'emulator-secret';
    this.otherApps = options.otherApps ?? [];
    this.acceptDevtoolsCodes = options.acceptDevtoolsCodes === true;
    this.now = options.now ?? Date.now;
  }

  /** Returns the user `openid`, creating it on first use. */
  user(openid: string, profile: Partial<Pick<EmulatedUser, 'nickName' | 'avatarUrl' | 'unionid'>> = {}): EmulatedUser {
    let user = this.users.get(openid);
    if (!user) {
      user = {
        openid,
        nickName: profile.nickName ?? `用户${openid}`,
        avatarUrl: profile.avatarUrl ?? '',
        unionid: profile.unionid,
        sessionKey: newSessionKey(),
        sessionKeys: [],
        blocked: false,
      };
      user.sessionKeys.push(user.sessionKey);
      this.users.set(openid, user);
    }
    return user;
  }

  /**
   * What `wx.login` gives user `openid` in the mini-program `appid` (default the primary one): a fresh one-time code.
   * Rotates the user's `session_key`.
   */
  issueCode(openid: string, appid: string = this.appid): string {
    const user = this.user(openid);
    user.sessionKey = newSessionKey();
    user.sessionKeys.push(user.sessionKey);
    const code = crypto.randomBytes(12).toString('hex');
    this.codes.set(code, { openid, appid, expiresAt: this.now() + CODE_TTL_MS, used: false });
    return code;
  }

  /** The person (user key) a `wx.login` code was issued to, used or not; undefined for a code never issued. */
  codeOwner(code: string): string | undefined {
    return this.codes.get(code)?.openid;
  }

  /** The openid a person has in mini-program `appid` (WeChat gives each mini-program its own). */
  openidIn(openid: string, appid: string = this.appid): string {
    return appid === this.appid ? openid : `${openid}@${appid}`;
  }

  /** `auth.code2Session`: the exchange WeChat's server does. */
  code2Session(query: { appid?: string; secret?: string; js_code?: string; grant_type?: string }): Record<string, unknown> {
    this.code2SessionCalls++;
    const queued = this.queuedErrors.shift();
    if (queued !== undefined) return { errcode: queued, errmsg: ERRMSG[queued] ?? 'error' };
    const app = [{ appid: this.appid, secret: this.secret }, ...this.otherApps].find((a) => a.appid === query.appid);
    if (!app || query.secret !== app.secret) return { errcode: 40013, errmsg: ERRMSG[40013] };
    if (query.grant_type !== 'authorization_code' || !query.js_code) return { errcode: 40029, errmsg: ERRMSG[40029] };
    let issued = this.codes.get(query.js_code);
    if (!issued && this.acceptDevtoolsCodes && app.appid === this.appid) {
      // A code from WeChat DevTools: single use like any code, for the stable development user.
      issued = { openid: DEVTOOLS_USER, appid: this.appid, expiresAt: this.now() + CODE_TTL_MS, used: false };
      this.user(DEVTOOLS_USER, { nickName: '开发者工具用户' });
      this.codes.set(query.js_code, issued);
    }
    if (!issued || issued.expiresAt <= this.now() || (issued.appid ?? this.appid) !== app.appid)
      return { errcode: 40029, errmsg: ERRMSG[40029] };
    if (issued.used) return { errcode: 40163, errmsg: ERRMSG[40163] };
    issued.used = true;
    const user = this.user(issued.openid);
    if (user.blocked) return { errcode: 40226, errmsg: ERRMSG[40226] };
    return {
      openid: this.openidIn(user.openid, app.appid),
      session_key: user.sessionKey,
      ...(user.unionid ? { unionid: user.unionid } : {}),
    };
  }

  /**
   * The detail of a successful `bindgetuserinfo` for user `openid`, signed and encrypted with its current
   * `session_key` exactly as WeChat does (so the server's checks run for real). `watermarkAppid` (default the primary
   * appid) is the mini-program the watermark names: another one makes data a backend must refuse.
   */
  userInfoDetail(
    openid: string,
    watermarkAppid: string = this.appid,
  ): {
    errMsg: string;
    userInfo: { nickName: string; avatarUrl: string; [key: string]: unknown };
    rawData: string;
    signature: string;
    encryptedData: string;
    iv: string;
  } {
    const user = this.user(openid);
    const userInfo = {
      nickName: user.nickName,
      avatarUrl: user.avatarUrl,
      gender: 0,
      country: '',
      province: '',
      city: '',
      language: 'zh_CN',
    };
    const rawData = JSON.stringify(userInfo);
    const signature = crypto
      .createHash('sha1')
      .update(rawData + user.sessionKey)
      .digest('hex');
    const iv = crypto.randomBytes(16);
    const payload = JSON.stringify({
      openId: user.openid,
      ...userInfo,
      ...(user.unionid ? { unionId: user.unionid } : {}),
      watermark: { appid: watermarkAppid, timestamp: Math.floor(this.now() / 1000) },
    });
    const cipher = crypto.createCipheriv('aes-128-cbc', Buffer.from(user.sessionKey, 'base64'), iv);
    const encryptedData = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()]).toString('base64');
    return { errMsg: 'getUserInfo:ok', userInfo, rawData, signature, encryptedData, iv: iv.toString('base64') };
  }

  /** The detail of a successful `bindgetphonenumber` for user `openid` (whose number is `phone`). */
  phoneDetail(openid: string, phone = '13800138000'): { errMsg: string; code: string } {
    this.user(openid);
    this.phones.set(openid, phone);
    const code = crypto.randomBytes(12).toString('hex');
    this.phoneCodes.set(code, { openid, expiresAt: this.now() + CODE_TTL_MS, used: false });
    return { errMsg: 'getPhoneNumber:ok', code };
  }

  /** The mini-program with these credentials, if any. */
  private app(appid: unknown, secret: unknown): { appid: string } | undefined {
    return [{ appid: this.appid, secret: this.secret }, ...this.otherApps].find((a) => a.appid === appid && a.secret === secret);
  }

  /** `GET /cgi-bin/token` (client_credential). */
  accessToken(query: { grant_type?: string; appid?: string; secret?: string }): Record<string, unknown> {
    const app = this.app(query.appid, query.secret);
    if (query.grant_type !== 'client_credential' || !app) return { errcode: 40013, errmsg: ERRMSG[40013] };
    const token = crypto.randomBytes(16).toString('hex');
    this.accessTokens.set(token, app.appid);
    return { access_token: token, expires_in: 7200 };
  }

  /**
   * `POST /cgi-bin/stable_token` ("getStableAccessToken"): in normal mode every call within the validity returns the
   * same token and invalidates nothing; `force_refresh: true` issues a new one and invalidates the old.
   */
  stableToken(body: Record<string, unknown>): Record<string, unknown> {
    const app = this.app(body.appid, body.secret);
    if (body.grant_type !== 'client_credential' || !app) return { errcode: 40013, errmsg: ERRMSG[40013] };
    const current = this.stable.get(app.appid);
    if (current && current.expiresAt > this.now() && body.force_refresh !== true) {
      return { access_token: current.token, expires_in: Math.floor((current.expiresAt - this.now()) / 1000) };
    }
    if (current) this.accessTokens.delete(current.token);
    const token = crypto.randomBytes(16).toString('hex');
    this.accessTokens.set(token, app.appid);
    this.stable.set(app.appid, { token, expiresAt: this.now() + 7200 * 1000 });
    return { access_token: token, expires_in: 7200 };
  }

  /** WeChat revokes every server access token (as when the AppSecret is reset): calls answer 40001 until refetched. */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
    this.stable.clear();
  }

  /** `POST /wxa/business/getuserphonenumber?access_token=...` with `{code}`. */
  getUserPhoneNumber(accessToken: string | undefined, body: { code?: unknown }): Record<string, unknown> {
    const appid = accessToken ? this.accessTokens.get(accessToken) : undefined;
    if (!appid) return { errcode: 40001, errmsg: 'invalid credential, access_token is invalid' };
    const issued = typeof body.code === 'string' ? this.phoneCodes.get(body.code) : undefined;
    if (!issued || issued.used || issued.expiresAt <= this.now()) return { errcode: 40029, errmsg: ERRMSG[40029] };
    issued.used = true;
    const phone = this.phones.get(issued.openid)!;
    return {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: phone,
        purePhoneNumber: phone,
        countryCode: '86',
        watermark: { timestamp: Math.floor(this.now() / 1000), appid },
      },
    };
  }

  /** Serves `GET /sns/jscode2session` on 127.0.0.1 (random port unless given). Resolves with the base URL. */
  async listen(port = 0): Promise<string> {
    const app = Fastify({ logger: false });
    app.get('/sns/jscode2session', async (request) => this.code2Session(request.query as Record<string, string>));
    app.get('/cgi-bin/token', async (request) => this.accessToken(request.query as Record<string, string>));
    app.post('/wxa/business/getuserphonenumber', async (request) =>
      this.getUserPhoneNumber((request.query as { access_token?: string }).access_token, (request.body ?? {}) as { code?: unknown }),
    );
    app.post('/cgi-bin/stable_token', async (request) => this.stableToken((request.body ?? {}) as Record<string, unknown>));
    // The control API of the emulator (development only): what a phone would do, for tools in another process such
    // as `npm run contract-check`. Each answers JSON.
    const userOf = (body: unknown) => String((body as { user?: unknown } | null)?.user ?? '');
    app.post('/_emulator/code', async (request) => ({
      code: this.issueCode(userOf(request.body), (request.body as { appid?: string }).appid ?? this.appid),
    }));
    const bodyOf = (body: unknown) => (body ?? {}) as { watermarkAppid?: unknown; phone?: unknown; users?: unknown };
    app.post('/_emulator/user-info', async (request) => {
      const watermark = bodyOf(request.body).watermarkAppid;
      return this.userInfoDetail(userOf(request.body), typeof watermark === 'string' ? watermark : undefined);
    });
    app.post('/_emulator/phone-code', async (request) => {
      const phone = bodyOf(request.body).phone;
      return this.phoneDetail(userOf(request.body), typeof phone === 'string' && /^\d{5,20}$/.test(phone) ? phone : undefined);
    });
    // What must never appear in a backend's answers: the AppSecrets and every session_key of the users named.
    app.post('/_emulator/secrets', async (request) => {
      const users = bodyOf(request.body).users;
      const names = Array.isArray(users) ? users.map(String) : [];
      return {
        appSecrets: [this.secret, ...this.otherApps.map((a) => a.secret)],
        sessionKeys: names.flatMap((name) => this.users.get(name)?.sessionKeys ?? []),
      };
    });
    app.post('/_emulator/error', async (request) => {
      this.queuedErrors.push(Number((request.body as { errcode?: unknown }).errcode));
      return { queued: this.queuedErrors.length };
    });
    app.post('/_emulator/user', async (request) => {
      const body = (request.body ?? {}) as { nickName?: unknown; avatarUrl?: unknown; unionid?: unknown };
      const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
      const user = this.user(userOf(request.body), {
        nickName: str(body.nickName),
        avatarUrl: str(body.avatarUrl),
        unionid: str(body.unionid),
      });
      return { openid: user.openid, nickName: user.nickName };
    });
    app.post('/_emulator/block', async (request) => {
      this.user(userOf(request.body)).blocked = true;
      return { blocked: true };
    });
    await app.listen({ host: '127.0.0.1', port });
    const address = app.server.address();
    this.server = app;
    this.baseURL = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
    return this.baseURL;
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }
}

const ERRMSG: Record<number, string> = {
  [-1]: 'system error',
  40013: 'invalid appid',
  40029: 'invalid code',
  40163: 'code been used',
  40226: 'high risk user',
  45011: 'api minute-quota reach limit mustslower retry next minute',
};

function newSessionKey(): string {
  return crypto.randomBytes(16).toString('base64');
}
