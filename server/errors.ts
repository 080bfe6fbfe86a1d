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

/** Maps a WeChat API errcode to the contract answer (contract "Errors" table). */
export function wechatError(error: WeChatApiError): ContractError {
  switch (error.errcode) {
    case 40029:
    case 40163:
      return new ContractError(400, 'INVALID_CODE', `code rejected by WeChat (${error.errcode})`);
    case 45011:
      return new ContractError(429, 'RATE_LIMITED', 'too many logins for this user', { retryAfter: 60 });
    case 40226:
      return new ContractError(403, 'USER_BLOCKED', 'WeChat flagged this user as high-risk');
    default:
      return new ContractError(503, 'WECHAT_UNAVAILABLE', `WeChat is busy or unreachable (${error.errcode})`);
  }
}
