/** Open-data verification: the legacy `getUserInfo` data checked with the user's `session_key`. */
import crypto from 'crypto';
import { ContractError } from './errors';

/** The signed fields of a `getUserInfo` button, as the contract's `userInfo` carries them. */
export interface SignedUserInfo {
  rawData: string;
  signature: string;
  encryptedData: string;
  iv: string;
}

/**
 * Checks and decrypts legacy `getUserInfo` data ("开放数据校验与解密"): `signature = sha1(rawData + session_key)`,
 * AES-128-CBC with key = base64(session_key), and `watermark.appid`. Throws `INVALID_USER_DATA`.
 */
export function verifyUserInfo(userInfo: SignedUserInfo, sessionKey: string, appid: string): { nickName: string; avatarUrl: string } {
  const invalid = (why: string) => new ContractError(400, 'INVALID_USER_DATA', `userInfo ${why}`);
  const expected = crypto
    .createHash('sha1')
    .update(userInfo.rawData + sessionKey)
    .digest('hex');
  if (expected.length !== userInfo.signature.length || !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(userInfo.signature))) {
    throw invalid('signature does not match');
  }
  let decrypted: { nickName?: unknown; avatarUrl?: unknown; watermark?: { appid?: unknown } };
  try {
    const decipher = crypto.createDecipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(userInfo.iv, 'base64'));
    decrypted = JSON.parse(
      Buffer.concat([decipher.update(Buffer.from(userInfo.encryptedData, 'base64')), decipher.final()]).toString('utf8'),
    );
  } catch {
    throw invalid('could not be decrypted');
  }
  if (decrypted.watermark?.appid !== appid) throw invalid('watermark is for another app');
  return { nickName: String(decrypted.nickName ?? ''), avatarUrl: String(decrypted.avatarUrl ?? '') };
}
