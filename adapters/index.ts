/**
 * `miniprogram-login-kit/adapters`: the kit's session inside the app's own request layer, each a few lines over
 * `LoginKit.authorize` and `LoginKit.handleExpired` — uni-app's `uni.addInterceptor`, Taro's interceptor chain, and an
 * axios interceptor pair. None imports its framework: each takes the framework's object, or none, as a parameter.
 */
export { uniLoginInterceptor } from './uni';
export type { UniRequestArgs, UniRequestInterceptor } from './uni';
export { taroLoginInterceptor } from './taro';
export type { TaroChain } from './taro';
export { axiosLoginInterceptors } from './axios';
export type { AxiosConfigLike, AxiosErrorLike, AxiosInstanceLike, AxiosResponseLike } from './axios';
export type { LoginGate } from './gate';
