/** The server side of `auth.code2Session`: exchanges a `wx.login` code for `openid` + `session_key`. */

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
    super(`code2Session failed: ${errcode} ${errmsg}`);
  }
}

export interface WeChatApp {
  appid: string;
  secret: string;
}

/**
 * `GET {baseURL}/sns/jscode2session`; `baseURL` is `https://api.weixin.qq.com` for real WeChat or the emulator's.
 * Throws `WeChatApiError` (errcode -2 when WeChat cannot be reached within `timeoutMs`).
 */
export async function code2Session(baseURL: string, app: WeChatApp, code: string, timeoutMs = 5000): Promise<Code2SessionOk> {
  const query = new URLSearchParams({ appid: app.appid, secret: app.secret, js_code: code, grant_type: 'authorization_code' });
  let body: Record<string, unknown>;
  try {
    const response = await fetch(`${baseURL}/sns/jscode2session?${query}`, { signal: AbortSignal.timeout(timeoutMs) });
    body = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    throw new WeChatApiError(-2, `unreachable: ${(error as Error).message}`);
  }
  if (typeof body.errcode === 'number' && body.errcode !== 0) throw new WeChatApiError(body.errcode, String(body.errmsg ?? ''));
  if (typeof body.openid !== 'string' || typeof body.session_key !== 'string') throw new WeChatApiError(-2, 'malformed answer');
  return { openid: body.openid, session_key: body.session_key, unionid: typeof body.unionid === 'string' ? body.unionid : undefined };
}
