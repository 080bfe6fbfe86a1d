/**
 * The kit's login UI as a user answers it, wherever it shows (the AuthModal on the page, or the login page): the
 * avatar, the nickname, the submit, the cancel, the user-info and phone-number buttons, the privacy agreement. Each
 * action is the event WeChat would deliver, with what WeChat's stand-in gives that user (signed user info, a
 * one-time phone code, a temporary avatar file).
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { Backend } from './backend';

/** A rendered node of miniprogram-simulate. */
export interface UINode {
  /** Its DOM element (jsdom). */
  dom: { textContent: string | null };
  querySelector(selector: string): UINode | null;
  dispatchEvent(name: string, init?: object): void;
}

/** What a `KitUI` needs from the launched app's `wx`: the permission switches and WeChat's privacy check. */
export interface KitUIWx {
  authSetting: { 'scope.userInfo'?: boolean };
  needPrivacy(referrer: string): Promise<{ event: string }>;
}

/** What a `KitUI` needs from the launched app. */
export interface KitUIContext {
  wx: KitUIWx;
  user: string;
  backend: Backend;
  /** The first node matching the selector inside the kit's UI, or null. */
  find(selector: string): UINode | null;
  wait<T>(what: string, probe: () => T | null | undefined | false): Promise<T>;
  /** Whether the user agreed to the privacy agreement already (set when they do). */
  privacy: { agreed: boolean };
}

/** A 1×1 PNG: what `chooseAvatar` gives, as a temporary file. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201ffa65c9c0000000049454e44ae426082',
  'hex',
);

/** The kit's login UI on the top page. Every action waits (bounded) for its control to show. */
export class KitUI {
  private nickName = '';

  /** @internal built by `launchApp`. */
  constructor(private readonly ctx: KitUIContext) {}

  /** The title it shows (the merged tips: the page's `$loginUserAuthTips`, the config, the defaults). */
  title(): string | null {
    return this.text('.lk-auth__title');
  }

  /** The content line it shows. */
  content(): string | null {
    return this.text('.lk-auth__content');
  }

  /** Whether it asks for a profile (avatar and nickname form). */
  asksForProfile(): boolean {
    return this.ctx.find('.lk-auth__profile') !== null;
  }

  /** Whether the privacy agreement shows in it (the app opted in with `privacy: 'kit'`). */
  showsPrivacy(): boolean {
    return this.ctx.find('#lk-agree-privacy') !== null;
  }

  /**
   * The user taps the avatar button and picks a photo (default: a 1×1 PNG in a temporary file). Before the user agreed
   * to the privacy agreement, WeChat asks first: resolves `false` when the user refuses it, else `true` once chosen.
   */
  async chooseAvatar(file?: string): Promise<boolean> {
    const button = await this.control('.lk-auth__avatar', 'the avatar button');
    if (!(await this.privacyFirst('chooseAvatar'))) return false;
    let avatarUrl = file;
    if (!avatarUrl) {
      avatarUrl = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lk-avatar-')), 'avatar.png');
      fs.writeFileSync(avatarUrl, PNG);
    }
    button.dispatchEvent('chooseavatar', { detail: { avatarUrl } });
    return true;
  }

  /** The user types `nickName` in the nickname field (sent with `submit()`). */
  async typeNickname(nickName: string): Promise<void> {
    await this.control('.lk-auth__nickname', 'the nickname field');
    this.nickName = nickName;
  }

  /** The user submits the profile form (with the typed nickname). */
  async submit(): Promise<void> {
    const form = await this.control('.lk-auth__profile', 'the profile form');
    form.dispatchEvent('submit', { detail: { value: { nickName: this.nickName } } });
  }

  /** Chooses an avatar, types `nickName` and submits: a new user's whole profile step. Resolves false when privacy was refused. */
  async completeProfile(nickName: string): Promise<boolean> {
    if (!(await this.chooseAvatar())) return false;
    await this.typeNickname(nickName);
    await this.submit();
    return true;
  }

  /** The user taps the cancel button. */
  async cancel(): Promise<void> {
    (await this.control('.lk-auth__actions .lk-auth__cancel', 'the cancel button')).dispatchEvent('tap');
  }

  /**
   * The user taps the user-info button and allows (WeChat's signed user info for this user, as the stand-in signs it).
   * Resolves false when the user refused the privacy agreement WeChat asked for first.
   */
  async allowUserInfo(): Promise<boolean> {
    const button = await this.control('.lk-auth__confirm', 'the user-info button');
    if (!(await this.privacyFirst('button.getUserInfo'))) return false;
    button.dispatchEvent('getuserinfo', { detail: await this.ctx.backend.wechat.userInfoDetail(this.ctx.user) });
    return true;
  }

  /**
   * The user taps the user-info button and refuses: WeChat then remembers the refusal (`scope.userInfo: false`); the
   * kit offers the permission panel, answered as `LaunchedApp.permissions` says.
   */
  async refuseUserInfo(): Promise<void> {
    const button = await this.control('.lk-auth__confirm', 'the user-info button');
    this.ctx.wx.authSetting = { ...this.ctx.wx.authSetting, 'scope.userInfo': false };
    button.dispatchEvent('getuserinfo', { detail: { errMsg: 'getUserInfo:fail auth deny' } });
  }

  /**
   * The user taps the phone-number button and allows: a one-time code for `phone` (default the stand-in's
   * `13800138000`). Resolves false when the user refused the privacy agreement WeChat asked for first.
   */
  async givePhoneNumber(phone?: string): Promise<boolean> {
    const button = await this.control('.lk-auth__confirm', 'the phone-number button');
    if (!(await this.privacyFirst('button.getPhoneNumber'))) return false;
    const detail = await this.ctx.backend.wechat.phoneDetail(this.ctx.user, phone);
    button.dispatchEvent('getphonenumber', { detail });
    button.dispatchEvent('getrealtimephonenumber', { detail });
    return true;
  }

  /** The user taps the phone-number button and refuses. */
  async refusePhoneNumber(): Promise<void> {
    const button = await this.control('.lk-auth__confirm', 'the phone-number button');
    button.dispatchEvent('getphonenumber', { detail: { errMsg: 'getPhoneNumber:fail user deny' } });
  }

  /** The user agrees in the kit's privacy panel (shown after a privacy-gated action, with `privacy: 'kit'`). */
  async agreePrivacy(): Promise<void> {
    const button = await this.control('#lk-agree-privacy', "the kit's privacy agreement");
    button.dispatchEvent('agreeprivacyauthorization', { detail: {} });
  }

  /** The user refuses in the kit's privacy panel. */
  async refusePrivacy(): Promise<void> {
    (await this.control('.lk-auth__disagree', "the kit's privacy agreement")).dispatchEvent('tap');
  }

  private text(selector: string): string | null {
    return this.ctx.find(selector)?.dom.textContent?.trim() ?? null;
  }

  private control(selector: string, what: string): Promise<UINode> {
    return this.ctx.wait(`${what} (${selector}) in the kit's login UI`, () => this.ctx.find(selector));
  }

  /**
   * A privacy-gated action before the user agreed: WeChat asks first (its official popup, or the app's listener —
   * the kit's panel). Resolves whether the user agreed.
   */
  private async privacyFirst(referrer: string): Promise<boolean> {
    if (this.ctx.privacy.agreed) return true;
    const answer = await this.ctx.wx.needPrivacy(referrer);
    if (answer.event !== 'agree') return false;
    this.ctx.privacy.agreed = true;
    return true;
  }
}
