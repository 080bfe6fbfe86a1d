/** examples/uni-app (Vue 3, vite, `loginKitUni()`), built by `uni build -p mp-weixin` and walked: see test/helpers/example-walk. */
import { walkExample } from '../helpers/example-walk';

walkExample({
  name: 'uni-app',
  output: 'dist/build/mp-weixin',
  hubFile: 'miniprogram_npm/miniprogram-login-kit/index.js',
});
