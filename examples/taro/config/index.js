const { defineConfig } = require('@tarojs/cli');

module.exports = defineConfig({
  projectName: 'login-kit-example-taro',
  designWidth: 750,
  deviceRatio: { 640: 2.34 / 2, 750: 1, 375: 2, 828: 1.81 / 2 },
  sourceRoot: 'src',
  outputRoot: 'dist',
  framework: 'react',
  // Taro 4 prebundles dependencies in development (`--watch`): without this line the kit is bundled twice there, once
  // in vendors.js and once in a prebundle chunk (README "Taro").
  compiler: { type: 'webpack5', prebundle: { exclude: ['miniprogram-login-kit'] } },
  cache: { enable: false },
  mini: { postcss: { pxtransform: { enable: true, config: {} } } },
});
