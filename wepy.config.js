/**
 * wepy 2 build of the demo app (demo/src -> demo/dist). The demo imports the *built* kit from
 * node_modules/miniprogram-login-kit (installed there by scripts/build-demo.js), never its TypeScript sources:
 * one copy of the kit means one userAuthHub.
 */
const path = require('path');

module.exports = {
  wpyExt: '.wpy',
  eslint: false,
  cliLogs: false,
  src: 'demo/src',
  target: 'demo/dist',
  static: [],
  resolve: {
    alias: { '@': path.join(__dirname, 'demo/src') },
    aliasFields: ['wepy', 'weapp'],
    modules: ['node_modules'],
  },
  compilers: {
    less: { compress: false },
    babel: { babelrc: false, configFile: false, compact: false },
    typescript: { compilerOptions: { module: 'commonjs', target: 'es2017', esModuleInterop: true } },
  },
  plugins: [],
  appConfig: { noPromiseAPI: ['createSelectorQuery'] },
};
