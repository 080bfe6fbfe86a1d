import Taro, { useDidShow } from '@tarojs/taro';
import { Login, createPageUserAuthHandler } from 'miniprogram-login-kit';

// Once, before any page asks: the backend, and the wrapper page that hosts the kit's login page.
Login.config({
  source: 'taro-example',
  baseURL: Taro.getExtConfigSync().baseURL,
  userAuthHandler: createPageUserAuthHandler({ loginPageUrl: '/pages/login/index' }),
});

export default function App({ children }) {
  useDidShow(() => Login.onAppShow());
  return children;
}
