/**
 * The default backend adapter: speaks the backend contract, `docs/contract.md` version 1.4 — and to 1.2 and 1.3
 * backends, which answer 404 to 1.4's optional account deletion.
 */
import { LoginError } from './errors';
import type {
  AccountDeletion,
  AvatarCredentials,
  BackendContext,
  BindRequest,
  BackendLoginRequest,
  BackendLoginResult,
  BackendSession,
  DeleteAccountRequest,
  LoginBackend,
  LoginState,
  LoginUser,
  RequestResponse,
} from './types';

/** Statuses that say "this backend does not offer it" (the contract's optional capabilities: avatar upload, deletion). */
const NOT_OFFERED = [404, 405, 501];

/** Reads the contract's error body `{code, message}`; undefined for anything else. */
export function contractErrorCode(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && typeof (data as { code?: unknown }).code === 'string') {
    return (data as { code: string }).code;
  }
  return undefined;
}

/** A lifetime (s) within (0, `max`]: contract 1.3 bounds `expiresIn` by a day and `refreshExpiresIn` by 366 days. */
function isLifetime(value: unknown, max: number): value is number {
  return typeof value === 'number' && value > 0 && value <= max;
}

/** Contract 1.3's ticket lifetime cap (s), and what a 1.2 backend's ticket is taken to live. */
const TICKET_SECONDS = 300;

/**
 * Checks a contract token body (`accessToken`, `expiresIn` s, optional `refreshToken`, `refreshExpiresIn` s, `user`).
 * Throws `LOGIN_FAILED` for a malformed body (wrong types, HTML instead of JSON, ...).
 */
function parseBackendSession(response: RequestResponse): BackendSession {
  const body = response.data as Record<string, unknown> | null;
  const malformed = (what: string) =>
    new LoginError('LOGIN_FAILED', `backend answered ${response.statusCode} with a malformed body: ${what}`, {
      statusCode: response.statusCode,
      cause: response.data,
    });
  if (typeof body !== 'object' || body === null) throw malformed('not a JSON object');
  if (typeof body.accessToken !== 'string' || body.accessToken === '') throw malformed('accessToken must be a non-empty string');
  if (!isLifetime(body.expiresIn, 86_400)) throw malformed('expiresIn must be seconds in (0, 86400]');
  if (body.refreshToken !== undefined && typeof body.refreshToken !== 'string') throw malformed('refreshToken must be a string');
  if (body.refreshExpiresIn !== undefined && !isLifetime(body.refreshExpiresIn, 31_622_400))
    throw malformed('refreshExpiresIn must be seconds in (0, 31622400]');
  const user = body.user as LoginUser | undefined;
  if (user !== undefined && (typeof user !== 'object' || user === null || typeof user.id !== 'string'))
    throw malformed('user.id must be a string');
  return {
    accessToken: body.accessToken,
    expiresIn: body.expiresIn,
    refreshToken: body.refreshToken as string | undefined,
    refreshExpiresIn: body.refreshExpiresIn as number | undefined,
    user,
    isNewUser: body.isNewUser === true,
  };
}

/**
 * Turns a contract error answer into a `LoginError` with `backendCode` and `statusCode`: `RATE_LIMITED` (with
 * `retryAfterMs` from the body's `retryAfter` s, else the `Retry-After` header's, else 60 s), `USER_BLOCKED`,
 * `ACCOUNT_CONFLICT`, `DELETION_VETOED` (with the body's `reason`), `DELETION_REFUSED` (`IDENTITY_MISMATCH`), or
 * `LOGIN_FAILED` for every other code.
 */
function backendError(what: string, response: RequestResponse): LoginError {
  const body = (typeof response.data === 'object' && response.data !== null ? response.data : {}) as {
    message?: unknown;
    retryAfter?: unknown;
    reason?: unknown;
  };
  const backendCode = contractErrorCode(response.data);
  const message = `${what} failed with HTTP ${response.statusCode}${backendCode ? ` ${backendCode}` : ''}${typeof body.message === 'string' ? `: ${body.message}` : ''}`;
  const details = { statusCode: response.statusCode, backendCode, cause: response.data };
  if (backendCode === 'RATE_LIMITED') {
    const header = response.header || {};
    const retryAfter = Number(body.retryAfter ?? header['Retry-After'] ?? header['retry-after']) || 60;
    return new LoginError('RATE_LIMITED', message, { ...details, retryAfterMs: retryAfter * 1000 });
  }
  if (backendCode === 'USER_BLOCKED') return new LoginError('USER_BLOCKED', message, details);
  if (backendCode === 'ACCOUNT_CONFLICT') return new LoginError('ACCOUNT_CONFLICT', message, details);
  if (backendCode === 'DELETION_VETOED')
    return new LoginError(backendCode, message, { ...details, reason: typeof body.reason === 'string' ? body.reason : undefined });
  if (backendCode === 'IDENTITY_MISMATCH') return new LoginError('DELETION_REFUSED', message, details);
  return new LoginError('LOGIN_FAILED', message, details);
}

