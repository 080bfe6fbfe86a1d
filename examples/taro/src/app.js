import Taro, { useDidShow } from '@tarojs/taro';
import { Login, createPageUserAuthHandler } from 'miniprogram-login-kit';
import { taroLoginInterceptor } from 'miniprogram-login-kit/adapters';
import { baseURL } from './api';

// Once, before any page asks: the backend, and the wrapper page that hosts the kit's login page.
Login.config({
  source: 'taro-example',
  baseURL,
  userAuthHandler: createPageUserAuthHandler({ loginPageUrl: '/pages/login/index' }),
});
// Taro.request keeps working as the app's request layer, with the kit's session inside.
Taro.addInterceptor(taroLoginInterceptor(Login));

export default function App({ children }) {
  useDidShow(() => Login.onAppShow());
  return children;
}
