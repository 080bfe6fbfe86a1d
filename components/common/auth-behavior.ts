/**
 * What the AuthModal and the login page share: turning WeChat's button events into the `AuthResult`, the profile
 * form (chooseAvatar + nickname, with the content check's verdict), and the privacy step. Each component provides
 * `finish(result)`, which publishes the result; this behaviour never publishes by itself.
 */
import { cancelledResult, resultFromPhoneNumber, resultFromUserInfo, type GetUserInfoDetail } from './auth-events';
import { PRIVACY_AGREE_BUTTON_ID, privacyRouter, type PrivacyRequest, type PrivacyWx } from '../../hub/privacy';
import { supports } from '../../lib/base-library';
import { globalWx } from '../../lib/runtime';
import type { AuthResult, AuthTips } from '../../lib/types';
import type { ChooseAvatarDetail, GetPhoneNumberDetail, NicknameReviewDetail } from '../../lib/wechat-types';

/** The instance as the behaviour sees it: its data, the component's `finish`, and private fields. */
interface AuthUi {
  data: {
    tips: AuthTips;
    profile: { avatarUrl: string; nickName: string; hint: string };
    privacy: { visible: boolean; contractName: string };
  };
  setData(data: Record<string, unknown>): void;
  finish(result: AuthResult): void;
  privacyRequest?: PrivacyRequest | null;
  withdrawPrivacy?: (() => void) | null;
  /** A token per showing (`showAuthUi` → `hideAuthUi`): a late callback of an earlier showing answers nothing. */
  showing?: object | null;
}

/** The global `wx` (absent in some hosts), seen as its privacy APIs (absent below base library 2.32.3). */
const privacyWx = (): PrivacyWx => globalWx<PrivacyWx>() ?? {};

const ui = (instance: unknown) => instance as AuthUi;

export const EMPTY_PROFILE = { avatarUrl: '', nickName: '', hint: '' };

/** The avatar shown until the user picks one: a neutral silhouette (SVG, as a data URI: nothing to download). */
const DEFAULT_AVATAR =
  'data:image/svg+xml;base64,' +
  'PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA2NCA2NCI+PHJlY3Qgd2lkdGg9IjY0IiBoZWlnaHQ9IjY0IiBmaWxsPSIjZGRkIi8+PGNpcmNsZSBjeD0iMzIiIGN5PSIyNCIgcj0iMTIiIGZpbGw9IiNmZmYiLz48cGF0aCBkPSJNMTAgNTZjMi0xMiAxMS0xOCAyMi0xOHMyMCA2IDIyIDE4eiIgZmlsbD0iI2ZmZiIvPjwvc3ZnPg==';

/** The `AuthResult` of a refusal in WeChat's official privacy popup (the core reports it as `PRIVACY_DENIED`). */
const privacyRefused = (errMsg: string | undefined): AuthResult => ({
  succeeded: false,
  authType: 'profile',
  errMsg: `requirePrivacyAuthorize:fail privacy permission is not authorized (${errMsg ?? 'refused'})`,
});

