/**
 * Type-level tests of the public surface, checked by `tsc -p test/types` against miniprogram-api-typings
 * (a failure here is a compile error in `npm test`).
 */
import {
  Login,
  createLogin,
  isLoginError,
  userAuthHub,
  AuthModal,
  type AuthResult,
  type LoginState,
  type WxAdapter,
  type LoginErrorCode,
} from '../../index';

// The real `wx` of a mini-program is a valid adapter.
const adapter: WxAdapter = wx;
// @ts-expect-error an object without request is not an adapter
const notAnAdapter: WxAdapter = { login: wx.login };
void notAnAdapter;
createLogin({ source: 'app', baseURL: 'https://api.example.com', wx: adapter });

// login resolves with the state; requestWithLogin with a typed response.
export async function usage(): Promise<string> {
  const state: LoginState = await Login.login({ mode: 'silent' });
  const response = await Login.requestWithLogin<{ id: string }>({ url: '/api/me', loginOpts: { mode: 'force' } });
  const id: string = response.data.id;
  const result: AuthResult = await AuthModal.open({ title: '登录' });
  userAuthHub.notify(result);
  try {
    await Login.logout();
  } catch (error) {
    if (isLoginError(error)) {
      const code: LoginErrorCode = error.code;
      return code;
    }
  }
  return state.accessToken + id;
}

// @ts-expect-error an unknown mode is a compile error
void Login.login({ mode: 'sometimes' });
// @ts-expect-error source is required
createLogin({ baseURL: 'https://api.example.com' });

// requestWithLogin is a drop-in for wx.request: what the typings accept as `data` (an interface-typed object, an
// array, an ArrayBuffer) and every other wx.request option compile; the callbacks do not.
interface Comment {
  text: string;
  replyTo?: number;
}
export async function dropIn(comment: Comment): Promise<void> {
  await Login.requestWithLogin<{ id: string }>({ url: '/api/comments', method: 'POST', data: comment });
  await Login.requestWithLogin({ url: '/api/batch', method: 'POST', data: [comment, comment] });
  await Login.requestWithLogin({ url: '/api/blob', method: 'PUT', data: new ArrayBuffer(8), responseType: 'arraybuffer' });
  await Login.requestWithLogin({
    url: '/api/stream',
    enableChunked: true,
    enableHttp2: true,
    redirect: 'manual',
    onTask: (task) => task.onChunkReceived(() => undefined),
  });
  // @ts-expect-error the kit owns the callbacks: its promise is the outcome
  await Login.requestWithLogin({ url: '/api/x', success: () => undefined });
}
