/**
 * The WeChat stand-in as the test harness drives it: WeChat's servers for the backend (`code2Session`, the phone-number
 * exchange, the stable access token) and, for the phone, what WeChat gives a user (codes, signed user info, phone
 * codes). In this process (`WeChatEmulator`), or in another one through its control API (`npm run emulator`, the
 * stand-in beside `npx miniprogram-login-kit dev`).
 */
/** What the signed `getUserInfo` button gives (`bindgetuserinfo`'s `detail`), as WeChat signs and encrypts it. */
export interface UserInfoDetail {
  errMsg: string;
  userInfo: { nickName: string; avatarUrl: string; [key: string]: unknown };
  rawData: string;
  signature: string;
  encryptedData: string;
  iv: string;
}

/** A person known to the stand-in, by name (the stand-in derives the openid from it). */
export interface StandInUser {
  /** The nickname WeChat's user info shows (default `用户<name>`). */
  nickName?: string;
  /** Gives the person a unionid: the same account across the mini-programs of one Open Platform account. */
  unionid?: string;
}

/** The WeChat stand-in, wherever it runs. Every method resolves once the stand-in has done it. */
export interface WeChatStandIn {
  /** Its base URL (what a backend uses instead of `https://api.weixin.qq.com`), e.g. `http://127.0.0.1:40123`. */
  readonly baseURL: string;
  /** A fresh one-time `wx.login` code (valid 5 minutes) for the person `user` in mini-program `appid` (default the primary one). */
  issueCode(user: string, appid?: string): Promise<string>;
  /** Creates the person `user` (or leaves an existing one as it is) with this profile. */
  addUser(user: string, profile?: StandInUser): Promise<void>;
  /** The `detail` of an allowed `getUserInfo` tap for `user`, signed with the user's current `session_key`. */
  userInfoDetail(user: string): Promise<UserInfoDetail>;
  /** The `detail` of an allowed `getPhoneNumber` tap for `user` whose number is `phone` (default `13800138000`): a one-time code. */
  phoneDetail(user: string, phone?: string): Promise<{ errMsg: string; code: string }>;
  /** The next `code2Session` answers with WeChat's `errcode` (e.g. `-1` busy, `40029` invalid code, `45011` rate limit). */
  failNextCode2Session(errcode: number): Promise<void>;
  /** WeChat blocks `user` (`40226`, a high-risk user): every later code of theirs is refused. */
  block(user: string): Promise<void>;
}

/**
 * The stand-in of another process, through its control API (`POST /_emulator/...`) at `baseURL`.
 * @throws Error (from each method) naming the URL when the stand-in does not answer 200.
 */
export function remoteStandIn(baseURL: string): WeChatStandIn {
  const base = baseURL.replace(/\/+$/, '');
  const call = async <T>(what: string, body: object): Promise<T> => {
    const response = await fetch(`${base}/_emulator/${what}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch((error: Error) => {
      throw new Error(`miniprogram-login-kit/testing: the WeChat stand-in at ${base} does not answer (${error.message})`);
    });
    if (response.status !== 200) throw new Error(`miniprogram-login-kit/testing: ${base}/_emulator/${what} answered ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    baseURL: base,
    issueCode: async (user, appid) => (await call<{ code: string }>('code', { user, ...(appid ? { appid } : {}) })).code,
    addUser: async (user, profile = {}) => void (await call('user', { user, ...profile })),
    userInfoDetail: (user) => call<UserInfoDetail>('user-info', { user }),
    phoneDetail: (user, phone) => call<{ errMsg: string; code: string }>('phone-code', { user, ...(phone ? { phone } : {}) }),
    failNextCode2Session: async (errcode) => void (await call('error', { errcode })),
    block: async (user) => void (await call('block', { user })),
  };
}
