/**
 * The reference server's calls to WeChat's server API: `auth.code2Session` (a `wx.login` code for `openid` +
 * `session_key`), `getStableAccessToken`, and `phonenumber.getPhoneNumber`.
 */
import http from 'http';
import https from 'https';

export interface Code2SessionOk {
  openid: string;
  session_key: string;
  unionid?: string;
}

/** WeChat's answer to a failed exchange (`errcode` per the "auth.code2Session" doc), or `-2` when unreachable. */
export class WeChatApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`WeChat API call failed: ${errcode} ${errmsg}`);
  }
}

/** A mini-program the server serves. */
export interface WeChatApp {
  appid: string;
  secret: string;
  /**
   * How a user WeChat identifies but the server does not know is registered (contract 1.2):
   * - `'silent'`: on the first silent login, with no profile and no phone; the client asks for more later (step-up);
   * - `'authorize'` (the default, contract 1.1's flow): the silent login answers `USER_NOT_REGISTERED` with a ticket.
   */
  registration?: 'silent' | 'authorize';
}

/** Access tokens of the WeChat server API, cached per appid until shortly before they expire (`expires_in` s). */
const accessTokens = new Map<string, { token: string; expiresAt: number }>();

/** One call of WeChat's server API: JSON answer, bounded by `timeoutMs`; a non-zero `errcode` throws `WeChatApiError`. */
async function wechatJson(url: string, init: JsonRequest, timeoutMs: number): Promise<Record<string, unknown>> {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(await send(url, init, timeoutMs)) as Record<string, unknown>;
  } catch (error) {
    throw new WeChatApiError(-2, `unreachable: ${(error as Error).message}`);
  }
  if (typeof body.errcode === 'number' && body.errcode !== 0) throw new WeChatApiError(body.errcode, String(body.errmsg ?? ''));
  return body;
}

/** A request to WeChat's server API. */
interface JsonRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** Keep-alive agents: every login calls code2Session, and a new TLS connection per call costs more than the call. */
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/** One HTTP(S) exchange over the keep-alive agent, bounded by `timeoutMs`; resolves with the body text. */
function send(url: string, init: JsonRequest, timeoutMs: number): Promise<string> {
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: secure ? agents.https : agents.http, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(init.body);
  });
}

/**
 * `GET {baseURL}/sns/jscode2session`; `baseURL` is `https://api.weixin.qq.com` for real WeChat or the emulator's.
 * Throws `WeChatApiError` (errcode -2 when WeChat cannot be reached within `timeoutMs`).
 */
export async function code2Session(baseURL: string, app: WeChatApp, code: string, timeoutMs = 5000): Promise<Code2SessionOk> {
  const query = new URLSearchParams({ appid: app.appid, secret: app.secret, js_code: code, grant_type: 'authorization_code' });
  const body = await wechatJson(`${baseURL}/sns/jscode2session?${query}`, {}, timeoutMs);
  if (typeof body.openid !== 'string' || typeof body.session_key !== 'string') throw new WeChatApiError(-2, 'malformed answer');
  return { openid: body.openid, session_key: body.session_key, unionid: typeof body.unionid === 'string' ? body.unionid : undefined };
}

/**
 * WeChat's server access token from `getStableAccessToken` (`POST /cgi-bin/stable_token`) in normal mode: within its
 * validity every caller — every instance of this server — gets the same token and nobody is invalidated, so no lock is
 * needed. Cached until 5 minutes before it expires. Never `force_refresh` (20 a day, and it invalidates the others).
 */
async function accessToken(baseURL: string, app: WeChatApp, timeoutMs: number): Promise<string> {
  const key = `${baseURL}|${app.appid}`;
  const cached = accessTokens.get(key);
  if (cached && cached.expiresAt > Date.now()) return cached.token;
  const body = await wechatJson(
    `${baseURL}/cgi-bin/stable_token`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credential', appid: app.appid, secret: app.secret }),
    },
    timeoutMs,
  );
  if (typeof body.access_token !== 'string') throw new WeChatApiError(-2, 'malformed token answer');
  accessTokens.set(key, { token: body.access_token, expiresAt: Date.now() + (Number(body.expires_in) - 300) * 1000 });
  return body.access_token;
}

/** errcodes that say the cached access token is no longer valid (invalid credential, expired). */
const STALE_TOKEN = [40001, 42001];

/** Calls a WeChat server API with the access token; on 40001/42001 drops the cache, fetches again and retries once. */
async function withAccessToken<T>(baseURL: string, app: WeChatApp, timeoutMs: number, call: (token: string) => Promise<T>): Promise<T> {
  try {
    return await call(await accessToken(baseURL, app, timeoutMs));
  } catch (error) {
    if (!(error instanceof WeChatApiError) || STALE_TOKEN.indexOf(error.errcode) < 0) throw error;
    accessTokens.delete(`${baseURL}|${app.appid}`);
    return call(await accessToken(baseURL, app, timeoutMs));
  }
}

/**
 * `phonenumber.getPhoneNumber`: exchanges the one-time `code` of a `getPhoneNumber` button for the user's number.
 * Throws `WeChatApiError` (40029 for a bad code, -2 when unreachable).
 */
export async function getPhoneNumber(baseURL: string, app: WeChatApp, code: string, timeoutMs = 5000): Promise<string> {
  const body = await withAccessToken(baseURL, app, timeoutMs, (token) =>
    wechatJson(
      `${baseURL}/wxa/business/getuserphonenumber?access_token=${encodeURIComponent(token)}`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) },
      timeoutMs,
    ),
  );
  const info = body.phone_info as { phoneNumber?: unknown; watermark?: { appid?: unknown } } | undefined;
  if (!info || typeof info.phoneNumber !== 'string' || info.watermark?.appid !== app.appid)
    throw new WeChatApiError(-2, 'malformed phone answer');
  return info.phoneNumber;
}
