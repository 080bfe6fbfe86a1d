/**
 * The framework-free core of miniprogram-login-kit (`miniprogram-login-kit/lib`). Most apps import the package entry
 * instead, which adds the default page UI (`Login`, `createLogin`, `userAuthHub`); this module is for custom UIs.
 * Runtime values: `LoginKit`, `LoginError`, `isLoginError`, `createContractBackend`, `defaultIsSessionExpired`,
 * `DEFAULT_AUTH_TIPS`, `realtimeLog`; everything else is types.
 */
export { LoginKit } from './login-kit';
export { defaultIsSessionExpired } from './options';
export type { Backoff, LoginOptions, LoginTimeouts, PrivacySetup } from './options';
export type { RequireOptions, StepUpKind } from './step-up';
export type { DeleteAccountOptions } from './account';
export type { AuthorizeOptions, Authorized, LoginHandle, ReplayDecision } from './request-gate';
export type { CallKind } from './transport';
export { LoginError, isLoginError } from './errors';
export type { LoginErrorCode, LoginErrorDetails } from './errors';
export { createContractBackend } from './contract-backend';
export { DEFAULT_AUTH_TIPS } from './tips';
export { realtimeLog } from './realtime-log';
export type { RealtimeLog, RealtimeLogManagerLike } from './realtime-log';
export type { AuthSettingLike, Clock, Logger, WxAdapter, WxFailResult, WxRequestOptions } from './runtime';
export type {
  AgreePrivacyAuthorizationDetail,
  ChooseAvatarDetail,
  GetPhoneNumberDetail,
  NeedPrivacyAuthorizationListener,
  NicknameReviewDetail,
  PrivacyEventInfo,
  PrivacyResolveOption,
  PrivacySetting,
} from './wechat-types';
export type {
  AccountDeletion,
  AfterResponseHook,
  AnswerLike,
  BeforeRequestHook,
  CallOptions,
  DownloadFileWithLoginOptions,
  DownloadOptions,
  DownloadResponse,
  HookContext,
  Hooks,
  LoginTimings,
  TimingReport,
  UploadFileWithLoginOptions,
  AuthResult,
  AuthTips,
  AuthType,
  BindRequest,
  DeleteAccountRequest,
  AvatarCredentials,
  BackendContext,
  BackendLoginRequest,
  BackendLoginResult,
  BackendSession,
  LoginBackend,
  LoginCallOptions,
  LoginEvent,
  LoginEventListener,
  LoginMode,
  LoginState,
  LoginUser,
  PhoneAuthData,
  ProfileAuthData,
  RequestMethod,
  RequestOptions,
  RequestResponse,
  RequestTaskHandle,
  RequestWithLoginOptions,
  Transport,
  Uploader,
  UploadOptions,
  UserAuthHandler,
  UserAuthRequest,
  UserInfoAuthData,
} from './types';
