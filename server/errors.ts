/** The contract's error answers and the mapping of WeChat's `code2Session` errcodes to them (contract "Errors"). */
import { WeChatApiError } from './wechat-client';

/** A contract error answer: `{code, message}` plus extra fields, with an HTTP status. */
export class ContractError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** errcodes that say the backend's own WeChat configuration is wrong (invalid appid or secret, missing parameters). */
const MISCONFIGURED = [40013, 40125, 41002, 41004, 40002];

/**
 * Maps a WeChat API errcode to the contract answer (contract 1.3 "What the backend asks WeChat"): a bad code → 400
 * `INVALID_CODE`; 45011 → 429 `RATE_LIMITED` (`retryAfter` 60 s, WeChat's window); 40226 → 403 `USER_BLOCKED`; busy
 * (-1) or unreachable (-2) → 503 `WECHAT_UNAVAILABLE` (the client retries); a wrong appid/secret → 500
 * `BACKEND_MISCONFIGURED` and any other errcode → 502 `WECHAT_ERROR` (neither is retried: retrying cannot help).
 */
export function wechatError(error: WeChatApiError): ContractError {
  switch (error.errcode) {
    case 40029:
    case 40163:
    case 41008:
      return new ContractError(400, 'INVALID_CODE', `code rejected by WeChat (${error.errcode})`);
    case 45011:
      return new ContractError(429, 'RATE_LIMITED', 'too many logins for this user', { retryAfter: 60 });
    case 40226:
      return new ContractError(403, 'USER_BLOCKED', 'WeChat flagged this user as high-risk');
    case -1:
    case -2:
      return new ContractError(503, 'WECHAT_UNAVAILABLE', `WeChat is busy or unreachable (${error.errcode})`);
    default:
      return MISCONFIGURED.indexOf(error.errcode) >= 0
        ? new ContractError(500, 'BACKEND_MISCONFIGURED', `the backend's WeChat credentials were refused (${error.errcode})`)
        : new ContractError(502, 'WECHAT_ERROR', `WeChat refused the call (${error.errcode})`);
  }
}
