/**
 * Step-up (contract 1.2, `POST /auth/bind`): a logged-in user — often one the backend registered silently, with no
 * profile and no phone — is asked for what the product needs at the moment it needs it. `Login.require("phone")` resolves at
 * once when the user already has it; otherwise it shows the login UI for that `authType` (tips merged as for a
 * login), sends the answer to the backend with the access token, and resolves with the updated user. Concurrent
 * callers of one kind share one step-up, as they share one login. WeChat's account rules say the same: no prompt
 * before the user has used the app, and a phone number only where the service needs one.
 */
import { FEATURES, supports, unsupported } from './base-library';
import { callAdapter, toLoginError } from './code-login';
import type { KitContext } from './context';
import { LoginError } from './errors';
import { loggedOutError, stillExpired, verdictOf, type SingleFlight } from './flight';
import type { AuthTips, LoginMode, LoginState, LoginUser } from './types';
import { authorizeUser, backendPayload } from './user-auth';

/** What a step-up asks for. */
export type StepUpKind = 'profile' | 'phone';

/** Options of `Login.require()`. */
export interface RequireOptions {
  /** Tips for the UI (its `authType` is the kind asked for). */
  tips?: Partial<AuthTips>;
  /** `silent`: never show UI — rejects `AUTH_REQUIRED` when the user lacks it. Default `common`. */
  mode?: LoginMode;
}

/** True when `user` already has `kind`: the backend's `profileComplete` / `phoneBound` (a nickname counts as a profile). */
function hasStep(user: LoginUser | null, kind: StepUpKind): boolean {
  if (!user) return false;
  if (kind === 'phone') return user.phoneBound === true;
  return user.profileComplete === true || (user.profileComplete === undefined && typeof user.nickName === 'string' && user.nickName !== '');
}

/** The step-ups of one kit instance: one per kind at a time, shared by its concurrent callers. */
export class StepUps {
  private readonly inFlight = new Map<StepUpKind, Promise<LoginUser>>();

  constructor(
    private readonly kit: KitContext,
    private readonly flight: SingleFlight,
  ) {}

  /** See `LoginKit.require`. A step-up that settles (bounded: the UI by `timeouts.userAuth`, the bind by `timeouts.backend`) frees its kind. */
  require(kind: StepUpKind, options: RequireOptions): Promise<LoginUser> {
    const pending = this.inFlight.get(kind);
    if (pending) return pending;
    const run = this.run(kind, options);
    this.inFlight.set(kind, run);
    const done = () => this.inFlight.delete(kind);
    run.then(done, done);
    return run;
  }

  private async run(kind: StepUpKind, { tips, mode = 'common' }: RequireOptions): Promise<LoginUser> {
    let state = await this.flight.ensure({ mode, tips });
    if (hasStep(state.user, kind)) return state.user!;
    const opts = this.kit.opts();
    const { backend } = opts;
    if (!backend.bind)
      throw new LoginError('INVALID_OPTIONS', 'config.backend has no bind(): a step-up needs POST /auth/bind (contract 1.2)');
    if (mode === 'silent') throw new LoginError('AUTH_REQUIRED', `the user has no ${kind} yet, and a silent call shows no UI`);
    // Below 2.21.2 the UI can only fall back to getUserProfile's anonymous profile: worth a login, not a step-up.
    if (kind === 'profile' && !supports(opts.wx, 'chooseAvatar')) throw unsupported('the profile step-up', FEATURES.chooseAvatar, opts.wx);
    let auth;
    try {
      this.kit.loading.pause(true);
      auth = await authorizeUser(opts, { ...tips, authType: kind }, { emit: (event) => this.kit.emit(event), uiMs: 0 });
    } finally {
      this.kit.loading.pause(false);
    }
    if (auth.authType !== kind) throw new LoginError('LOGIN_FAILED', `the login UI answered "${auth.authType}" to a "${kind}" step-up`);
    const { payload } = await backendPayload(opts, auth, { accessToken: state.accessToken });
    const request = { profile: payload.profile, phoneCode: payload.phoneCode };
    let user: LoginUser;
    // The bind follows the session rule of every request: an expired answer renews (one shared renewal) and replays.
    for (let replays = 0; ; replays++) {
      const sent: LoginState = state;
      try {
        user = await callAdapter(opts, 'backend.bind', () => backend.bind!(request, sent, opts.context));
        break;
      } catch (error) {
        const bindError = toLoginError(error);
        if (bindError.statusCode === undefined) throw bindError;
        const answer = { statusCode: bindError.statusCode, data: bindError.cause };
        const verdict = verdictOf(opts, answer, sent, { replays, reTry: true, request: { url: '/auth/bind', method: 'POST' } });
        if (verdict === 'exhausted') throw stillExpired('the bind', replays, answer);
        if (verdict !== 'renew') throw bindError;
        state = await this.flight.renew(sent, { mode: 'common', tips });
      }
    }
    const { session } = this.kit;
    const current = session.state;
    if (!current || session.loggedOut) throw loggedOutError('the step-up ran');
    session.commit({ ...current, user: { ...current.user, ...user } });
    this.kit.emit({ type: 'stepUp', kind, user });
    return user;
  }
}
