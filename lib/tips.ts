/** Texts of the login UI and how they are merged. */
import { PACKAGE_NAME } from './errors';
import type { Logger } from './runtime';
import type { AuthTips, AuthType } from './types';

/** The kit's default tips (Chinese, as WeChat users expect). `authType` defaults to the classic `userInfo`. */
export const DEFAULT_AUTH_TIPS: Readonly<AuthTips> = Object.freeze({
  title: '登录授权',
  content: '登录后即可使用完整功能',
  confirmText: '微信一键登录',
  cancelText: '暂不登录',
  authType: 'userInfo',
});

const AUTH_TYPES: readonly AuthType[] = ['userInfo', 'profile', 'phone'];
const TEXT_KEYS = ['title', 'content', 'confirmText', 'cancelText'] as const;

/**
 * Merges tip layers left to right (later wins). Fields of the wrong type are skipped with a warning, so a bad page
 * hook never breaks the login UI. `where` names each layer in the warning.
 */
export function mergeTips(
  logger: Logger,
  base: Readonly<AuthTips>,
  layers: Array<{ where: string; tips: unknown }>,
): AuthTips {
  const merged: AuthTips = { ...base };
  for (const { where, tips } of layers) {
    if (tips === undefined || tips === null) continue;
    if (typeof tips !== 'object') {
      logger.warn(`${PACKAGE_NAME}: ${where} must be an object of tips, got ${typeof tips}; ignored`);
      continue;
    }
    const layer = tips as Record<string, unknown>;
    for (const key of TEXT_KEYS) {
      const value = layer[key];
      if (value === undefined) continue;
      if (typeof value === 'string') merged[key] = value;
      else logger.warn(`${PACKAGE_NAME}: ${where}.${key} must be a string; ignored`);
    }
    if (layer.authType !== undefined) {
      if (AUTH_TYPES.indexOf(layer.authType as AuthType) >= 0) merged.authType = layer.authType as AuthType;
      else logger.warn(`${PACKAGE_NAME}: ${where}.authType must be one of ${AUTH_TYPES.join(', ')}; ignored`);
    }
  }
  return merged;
}