export const authBehavior = Behavior({
  data: {
    profile: { ...EMPTY_PROFILE },
    privacy: { visible: false, contractName: '' },
    defaultAvatar: DEFAULT_AVATAR,
    legacyProfile: false,
  },
  lifetimes: {
    detached() {
      const self = ui(this);
      if (self.withdrawPrivacy) self.withdrawPrivacy();
      self.withdrawPrivacy = null;
    },
  },
  methods: {
    /**
     * The UI is visible: clears the profile form. With `privacy: 'kit'`, privacy requests come here until `hideAuthUi`.
     * With WeChat's official popup (the default), the profile form first asks `wx.requirePrivacyAuthorize` (a nickname
     * input does not raise the popup by itself); a refusal there finishes the UI with a privacy refusal.
     */
    showAuthUi(authType: AuthTips['authType']) {
      const self = ui(this);
      const showing = (self.showing = {});
      self.setData({ profile: { ...EMPTY_PROFILE }, legacyProfile: !supports(globalWx(), 'chooseAvatar') });
      if (privacyRouter.mode === 'kit') {
        if (!self.withdrawPrivacy) self.withdrawPrivacy = privacyRouter.present((request) => this.showPrivacy(request));
        return;
      }
      const requirePrivacyAuthorize = privacyWx().requirePrivacyAuthorize;
      if (authType !== 'profile' || typeof requirePrivacyAuthorize !== 'function') return;
      // The refusal answers this showing's question only: not a question shown after it (the modal's next one).
      requirePrivacyAuthorize({ fail: (error) => self.showing === showing && self.finish(privacyRefused(error && error.errMsg)) });
    },
    hideAuthUi() {
      const self = ui(this);
      self.showing = null;
      if (self.withdrawPrivacy) self.withdrawPrivacy();
      self.withdrawPrivacy = null;
      self.privacyRequest = null;
      self.setData({ 'privacy.visible': false });
    },
    /** Shows the agreement for `request` and reports the exposure once. */
    showPrivacy(request: PrivacyRequest) {
      const self = ui(this);
      self.privacyRequest = request;
      self.setData({ privacy: { visible: true, contractName: '《隐私保护指引》' } });
      const getPrivacySetting = privacyWx().getPrivacySetting;
      if (typeof getPrivacySetting === 'function') {
        getPrivacySetting({
          success: (setting) => setting.privacyContractName && self.setData({ 'privacy.contractName': setting.privacyContractName }),
        });
      }
      request.resolve({ event: 'exposureAuthorization' });
    },
    onAgreePrivacy() {
      const self = ui(this);
      const request = self.privacyRequest;
      self.privacyRequest = null;
      self.setData({ 'privacy.visible': false });
      if (request) request.resolve({ event: 'agree', buttonId: PRIVACY_AGREE_BUTTON_ID });
    },
    onDisagreePrivacy() {
      const self = ui(this);
      const request = self.privacyRequest;
      self.privacyRequest = null;
      self.setData({ 'privacy.visible': false });
      if (request) request.resolve({ event: 'disagree' });
      self.finish({
        succeeded: false,
        authType: self.data.tips.authType,
        errMsg: 'privacy:fail privacy permission is not authorized (the user disagreed)',
      });
    },
    onOpenPrivacyContract() {
      const open = privacyWx().openPrivacyContract;
      if (typeof open === 'function') open({});
    },
    onGetUserInfo(event: { detail: GetUserInfoDetail }) {
      ui(this).finish(resultFromUserInfo(event.detail));
    },
    /** The profile fallback below base library 2.21.2: `wx.getUserProfile` from the tap (an anonymous, signed profile). */
    onGetUserProfile() {
      const self = ui(this);
      const getUserProfile = globalWx<{ getUserProfile?: (o: object) => void }>()?.getUserProfile;
      if (typeof getUserProfile !== 'function') return self.finish(cancelledResult('profile', 'no wx.getUserProfile'));
      const showing = self.showing;
      const answer = (result: AuthResult) => self.showing === showing && self.finish(result);
      getUserProfile({
        desc: self.data.tips.content || self.data.tips.title,
        success: (detail: GetUserInfoDetail) => answer(resultFromUserInfo(detail)),
        fail: (error: { errMsg?: string }) =>
          answer(resultFromUserInfo({ errMsg: error && error.errMsg ? error.errMsg : 'getUserProfile:fail' })),
      });
    },
    /** `bindgetphonenumber` and `bindgetrealtimephonenumber`. */
    onGetPhoneNumber(event: { detail: GetPhoneNumberDetail }) {
      ui(this).finish(resultFromPhoneNumber(event.detail));
    },
    onChooseAvatar(event: { detail: ChooseAvatarDetail }) {
      ui(this).setData({ 'profile.avatarUrl': event.detail.avatarUrl, 'profile.hint': '' });
    },
    /** WeChat's content check rejected the nickname: it is cleared, so ask again rather than lose it silently. */
    onNicknameReview(event: { detail: NicknameReviewDetail }) {
      const self = ui(this);
      if (!event.detail.pass) self.setData({ 'profile.nickName': '', 'profile.hint': self.data.tips.nicknameRejectedText });
    },
    /** The form's submit carries the nickname as it is after the content check (cleared when rejected). */
    onProfileSubmit(event: { detail: { value: { nickName?: string } } }) {
      const self = ui(this);
      const nickName = String(event.detail.value.nickName ?? '').trim();
      const { avatarUrl } = self.data.profile;
      if (!avatarUrl) return self.setData({ 'profile.hint': self.data.tips.avatarMissingText });
      if (!nickName) return self.setData({ 'profile.nickName': '', 'profile.hint': self.data.tips.nicknameRejectedText });
      self.finish({ succeeded: true, authType: 'profile', errMsg: 'profile:ok', data: { nickName, avatarUrl } });
    },
    onCancel() {
      const self = ui(this);
      self.finish(cancelledResult(self.data.tips.authType, 'the user closed the login UI'));
    },
  },
});
