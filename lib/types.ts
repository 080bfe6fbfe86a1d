/**
 * Public types of the core. Times are stated per field: `...At` fields are epoch milliseconds (from the clock's
 * `now()`), `...In` fields are seconds as in the backend contract (`docs/contract.md` in this package: miniprogram-login-kit/docs/contract.md).
 */
import type { AccountDeletion } from './backend-types';
import type { LoginError } from './errors';

/**
 * How a call may log in.
 * - `common` (default): reuse a valid local session, else log in silently, else ask the user (login UI).
 * - `silent`: never shows UI; when the user must authorize, the login rejects with `AUTH_REQUIRED` (a normal outcome).
 * - `force`: ignore the local session and log in again (silent first, then the UI if the backend needs the user);
 *   the way to get a fresh session the backend agrees with, e.g. before a payment.
 */
export type LoginMode = 'common' | 'silent' | 'force';

/**
 * What the login UI asks the user for.
 * - `userInfo`: the classic `<button open-type="getUserInfo">` (anonymous profile since 2021, still signed data).
 * - `profile`: avatar (`open-type="chooseAvatar"`) and nickname (`<input type="nickname">`).
 * - `phone`: `<button open-type="getPhoneNumber">`; its one-time `code` is exchanged by the backend.
 */
export type AuthType = 'userInfo' | 'profile' | 'phone';

/** The texts of the login UI and what it asks for. Merged per call: defaults ← `config.tips` ← the page's `$loginUserAuthTips()` ← the call's `loginOpts.tips`. */
export interface AuthTips {
  /** Title of the permission-panel prompt after a refusal. */
  deniedTitle: string;
  /** Text of that prompt. */
  deniedContent: string;
  /** Its confirm button (opens the permission panel). */
  openSettingText: string;
  /** Text before the privacy contract's name in the privacy step. */
  privacyContent: string;
  /** The privacy step's agree button (`open-type="agreePrivacyAuthorization"`). */
  privacyAgreeText: string;
  /** The privacy step's disagree button. */
  privacyDisagreeText: string;
  /** Asks for a nickname in the profile form. */
  nicknamePlaceholder: string;
  /** Shown when the nickname is missing or WeChat's content check rejected it. */
  nicknameRejectedText: string;
  /** Shown when the avatar was not chosen. */
  avatarMissingText: string;
  /** Under the default avatar until one is chosen, and the avatar button's `aria-label`. */
  avatarHint: string;
  /** The profile form's submit button (it still asks for a nickname, so not "one-tap login"). */
  profileSubmitText: string;
  /** `phone` only: use `open-type="getRealtimePhoneNumber"` (the real-time check) instead of `getPhoneNumber`. */
  realtimePhone: boolean;
  /** Title of the AuthModal / heading of the login page. */
  title: string;
  /** Explanation shown under the title. */
  content: string;
  /** Text of the authorize button. */
  confirmText: string;
  /** Text of the cancel button. */
  cancelText: string;
  /** What the UI asks for. */
  authType: AuthType;
  /** Title of the confirmation before an account deletion (`Login.deleteAccount`, a `wx.showModal`). */
  deleteTitle: string;
  /** Its text: what deleting the account ends. */
  deleteContent: string;
  /** Its confirm button (in WeChat's warning red). */
  deleteConfirmText: string;
  /** Its cancel button. */
  deleteCancelText: string;
}

/** `getUserInfo` detail as WeChat delivers it in `bindgetuserinfo` (`e.detail`). */
export interface UserInfoAuthData {
  userInfo: { nickName: string; avatarUrl: string; [key: string]: unknown };
  rawData: string;
  signature: string;
  encryptedData: string;
  iv: string;
  cloudID?: string;
}

/**
 * Profile collected with `chooseAvatar` + `<input type="nickname">`. From the UI, `avatarUrl` is the temporary local
 * path; sent to the backend it is the uploaded (permanent) URL, or absent when the avatar was not uploaded.
 */
export interface ProfileAuthData {
  nickName: string;
  avatarUrl?: string;
}

/** Phone authorization: the one-time `code` from `bindgetphonenumber` (valid 5 minutes, exchanged by the backend). */
export interface PhoneAuthData {
  code: string;
}