/**
 * The contract adapter. `login` posts `{source, ...request}` to `/auth/login` and maps the answer:
 * 200 → `{status:'ok'}`; 401 `USER_NOT_REGISTERED` → `{status:'needsUser', loginTicket, ticketExpiresIn}` (the
 * answer's `ticketExpiresIn` s, at most 300; 300 from a 1.2 backend);
 * any other answer → `LOGIN_FAILED` with `backendCode`. `refresh` posts `{refreshToken}` to `/auth/refresh`
 * (200 → new tokens; 401 `REFRESH_TOKEN_INVALID` → `LOGIN_FAILED` with that `backendCode` and `statusCode` 401).
 * `uploadAvatar` uploads the profile's temporary avatar to `/auth/avatar` (multipart `source`, `loginTicket`, then
 * `file`; or with `Authorization: Bearer` after a login) and returns its `avatarUrl`, or null when the backend answers
 * 404/405/501 (the upload is an optional capability of the contract). `logout` posts to `/auth/logout`.
 * `deleteAccount` posts `{source, code}` to `/auth/account/delete` with `Authorization: Bearer` (contract 1.4): 200 →
 * its `deleted` object; 404/405/501 → `DELETION_UNAVAILABLE`; other answers as `backendError` maps them.
 * URLs are relative to the kit's `baseURL`.
 */
export function createContractBackend(): LoginBackend {
  return {
    async login(request: BackendLoginRequest, context: BackendContext): Promise<BackendLoginResult> {
      const response = await context.request({
        url: '/auth/login',
        method: 'POST',
        header: { 'content-type': 'application/json' },
        data: { source: context.source, ...request },
      });
      if (response.statusCode === 200) return { status: 'ok', session: parseBackendSession(response) };
      if (response.statusCode === 401 && contractErrorCode(response.data) === 'USER_NOT_REGISTERED') {
        const { loginTicket, ticketExpiresIn } = response.data as { loginTicket?: unknown; ticketExpiresIn?: unknown };
        return {
          status: 'needsUser',
          loginTicket: typeof loginTicket === 'string' ? loginTicket : undefined,
          ticketExpiresIn: isLifetime(ticketExpiresIn, TICKET_SECONDS) ? ticketExpiresIn : TICKET_SECONDS,
        };
      }
      throw backendError('login', response);
    },
    async refresh(refreshToken: string, context: BackendContext): Promise<BackendSession> {
      const response = await context.request({
        url: '/auth/refresh',
        method: 'POST',
        header: { 'content-type': 'application/json' },
        data: { refreshToken },
      });
      if (response.statusCode === 200) return parseBackendSession(response);
      throw backendError('refresh', response);
    },
    async uploadAvatar(filePath: string, context: BackendContext, credentials: AvatarCredentials): Promise<string | null> {
      const response = await context.uploadFile({
        url: '/auth/avatar',
        filePath,
        name: 'file',
        formData: { source: context.source, ...(credentials.loginTicket ? { loginTicket: credentials.loginTicket } : {}) },
        header: credentials.accessToken ? { Authorization: `Bearer ${credentials.accessToken}` } : {},
      });
      if (NOT_OFFERED.indexOf(response.statusCode) >= 0) return null; // the optional capability is not implemented
      const avatarUrl = (response.data as { avatarUrl?: unknown } | null)?.avatarUrl;
      if (response.statusCode === 200 && typeof avatarUrl === 'string') return avatarUrl;
      throw backendError('avatar upload', response);
    },
    async bind(request: BindRequest, state: LoginState, context: BackendContext): Promise<LoginUser> {
      const response = await context.request({
        url: '/auth/bind',
        method: 'POST',
        header: { 'content-type': 'application/json', Authorization: `Bearer ${state.accessToken}` },
        data: { ...request },
      });
      const user = (response.data as { user?: LoginUser } | null)?.user;
      if (response.statusCode === 200 && user && typeof user.id === 'string') return user;
      throw backendError('bind', response);
    },
    async deleteAccount(request: DeleteAccountRequest, state: LoginState, context: BackendContext): Promise<AccountDeletion> {
      const response = await context.request({
        url: '/auth/account/delete',
        method: 'POST',
        header: { 'content-type': 'application/json', Authorization: `Bearer ${state.accessToken}` },
        data: { source: context.source, code: request.code },
      });
      const { statusCode, data } = response;
      if (NOT_OFFERED.indexOf(statusCode) >= 0)
        throw new LoginError('DELETION_UNAVAILABLE', `this backend does not offer account deletion (HTTP ${statusCode})`, { statusCode });
      // The account is gone once the backend says 200: an odd body does not make it a failure.
      const { deleted } = Object(data) as { deleted?: Partial<AccountDeletion> };
      if (statusCode === 200) return { sources: [], families: 0, avatars: 0, phone: false, unionid: false, ...deleted };
      throw backendError('account deletion', response);
    },
    async logout(state: LoginState, context: BackendContext): Promise<void> {
      const response = await context.request({
        url: '/auth/logout',
        method: 'POST',
        header: { 'content-type': 'application/json', Authorization: `Bearer ${state.accessToken}` },
        data: state.refreshToken ? { refreshToken: state.refreshToken } : {},
      });
      if (response.statusCode >= 300 && response.statusCode !== 401) throw backendError('logout', response);
    },
  };
}
