export default defineAppConfig({
  pages: ['pages/index/index', 'pages/favorite/index', 'pages/login/index'],
  window: { navigationBarTitleText: 'Taro + login kit' },
});
