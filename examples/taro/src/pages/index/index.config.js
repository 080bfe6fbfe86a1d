export default definePageConfig({
  navigationBarTitleText: '首页',
  // The package path, not the "miniprogram" one: Taro resolves node_modules/<package>/<path> itself.
  usingComponents: { 'auth-modal': 'miniprogram-login-kit/miniprogram_dist/components/auth-modal/index' },
});
