/**
 * Account deletion (注销账号; contract 1.4 `POST /auth/account/delete`, an optional capability): the user confirms
 * (a `wx.showModal` with the tips, or the app's own step), a `wx.login` code made for this request proves it is the
 * same WeChat user (never a cached code or the login ticket), the backend erases the whole account — in every
 * mini-program of its unionid family — and the kit then logs out as a deliberate `logout()` does, leaving no state and
 * no silent login behind. The call follows the session rule of every call with the kit's credentials (`verdictOf`,
 * `renew`): an expired token renews once and the deletion is sent again, with another fresh code.
 */
import { callAdapter, toLoginError } from './code-login';
import type { KitContext } from './context';
import { LoginError, isLoginError } from './errors';
import { stillExpired, verdictOf, type SingleFlight } from './flight';
import { invalid, type ResolvedOptions } from './options';
import { callWx, withTimeout } from './runtime';
import { checkTips } from './tips';
import type { AccountDeletion, AuthTips } from './types';
import { mergedTips } from './user-auth';

/** Options of `Login.deleteAccount()`. */
export interface DeleteAccountOptions {
  /**
   * Tips for this call, merged over `config.tips` and the page's `$loginUserAuthTips()`: the confirmation's
   * `deleteTitle`, `deleteContent`, `deleteConfirmText`, `deleteCancelText` (and the login UI's, should the user have
   * to log in first).
   */
  tips?: Partial<AuthTips>;
  /**
   * The confirmation step. Default: a `wx.showModal` with the merged tips. A function replaces it: it gets the merged
   * tips and resolves `true` to go on (anything else cancels); `false` skips it (the app has asked already, e.g. on a
   * page of its own). Bounded by `timeouts.userAuth`.
   */
  confirm?: false | ((tips: AuthTips) => boolean | Promise<boolean>);
}

/**
 * The default confirmation: a `wx.showModal` with the deletion tips, its confirm button in WeChat's warning red. A `wx`
 * without `showModal` throws, which the caller reports as `UI_UNAVAILABLE`.
 */
function askModal(opts: ResolvedOptions, tips: AuthTips): Promise<boolean> {
  const { wx } = opts;
  return callWx<{ confirm: boolean }>(
    (callbacks) =>
      wx.showModal!({
        title: tips.deleteTitle,
        content: tips.deleteContent,
        confirmText: tips.deleteConfirmText,
        cancelText: tips.deleteCancelText,
        confirmColor: '#FA5151',
        ...callbacks,
      }),
    'UI_UNAVAILABLE',
    'wx.showModal',
  ).then((answer) => answer.confirm);
}

/**
 * See `LoginKit.deleteAccount`. Checks the options, asks the user, makes sure of a session (`common`: the login UI if
 * there is none), then deletes with a fresh code: `INVALID_CODE` → once more with another fresh code, then
 * `DELETION_REFUSED`; an expired token → one shared renewal and once more (`SESSION_EXPIRED` past `config.maxReplays`).
 */
export async function deleteAccount(kit: KitContext, flight: SingleFlight, options: DeleteAccountOptions): Promise<AccountDeletion> {
  const opts = kit.opts();
  if (typeof options !== 'object' || options === null) throw invalid('deleteAccount(options) expects options such as {tips, confirm}');
  const { tips, confirm } = options;
  if (tips !== undefined) checkTips(tips, 'deleteAccount options.tips');
  if (confirm !== undefined && confirm !== false && typeof confirm !== 'function')
    throw invalid('deleteAccount options.confirm must be a function or false');
  const { backend } = opts;
  if (!backend.deleteAccount) throw new LoginError('DELETION_UNAVAILABLE', 'config.backend has no deleteAccount()');
  if (confirm !== false) {
    const merged = await mergedTips(opts, tips);
    let confirmed: unknown;
    try {
      const asked = Promise.resolve(confirm ? confirm(merged) : askModal(opts, merged));
      confirmed = await withTimeout(asked, opts.timeouts.userAuth, opts.clock, 'the deletion confirmation');
    } catch (error) {
      if (isLoginError(error)) throw error;
      throw new LoginError('UI_UNAVAILABLE', `the deletion confirmation failed: ${String(error)}`, { cause: error });
    }
    if (confirmed !== true) throw new LoginError('AUTH_CANCELLED', 'the user did not confirm the account deletion');
  }
  let state = await flight.ensure({ mode: 'common', tips });
  let invalidCodes = 0;
  for (let replays = 0; ;) {
    const sent = state;
    const code = await kit.codeLogin.wxLoginOnce(opts);
    let deleted: AccountDeletion;
    try {
      deleted = await callAdapter(opts, 'backend.deleteAccount', () => backend.deleteAccount!({ code }, sent, opts.context));
    } catch (error) {
      const failure = toLoginError(error);
      const { statusCode, backendCode, cause } = failure;
      if (backendCode === 'INVALID_CODE') {
        if (invalidCodes++ < 1) continue;
        throw new LoginError('DELETION_REFUSED', 'the backend rejected two fresh wx.login codes', { statusCode, backendCode, cause });
      }
      if (statusCode === undefined) throw failure;
      const answer = { statusCode, data: cause };
      const verdict = verdictOf(opts, answer, sent, { replays, reTry: true, request: { url: '/auth/account/delete', method: 'POST' } });
      if (verdict === 'exhausted') throw stillExpired('the account deletion', replays, answer);
      if (verdict !== 'renew') throw failure;
      state = await flight.renew(sent, { mode: 'common', tips });
      replays++;
      continue;
    }
    flight.logOut();
    kit.emit({ type: 'accountDeleted', deleted });
    return deleted;
  }
}
