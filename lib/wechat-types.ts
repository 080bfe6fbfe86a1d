/**
 * WeChat types that miniprogram-api-typings 5.2.x lacks (its JSDoc covers base library 3.17), declared
 * and exported by the kit. Shapes from the WeChat docs named on each.
 */

/** `resolve` argument of `wx.onNeedPrivacyAuthorization` ("wx.onNeedPrivacyAuthorization", base library >= 2.32.3). */
export type PrivacyResolveOption =
  /** The custom privacy popup was shown. */
  | { event: 'exposureAuthorization' }
  /** The user tapped the `<button open-type="agreePrivacyAuthorization" id={buttonId}>`; the base library checks that tap. */
  | { event: 'agree'; buttonId: string }
  /** The user refused: the pending API fails with `<api>:fail privacy permission is not authorized`. */
  | { event: 'disagree' };

/** Second argument of the privacy listener: `referrer` names the trigger, e.g. `"getUserProfile"`, `"button.getPhoneNumber"`. */
export interface PrivacyEventInfo {
  referrer: string;
}

/** The listener `wx.onNeedPrivacyAuthorization` takes. Registering one replaces the previous one. */
export type NeedPrivacyAuthorizationListener = (resolve: (option: PrivacyResolveOption) => void, eventInfo: PrivacyEventInfo) => void;

/** `wx.getPrivacySetting` success result. */
export interface PrivacySetting {
  needAuthorization: boolean;
  privacyContractName: string;
}

/** `e.detail` of `<button open-type="chooseAvatar" bindchooseavatar>` (base library >= 2.21.2): a temporary file path. */
export interface ChooseAvatarDetail {
  avatarUrl: string;
}

/** `e.detail` of `<input type="nickname" bindnicknamereview>` (base library >= 2.29.1): the content check's verdict. */
export interface NicknameReviewDetail {
  pass: boolean;
  timeout: boolean;
}

/** `e.detail` of `bindagreeprivacyauthorization`. */
export interface AgreePrivacyAuthorizationDetail {
  errMsg?: string;
}

/**
 * `e.detail` of `bindgetphonenumber` and `bindgetrealtimephonenumber`: a one-time `code` (5 minutes, base library >=
 * 2.21.2) on success; `errno` 1400001 when the app's paid quota is used up (since 2023-08-28).
 */
export interface GetPhoneNumberDetail {
  errMsg: string;
  errno?: number;
  code?: string;
  encryptedData?: string;
  iv?: string;
}

/** `errno` of a phone-number authorization when the app's quota is used up. */
export const PHONE_QUOTA_ERRNO = 1400001;
