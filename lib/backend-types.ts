/**
 * The backend adapter's types — `LoginBackend` and what it sends and receives — in the words of the backend contract
 * (`docs/contract.md` in this package). Re-exported by `./types`. `...In` fields are seconds, as in the contract.
 */
import type { LoginState, LoginUser, ProfileAuthData, Transport, Uploader } from './types';

/** What the backend adapter sends to log in (contract `POST /auth/login`; `source` is added by the adapter). */
export interface BackendLoginRequest {
  mode: 'silent' | 'authorize';
  code?: string;
  loginTicket?: string;
  profile?: ProfileAuthData;
  userInfo?: { rawData: string; signature: string; encryptedData: string; iv: string };
  phoneCode?: string;
}

/** Tokens the backend issued (contract 200 body; `...In` in seconds). */
export interface BackendSession {
  accessToken: string;
  expiresIn: number;
  refreshToken?: string;
  refreshExpiresIn?: number;
  user?: LoginUser;
  isNewUser?: boolean;
}

/** A backend login outcome: a session, or "this user must authorize first" with a ticket to skip a second `wx.login`. */
export type BackendLoginResult =
  { status: 'ok'; session: BackendSession } | { status: 'needsUser'; loginTicket?: string; ticketExpiresIn?: number };

/** What authorizes an avatar upload (contract `POST /auth/avatar`): the login ticket, or an access token. */
export interface AvatarCredentials {
  /** Before the authorize call: the ticket of the `USER_NOT_REGISTERED` answer (not consumed by the upload). */
  loginTicket?: string;
  /** After a login: the new access token. */
  accessToken?: string;
}

/** What the kit gives a backend adapter to talk HTTP with. */
export interface BackendContext {
  source: string;
  request: Transport;
  uploadFile: Uploader;
}

/**
 * Talks to the app's login backend. The default (`createContractBackend`) speaks the backend contract, `docs/contract.md` (shipped in this package).
 * Methods reject with `LoginError` (`LOGIN_FAILED` with `backendCode`, `NETWORK_ERROR`, `TIMEOUT`); a backend code
 * `INVALID_CODE` makes the kit retry once with a fresh code, `INVALID_TICKET` makes it fall back to a fresh code.
 */
export interface LoginBackend {
  /** One backend login (contract `POST /auth/login`): a session, or "needs the user" with a ticket. */
  login(request: BackendLoginRequest, context: BackendContext): Promise<BackendLoginResult>;
  /**
   * Exchanges a refresh token for new tokens (contract `POST /auth/refresh`; refresh tokens rotate). A rejection with
   * an HTTP 4xx `statusCode` (e.g. `REFRESH_TOKEN_INVALID`) makes the kit fall back to a silent login; any other
   * failure (network, timeout, 5xx) fails every waiting request with that error and keeps the refresh token.
   */
  refresh?(refreshToken: string, context: BackendContext): Promise<BackendSession>;
  /**
   * Uploads the temporary avatar of a profile login (`chooseAvatar` gives a local path) and resolves with its
   * permanent URL, or null when the backend does not offer uploads (contract: an optional capability; 404). Called
   * before the authorize step with the `loginTicket`, or after the login with the new `accessToken` (the backend then
   * stores it as the user's avatar). Without it, profile logins send the nickname only.
   */
  uploadAvatar?(filePath: string, context: BackendContext, credentials: AvatarCredentials): Promise<string | null>;
  /** Revokes the session server-side; failures are logged, never block the local logout. */
  logout?(state: LoginState, context: BackendContext): Promise<void>;
  /**
   * Step-up (contract 1.2 `POST /auth/bind`, with the access token of `state`): adds a profile or a phone number to
   * the logged-in user and resolves with the updated user. Rejects with `statusCode` 401 when the token expired (the
   * kit renews it and binds once more) and `ACCOUNT_CONFLICT` (409) when the phone belongs to another account.
   */
  bind?(request: BindRequest, state: LoginState, context: BackendContext): Promise<LoginUser>;
  /**
   * Deletes the logged-in user's account (contract 1.4 `POST /auth/account/delete`, with the access token of `state`
   * and a fresh `wx.login` code) and resolves with what was erased. Rejects with `statusCode` 401 when the token expired
   * (the kit renews it and tries once more, with another fresh code), a `backendCode` `INVALID_CODE` (one more fresh
   * code), `DELETION_REFUSED`, `DELETION_VETOED` (`reason`), `DELETION_UNAVAILABLE` (404/405/501), `RATE_LIMITED`.
   */
  deleteAccount?(request: DeleteAccountRequest, state: LoginState, context: BackendContext): Promise<AccountDeletion>;
}

/** What an account deletion sends to the backend (contract 1.4 `POST /auth/account/delete`; `source` is added by the adapter). */
export interface DeleteAccountRequest {
  /** A `wx.login` code made for this request (never a cached code or the login ticket): the proof it is the user. */
  code: string;
}

/** What the backend erased (contract 1.4, the `deleted` object of the 200 answer). */
export interface AccountDeletion {
  /** The mini-programs (`source`s) whose links to the account ended: every one of its unionid family. */
  sources: string[];
  /** How many refresh-token families ended. */
  families: number;
  /** How many avatar files were removed. */
  avatars: number;
  /** A phone-number binding was removed (the number can be bound by another account). */
  phone: boolean;
  /** A unionid link was removed. */
  unionid: boolean;
}

/** What a step-up sends to the backend: exactly one of them. */
export interface BindRequest {
  profile?: ProfileAuthData;
  phoneCode?: string;
}