/**
 * What every login UI (AuthModal, login page, custom handler) publishes on `userAuthHub` when it is done.
 * A cancel is `{succeeded: false, errMsg: '...cancel...'}`; a WeChat refusal keeps WeChat's `errMsg` ("auth deny").
 */
export type AuthResult =
  | { succeeded: true; authType: 'userInfo'; data: UserInfoAuthData; errMsg?: string }
  | { succeeded: true; authType: 'profile'; data: ProfileAuthData; errMsg?: string }
  | { succeeded: true; authType: 'phone'; data: PhoneAuthData; errMsg?: string }
  | { succeeded: false; authType?: AuthType; data?: undefined; errMsg: string; errno?: number };

/** What the core hands the login UI: the merged tips (`tips.authType` says what to ask for). */
export interface UserAuthRequest {
  tips: AuthTips;
  /**
   * Optional: the UI says how it is shown, for the funnel's `uiShown` event (the default page UI calls it; a custom UI
   * that does not is reported as `via: 'custom'`).
   */
  shown?: (info: { via: 'modal' | 'page'; route?: string }) => void;
}

/**
 * Shows a login UI and resolves with the user's answer. Must settle: resolve a cancel result when the UI is closed.
 * The kit also bounds it by `timeouts.userAuth`. Throwing or rejecting fails the login with `UI_UNAVAILABLE`
 * (a `LoginError` thrown by the handler is passed through unchanged).
 * Optional `follow(request)`: called (synchronously, any number of times) when another caller joins a login whose
 * question `request` — the object the handler received — is still waiting for the user, e.g. a page the user
 * navigated to asks for a login too (single flight joins it). The handler may then move the question to where the
 * user is, without answering it; its promise still settles the login. What it throws is logged and ignored. The
 * default page UI moves the question to the top page (`createPageUserAuthHandler`); a handler without `follow` is
 * left as it is.
 */
export interface UserAuthHandler {
  (request: UserAuthRequest): Promise<AuthResult>;
  /** Another caller joined the login whose question `request` still waits for the user: show it where the user is now. */
  follow?: (request: UserAuthRequest) => void;
}

/** The user as the backend describes it (contract `user` object); extra fields are kept. */
export interface LoginUser {
  id: string;
  nickName?: string;
  avatarUrl?: string;
  /** Contract 1.2: the user gave a profile (a nickname). A silently registered user has none yet. */
  profileComplete?: boolean;
  /** A phone number is bound to the account. */
  phoneBound?: boolean;
  [key: string]: unknown;
}

/** The local login state. Persisted in one storage key; never holds a `session_key` or a `wx.login` code. */
export interface LoginState {
  /** Sent as `Authorization: Bearer <accessToken>` by default. */
  accessToken: string;
  /** When the access token was received (epoch ms). */
  accessIssuedAt: number;
  /** When the access token expires (epoch ms), from the backend's `expiresIn` (s). */
  accessExpiresAt: number;
  /** Rotating refresh token, when the backend issues one. */
  refreshToken?: string;
  /** When the refresh token expires (epoch ms). */
  refreshExpiresAt?: number;
  /** The user, or `null` when the backend sent none. */
  user: LoginUser | null;
  /** True when this session came from a login that registered the user. */
  isNewUser: boolean;
}

/** Options of `login()`. */
export interface LoginCallOptions {
  /** Default `common`. */
  mode?: LoginMode;
  /** Tips for this call, merged over config and page tips. */
  tips?: Partial<AuthTips>;
}

/** Response of a request, as `wx.request`'s `success` gives it. The kit resolves with it for any HTTP status. */
export interface RequestResponse<T = unknown> {
  statusCode: number;
  data: T;
  header: Record<string, string>;
}

/**
 * The answer of a request as the kit's session rule reads it (`wx.request`'s `success` shape; axios: `{statusCode:
 * status, data, header: headers}`).
 */
export interface AnswerLike {
  statusCode: number;
  data?: unknown;
  header?: Record<string, string>;
}

/** HTTP methods `wx.request` accepts. */
export type RequestMethod = NonNullable<WechatMiniprogram.RequestOption['method']>;

/**
 * A request as the kit sends it: every `wx.request` option of miniprogram-api-typings (`url`, `method`, `data`,
 * `header`, `timeout` in ms, `dataType`, `responseType`, `enableHttp2`, `enableQuic`, `enableCache`, `enableChunked`,
 * `redirect`, ...) reaches `wx.request` unchanged, except the callbacks, which the kit owns. `url` is absolute
 * (`https://...`) or relative to `config.baseURL`; `timeout` defaults to `config.timeouts.request`.
 */
