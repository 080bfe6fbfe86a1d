import type { AuthTips } from '../../lib/types';

/** Data of the AuthModal (rendered by its template). */
export interface AuthModalData {
  /** Whether the modal is shown. @default false */
  visible: boolean;
  /** The merged tips it shows. @default DEFAULT_AUTH_TIPS */
  tips: AuthTips;
}
