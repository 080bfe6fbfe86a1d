import Taro from '@tarojs/taro';

// The backend this build talks to (ext.json in a third-party platform build; here: the reference server).
export const baseURL = Taro.getExtConfigSync().baseURL;