export type RequestOptions = Omit<WechatMiniprogram.RequestOption, 'success' | 'fail' | 'complete'>;

/**
 * What `onTask` gives the caller: the request across its attempts (the first send and any replay). `abort()` settles
 * the call with `ABORTED` at once and frees its slot (while it waits for a login, in the queue, or in flight); the
 * listeners are forwarded to every WeChat task the call creates (`onChunkReceived` makes `enableChunked` useful;
 * `onProgressUpdate` is for uploads and downloads).
 */
export interface RequestTaskHandle {
  /** Aborts the call; it rejects with `ABORTED`. A no-op once it settled. */
  abort(): void;
  /** `RequestTask.onHeadersReceived`: the response headers, before the body. */
  onHeadersReceived(listener: (result: unknown) => void): void;
  /** Removes one listener, or all without an argument. */
  offHeadersReceived(listener?: (result: unknown) => void): void;
  /** `RequestTask.onChunkReceived` (with `enableChunked: true`): each chunk as it arrives. */
  onChunkReceived(listener: (result: unknown) => void): void;
  /** Removes one listener, or all without an argument. */
  offChunkReceived(listener?: (result: unknown) => void): void;
  /** `UploadTask` / `DownloadTask` `onProgressUpdate`: `{progress, totalBytesSent, ...}`. */
  onProgressUpdate(listener: (result: unknown) => void): void;
  /** Removes one listener, or all without an argument. */
  offProgressUpdate(listener?: (result: unknown) => void): void;
}

/** What `requestWithLogin`, `uploadFile` and `downloadFile` take beside WeChat's own options. */
export interface CallOptions {
  /** How the call may log in (mode, tips), and what it requires of the user (`require`: a step-up first). */
  loginOpts?: LoginCallOptions & { require?: 'profile' | 'phone' };
  /** `false`: a "session expired" answer is returned as it is — no refresh, no re-login, no replay. Default `true`. */
  reTry?: boolean;
  /** Called at once with the call's task handle (abort, headers/chunk/progress listeners). */
  onTask?: (task: RequestTaskHandle) => void;
  /**
   * Shows WeChat's loading toast (`wx.showLoading`, with this title; `true`: "加载中") while the call — and any login
   * it needs — runs; hidden when it settles, success or failure, and while the login UI is on screen.
   */
  showLoading?: boolean | string;
}

/** Options of `requestWithLogin()`: a request plus how it may log in. */
export interface RequestWithLoginOptions extends RequestOptions, CallOptions {}

/** Options of `uploadFile()`: `wx.uploadFile`'s (`url`, `filePath`, `name`, `formData`, `header`, `timeout` ms, ...) plus the call options. */
export type UploadFileWithLoginOptions = UploadOptions & CallOptions;

/** `wx.downloadFile` options of miniprogram-api-typings (`url`, `header`, `filePath`, `timeout` ms, ...) without the callbacks. */
export type DownloadOptions = Omit<WechatMiniprogram.DownloadFileOption, 'success' | 'fail' | 'complete'>;

/** Options of `downloadFile()`. */
export type DownloadFileWithLoginOptions = DownloadOptions & CallOptions;

/** What `downloadFile()` resolves with, for any HTTP status: the file WeChat saved. */
export interface DownloadResponse extends RequestResponse<undefined> {
  /** The temporary file (when no `filePath` was given). */
  tempFilePath?: string;
  /** The file path given in the options. */
  filePath?: string;
}

/** What a hook is told about the call. */
export interface HookContext {
  kind: 'request' | 'uploadFile' | 'downloadFile';
}

/**
 * Runs before each call is queued (e.g. add a trace id or an app-version header, sign the request); may return
 * replacement options. Async allowed; what it throws rejects the call as it is. The credentials are added later, at
 * dispatch.
 */
export type BeforeRequestHook = (request: RequestOptions, context: HookContext) => RequestOptions | void | Promise<RequestOptions | void>;

/**
 * Runs on the final response (after any renewal and replay), e.g. to unwrap a `{code, data, message}` envelope or map
 * a business code to a typed error by throwing it; may return a replacement response. Async allowed.
 */
