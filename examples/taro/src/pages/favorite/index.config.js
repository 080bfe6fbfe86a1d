export default definePageConfig({ navigationBarTitleText: '收藏' });
