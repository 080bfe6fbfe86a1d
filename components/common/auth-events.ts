/**
 * Turns the detail of WeChat's open-type button events into the `AuthResult` every login UI publishes.
 * Shared by the AuthModal and the login page so both report exactly the same results.
 */
import type { AuthResult, AuthType, UserInfoAuthData } from '../../lib/types';
import type { GetPhoneNumberDetail } from '../../lib/wechat-types';

export type { GetPhoneNumberDetail };

/** `e.detail` of `bindgetuserinfo` (success has `userInfo` and the signed fields; a refusal only `errMsg`). */
export interface GetUserInfoDetail extends Partial<UserInfoAuthData> {
  errMsg: string;
}

const isOk = (errMsg: unknown) => typeof errMsg === 'string' && /:ok$/.test(errMsg);

/** Result of the classic `getUserInfo` button: success only with `errMsg` "...:ok" and the signed data. */
export function resultFromUserInfo(detail: GetUserInfoDetail | undefined): AuthResult {
  const d = detail ?? { errMsg: 'getUserInfo:fail no detail' };
  if (
    isOk(d.errMsg) &&
    d.userInfo &&
    typeof d.rawData === 'string' &&
    typeof d.signature === 'string' &&
    typeof d.encryptedData === 'string' &&
    typeof d.iv === 'string'
  ) {
    const { userInfo, rawData, signature, encryptedData, iv, cloudID } = d;
    return {
      succeeded: true,
      authType: 'userInfo',
      errMsg: d.errMsg,
      data: { userInfo, rawData, signature, encryptedData, iv, ...(cloudID ? { cloudID } : {}) },
    };
  }
  return { succeeded: false, authType: 'userInfo', errMsg: typeof d.errMsg === 'string' ? d.errMsg : 'getUserInfo:fail' };
}

/** Result of the `getPhoneNumber` button: success only with a one-time `code`. */
export function resultFromPhoneNumber(detail: GetPhoneNumberDetail | undefined): AuthResult {
  const d = detail ?? { errMsg: 'getPhoneNumber:fail no detail' };
  if (isOk(d.errMsg) && typeof d.code === 'string' && d.code !== '') {
    return { succeeded: true, authType: 'phone', errMsg: d.errMsg, data: { code: d.code } };
  }
  return {
    succeeded: false,
    authType: 'phone',
    errMsg: typeof d.errMsg === 'string' ? d.errMsg : 'getPhoneNumber:fail',
    ...(typeof d.errno === 'number' ? { errno: d.errno } : {}),
  };
}

/** The result a UI publishes when the user closes it or leaves it without authorizing. */
export function cancelledResult(authType: AuthType | undefined, why: string): AuthResult {
  return { succeeded: false, authType, errMsg: `${authType ?? 'auth'}:fail cancel (${why})` };
}
