import type { AuthTips } from '../../lib/types';

/** Data of the AuthModal (rendered by its template). */
export interface AuthModalData {
  /** Whether the modal is shown. @default false */
  visible: boolean;
  /** The merged tips it shows. @default DEFAULT_AUTH_TIPS */
  tips: AuthTips;
  /** The profile form: chosen (temporary) avatar, nickname, and the hint shown when one is missing. @default empty */
  profile: { avatarUrl: string; nickName: string; hint: string };
  /** The privacy step, shown while WeChat waits for the agreement. @default hidden */
  privacy: { visible: boolean; contractName: string };
}
