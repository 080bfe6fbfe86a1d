/**
 * The framework-free core of miniprogram-login-kit. Most apps import the package entry instead, which adds the
 * default page UI (`Login`, `createLogin`, `userAuthHub`); this module is for custom UIs and tests.
 */
export { LoginKit, defaultIsSessionExpired } from './login-kit';
export type { LoginOptions, LoginTimeouts } from './login-kit';
export { LoginError, isLoginError, PACKAGE_NAME } from './errors';
export type { LoginErrorCode, LoginErrorDetails } from './errors';
export { createContractBackend, parseBackendSession, backendError, contractErrorCode } from './contract-backend';
export { DEFAULT_AUTH_TIPS, mergeTips } from './tips';
export { Limiter } from './limiter';
export { systemClock } from './runtime';
export type { AuthSettingLike, Clock, Logger, WxAdapter, WxFailResult, WxRequestOptions } from './runtime';
export { PHONE_QUOTA_ERRNO } from './wechat-types';
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
  AuthResult,
  AuthTips,
  AuthType,
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
  RequestWithLoginOptions,
  Transport,
  Uploader,
  UserAuthHandler,
  UserAuthRequest,
  UserInfoAuthData,
} from './types';