export type AfterResponseHook = (
  response: RequestResponse,
  request: RequestOptions,
  context: HookContext,
) => RequestResponse | void | Promise<RequestResponse | void>;

/** One call's timing, for analytics (times epoch ms). */
export interface TimingReport {
  kind: 'request' | 'uploadFile' | 'downloadFile';
  url: string;
  method: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** The final HTTP status, when there was an answer. */
  statusCode?: number;
  /** The `LoginError` code, when the call failed. */
  error?: string;
  /** Replays after "session expired" answers. */
  replays: number;
}

/** Hooks around every `requestWithLogin` / `uploadFile` / `downloadFile`, in the style of ky's `hooks`. */
export interface Hooks {
  beforeRequest?: BeforeRequestHook[];
  afterResponse?: AfterResponseHook[];
  /** Called once per call when it settles (errors it throws are logged). */
  onTiming?: (report: TimingReport) => void;
}

/** Sends one HTTP request through the kit's transport (bounded by a timeout and the concurrency limit). */
export type Transport = <T = unknown>(options: RequestOptions) => Promise<RequestResponse<T>>;

/** `wx.uploadFile` options of miniprogram-api-typings (`url`, `filePath`, `name`, `formData`, `header`, `timeout` ms, ...) without the callbacks. */
export type UploadOptions = Omit<WechatMiniprogram.UploadFileOption, 'success' | 'fail' | 'complete'>;

/** Uploads a local file with `wx.uploadFile` through the kit (bounded, limited, typed errors); `data` parsed when JSON. */
export type Uploader = (upload: UploadOptions) => Promise<RequestResponse>;

// The backend adapter's types (contract words), kept in ./backend-types and re-exported here.
export type {
  BackendLoginRequest,
  BackendSession,
  BackendLoginResult,
  AvatarCredentials,
  BackendContext,
  LoginBackend,
  DeleteAccountRequest,
  AccountDeletion,
  BindRequest,
} from './backend-types';

/**
 * Events of `onStateChange`, each fired once per occurrence (not once per waiting caller):
 * - `login`: a new session from a login (`isNewUser` when the backend registered the user);
 * - `loginFailed`: a login (or renewal) ended without a session;
 * - `sessionExpired`: the backend answered "expired" for the current access token;
 * - `refreshStart` / `refreshEnd`: one refresh-token exchange (`state` on success, `error` on failure);
 * - `relogin`: a session could not be refreshed (no refresh token, or it was rejected) and the kit logs in again;
 * - `logout`: `logout()` ended a session;
 * - `stepUp`: the user added a profile or a phone number (`Login.require`);
 * - `accountDeleted`: the backend deleted the account (`Login.deleteAccount`; `deleted` says what it erased), after the
 *   local logout (whose `logout` event comes first);
 * - `uiShown` / `uiAnswered`: the login funnel — the UI shown (`authType`, modal or page, the page route), then the
 *   user's answer with the time (ms) the UI was open and whether the privacy agreement was refused;
 * - `storageFailed`: storage refused a new session (full): it lives in memory, and storage holds none.
 */
export type LoginEvent =
  | { type: 'login'; state: LoginState; isNewUser: boolean; timings: LoginTimings }
  | { type: 'loginFailed'; error: LoginError }
  | { type: 'sessionExpired' }
  | { type: 'refreshStart' }
  | { type: 'refreshEnd'; state?: LoginState; error?: LoginError }
  | { type: 'relogin' }
  | { type: 'logout' }
  | { type: 'storageFailed' }
  | { type: 'stepUp'; kind: 'profile' | 'phone'; user: LoginUser }
  | { type: 'accountDeleted'; deleted: AccountDeletion }
  | { type: 'uiShown'; authType: AuthType; via: 'modal' | 'page' | 'custom'; route?: string }
  | { type: 'uiAnswered'; authType: AuthType; succeeded: boolean; errMsg?: string; privacyRefused: boolean; openMs: number };

/** Per-step durations (ms) of one login: `wx.login` calls, backend calls, and the user in the login UI. */
export interface LoginTimings {
  wxLoginMs: number;
  backendMs: number;
  uiMs: number;
  totalMs: number;
}

/** Receives `LoginEvent`s. Errors it throws are caught and logged. */
export type LoginEventListener = (event: LoginEvent) => void;
