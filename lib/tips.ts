/** Texts of the login UI and how they are merged. */
import { LoginError, PACKAGE_NAME } from './errors';
import type { Logger } from './runtime';
import type { AuthTips, AuthType } from './types';

/**
 * The kit's default tips (Chinese, as WeChat users expect). `authType` defaults to `profile` (avatar + nickname),
 * the way WeChat supports since `getUserInfo` became anonymous; set `userInfo` for the classic button.
 */
export const DEFAULT_AUTH_TIPS: Readonly<AuthTips> = Object.freeze({
  title: '登录授权',
  content: '登录后即可使用完整功能',
  confirmText: '微信一键登录',
  cancelText: '暂不登录',
  authType: 'profile',
  deniedTitle: '需要你的授权',
  deniedContent: '你拒绝了授权，无法完成登录。可以在设置中允许使用你的用户信息。',
  openSettingText: '去设置',
  privacyContent: '使用登录功能前，请阅读并同意',
  privacyAgreeText: '同意并继续',
  privacyDisagreeText: '拒绝',
  nicknamePlaceholder: '请输入昵称',
  nicknameRejectedText: '请填写昵称（未通过微信审核的昵称会被清空）',
  avatarMissingText: '请先选择头像',
  avatarHint: '点击选择头像',
  profileSubmitText: '保存并登录',
  realtimePhone: false,
  deleteTitle: '注销账号',
  deleteContent: '注销后，你的账号、资料和手机号绑定将被永久删除，且无法恢复。确定注销吗？',
  deleteConfirmText: '注销',
  deleteCancelText: '取消',
});

const AUTH_TYPES: readonly AuthType[] = ['userInfo', 'profile', 'phone'];
const TEXT_KEYS = [
  'title',
  'content',
  'confirmText',
  'cancelText',
  'deniedTitle',
  'deniedContent',
  'openSettingText',
  'privacyContent',
  'privacyAgreeText',
  'privacyDisagreeText',
  'nicknamePlaceholder',
  'nicknameRejectedText',
  'avatarMissingText',
  'avatarHint',
  'profileSubmitText',
  'deleteTitle',
  'deleteContent',
  'deleteConfirmText',
  'deleteCancelText',
] as const;

const TIP_KEYS: readonly string[] = [...TEXT_KEYS, 'realtimePhone', 'authType'];

/**
 * Checks tips given in code (`config.tips`, `loginOpts.tips`): an unknown key (a typo such as `titel`) or a wrong type
 * throws `INVALID_OPTIONS` saying what was expected, like a misspelt config key.
 */
export function checkTips(tips: unknown, where: string): void {
  const fail = (message: string) => new LoginError('INVALID_OPTIONS', `${where}${message}`);
  if (typeof tips !== 'object' || tips === null) throw fail(' must be an object of tips such as {title, content}');
  for (const key of Object.keys(tips)) {
    if (TIP_KEYS.indexOf(key) < 0) throw fail(`: unknown tip "${key}"; known tips: ${TIP_KEYS.join(', ')}`);
  }
  const layer = tips as Record<string, unknown>;
  for (const key of TEXT_KEYS) {
    if (layer[key] !== undefined && typeof layer[key] !== 'string') throw fail(`.${key} must be a string`);
  }
  if (layer.realtimePhone !== undefined && typeof layer.realtimePhone !== 'boolean') throw fail('.realtimePhone must be a boolean');
  if (layer.authType !== undefined && AUTH_TYPES.indexOf(layer.authType as AuthType) < 0) {
    throw fail(`.authType must be one of ${AUTH_TYPES.join(', ')}`);
  }
}

/**
 * Merges tip layers left to right (later wins). Fields of the wrong type are skipped with a warning, so a bad page
 * hook never breaks the login UI; with `unknownKeys` (development and trial versions), a key the kit does not know — a
 * typo such as `titel` — is named in a warning too. `where` names each layer in the warnings.
 */
export function mergeTips(
  logger: Logger,
  base: Readonly<AuthTips>,
  layers: Array<{ where: string; tips: unknown }>,
  unknownKeys = false,
): AuthTips {
  const merged: AuthTips = { ...base };
  for (const { where, tips } of layers) {
    if (tips === undefined || tips === null) continue;
    if (typeof tips !== 'object') {
      logger.warn(`${PACKAGE_NAME}: ${where} must be an object of tips, got ${typeof tips}; ignored`);
      continue;
    }
    const layer = tips as Record<string, unknown>;
    if (unknownKeys) {
      for (const key of Object.keys(layer)) {
        if (TIP_KEYS.indexOf(key) < 0)
          logger.warn(`${PACKAGE_NAME}: ${where} has an unknown tip "${key}"; ignored. Known: ${TIP_KEYS.join(', ')}`);
      }
    }
    for (const key of TEXT_KEYS) {
      const value = layer[key];
      if (value === undefined) continue;
      if (typeof value === 'string') merged[key] = value;
      else logger.warn(`${PACKAGE_NAME}: ${where}.${key} must be a string; ignored`);
    }
    if (layer.realtimePhone !== undefined) {
      if (typeof layer.realtimePhone === 'boolean') merged.realtimePhone = layer.realtimePhone;
      else logger.warn(`${PACKAGE_NAME}: ${where}.realtimePhone must be a boolean; ignored`);
    }
    if (layer.authType !== undefined) {
      if (AUTH_TYPES.indexOf(layer.authType as AuthType) >= 0) merged.authType = layer.authType as AuthType;
      else logger.warn(`${PACKAGE_NAME}: ${where}.authType must be one of ${AUTH_TYPES.join(', ')}; ignored`);
    }
  }
  return merged;
}
