export default definePageConfig({
  navigationBarTitleText: '登录',
  // Taro cannot list a package's page in app.config: this page hosts the kit's login page as a component.
  usingComponents: { 'login-page': 'miniprogram-login-kit/miniprogram_dist/pages/login/index' },
});
