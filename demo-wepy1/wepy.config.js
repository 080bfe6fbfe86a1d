/**
 * wepy 1 build of the wepy 1 demo (demo-wepy1/src -> demo-wepy1/dist) with wepy-cli 1.7.3 and babel 6. The kit is
 * copied from miniprogram_dist into src/components/login-kit/ by scripts/build-demo-wepy1.js, as a wepy 1 team
 * would copy it from node_modules/miniprogram-login-kit/miniprogram_dist.
 */
const path = require('path');

module.exports = {
  // wepy and the kit's npm needs come from the repository's node_modules (wepy 1.7.2 pinned there): no install here.
  resolve: { modules: [path.join(__dirname, '../node_modules')] },
  wpyExt: '.wpy',
  eslint: false,
  cliLogs: false,
  build: {},
  compilers: {
    babel: {
      sourceMap: false,
      presets: ['env'],
      plugins: ['transform-class-properties', 'transform-object-rest-spread'],
    },
  },
  plugins: {},
  appConfig: { noPromiseAPI: ['createSelectorQuery'] },
};
