/**
 * `miniprogram-login-kit/testing` — test your own app's login in CI (Node only: it ships in `node_dist/`, never in a
 * mini-program). A development backend that speaks the contract (in memory, any `source`, either registration policy)
 * beside a WeChat stand-in, or your own backend by URL; `launchApp` runs your **built** mini-program headlessly on
 * miniprogram-simulate (an optional peer dependency) as a named WeChat user, who taps, answers the kit's login UI
 * and is observed: what the backend received, the page's data and text, the page stack, the kit's events.
 *
 * ```js
 * const { startBackend, launchApp } = require('miniprogram-login-kit/testing');
 * const backend = await startBackend();
 * const app = await launchApp('dist', { backend, user: 'alice' });
 * await app.open('/pages/index/index');
 * ```
 */
export { startBackend, connectBackend, DEV_ISSUER } from './backend';
export type { Backend, DevBackend, DevBackendOptions, ReceivedRequest } from './backend';
export { launchApp } from './launch';
export type { LaunchOptions, LaunchedApp, KitEvent, PermissionAnswers } from './launch';
export { KitUI } from './kit-ui';
export type { UINode } from './kit-ui';
export { waitFor } from './wait';
export type { WeChatStandIn, StandInUser, UserInfoDetail } from './wechat';
